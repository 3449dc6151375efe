"""The public award notice (Vergabebekanntmachung) and its recomputable numbers.

`notice_data` builds the notice's JSON once, at publication, from the approved
decisions' ranking snapshots. All numbers are exact decimal strings, the
formula is stated with its inputs, so anyone can recompute every total and the
ranking with `recompute_total` (or by hand): total = Σ weight × points / scale_max.
Losing organisations are not named; if the call's policy says so, the other
eligible bids are listed as "Bewerbung B", "C", … with their points.
"""
from __future__ import annotations

import string
from datetime import datetime
from decimal import Decimal
from typing import Any

from portal.awards import ranking
from portal.awards.models import DecisionOutcome
from portal.calls.models import Call, CriterionKind

FORMULA = "total = sum(weight * points / scale_max)"


def _label(index: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA" …"""
    letters = string.ascii_uppercase
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = letters[rest] + label
    return label


def _scores(entry: dict[str, Any], *, reasons: bool) -> list[dict[str, Any]]:
    return [
        {"code": c["code"], "title": c["title"], "weight": c["weight"], "points": c["points"], "weighted": c["weighted"],
         **({"reason": c["reason"]} if reasons else {})}
        for c in entry["criteria"]
    ]


def notice_data(call: Call, *, published_at: datetime) -> dict[str, Any]:
    from portal.awards.services import current_decisions, policy_for

    decisions = current_decisions(call)
    policy = policy_for(call)
    lots = []
    for lot in call.lots:
        decision = decisions[lot.id]
        snap = decision.ranking
        winner_ids = [w.bid_id for w in decision.winners]
        eligible = ranking.eligible(snap)
        winners = []
        for winner in decision.winners:
            entry = ranking.entry_for(snap, winner.bid_id)
            assert entry is not None
            winners.append({"label": _label(len(winners)), "organisation": winner.organisation.name, "rank": entry["rank"],
                            "total": entry["total"], "tie_note": entry["tie_note"], "scores": _scores(entry, reasons=True)})
        others = []
        if policy.publish_other_bids:
            for entry in eligible:
                if entry["bid_id"] in winner_ids:
                    continue
                others.append({"label": _label(len(winners) + len(others)), "rank": entry["rank"], "total": entry["total"],
                               "scores": _scores(entry, reasons=False)})
        lots.append({
            "number": lot.number,
            "title": lot.title,
            "positions": lot.positions,
            "bids_received": len(snap["entries"]),
            "bids_excluded": sum(1 for e in snap["entries"] if e["excluded"]),
            "criteria": [{"code": c.code, "title": c.title, "weight": c.weight}
                         for c in call.criteria_for(lot, CriterionKind.SCORED)],
            "outcome": decision.outcome,
            "no_award_reason": decision.no_award_reason if decision.outcome == DecisionOutcome.NO_AWARD else None,
            "decided_at": decision.approved_at,
            "deviates": decision.deviates,
            "deviation_reason": decision.deviation_reason,
            "winners": winners,
            "other_bids": others,
            "other_bids_published": policy.publish_other_bids,
        })
    return {
        "call": {"reference": call.reference, "title": call.title},
        "published_at": published_at,
        "formula": {"kind": call.formula_kind, "expression": FORMULA, "text": call.formula_text,
                    "scale_min": call.scale_min, "scale_max": call.scale_max,
                    "tie_break": list(call.tie_break or []), "tie_break_text": call.tie_break_text},
        "lots": lots,
    }


def recompute_total(scores: list[dict[str, Any]], scale_max: int) -> Decimal:
    """The published formula applied to published points and weights (exact)."""
    return sum((Decimal(s["weight"]) * int(s["points"]) / scale_max for s in scores), Decimal(0))
