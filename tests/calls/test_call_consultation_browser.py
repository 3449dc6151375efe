"""Browser: the call page names its consultation, both pages show their public audit trail,
and the trail page links back; axe finds no violation on any of them."""
from __future__ import annotations

import pytest

from portal.calls.services import publish_call
from portal.consultation import services as consultation_services
from portal.consultation.models import ConsultationState
from portal.extensions import db
from tests.browser_support import check_a11y
from tests.factories_calls import make_call
from tests.factories_consultation import make_consultation

pytestmark = pytest.mark.browser


def test_call_and_consultation_pages_link_and_show_their_trails(page, live_server, officer, clock) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer, state=ConsultationState.DRAFT, title="Konzeptentwurf KIM 2026")
    consultation_services.open_consultation(consultation, by=officer)
    db.session.commit()
    call = make_call(consultation_id=consultation.id, title="Case Management KIM")
    publish_call(call, by=officer)
    db.session.commit()
    reference = call.reference
    db.session.commit()  # reading the call began a transaction; SQLite's write lock must be free for the server

    tab = page
    tab.goto(live_server(f"/aufrufe/{reference}"))
    assert tab.locator("h1").count() == 1
    assert "Aufruf veröffentlicht" in tab.locator("#verlauf").inner_text()
    check_a11y(tab)

    tab.click("text=Verlauf dieses Aufrufs auf einer eigenen Seite")
    assert tab.locator("h1").count() == 1 and "Aufruf veröffentlicht" in tab.content()
    check_a11y(tab)
    tab.click("text=Zurück zur Seite „Case Management KIM“")
    assert tab.locator("h1").inner_text() == "Case Management KIM"

    tab.click("text=Konzeptentwurf KIM 2026")
    assert tab.locator("h1").inner_text() == "Konzeptentwurf KIM 2026"
    assert "Beteiligung eröffnet" in tab.locator("#verlauf").inner_text()
    check_a11y(tab)
    tab.click("section[aria-labelledby='calls-title'] >> text=Case Management KIM")
    assert tab.locator("h1").inner_text() == "Case Management KIM"
