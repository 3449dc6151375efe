"""Done-when for the review, in a real browser with axe-core on every page visited.

The officer sets up the panel; two reviewers declare (one with a conflict for
one bid), score and submit; the chair declares, records eligibility (one bid
fails), consolidates (one score differs from the median, with a reason) and
closes; the ranking page shows exactly the hand-computed ranking.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

import pytest

from portal.extensions import db
from portal.review.queries import eligibility_criteria, scored_criteria
from tests.browser_support import check_a11y, signed_in_tab
from tests.factories_review import make_opened_call

pytestmark = pytest.mark.browser

RITA = {"Anker e. V.": {"K1": 4, "K2": 3, "K3": 5, "K4": 2, "K5": 3},
        "Compass e. V.": {"K1": 3, "K2": 3, "K3": 3, "K4": 3, "K5": 3}}
RALF = {"Anker e. V.": {"K1": 4, "K2": 4, "K3": 5, "K4": 2, "K5": 3},
        "Brücke gGmbH": {"K1": 5, "K2": 2, "K3": 3, "K4": 4, "K5": 4},
        "Compass e. V.": {"K1": 3, "K2": 3, "K3": 3, "K4": 3, "K5": 3}}
# The chair keeps the median everywhere except Anker K2 (median 3.5 → 3, with a reason).
CONSOLIDATED = {"Anker e. V.": {"K1": 4, "K2": 3, "K3": 5, "K4": 2, "K5": 3},
                "Brücke gGmbH": {"K1": 5, "K2": 2, "K3": 3, "K4": 4, "K5": 4}}
# By hand (weights 30/25/20/15/10, max 5 points):
#   Brücke: 30·5/5 + 25·2/5 + 20·3/5 + 15·4/5 + 10·4/5 = 30 + 10 + 12 + 12 + 8 = 72
#   Anker:  30·4/5 + 25·3/5 + 20·5/5 + 15·2/5 + 10·3/5 = 24 + 15 + 20 + 6 + 6 = 71
#   Compass: excluded (E1 not met)
EXPECTED_RANKING = [["1", "Brücke gGmbH", "72"], ["2", "Anker e. V.", "71"]]
Criterion = namedtuple("Criterion", "id code")
WHY = "Die Darstellung ist schlüssig und mit Beispielen aus der Region belegt."


def go(tab: Any, url: str) -> None:
    tab.goto(url)
    check_a11y(tab)


def press(tab: Any, label: str) -> None:
    tab.get_by_role("button", name=label).click()
    tab.wait_for_load_state()
    check_a11y(tab)


def score(tab: Any, bid_id: int, criteria: list[Any], points: dict[str, int]) -> None:
    go(tab, f"/begutachtung/interessenbekundungen/{bid_id}")
    assert "Antwort des Trägers" in tab.content() and "sehr gut erfüllt" in tab.content()
    for c in criteria:
        tab.check(f"#points_{c.id}-{points[c.code]}")
        tab.fill(f"#justification_{c.id}", f"{c.code}: {WHY}")
    press(tab, "Bewertung speichern")
    assert "Ihre Bewertung wurde gespeichert." in tab.content()


def declare(tab: Any, lot_id: int, orgs: dict[str, int], conflict: str | None = None) -> None:
    go(tab, f"/begutachtung/lose/{lot_id}")
    tab.get_by_role("link", name="Befangenheitserklärung abgeben").click()
    tab.wait_for_load_state()
    check_a11y(tab)
    for name, org_id in orgs.items():
        if name == conflict:
            tab.check(f"#decision_{org_id}-1")
            tab.select_option(f"#kind_{org_id}", "membership")
            tab.fill(f"#reason_{org_id}", "Ich bin Mitglied im Vorstand dieses Trägers.")
        else:
            tab.check(f"#decision_{org_id}-0")
    tab.check("#confirm")
    press(tab, "Erklärung abgeben")
    assert "Ihre Erklärung wurde gespeichert." in tab.content()


def test_declare_score_eligibility_consolidate_rank(browser, app, live_server, officer, officer2, reviewer,  # type: ignore[no-untyped-def]
                                                    reviewer2, chair, clock) -> None:
    call, bids = make_opened_call(clock, officer, officer2, organisations=["Anker e. V.", "Brücke gGmbH", "Compass e. V."])
    lot = call.lots[0]
    reference, lot_id = call.reference, lot.id
    ids = {name: bid.id for name, bid in bids.items()}
    orgs = {name: bid.organisation_id for name, bid in bids.items()}
    # Plain values only from here on: touching an expired ORM object would begin a
    # transaction that holds SQLite's write lock while the live server writes.
    scored = [Criterion(c.id, c.code) for c in scored_criteria(lot)]
    eligibility = [Criterion(c.id, c.code) for c in eligibility_criteria(lot)]
    db.session.commit()
    base = f"/verwaltung/aufrufe/{reference}/begutachtung"

    # The officer assigns the panel.
    office = signed_in_tab(browser, app, live_server, officer)
    go(office, f"{base}/gremium")
    for person in ("Rita Gutachterin", "Ralf Gutachter"):
        office.select_option("#assign-lot", label="Los 1: Region 1")
        office.select_option("#assign-user_id", label=person)
        press(office, "Beauftragen")
        assert "ist für Los 1 beauftragt" in office.content()
    office.select_option("#chair-user_id", label="Vera Vorsitz")
    press(office, "Vorsitz benennen")

    # Rita declares a conflict for Brücke, scores the others and submits.
    rita = signed_in_tab(browser, app, live_server, reviewer)
    go(rita, "/begutachtung")
    declare(rita, lot_id, orgs, conflict="Brücke gGmbH")
    response = rita.goto(f"/begutachtung/interessenbekundungen/{ids['Brücke gGmbH']}")
    assert response.status == 403  # not even by URL
    check_a11y(rita)
    go(rita, f"/begutachtung/lose/{lot_id}")
    assert "Bewertungen aller Gutachter:innen ansehen" not in rita.content()
    for name, points in RITA.items():
        score(rita, ids[name], scored, points)
    go(rita, f"/begutachtung/lose/{lot_id}")
    rita.check("#submit-confirm")
    press(rita, "Bewertung abschließen")
    assert "Ihre Bewertung ist abgeschlossen" in rita.content()

    # Ralf declares no conflict, scores all three and submits.
    ralf = signed_in_tab(browser, app, live_server, reviewer2)
    declare(ralf, lot_id, orgs)
    for name, points in RALF.items():
        score(ralf, ids[name], scored, points)
    go(ralf, f"/begutachtung/lose/{lot_id}")
    ralf.check("#submit-confirm")
    press(ralf, "Bewertung abschließen")
    go(ralf, f"/begutachtung/lose/{lot_id}/bewertungen")
    assert "Rita Gutachterin: 4" in ralf.content()

    # The chair declares, records eligibility (Compass fails E1), consolidates and closes.
    vera = signed_in_tab(browser, app, live_server, chair)
    declare(vera, lot_id, orgs)
    go(vera, base)
    for name in ("Anker e. V.", "Brücke gGmbH", "Compass e. V."):
        go(vera, f"{base}/lose/1/eignung/{ids[name]}")
        for c in eligibility:
            fails = name == "Compass e. V." and c.code == "E1"
            vera.check(f"#met_{c.id}-{1 if fails else 0}")
            vera.fill(f"#reason_{c.id}", "Kein Freistellungsbescheid vorgelegt." if fails else "Nachweis liegt vor.")
        press(vera, "Eignung festhalten")
        assert "ist festgestellt" in vera.content()
    go(vera, f"{base}/lose/1/konsolidierung")
    assert "3,5" in vera.content()  # Anker K2: median of 3 and 4
    for name, points in CONSOLIDATED.items():
        go(vera, f"{base}/lose/1/konsolidierung/{ids[name]}")
        for c in scored:
            vera.select_option(f"#points_{c.id}", str(points[c.code]))
        press(vera, "Konsolidierte Bewertung speichern")
        if name == "Anker e. V.":  # 3 differs from the median 3.5: a reason is required, nothing typed is lost
            assert "weicht vom Median der Gutachten (3,5) ab" in vera.content()
            k2 = next(c for c in scored if c.code == "K2")
            assert vera.input_value(f"#points_{k2.id}") == "3"
            vera.fill(f"#reason_{k2.id}", "Die Vernetzung ist nur für zwei Kommunen belegt.")
            press(vera, "Konsolidierte Bewertung speichern")
        assert "ist gespeichert" in vera.content()
    vera.check("#close-confirm")
    press(vera, "Konsolidierung abschließen")

    # The ranking equals the hand-computed one.
    assert "Rangfolge" in vera.title()
    rows = vera.locator("table tbody tr").all()
    got = [[cell.inner_text().strip() for cell in row.locator("td, th").all()] for row in rows]
    assert [[r[0], r[1], r[-2]] for r in got] == EXPECTED_RANKING
    assert "Compass e. V.: E1 Eignung 1: Kein Freistellungsbescheid vorgelegt." in vera.locator("main").inner_text()
    assert "Die Konsolidierung ist abgeschlossen; die Rangfolge ist endgültig." in vera.content()
    go(office, f"{base}/lose/1/rangfolge")
    go(office, base)
