"""The ranking recomputes hand-calculated examples exactly (Decimal, no float)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from portal.extensions import db
from portal.review import services
from portal.review.ranking import rank_lot
from tests.factories_review import make_opened_call, review_lot

# Consolidated points per organisation and criterion (KIM: K1 30 %, K2 25 %, K3 20 %, K4 15 %, K5 10 %, max 5).
POINTS = {
    "Anker e. V.":     {"K1": 4, "K2": 3, "K3": 5, "K4": 2, "K5": 3},  # 24 + 15 + 20 + 6 + 6 = 71
    "Brücke gGmbH":    {"K1": 5, "K2": 2, "K3": 3, "K4": 4, "K5": 4},  # 30 + 10 + 12 + 12 + 8 = 72
    "Compass e. V.":   {"K1": 4, "K2": 4, "K3": 3, "K4": 3, "K5": 2},  # 24 + 20 + 12 + 9 + 4 = 69
    "Dialog e. V.":    {"K1": 3, "K2": 4, "K3": 4, "K4": 3, "K5": 4},  # 18 + 20 + 16 + 9 + 8 = 71
    "Einklang e. V.":  {"K1": 4, "K2": 3, "K3": 4, "K4": 4, "K5": 1},  # 24 + 15 + 16 + 12 + 2 = 69
    "Fremd-Ort e. V.": {"K1": 5, "K2": 5, "K3": 5, "K4": 5, "K5": 5},  # excluded: E1 not met
}

# By hand: Brücke 72 first; Anker and Dialog 71, K1 4 > 3; Compass and Einklang 69, K1 equal (4), K2 4 > 3.
EXPECTED = [
    ("Brücke gGmbH", Decimal("72"), 1, None),
    ("Anker e. V.", Decimal("71"), 2, "K1"),
    ("Dialog e. V.", Decimal("71"), 3, "K1"),
    ("Compass e. V.", Decimal("69"), 4, "K2"),
    ("Einklang e. V.", Decimal("69"), 5, "K2"),
]


def test_kim_ranking_matches_the_hand_calculation(officer: Any, officer2: Any, reviewer: Any, reviewer2: Any,
                                                  chair: Any, clock: Any) -> None:
    call, bids = make_opened_call(clock, officer, officer2, organisations=POINTS)
    lot = call.lots[0]
    review_lot(lot, officer, [reviewer, reviewer2], chair, bids, POINTS,
               failing={"Fremd-Ort e. V.": "Kein Freistellungsbescheid vorgelegt."})
    ranking = rank_lot(lot)
    assert ranking.final and ranking.gaps == ()
    got = [(e.organisation_name, e.total, e.rank, e.tie_note) for e in ranking.entries if not e.excluded]
    assert got == EXPECTED
    assert all(isinstance(e.total, Decimal) for e in ranking.entries if not e.excluded)
    anker = ranking.entries[1]
    assert [(r.code, r.weight, r.points, r.weighted) for r in anker.criteria] == [
        ("K1", Decimal("30"), 4, Decimal("24")), ("K2", Decimal("25"), 3, Decimal("15")),
        ("K3", Decimal("20"), 5, Decimal("20")), ("K4", Decimal("15"), 2, Decimal("6")),
        ("K5", Decimal("10"), 3, Decimal("6")),
    ]
    assert sum(r.weighted for r in anker.criteria) == anker.total
    [excluded] = [e for e in ranking.entries if e.excluded]
    assert excluded.organisation_name == "Fremd-Ort e. V." and excluded.rank is None and excluded.total is None
    assert excluded.criteria == ()
    assert excluded.exclusion_reason == "E1 Eignung 1: Kein Freistellungsbescheid vorgelegt."
    assert ranking.entries[-1] == excluded
    assert services.lot_is_decidable(lot)


def test_fractional_weights_stay_exact(officer: Any, officer2: Any, reviewer: Any, chair: Any, clock: Any) -> None:
    from portal.calls.models import Criterion, CriterionKind

    call, bids = make_opened_call(clock, officer, officer2, organisations=["Anker e. V.", "Brücke gGmbH"], lots=1)
    for criterion in list(call.criteria):
        if criterion.kind == CriterionKind.SCORED:
            call.criteria.remove(criterion)
    call.criteria.extend([
        Criterion(kind=CriterionKind.SCORED, code="K1", title="Konzept", weight=Decimal("33.33"), position=1),
        Criterion(kind=CriterionKind.SCORED, code="K2", title="Netz", weight=Decimal("66.67"), position=2),
    ])
    call.tie_break = ["K1", "lot"]
    db.session.commit()
    points = {"Anker e. V.": {"K1": 3, "K2": 4}, "Brücke gGmbH": {"K1": 1, "K2": 5}}
    review_lot(call.lots[0], officer, [reviewer], chair, bids, points)
    ranking = rank_lot(call.lots[0])
    # 33.33 × 3 / 5 + 66.67 × 4 / 5 = 19.998 + 53.336 = 73.334; 33.33 / 5 + 66.67 = 6.666 + 66.67 = 73.336
    assert [(e.organisation_name, e.total, e.rank) for e in ranking.entries] == [
        ("Brücke gGmbH", Decimal("73.336"), 1), ("Anker e. V.", Decimal("73.334"), 2),
    ]


DRAW_POINTS = {
    "Anker e. V.": {"K1": 4, "K2": 4, "K3": 3, "K4": 3, "K5": 3},
    "Brücke gGmbH": {"K1": 4, "K2": 4, "K3": 3, "K4": 3, "K5": 3},
    "Compass e. V.": {"K1": 2, "K2": 2, "K3": 2, "K4": 2, "K5": 2},
}


def test_a_full_tie_needs_a_recorded_draw(officer: Any, officer2: Any, reviewer: Any, chair: Any, clock: Any) -> None:
    from portal.core.errors import NotPermitted, Refused

    call, bids = make_opened_call(clock, officer, officer2, organisations=DRAW_POINTS)
    lot = call.lots[0]
    review_lot(lot, officer, [reviewer], chair, bids, DRAW_POINTS)
    ranking = rank_lot(lot)
    assert ranking.final and not services.lot_is_decidable(lot)
    assert [(e.organisation_name, e.rank, e.tie_note) for e in ranking.entries] == [
        ("Anker e. V.", 1, "Los: noch nicht gezogen"), ("Brücke gGmbH", 1, "Los: noch nicht gezogen"),
        ("Compass e. V.", 3, None),
    ]
    assert any("durch Los" in gap for gap in ranking.gaps)
    anker, bruecke = bids["Anker e. V."].id, bids["Brücke gGmbH"].id
    with pytest.raises(NotPermitted):
        services.record_draw(lot, [bruecke, anker], by=chair, witness="Petra Zeugin")
    with pytest.raises(Refused, match="offenen Gleichstands"):
        services.record_draw(lot, [bruecke, bids["Compass e. V."].id], by=officer, witness="Petra Zeugin")
    with pytest.raises(Refused, match="anwesend"):
        services.record_draw(lot, [bruecke, anker], by=officer, witness=" ")
    services.record_draw(lot, [bruecke, anker], by=officer, witness="Petra Zeugin")
    db.session.commit()
    ranking = rank_lot(lot)
    assert [(e.organisation_name, e.rank) for e in ranking.entries] == [
        ("Brücke gGmbH", 1), ("Anker e. V.", 2), ("Compass e. V.", 3),
    ]
    assert ranking.entries[0].tie_note.startswith("Los: gezogen am ")
    assert "Olaf Vergabe" in ranking.entries[0].tie_note and "Petra Zeugin" in ranking.entries[0].tie_note
    assert ranking.gaps == () and services.lot_is_decidable(lot)
