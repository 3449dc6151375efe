"""Done-when for bids, in a real browser with axe-core on every page.

Two organisations draft and submit for the same lot, one submits a second
version and the other withdraws, the deadline passes (clock moved) and a late
submission is refused, one officer starts the opening and a second confirms,
and the opening record lists the right versions with matching hashes.
"""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from portal.bids.models import Bid
from portal.extensions import db
from tests.browser_support import check_a11y, signed_in_tab
from tests.pdf_samples import valid_pdf

pytestmark = pytest.mark.browser


tab_for = signed_in_tab


def click(tab: Any, label: str) -> None:
    tab.get_by_role("button", name=label).click()
    tab.wait_for_load_state()
    check_a11y(tab)


def fill_draft(tab: Any, text: str) -> None:
    for area in tab.locator("textarea").all():
        area.fill(text)
    for box in tab.locator("input[type=checkbox][id^=declaration_]").all():
        box.check()
    tab.fill("#contact_name", "Ansprechperson")
    tab.fill("#contact_email", "kontakt@traeger.example.org")


def draft_and_submit(tab: Any, reference: str, text: str) -> str:
    tab.goto("/interessenbekundungen")
    check_a11y(tab)
    tab.goto(f"/aufrufe/{reference}/interessenbekundung?los=1")
    check_a11y(tab)
    click(tab, "Entwurf anlegen")
    fill_draft(tab, text)
    tab.fill("#attachment_title", "Konzept")
    tab.set_input_files("#attachment", files=[{"name": "Konzept für Los 1.pdf", "mimeType": "application/pdf", "buffer": valid_pdf()}])
    click(tab, "Entwurf speichern")
    assert "Konzept für Los 1.pdf" in tab.content()
    click(tab, "Speichern und zur Einreichung")
    tab.check("#confirm")
    click(tab, "Verbindlich einreichen")
    assert "Eingangsbestätigung" in tab.title()
    return tab.url


def test_two_bidders_versions_withdrawal_deadline_and_opening(
    browser, app, live_server, call, member_a, member_b, officer, officer2, clock  # type: ignore[no-untyped-def]
) -> None:
    reference, deadline = call.reference, call.submission_deadline
    org_a, org_b = member_a.active_memberships[0].organisation_id, member_b.active_memberships[0].organisation_id
    a = tab_for(browser, app, live_server, member_a)
    b = tab_for(browser, app, live_server, member_b)
    draft_and_submit(a, reference, "Erste Fassung von A")
    draft_and_submit(b, reference, "Fassung von B")

    # A submits a second version.
    bid_a = db.session.scalars(select(Bid).where(Bid.organisation_id == org_a)).one().id
    bid_b = db.session.scalars(select(Bid).where(Bid.organisation_id == org_b)).one().id
    db.session.commit()
    a.goto(f"/interessenbekundungen/{bid_a}")
    fill_draft(a, "Zweite Fassung von A")
    click(a, "Speichern und zur Einreichung")
    a.check("#confirm")
    click(a, "Verbindlich einreichen")

    # B withdraws.
    b.goto(f"/interessenbekundungen/{bid_b}/zuruecknehmen")
    check_a11y(b)
    b.check("#confirm")
    click(b, "Verbindlich zurückziehen")
    assert "Rücknahme" in b.content()

    # A prepares a third version, but the deadline passes before posting.
    a.goto(f"/interessenbekundungen/{bid_a}")
    fill_draft(a, "Dritte Fassung von A, zu spät")
    click(a, "Speichern und zur Einreichung")
    clock.set(deadline)
    a.check("#confirm")
    a.get_by_role("button", name="Verbindlich einreichen").click()
    a.wait_for_load_state()
    check_a11y(a)
    assert "abgelaufen" in a.content()
    a.goto(f"/interessenbekundungen/{bid_a}")
    check_a11y(a)
    assert "Es zählt die zuletzt eingereichte Fassung 2" in a.content()

    db.session.expire_all()
    second_a = db.session.get(Bid, bid_a).versions[-1]
    withdrawal_b = db.session.get(Bid, bid_b).versions[-1]
    assert second_a.number == 2 and withdrawal_b.kind == "withdrawal"
    first_a_receipt = db.session.get(Bid, bid_a).versions[0].receipt_number
    second_a_receipt, second_a_digest = second_a.receipt_number, second_a.digest
    withdrawal_receipt, withdrawal_digest = withdrawal_b.receipt_number, withdrawal_b.digest
    db.session.commit()

    first = tab_for(browser, app, live_server, officer)
    first.goto(f"/verwaltung/aufrufe/{reference}/oeffnung")
    check_a11y(first)
    assert "Los 1: 1" in first.content()
    first.check("#confirm")
    click(first, "Öffnung einleiten")
    assert first.get_by_role("button", name="Öffnung bestätigen").count() == 0

    second = tab_for(browser, app, live_server, officer2)
    second.goto(f"/verwaltung/aufrufe/{reference}/oeffnung")
    check_a11y(second)
    second.check("#confirm")
    click(second, "Öffnung bestätigen")
    record = second.content()
    assert "Öffnungsprotokoll" in second.title()
    assert second_a_receipt in record and second_a_digest in record
    assert withdrawal_receipt in record and withdrawal_digest in record
    assert first_a_receipt not in record
    second.get_by_role("link", name="Los 1: Caritasverband Test e. V.").click()
    second.wait_for_load_state()
    check_a11y(second)
    assert "stimmt mit der Eingangsbestätigung überein" in second.content()
