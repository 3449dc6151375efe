"""An approval compares the live ranking with the proposal's by what decides, not by wording."""
from __future__ import annotations

import copy
from typing import Any

from flask_babel import force_locale

from portal.awards.ranking import eligible, ranking_changes, same_ranking

SNAP: dict[str, Any] = {
    "lot_id": 1, "final": True, "gaps": [],
    "entries": [
        {"bid_id": 2, "organisation_id": 20, "organisation_name": "B", "total": "69.00", "rank": 2, "excluded": False,
         "exclusion_reason": None, "tie_note": None, "criteria": [{"code": "K1", "points": 4, "reason": "gut"}]},
        {"bid_id": 1, "organisation_id": 10, "organisation_name": "A", "total": "81.00", "rank": 1, "excluded": False,
         "exclusion_reason": None, "tie_note": "Los: gezogen am …", "criteria": [{"code": "K1", "points": 5, "reason": "sehr gut"}]},
        {"bid_id": 3, "organisation_id": 30, "organisation_name": "C", "total": None, "rank": None, "excluded": True,
         "exclusion_reason": "E1", "tie_note": None, "criteria": []},
    ],
}


def test_wording_does_not_matter_but_points_ranks_and_closing_do() -> None:
    reworded = copy.deepcopy(SNAP)
    reworded["entries"][1]["tie_note"] = "Lot: drawn on …"
    reworded["entries"][0]["criteria"][0]["reason"] = "good"
    assert same_ranking(SNAP, reworded)
    changed = copy.deepcopy(SNAP)
    changed["entries"][0]["criteria"][0]["points"] = 3
    assert not same_ranking(SNAP, changed)
    reopened = copy.deepcopy(SNAP)
    reopened["final"] = False
    assert not same_ranking(SNAP, reopened)


def test_eligible_entries_by_rank_without_excluded() -> None:
    assert [e["bid_id"] for e in eligible(SNAP)] == [1, 2]


def test_the_changes_name_each_bid_with_rank_points_and_criterion(app) -> None:  # type: ignore[no-untyped-def]
    changed = copy.deepcopy(SNAP)
    changed["final"] = False
    b, a, c = changed["entries"]
    a.update(rank=2, total="57.00", criteria=[{"code": "K1", "points": 1, "reason": "sehr gut"}])
    b["rank"] = 1
    c["excluded"] = False
    changed["entries"].append({**copy.deepcopy(b), "bid_id": 4, "organisation_name": "D"})
    with app.test_request_context(), force_locale("de"):
        assert ranking_changes(SNAP, changed) == [
            "Die Konsolidierung ist nicht mehr abgeschlossen.",
            "B: Rang 2 → 1.",
            "A: Rang 1 → 2, 81,00 → 57,00 Punkte, K1: 5 → 1.",
            "C ist nicht mehr ausgeschlossen.",
            "D ist neu in der Rangfolge.",
        ]
        assert ranking_changes(SNAP, copy.deepcopy(SNAP)) == []
        gone = copy.deepcopy(SNAP)
        del gone["entries"][2]
        assert ranking_changes(SNAP, gone) == ["C steht nicht mehr in der Rangfolge."]
