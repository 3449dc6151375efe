"""Sign-in, sessions and the attacks the issue lists, through HTTP."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from portal.accounts.models import Organisation, OrganisationStatus, Role, User
from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.accounts.conftest import link_in, path_of, totp_now
from tests.conftest import login
from tests.factories import PASSWORD, add_member, make_organisation, make_user


def sign_in(client, user, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/anmelden", data={"email": user.email, "password": password})


def test_wrong_password_and_unknown_email_give_the_same_answer(client) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    wrong = client.post("/anmelden", data={"email": user.email, "password": "falsches passwort"})
    unknown = client.post("/anmelden", data={"email": "niemand@example.org", "password": "falsches passwort"})
    assert wrong.status_code == unknown.status_code == 200
    assert "E-Mail-Adresse oder Passwort ist nicht richtig." in wrong.get_data(as_text=True)
    strip = lambda r: r.get_data(as_text=True).replace(user.email, "").replace("niemand@example.org", "")  # noqa: E731
    assert strip(wrong) == strip(unknown)
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["user.sign_in_failed", "user.sign_in_failed"]


def test_sign_in_renews_the_session_and_logout_ends_it_on_the_server(client) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    with client.session_transaction() as session:
        session["planted"] = "by attacker"
    response = sign_in(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/konto"
    with client.session_transaction() as session:
        assert "planted" not in session
        stolen = dict(session)
    assert client.get("/konto").status_code == 200
    client.post("/abmelden")
    # A copy of the old session cookie no longer works: the version moved on.
    with client.session_transaction() as session:
        session.update(stolen)
    assert client.get("/konto").status_code == 302


def test_password_change_ends_other_sessions_but_not_this_one(app, client) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    other = app.test_client()
    sign_in(client, user)
    sign_in(other, user)
    response = client.post("/konto/passwort", data={"new_password": "ein ganz neues passwort", "password_repeat": "ein ganz neues passwort"})
    assert response.status_code == 302
    assert client.get("/konto").status_code == 200
    assert other.get("/konto").status_code == 302


def test_idle_timeout_and_absolute_lifetime(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    sign_in(client, user)
    clock.advance(minutes=app.config["SESSION_IDLE_MINUTES"] - 1)
    assert client.get("/konto").status_code == 200
    clock.advance(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    response = client.get("/konto")
    assert response.status_code == 302 and "/anmelden" in response.headers["Location"]
    sign_in(client, user)
    for _ in range(app.config["SESSION_MAX_HOURS"] * 3 + 1):
        clock.advance(minutes=20)
        client.get("/konto")
    assert client.get("/konto").status_code == 302


def test_staff_without_second_factor_reaches_no_staff_page(client, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_user(roles=[Role.OFFICER])  # no TOTP yet
    response = sign_in(client, officer)
    assert response.headers["Location"] == "/konto/zwei-faktor"
    for url in ["/verwaltung/traeger", "/konto", "/"]:
        assert client.get(url).headers["Location"] == "/konto/zwei-faktor"
    page = client.get("/konto/zwei-faktor").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page
    secret = page.split('id="totp-secret">', 1)[1].split("<", 1)[0]
    response = client.post("/konto/zwei-faktor", data={"code": totp_now(secret)})
    assert response.status_code == 200 and "Wiederherstellungscodes" in response.get_data(as_text=True)
    assert client.get("/verwaltung/traeger").status_code == 200


def test_second_factor_required_at_sign_in_and_codes_are_single_use(client, clock, officer) -> None:  # type: ignore[no-untyped-def]
    assert sign_in(client, officer).headers["Location"] == "/anmelden/code"
    assert client.get("/verwaltung/traeger").headers["Location"] == "/anmelden/code"
    assert client.post("/anmelden/code", data={"code": "12345x"}).status_code == 200
    code = totp_now()
    assert client.post("/anmelden/code", data={"code": code}).status_code == 302
    assert client.get("/verwaltung/traeger").status_code == 200
    client.post("/abmelden")
    sign_in(client, officer)
    response = client.post("/anmelden/code", data={"code": code})
    assert "nicht richtig oder wurde schon verwendet" in response.get_data(as_text=True)


def test_password_reset_does_not_bypass_two_factor(client, clock, smtp_server, officer) -> None:  # type: ignore[no-untyped-def]
    client.post("/passwort-vergessen", data={"email": officer.email})
    link = path_of(link_in(smtp_server, officer.email))
    response = client.post(link, data={"password": "ein ganz neues passwort", "password_repeat": "ein ganz neues passwort"})
    assert response.headers["Location"] == "/anmelden"
    assert client.get(link).status_code == 400  # the link works once
    assert client.get("/verwaltung/traeger").status_code == 302
    assert sign_in(client, officer, "ein ganz neues passwort").headers["Location"] == "/anmelden/code"


def test_forgot_password_answers_the_same_for_unknown_addresses(client, smtp_server) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    known = client.post("/passwort-vergessen", data={"email": user.email}, follow_redirects=True)
    unknown = client.post("/passwort-vergessen", data={"email": "niemand@example.org"}, follow_redirects=True)
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert len(smtp_server.messages) == 1


def test_unverified_address_cannot_sign_in_but_gets_a_new_link(client, smtp_server) -> None:  # type: ignore[no-untyped-def]
    user = make_user(email_verified_at=None)
    response = sign_in(client, user)
    assert "bestätigen Sie zuerst" in response.get_data(as_text=True)
    link = path_of(link_in(smtp_server, user.email))
    assert client.get(link).status_code == 200  # shows a button, changes nothing
    assert db.session.get(User, user.id).email_verified_at is None
    assert client.post(link).headers["Location"] == "/anmelden"
    assert sign_in(client, user).status_code == 302
    assert client.post(link).status_code == 400  # reused


def test_csrf_token_is_required(app, client) -> None:  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user()
    response = sign_in(client, user)
    assert response.status_code == 400 and "Sicherheitsprüfung" in response.get_data(as_text=True)
    login(client, user)
    assert client.post("/abmelden").status_code == 400
    assert client.get("/konto").status_code == 200


def test_bidder_calling_staff_urls_gets_403(client, bidder) -> None:  # type: ignore[no-untyped-def]
    login(client, bidder)
    for url in ["/verwaltung/traeger", "/verwaltung/konten", "/verwaltung/e-mails", f"/verwaltung/konten/{bidder.id}"]:
        assert client.get(url).status_code == 403, url
    assert client.post("/verwaltung/konten/einladen", data={"email": "x@example.org", "roles": ["admin"]}).status_code == 403


def test_member_of_a_cannot_read_or_edit_b(client, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    other = make_organisation(name="Anderer Träger e. V.")
    add_member(other, make_user())
    login(client, bidder)
    assert client.get(f"/traeger/{organisation.id}").status_code == 200
    assert client.get(f"/traeger/{other.id}").status_code == 404
    assert client.get(f"/traeger/{other.id}/bearbeiten").status_code == 404
    assert client.post(f"/traeger/{other.id}/bearbeiten", data={"city": "Gehackt"}).status_code == 404
    assert client.post(f"/traeger/{other.id}/einladen", data={"email": "x@example.org"}).status_code == 404
    assert client.post(f"/traeger/{other.id}/austreten").status_code == 404
    assert client.get("/traeger/999999").status_code == 404
    assert db.session.get(Organisation, other.id).city == "Siegen"


def test_over_long_inputs_are_refused_with_a_message(client, registration) -> None:  # type: ignore[no-untyped-def]
    data = dict(registration, name="A" * 5000, migration_work="x" * 100_000, password="p" * 300, password_repeat="p" * 300)
    response = client.post("/registrieren", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Höchstens 200 Zeichen erlaubt." in body and "Höchstens 5000 Zeichen erlaubt." in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0
    response = client.post("/anmelden", data={"email": "a" * 300 + "@example.org", "password": "x"})
    assert response.status_code == 200


def test_html_in_names_is_escaped_everywhere(client, registration, officer, smtp_server) -> None:  # type: ignore[no-untyped-def]
    evil = '<script>alert("x")</script>'
    client.post("/registrieren", data=dict(registration, name=f"Träger {evil}", person_name=f"Eve {evil}"))
    org = db.session.scalars(sa.select(Organisation)).one()
    login(client, officer)
    for url in ["/verwaltung/traeger", f"/traeger/{org.id}"]:
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "&lt;script&gt;" in body, url


def test_registration_form_keeps_input_and_marks_the_field(client, registration) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/registrieren", data=dict(registration, password="passwort1234", password_repeat="passwort1234"))
    body = response.get_data(as_text=True)
    assert "zu verbreitet" in body and 'aria-invalid="true"' in body
    assert registration["migration_work"] in body and "passwort1234" not in body


def test_account_page_export_and_preferences(client, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    login(client, bidder)
    body = client.get("/konto").get_data(as_text=True)
    assert organisation.name in body and "nicht eingerichtet" in body
    response = client.post("/konto/daten")
    assert response.mimetype == "application/json" and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == bidder.email
    client.post("/konto/einstellungen", data={"locale": "en"})
    assert db.session.get(User, bidder.id).locale == "en" and not db.session.get(User, bidder.id).notify_by_email
    assert "My account" in client.get("/konto").get_data(as_text=True)


def test_sensitive_changes_need_reauthentication(client, clock, officer) -> None:  # type: ignore[no-untyped-def]
    login(client, officer)
    for url in ["/konto/passwort", "/konto/e-mail", "/konto/zwei-faktor"]:
        assert client.get(url).headers["Location"].startswith("/konto/bestaetigen"), url
    assert client.post("/konto/bestaetigen", data={"password": PASSWORD, "code": "000000"}).status_code == 200
    response = client.post("/konto/bestaetigen?next=/konto/passwort", data={"password": PASSWORD, "code": totp_now()})
    assert response.headers["Location"] == "/konto/passwort"
    assert client.get("/konto/passwort").status_code == 200
    clock.advance(minutes=11)
    assert client.get("/konto/passwort").status_code == 302


def test_deactivation_ends_the_users_session_at_once(app, client, admin) -> None:  # type: ignore[no-untyped-def]
    target = make_user(roles=[Role.OBSERVER])
    victim = app.test_client()
    sign_in(victim, target)
    assert victim.get("/konto").status_code == 200
    login(client, admin)
    client.post(f"/verwaltung/konten/{target.id}/aktiv", data={"active": "0"})
    assert victim.get("/konto").status_code == 302
    assert sign_in(victim, target).status_code == 200  # refused with the generic message


def test_admin_changes_roles_and_sees_failed_mails(client, admin) -> None:  # type: ignore[no-untyped-def]
    from portal.mail.services import deliver_pending, queue_mail

    target = make_user(roles=[Role.OBSERVER])
    login(client, admin)
    client.post(f"/verwaltung/konten/{target.id}", data={"roles": ["officer", "observer"]})
    assert db.session.get(User, target.id).role_set == {Role.OFFICER, Role.OBSERVER}
    queue_mail("kaputt@example.org", "Test", "test_message", name="X")
    db.session.commit()
    deliver_pending()  # nothing listens on the testing port: the send fails
    assert "kaputt@example.org" in client.get("/verwaltung/e-mails").get_data(as_text=True)


def test_officer_rejects_with_a_reason_the_organisation_sees(client, officer, smtp_server) -> None:  # type: ignore[no-untyped-def]
    org = make_organisation(status=OrganisationStatus.PENDING)
    member = make_user()
    add_member(org, member)
    login(client, officer)
    response = client.post(f"/verwaltung/traeger/{org.id}/entscheiden", data={"decision": "reject", "reason": ""})
    assert "Grund" in response.get_data(as_text=True)
    client.post(f"/verwaltung/traeger/{org.id}/entscheiden", data={"decision": "reject", "reason": "Nachweis fehlt."})
    assert "Nachweis fehlt." in smtp_server.text(smtp_server.to(member.email)[0])
    login(client, member)
    assert "Nachweis fehlt." in client.get(f"/traeger/{org.id}").get_data(as_text=True)


# ---------------------------------------------------------------------------
# Throttling
# ---------------------------------------------------------------------------


def _hammer(client, email: str, times: int):  # type: ignore[no-untyped-def]
    responses = [client.post("/anmelden", data={"email": email, "password": "falsch falsch falsch"}) for _ in range(times)]
    return responses[-1]


def test_mass_sign_in_attempts_get_429_in_german_with_retry_after(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    app.config.update(RATELIMIT_PER_ACCOUNT="3 per minute", RATELIMIT_PER_IP="100 per minute")
    response = _hammer(client, "opfer@example.org", 4)
    assert response.status_code == 429
    assert "Zu viele Anfragen" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) <= 60
    # Another account from the same address is not affected by this account's limit.
    assert _hammer(client, "andere@example.org", 1).status_code == 200


def test_limit_per_ip_covers_many_accounts(app, client) -> None:  # type: ignore[no-untyped-def]
    app.config.update(RATELIMIT_PER_ACCOUNT="100 per minute", RATELIMIT_PER_IP="5 per minute")
    statuses = [client.post("/anmelden", data={"email": f"p{i}@example.org", "password": "x"}).status_code for i in range(6)]
    assert statuses[-1] == 429 and statuses[:5] == [200] * 5
    assert client.get("/anmelden").status_code == 200  # reading the form is never limited


def test_limits_are_shared_through_redis_when_configured(backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import uuid

    import redis

    from portal import create_app

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        from tests.conftest import skip_or_fail

        skip_or_fail("Redis unreachable", required=bool(os.environ.get("TEST_REDIS_URL")))
    if backend.name != "sqlite":
        return
    import hashlib

    email = f"opfer-{uuid.uuid4().hex}@example.org"
    settings = dict(
        SQLALCHEMY_DATABASE_URI=backend.fresh_url(tmp_path), RATELIMIT_STORAGE_URI=url,
        RATELIMIT_PER_ACCOUNT="2 per minute", RATELIMIT_PER_IP="10000 per minute",
    )
    data = {"email": email, "password": "x"}
    first = create_app("testing", **settings)
    assert [first.test_client().post("/anmelden", data=data).status_code for _ in range(3)] == [200, 200, 429]
    # A freshly started server (empty process memory) still sees the counter.
    second = create_app("testing", **settings)
    response = second.test_client().post("/anmelden", data=data)
    assert response.status_code == 429 and "Retry-After" in response.headers
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"*account:{hashlib.sha256(email.encode()).hexdigest()[:24]}*"))
    assert keys
    client.delete(*keys)
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()
