"""The awards' view of a lot's ranking: computed by `portal.review.ranking.rank_lot` only.

A proposal stores a `snapshot` of the ranking it was made from (plain JSON,
numbers as exact decimal strings). Letters, the award notice and the
procurement record read that snapshot, so they show exactly what was decided
on; approval refuses if the live ranking no longer matches it.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.calls.models import Lot
from portal.core.i18n import number


def live_ranking(lot: Lot) -> Any:
    from portal.review.ranking import rank_lot

    return rank_lot(lot)


def official_snapshot(lot: Lot) -> dict[str, Any]:
    """The snapshot with its texts (gaps, tie notes) in German, the language of letters, notice and record."""
    with force_locale("de"):
        return snapshot(live_ranking(lot))


def same_ranking(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal in everything that decides: bids, ranks, totals, exclusions and points (not the wording)."""
    def key(snap: dict[str, Any]) -> list[Any]:
        return [(e["bid_id"], e["rank"], e["total"], e["excluded"], [(c["code"], c["points"]) for c in e["criteria"]])
                for e in snap["entries"]]

    return a["final"] == b["final"] and key(a) == key(b)


def ranking_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two snapshots in what decides, one sentence per change (for a refused approval)."""
    changes: list[str] = []
    if before["final"] and not after["final"]:
        changes.append(str(_l("Die Konsolidierung ist nicht mehr abgeschlossen.")))
    old = {e["bid_id"]: e for e in before["entries"]}
    new = {e["bid_id"]: e for e in after["entries"]}
    for bid_id, entry in old.items():
        if bid_id not in new:
            changes.append(str(_l("%(name)s steht nicht mehr in der Rangfolge.", name=entry["organisation_name"])))
    for bid_id, entry in new.items():
        was = old.get(bid_id)
        name = entry["organisation_name"]
        if was is None:
            changes.append(str(_l("%(name)s ist neu in der Rangfolge.", name=name)))
        elif was["excluded"] != entry["excluded"]:
            changes.append(str(_l("%(name)s ist jetzt ausgeschlossen.", name=name) if entry["excluded"]
                               else _l("%(name)s ist nicht mehr ausgeschlossen.", name=name)))
        else:
            parts = _entry_changes(was, entry)
            if parts:
                changes.append(f"{name}: {', '.join(parts)}.")
    return changes


def _entry_changes(was: dict[str, Any], is_: dict[str, Any]) -> list[str]:
    parts = []
    if was["rank"] != is_["rank"]:
        parts.append(str(_l("Rang %(before)s → %(after)s", before=was["rank"] or "–", after=is_["rank"] or "–")))
    if was["total"] != is_["total"]:
        parts.append(str(_l("%(before)s → %(after)s Punkte", before=_points(was["total"]), after=_points(is_["total"]))))
    points = {c["code"]: c["points"] for c in was["criteria"]}
    parts += [f"{c['code']}: {points.get(c['code'], '–')} → {c['points']}" for c in is_["criteria"]
              if points.get(c["code"]) != c["points"]]
    return parts


def _points(total: str | None) -> str:
    return "–" if total is None else number(Decimal(total), 2)


def lot_is_decidable(lot: Lot) -> bool:
    from portal.review.services import lot_is_decidable as decidable

    return bool(decidable(lot))


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def snapshot(ranking: Any) -> dict[str, Any]:
    """The ranking as JSON: what a proposal, letter and notice are based on."""
    return {
        "lot_id": ranking.lot_id,
        "final": bool(ranking.final),
        "gaps": list(ranking.gaps),
        "entries": [
            {
                "bid_id": e.bid_id,
                "organisation_id": e.organisation_id,
                "organisation_name": e.organisation_name,
                "total": _dec(e.total),
                "rank": e.rank,
                "excluded": bool(e.excluded),
                "exclusion_reason": e.exclusion_reason,
                "tie_note": e.tie_note,
                "criteria": [
                    {"criterion_id": c.criterion_id, "code": c.code, "title": c.title, "weight": _dec(c.weight),
                     "points": c.points, "reason": c.reason, "weighted": _dec(c.weighted)}
                    for c in e.criteria
                ],
            }
            for e in ranking.entries
        ],
    }


def eligible(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """Eligible entries by rank."""
    return sorted((e for e in snap["entries"] if not e["excluded"]), key=lambda e: (e["rank"], e["bid_id"]))


def entry_for(snap: dict[str, Any], bid_id: int) -> dict[str, Any] | None:
    return next((e for e in snap["entries"] if e["bid_id"] == bid_id), None)
