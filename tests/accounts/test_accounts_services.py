"""Account services: passwords, tokens, invitations, roles, two-factor."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from portal.accounts import services, totp
from portal.accounts.models import Invitation, Membership, OrganisationStatus, Role, User
from portal.accounts.passwords import password_problem, verify_password
from portal.accounts.services.users import SignInOutcome, user_for_reset
from portal.audit.models import AuditEvent
from portal.core.errors import Refused
from portal.extensions import db
from tests.accounts.conftest import link_in, path_of, totp_now
from tests.factories import PASSWORD, TOTP_SECRET, add_member, make_organisation, make_user


@pytest.fixture(autouse=True)
def _request(request):  # type: ignore[no-untyped-def]
    """Services run inside requests (refusal messages are translated lazily)."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.test_request_context("/"):
        yield


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("kurz", False),
        ("elf-zeichen", False),
        ("zwölf zeichen", True),
        ("x" * 64 + " lang", True),
        ("passwort1234", False),
        ("PASSWORT1234", False),
        ("qwertyuiop123", False),
        ("x" * 257, False),
    ],
)
def test_password_policy_is_length_and_common_list_not_composition(app, password: str, ok: bool) -> None:  # type: ignore[no-untyped-def]
    assert (password_problem(password) is None) is ok


def test_common_password_list_is_shipped_and_large() -> None:
    from portal.accounts.passwords import common_passwords

    assert len(common_passwords()) > 5000 and "password" in common_passwords()


def test_sign_in_rehashes_when_parameters_change(app) -> None:  # type: ignore[no-untyped-def]
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    user = make_user(password_hash=weak.hash(PASSWORD))
    result = services.attempt_sign_in(user.email.upper(), PASSWORD)
    assert result.outcome == SignInOutcome.OK
    assert user.password_hash.startswith("$argon2id$") and "m=1024" in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)


def test_unknown_email_wrong_password_and_inactive_look_the_same(app) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    inactive = make_user(active=False)
    outcomes = {
        services.attempt_sign_in("niemand@example.org", PASSWORD).outcome,
        services.attempt_sign_in(user.email, "falsches passwort!").outcome,
        services.attempt_sign_in(inactive.email, PASSWORD).outcome,
    }
    assert outcomes == {SignInOutcome.WRONG}
    assert actions() == ["user.sign_in_failed"] * 3


def test_registration_creates_pending_organisation_and_sends_verification(app, smtp_server, registration) -> None:  # type: ignore[no-untyped-def]
    data = {k: v for k, v in registration.items() if k != "password_repeat"}
    organisation = services.register_organisation(**data)
    db.session.commit()
    from portal.mail.services import deliver_pending

    deliver_pending()
    assert organisation.status == OrganisationStatus.PENDING
    user = organisation.active_members[0]
    assert user.email_verified_at is None and user.role_set == frozenset()
    token = path_of(link_in(smtp_server, user.email)).rsplit("/", 1)[-1]
    services.verify_email(token)
    assert user.email_verified_at is not None
    with pytest.raises(Refused, match="bereits verwendet"):
        services.verify_email(token)
    assert actions() == ["user.created", "organisation.registered", "user.email_verified"]


def test_registration_with_a_known_address_creates_nothing_and_tells_the_owner(app, smtp_server, registration) -> None:  # type: ignore[no-untyped-def]
    owner = make_user(email=registration["email"])
    data = {k: v for k, v in registration.items() if k != "password_repeat"}
    assert services.register_organisation(**data) is None
    db.session.commit()
    from portal.mail.services import deliver_pending

    deliver_pending()
    assert "bereits ein Konto" in smtp_server.text(smtp_server.to(owner.email)[0])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0


def test_verification_link_expires(app, clock, registration) -> None:  # type: ignore[no-untyped-def]
    from portal.accounts.tokens import make_token, fingerprint

    user = make_user(email_verified_at=None)
    token = make_token("verify", u=user.id, e=fingerprint(user.email))
    clock.advance(hours=app.config["EMAIL_TOKEN_HOURS"] + 1)
    with pytest.raises(Refused, match="abgelaufen"):
        services.verify_email(token)
    with pytest.raises(Refused, match="ungültig"):
        services.verify_email(token[:-3] + "abc")


def test_password_reset_is_single_use_and_expires(app, clock) -> None:  # type: ignore[no-untyped-def]
    from portal.accounts.tokens import fingerprint, make_token

    user = make_user()
    version = user.session_version
    token = make_token("reset", u=user.id, h=fingerprint(user.password_hash))
    services.reset_password(token, "ein ganz neues passwort")
    assert verify_password(user.password_hash, "ein ganz neues passwort")
    assert user.session_version == version + 1
    with pytest.raises(Refused, match="bereits verwendet"):
        services.reset_password(token, "noch ein neues passwort")
    late = make_token("reset", u=user.id, h=fingerprint(user.password_hash))
    clock.advance(minutes=app.config["RESET_TOKEN_MINUTES"] + 1)
    with pytest.raises(Refused, match="abgelaufen"):
        user_for_reset(late)


def test_reset_request_for_unknown_address_sends_nothing(app) -> None:  # type: ignore[no-untyped-def]
    services.request_password_reset("niemand@example.org")
    from portal.mail.models import OutgoingMail

    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 0


def test_staff_invitation_is_single_use_and_expires(app, clock, admin) -> None:  # type: ignore[no-untyped-def]
    from portal.accounts.tokens import new_random_token

    invitation = services.invite_staff("Rita@Example.org", {Role.REVIEWER}, by=admin)
    token, token_hash = new_random_token()
    invitation.token_hash = token_hash
    db.session.commit()
    assert services.find_invitation(token) is invitation
    user = services.accept_staff_invitation(invitation, name="Rita", password="ein sicheres passwort")
    assert user.email == "rita@example.org" and user.role_set == {Role.REVIEWER} and user.email_verified_at
    with pytest.raises(Refused, match="bereits verwendet"):
        services.find_invitation(token)
    other = services.invite_staff("ralf@example.org", {Role.OBSERVER}, by=admin)
    token2, other.token_hash = new_random_token()
    clock.advance(days=app.config["INVITATION_DAYS"], seconds=1)
    with pytest.raises(Refused, match="abgelaufen"):
        services.find_invitation(token2)
    with pytest.raises(Refused):
        services.invite_staff(user.email, {Role.OFFICER}, by=admin)
    with pytest.raises(Refused, match="Rolle"):
        services.invite_staff("x@example.org", set(), by=admin)


def test_member_invitation_join_and_leave(app, organisation, bidder) -> None:  # type: ignore[no-untyped-def]
    invitation = services.invite_member(organisation, "kollegin@example.org", by=bidder)
    colleague = services.accept_member_invitation(invitation, name="Kollegin", password="ein sicheres passwort")
    db.session.commit()
    assert {u.id for u in organisation.active_members} == {bidder.id, colleague.id}
    services.leave_organisation(organisation, by=colleague)
    db.session.commit()
    assert [u.id for u in organisation.active_members] == [bidder.id]
    with pytest.raises(Refused, match="letzte Mitglied"):
        services.leave_organisation(organisation, by=bidder)
    # Rejoining reuses the membership row (one per person and organisation).
    again = services.invite_member(organisation, colleague.email, by=bidder)
    services.accept_member_invitation(again, user=colleague)
    db.session.commit()
    assert len(organisation.active_members) == 2
    assert actions()[-1] == "organisation.member_joined"


def test_organisation_state_machine(app, officer) -> None:  # type: ignore[no-untyped-def]
    org = make_organisation(status=OrganisationStatus.PENDING)
    member = make_user(email_verified_at=None)
    add_member(org, member)
    with pytest.raises(Refused, match="noch nicht bestätigt"):
        services.verify_organisation(org, by=officer)
    with pytest.raises(Refused, match="Grund"):
        services.reject_organisation(org, by=officer, reason="  ")
    services.reject_organisation(org, by=officer, reason="Freistellungsbescheid fehlt.")
    assert org.status == OrganisationStatus.REJECTED and org.rejection_reason == "Freistellungsbescheid fehlt."
    services.update_organisation(org, by=member, city="Kreuztal")
    assert org.status == OrganisationStatus.PENDING and org.rejection_reason is None
    member.email_verified_at = org.created_at
    services.verify_organisation(org, by=officer)
    assert org.is_verified
    with pytest.raises(Refused, match="bereits entschieden"):
        services.reject_organisation(org, by=officer, reason="zu spät")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "organisation.verified")).one()
    assert event.public and member.email not in event.data_json


def test_role_change_and_deactivation_end_sessions(app, admin) -> None:  # type: ignore[no-untyped-def]
    user = make_user(roles=[Role.OBSERVER])
    version = user.session_version
    services.change_roles(user, {Role.OFFICER}, by=admin)
    assert user.role_set == {Role.OFFICER} and user.session_version == version + 1
    services.set_user_active(user, False, by=admin)
    assert not user.active and user.session_version == version + 2
    with pytest.raises(Refused):
        services.change_roles(admin, {Role.OFFICER}, by=admin)
    with pytest.raises(Refused):
        services.set_user_active(admin, False, by=admin)
    assert actions() == ["user.roles_changed", "user.deactivated"]


def test_totp_codes_are_single_use_per_window_and_recovery_codes_once(app, clock) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    with pytest.raises(Refused):
        services.enable_totp(user, TOTP_SECRET, "000000" if totp_now() != "000000" else "111111")
    codes = services.enable_totp(user, TOTP_SECRET, totp_now())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c.code_hash) == 64 and c.code_hash not in codes for c in user.recovery_codes)
    # The enrolment code itself cannot be replayed, nor can any code of the same window.
    assert services.check_second_factor(user, totp_now()) is None
    clock.advance(seconds=totp.STEP_SECONDS)
    code = totp_now()
    assert services.check_second_factor(user, code) == "totp"
    assert services.check_second_factor(user, code) is None
    assert services.check_second_factor(user, codes[0].upper()) == "recovery"
    assert services.check_second_factor(user, codes[0]) is None
    assert user.unused_recovery_codes == 9


def test_staff_cannot_switch_off_two_factor_but_bidders_can(app, officer, bidder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused):
        services.disable_totp(officer, by=officer)
    services.enable_totp(bidder, TOTP_SECRET, totp_now())
    services.disable_totp(bidder, by=bidder)
    assert not bidder.has_totp and bidder.recovery_codes == []


def test_export_contains_the_users_data_but_no_secrets(app, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    data = services.export_personal_data(bidder)
    assert data["account"]["email"] == bidder.email
    assert data["organisations"][0]["name"] == organisation.name
    text = str(data)
    assert bidder.password_hash not in text and "$argon2" not in text


def test_email_change_needs_the_link_and_cannot_take_an_existing_address(app, smtp_server, bidder) -> None:  # type: ignore[no-untyped-def]
    taken = make_user()
    services.request_email_change(bidder, taken.email)  # silently nothing
    services.request_email_change(bidder, "Neu@Example.org")
    db.session.commit()
    from portal.mail.services import deliver_pending

    deliver_pending()
    assert smtp_server.to(taken.email) == []
    token = path_of(link_in(smtp_server, "neu@example.org")).rsplit("/", 1)[-1]
    old = bidder.email
    services.confirm_email_change(token, by=bidder)
    db.session.commit()
    deliver_pending()
    assert bidder.email == "neu@example.org"
    assert smtp_server.to(old), "the old address is told about the change"
    with pytest.raises(Refused):
        services.confirm_email_change(token, by=bidder)


def test_invitation_stores_only_a_hash_of_the_token(app, admin, smtp_server) -> None:  # type: ignore[no-untyped-def]
    invitation = services.invite_staff("neu@example.org", {Role.OFFICER}, by=admin)
    db.session.commit()
    from portal.mail.services import deliver_pending

    deliver_pending()
    token = path_of(link_in(smtp_server, "neu@example.org")).rsplit("/", 1)[-1]
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    assert db.session.get(Invitation, invitation.id).email == "neu@example.org"
    assert db.session.scalar(sa.select(User).where(User.email == "neu@example.org")) is None
    assert timedelta(0) < invitation.expires_at - invitation.created_at <= timedelta(days=app.config["INVITATION_DAYS"])
