"""The whole accounts flow in a real browser, every page checked by axe-core."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest

from portal.core.time import now
from portal.extensions import db
from tests.accounts.conftest import link_in
from tests.browser_support import check_a11y
from tests.factories import PASSWORD, TOTP_SECRET

pytestmark = pytest.mark.browser


def _sign_in(tab, email: str, password: str, secret: str | None = None, *, ahead: int = 0) -> None:  # type: ignore[no-untyped-def]
    tab.goto("/anmelden")
    check_a11y(tab)
    tab.get_by_label("E-Mail-Adresse", exact=True).fill(email)
    tab.get_by_label("Passwort", exact=True).fill(password)
    tab.get_by_role("button", name="Anmelden").click()
    if secret:
        assert tab.url.endswith("/anmelden/code")
        check_a11y(tab)
        code = pyotp.TOTP(secret).at(now() + timedelta(seconds=30 * ahead))
        tab.get_by_label("Code", exact=True).fill(code)
        tab.get_by_role("button", name="Bestätigen").click()
    assert tab.url.endswith("/konto"), tab.url


def _accept_invitation(tab, link: str, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    tab.goto(link)
    check_a11y(tab)
    tab.get_by_label("Ihr Name").fill(name)
    tab.get_by_label("Neues Passwort").fill(password)
    tab.get_by_label("Passwort wiederholen").fill(password)
    tab.get_by_role("button", name="Konto anlegen").click()
    assert tab.url.endswith("/anmelden")


def test_register_verify_invite_and_staff_enrolment(browser, page, live_server, smtp_server, officer, admin) -> None:  # type: ignore[no-untyped-def]
    # Read what the test needs, then end the test's transaction: on SQLite an
    # open transaction here would hold the write lock the live server needs.
    officer_email, admin_email = officer.email, admin.email
    db.session.commit()

    def new_tab():  # type: ignore[no-untyped-def]
        return browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", base_url=live_server.url).new_page()

    # 1. An organisation registers.
    page.goto("/registrieren")
    check_a11y(page)
    page.get_by_role("button", name="Registrieren").click()  # empty form: errors next to the fields
    assert page.locator(".error-summary").is_visible()
    check_a11y(page)
    fields = {
        "Name des Trägers": "Flüchtlingshilfe Siegen e. V.",
        "Rechtsform": "eingetragener Verein",
        "Straße und Hausnummer": "Bahnhofstraße 5",
        "Postleitzahl": "57072",
        "Ort": "Siegen",
        "E-Mail-Adresse des Trägers": "info@fh.example.org",
        "Bisherige Arbeit in der Migrationsberatung": "Seit 2016 Migrationsberatung.",
        "Ihr Name": "Fatma Yilmaz",
        "Ihre E-Mail-Adresse (für die Anmeldung)": "fatma@fh.example.org",
        "Passwort": "ein langer satz als passwort",
        "Passwort wiederholen": "ein langer satz als passwort",
    }
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Registrieren").click()
    assert page.locator("h1").inner_text().startswith("Fast geschafft")
    check_a11y(page)

    # 2. The e-mail address is verified from the mail the SMTP server received.
    page.goto(link_in(smtp_server, "fatma@fh.example.org"))
    check_a11y(page)
    page.get_by_role("button", name="E-Mail-Adresse bestätigen").click()
    assert page.url.endswith("/anmelden")

    # 3. An officer (with TOTP) verifies the organisation.
    staff = new_tab()
    _sign_in(staff, officer_email, PASSWORD, TOTP_SECRET)
    check_a11y(staff)
    staff.get_by_role("link", name="Träger prüfen").click()
    check_a11y(staff)
    staff.get_by_role("link", name="Flüchtlingshilfe Siegen e. V.").click()
    check_a11y(staff)
    staff.get_by_label("Freischalten").check()
    staff.get_by_role("button", name="Entscheidung speichern").click()
    check_a11y(staff)
    assert "freigeschaltet" in staff.content()
    staff.get_by_role("button", name="Abmelden").click()

    # 4. The member invites a colleague, who joins.
    _sign_in(page, "fatma@fh.example.org", "ein langer satz als passwort")
    check_a11y(page)
    page.get_by_role("link", name="Flüchtlingshilfe Siegen e. V.").click()
    assert "freigeschaltet" in page.content()
    check_a11y(page)
    page.get_by_label("E-Mail-Adresse der Kollegin oder des Kollegen").fill("kollege@fh.example.org")
    page.get_by_role("button", name="Einladung senden").click()
    assert "Die Einladung ist verschickt." in page.content()
    colleague = new_tab()
    _accept_invitation(colleague, link_in(smtp_server, "kollege@fh.example.org"), "Karl Kollege", "noch ein langer satz hier")
    _sign_in(colleague, "kollege@fh.example.org", "noch ein langer satz hier")
    colleague.get_by_role("link", name="Flüchtlingshilfe Siegen e. V.").click()
    assert "Fatma Yilmaz" in colleague.content() and "Karl Kollege" in colleague.content()

    # 5. The administrator invites a reviewer, who enrols TOTP and signs in with a code.
    boss = new_tab()
    _sign_in(boss, admin_email, PASSWORD, TOTP_SECRET)
    boss.get_by_role("link", name="Konten", exact=True).click()
    check_a11y(boss)
    boss.get_by_label("E-Mail-Adresse", exact=True).fill("rita@kreis.example.org")
    boss.get_by_label("Gutachter:in").check()
    boss.get_by_role("button", name="Einladung senden").click()
    assert "rita@kreis.example.org" in boss.content()
    boss.goto("/verwaltung/e-mails")
    check_a11y(boss)

    reviewer = new_tab()
    _accept_invitation(reviewer, link_in(smtp_server, "rita@kreis.example.org"), "Rita Gutachterin", "rita hat ein gutes passwort")
    reviewer.goto("/anmelden")
    reviewer.get_by_label("E-Mail-Adresse", exact=True).fill("rita@kreis.example.org")
    reviewer.get_by_label("Passwort", exact=True).fill("rita hat ein gutes passwort")
    reviewer.get_by_role("button", name="Anmelden").click()
    assert reviewer.url.endswith("/konto/zwei-faktor")
    check_a11y(reviewer)
    assert reviewer.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml;base64,")
    secret = reviewer.locator("#totp-secret").inner_text().strip()
    reviewer.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).at(now()))
    reviewer.get_by_role("button", name="Zwei-Faktor-Anmeldung einschalten").click()
    check_a11y(reviewer)
    assert len(reviewer.locator(".recovery-codes li").all()) == 10
    reviewer.get_by_role("link", name="Weiter zu Ihrem Konto").click()
    check_a11y(reviewer)
    reviewer.get_by_role("button", name="Abmelden").click()
    # The code of this window was used for the enrolment; the next one is accepted (clock drift).
    _sign_in(reviewer, "rita@kreis.example.org", "rita hat ein gutes passwort", secret, ahead=1)
    assert re.search("Gutachter:in", reviewer.content())


def test_account_and_security_pages_pass_axe(page, live_server, bidder) -> None:  # type: ignore[no-untyped-def]
    email, organisation_id = bidder.email, bidder.active_memberships[0].organisation_id
    db.session.commit()
    _sign_in(page, email, PASSWORD)
    for path in ["/konto", "/passwort-vergessen", "/konto/bestaetigen"]:
        page.goto(path)
        check_a11y(page)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Bestätigen").click()
    for path in ["/konto/passwort", "/konto/e-mail", "/konto/zwei-faktor", f"/traeger/{organisation_id}/bearbeiten"]:
        page.goto(path)
        check_a11y(page)
    page.goto("/passwort-neu/kaputt")
    check_a11y(page)
