"""The council view: who may see it, what it shows (figures only) and the PDF status report."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from portal.consultation.models import ConsultationState
from portal.extensions import db
from portal.observer.figures import Figure, register_figures, unregister_figures
from tests.conftest import login
from tests.factories_bids import close_call
from tests.factories_consultation import make_comment, make_consultation, make_response

ROUTES = ["/kreistag/", "/kreistag/statusbericht.pdf"]
EXPECTED = {"bidder": 403, "reviewer": 403, "admin": 403, "observer": 200, "officer": 200}


def test_anonymous_visitors_are_sent_to_the_login(client) -> None:  # type: ignore[no-untyped-def]
    for url in ROUTES:
        response = client.get(url)
        assert response.status_code == 302 and "/anmelden" in response.headers["Location"], url


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_only_council_members_and_officers_see_the_council_view(client, role, request) -> None:  # type: ignore[no-untyped-def]
    login(client, request.getfixturevalue(role))
    for url in ROUTES:
        assert client.get(url).status_code == EXPECTED[role], url
    start = client.get("/").get_data(as_text=True)
    assert ('href="/kreistag/"' in start) == (EXPECTED[role] == 200)


def _dashboard(client: Any, observer: Any) -> str:
    login(client, observer)
    return client.get("/kreistag/").get_data(as_text=True)


def test_bid_counts_only_after_the_deadline_and_never_names(client, observer, procedures, clock) -> None:  # type: ignore[no-untyped-def]
    call = procedures["bid_call"]
    page = _dashboard(client, observer)
    assert call.title in page and procedures["cancelled"].title in page and procedures["open_call"].title in page
    assert procedures["draft"].title not in page
    assert page.count("erst nach Fristablauf") == 2 + 2  # two lots each of the open and bid calls
    assert "Frist für Interessenbekundungen" in page and "Nächste Frist" in page
    close_call(call, clock)
    page = _dashboard(client, observer)
    assert page.count("erst nach Fristablauf") == 2
    section = page.split(call.title, 1)[1].split("</article>", 1)[0]
    cells = [cell.split("</td>")[0].strip() for cell in section.split('<td class="num">')[1:]]
    assert cells == ["1", "2", "1", "1"]  # positions and bids of lots 1 and 2
    for organisation in procedures["organisations"]:
        assert organisation.name not in page
    assert "Unser Konzept" not in page  # no bid contents


def test_consultations_with_figures_and_the_published_report(client, observer, officer, procedures, bidder) -> None:  # type: ignore[no-untyped-def]
    consultation = procedures["consultation"]
    comment = make_comment(consultation, bidder, organisation=bidder.active_memberships[0].organisation)
    make_comment(consultation, bidder, organisation=bidder.active_memberships[0].organisation, section="2")
    make_response(comment, officer)
    published = make_consultation(officer, title="Bericht Sozialplanung", state=ConsultationState.REPORT_PUBLISHED)
    make_consultation(officer, title="Unveröffentlichter Entwurf", state=ConsultationState.DRAFT)
    page = _dashboard(client, observer)
    assert "Konzeptentwurf Integration" in page and "Bericht Sozialplanung" in page
    assert "Unveröffentlichter Entwurf" not in page
    part = page.split(f'id="consultation-{consultation.id}-title"', 1)[1].split("</article>", 1)[0]
    assert "<dt>Stellungnahmen</dt><dd>2</dd>" in part and "<dt>davon mit Abwägung</dt><dd>1</dd>" in part
    assert "Ende der Beteiligung" in part and "noch nicht veröffentlicht" in part
    assert f"/beteiligung/{published.id}/bericht" in page


@pytest.fixture
def review_figures() -> Iterator[list[int]]:
    """A review-progress provider as the review domain will register it (real registry)."""
    calls_seen: list[int] = []

    def provider(calls: Any) -> dict[int, list[Figure]]:
        calls_seen.append(len(calls))
        return {c.id: [Figure("Bewertungen abgeschlossen", "4 von 6", lot=1)] for c in calls if c.title == "Flüchtlingsberatung"}

    register_figures("review", provider)
    yield calls_seen
    unregister_figures("review", provider)


def test_sections_of_other_domains_appear_only_when_provided(client, observer, procedures, review_figures) -> None:  # type: ignore[no-untyped-def]
    page = _dashboard(client, observer)
    assert review_figures == [3]  # one call with every procedure
    assert page.count("Stand der Bewertung") == 1 and "Los 1: Bewertungen abgeschlossen</dt><dd>4 von 6" in page
    assert "Entscheidungen" not in page


def test_no_provider_no_section(client, observer, procedures) -> None:  # type: ignore[no-untyped-def]
    page = _dashboard(client, observer)
    assert "Stand der Bewertung" not in page and "Entscheidungen" not in page
    with pytest.raises(ValueError):
        register_figures("scores", lambda calls: {})


def test_status_report_pdf(client, observer, procedures, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    close_call(procedures["bid_call"], clock)
    login(client, observer)
    response = client.get("/kreistag/statusbericht.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=\"statusbericht-")
    path = tmp_path / "bericht.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    for expected in ("Statusbericht für den Kreistag", "Flüchtlingsberatung", "Case Management 2026",
                     "Konzeptentwurf Integration", "Frist für Interessenbekundungen", "Seite 1 von"):
        assert expected in text, expected
    for organisation in procedures["organisations"]:
        assert organisation.name not in text
    db.session.rollback()
