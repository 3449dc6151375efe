"""Done-when: a whole consultation in a real browser, checked by axe-core on every page."""
from __future__ import annotations

import subprocess
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from portal.accounts.models import Role
from portal.consultation.models import Consultation
from portal.core.time import to_berlin
from portal.extensions import db
from tests.browser_support import check_a11y
from tests.factories import add_member, make_organisation, make_user

pytestmark = pytest.mark.browser

DRAFT = """# Ziele und Zielgruppe
Das KIM soll die Zusammenarbeit zur Integration fördern.

# Strategischer Overhead
Vier Planstellen koordinieren das KIM.

# Case Management in den Kommunen
Sechs Case Manager beraten in den Kommunen.
"""


def _release() -> None:
    """End the test's own transaction: on SQLite it would hold the write lock the live server needs."""
    db.session.commit()


def _sign_in(browser: Any, app: Flask, server: Any, user: Any) -> Any:
    """A browser tab whose session cookie signs `user` in (the sign-in form is built elsewhere)."""
    from portal.accounts.sessions import TWO_FACTOR_PASSED

    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    cookie = serializer.dumps({"_user_id": user.get_id(), "_fresh": True, TWO_FACTOR_PASSED: True})
    _release()
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", base_url=server.url)
    context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": server.url}])
    tab = context.new_page()
    tab.set_default_timeout(15000)
    return tab


def _press(tab: Any, name: str) -> None:
    """Submit a form with the button `name` and wait until the answer page has loaded."""
    with tab.expect_navigation():
        tab.get_by_role("button", name=name).click()


def _comment(tab: Any, consultation_id: int, section: str, author_label: str, body: str, group: str | None = None) -> None:
    tab.goto(f"/beteiligung/{consultation_id}")
    tab.get_by_role("link", name="Stellungnahme abgeben").first.click()
    check_a11y(tab)
    tab.get_by_label("Worauf bezieht sich Ihre Stellungnahme?").select_option(section)
    tab.get_by_label(author_label).check()
    if group:
        tab.get_by_label("Name der Fraktion").fill(group)
    tab.get_by_label("Ihre Stellungnahme", exact=True).fill(body)
    _press(tab, "Stellungnahme veröffentlichen")
    assert "ist veröffentlicht" in tab.content()
    check_a11y(tab)


def test_consultation_from_markdown_to_report(app, browser, live_server, clock, officer, organisation, bidder, smtp_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    organisation2 = make_organisation(name="Diakonisches Werk Test gGmbH")
    bidder2 = make_user(name="Dirk Diakonie")
    add_member(organisation2, bidder2)
    council = make_user(name="Kai Kreistag", roles=[Role.OBSERVER])
    org1_name, org2_name = organisation.name, organisation2.name
    ids_of = {"bidder": bidder.id, "bidder2": bidder2.id, "council": council.id}
    email_of = {bidder.id: bidder.email, bidder2.id: bidder2.email, council.id: council.email}
    staff = _sign_in(browser, app, live_server, officer)
    tabs = {key: _sign_in(browser, app, live_server, user) for key, user in
            [("bidder", bidder), ("bidder2", bidder2), ("council", council)]}

    # The officer pastes the draft and opens the consultation.
    staff.goto("/beteiligung/neu")
    check_a11y(staff)
    start, end = to_berlin(clock() - timedelta(hours=1)), to_berlin(clock() + timedelta(days=14))
    staff.get_by_label("Titel").fill("Konzeptentwurf KIM")
    staff.get_by_label("Entwurf (Markdown)").fill(DRAFT)
    staff.get_by_label("Beginn der Frist").fill(start.strftime("%Y-%m-%dT%H:%M"))
    staff.get_by_label("Ende der Frist").fill(end.strftime("%Y-%m-%dT%H:%M"))
    _press(staff, "Speichern")
    check_a11y(staff)
    _press(staff, "Verfahren öffnen und veröffentlichen")
    assert "Offen für Stellungnahmen" in staff.content()
    consultation = db.session.query(Consultation).one()
    assert [s.number for s in consultation.first_version.sections] == ["1", "2", "3"]
    consultation_id, closes_at = consultation.id, consultation.closes_at
    _release()

    # Two organisations and a council member comment on different sections.
    _comment(tabs["bidder"], consultation_id, "3", f"für {org1_name}", "Die Case Manager sollten bei erfahrenen Trägern angesiedelt sein.")
    _comment(tabs["bidder2"], consultation_id, "1", f"für {org2_name}", "Unsachlicher Beitrag mit Namen einer Beschäftigten.")
    _comment(tabs["council"], consultation_id, "2", "für meine Kreistagsfraktion", "Vier Planstellen erscheinen viel.",
             group="SPD-Fraktion im Kreistag")
    db.session.expire_all()
    comments = {c.author_id: c for c in db.session.get(Consultation, consultation_id).comments}
    hidden_id = comments[ids_of["bidder2"]].id
    answers = {ids_of["bidder"]: ("teilweise übernommen", "Die Auswahlkriterien werden veröffentlicht."),
               ids_of["council"]: ("nicht übernommen", "Die Stellen sind durch die Förderrichtlinie vorgegeben.")}
    expected = {author_id: comments[author_id].body for author_id in answers}
    ids = {author_id: comments[author_id].id for author_id in answers}
    _release()

    # The officer hides one comment with a reason; its place stays visible.
    staff.goto(f"/beteiligung/stellungnahme/{hidden_id}/ausblenden")
    check_a11y(staff)
    _press(staff, "Ausblenden")
    assert "Bitte korrigieren Sie" in staff.content()
    check_a11y(staff)
    staff.get_by_label("Enthält personenbezogene Daten Dritter").check()
    staff.get_by_label("Erläuterung (wird veröffentlicht)").fill("Nennt eine Beschäftigte mit Namen.")
    _press(staff, "Ausblenden")
    assert "Nennt eine Beschäftigte mit Namen." in staff.content()
    check_a11y(staff)
    # Showing it again needs a reason (the officer leaves it hidden here).
    with staff.expect_navigation():
        staff.get_by_role("link", name=f"Wieder einblenden (Nr. {hidden_id})").click()
    check_a11y(staff)
    _press(staff, "Wieder einblenden")
    assert "Bitte korrigieren Sie" in staff.content() and "wieder eingeblendet wird" in staff.content()
    check_a11y(staff)

    # The period ends; the officer closes, answers every comment and publishes.
    # Two weeks later the old session has timed out: the officer signs in anew.
    clock.set(closes_at + timedelta(minutes=1))
    staff.context.close()
    staff = _sign_in(browser, app, live_server, officer)
    staff.goto(f"/beteiligung/{consultation_id}/verwalten")
    _press(staff, "Beteiligung beenden")
    check_a11y(staff)
    for author_id, (state, reason) in answers.items():
        staff.goto(f"/beteiligung/stellungnahme/{ids[author_id]}/abwaegung")
        check_a11y(staff)
        staff.get_by_label(state, exact=True).check()
        staff.get_by_label("Begründung").fill(reason)
        _press(staff, "Antwort speichern")
    _press(staff, "Abwägung veröffentlichen und Beteiligte benachrichtigen")
    assert "Abgewogen" in staff.content()
    check_a11y(staff)

    # Commenters receive e-mails with a link to their comment and response.
    for user_id in (ids_of["bidder"], ids_of["council"]):
        mails = smtp_server.to(email_of[user_id])
        assert len(mails) == 1
        assert f"/beteiligung/{consultation_id}#kommentar-{ids[user_id]}" in smtp_server.text(mails[0])
    assert smtp_server.to(email_of[ids_of["bidder2"]])  # notified when hidden

    _press(staff, "Beteiligungsbericht veröffentlichen")
    public = browser.new_context(locale="de-DE", base_url=live_server.url).new_page()
    public.goto(f"/beteiligung/{consultation_id}")
    check_a11y(public)
    assert "Die Auswahlkriterien werden veröffentlicht." in public.content()
    public.get_by_role("link", name="Beteiligungsbericht").click()
    check_a11y(public)

    # The report PDF contains every comment with its response.
    pdf = public.request.get(live_server(f"/beteiligung/{consultation_id}/bericht.pdf"))
    assert pdf.status == 200
    path = tmp_path / "bericht.pdf"
    path.write_bytes(pdf.body())
    text = " ".join(subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout.split())
    for author_id, (state, reason) in answers.items():
        assert " ".join(expected[author_id].split()) in text
        assert reason in text and state in text
    assert "Ausgeblendet" in text and "Nennt eine Beschäftigte mit Namen." in text
    assert "Unsachlicher Beitrag" not in text
