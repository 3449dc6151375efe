"""The OCDS ``award`` stage: what the public award notice says, as an OCDS release.

Registered with `portal.public.ocds.register_release_builder` by
`portal.awards.init_app`. A call gets an award release only once its award
notice is public (after the standstill, by the clock); during the standstill,
while an objection is open and for a cancelled call there is none.

Per lot one award (``award-lot-<n>``): status ``active`` with the winning
organisations as suppliers (parties with role ``supplier``), or
``unsuccessful`` with the reason when the lot ended without award; the date of
the approved decision, the lot (`relatedLots`, lots extension) and the winning
bids (`relatedBids`, bid extension). The description states the winner's
total by the published formula and the points per criterion, as the notice
does. `bids.details` get their final status (winner and other eligible bids
``valid``, excluded bids ``disqualified``; never a name), the tender and each
lot their final status, and the notice is linked as an ``awardNotice``
document. Losing organisations never appear.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.awards.models import AwardDecision, AwardNotice, AwardWinner, DecisionOutcome, DecisionState
from portal.calls.models import Call, CallState
from portal.extensions import db
from portal.public.ocds import (
    BidFacts,
    StageRelease,
    bid_detail_id,
    buyer_party,
    iso,
    prefetch_bids,
    register_release_builder,
)


@dataclass
class AwardFacts:
    notices: dict[int, AwardNotice] = field(default_factory=dict)
    #: call id → lot id → the approved decision in force
    decisions: dict[int, dict[int, AwardDecision]] = field(default_factory=dict)
    bids: BidFacts = field(default_factory=BidFacts)


def _has_public_notice(call: Call) -> bool:
    return call.state == CallState.AWARDED


def prefetch(calls: Sequence[Call]) -> AwardFacts:
    """Notices, decisions with winners and bid order of the awarded calls (a fixed number of queries)."""
    awarded = [c for c in calls if _has_public_notice(c)]
    facts = AwardFacts()
    if not awarded:
        return facts
    ids = [c.id for c in awarded]
    facts.notices = {n.call_id: n for n in db.session.scalars(select(AwardNotice).where(AwardNotice.call_id.in_(ids)))}
    decisions = db.session.scalars(
        select(AwardDecision)
        .where(AwardDecision.call_id.in_(ids), AwardDecision.state == DecisionState.APPROVED)
        .options(selectinload(AwardDecision.winners).selectinload(AwardWinner.organisation))
        .order_by(AwardDecision.id)
    )
    for decision in decisions:
        facts.decisions.setdefault(decision.call_id, {})[decision.lot_id] = decision
    facts.bids = prefetch_bids(awarded, include=lambda c: c.id in facts.notices)
    return facts


def supplier_id(organisation_id: int) -> str:
    return f"supplier-{organisation_id}"


def _positions(call: Call, facts: AwardFacts) -> dict[tuple[int, int], int]:
    """(lot id, organisation id) → running number of the bid in its lot (the order of `bids.details`)."""
    by_lot: dict[int, list[tuple[Any, int]]] = {}
    for lot_db_id, organisation_id, submitted_at in facts.bids.bids.get(call.id, []):
        by_lot.setdefault(lot_db_id, []).append((submitted_at, organisation_id))
    positions = {}
    for lot_db_id, entries in by_lot.items():
        for position, (_t, organisation_id) in enumerate(sorted(entries, key=lambda e: e[0]), start=1):
            positions[(lot_db_id, organisation_id)] = position
    return positions


def _scores_text(winner: dict[str, Any], scale_max: int) -> str:
    parts = [f"{s['code']} {s['title']}: {s['points']} von {scale_max} Punkten (Gewicht {s['weight']})" for s in winner["scores"]]
    return f"Gesamtpunktzahl {winner['total']} nach der veröffentlichten Formel (Rang {winner['rank']}). " + "; ".join(parts)


def _description(lot_data: dict[str, Any], scale_max: int) -> str | None:
    texts = [_scores_text(w, scale_max) for w in lot_data.get("winners", [])]
    if lot_data.get("no_award_reason"):
        texts.append(f"Keine Vergabe: {lot_data['no_award_reason']}")
    if lot_data.get("deviates") and lot_data.get("deviation_reason"):
        texts.append(f"Abweichung von der Rangfolge: {lot_data['deviation_reason']}")
    return "\n".join(texts) or None


def build(call: Call, facts: AwardFacts | None) -> list[StageRelease]:
    if facts is None or call.state == CallState.CANCELLED:
        return []
    notice = facts.notices.get(call.id)
    if notice is None:
        return []
    decisions = facts.decisions.get(call.id, {})
    positions = _positions(call, facts)
    lots_by_number = {lot["number"]: lot for lot in notice.data.get("lots", [])}
    scale_max = int(notice.data.get("formula", {}).get("scale_max") or call.scale_max)
    url = url_for("awards_public.show", reference=call.reference, _external=True)
    awards, suppliers, details, lot_status = [], {}, [], []
    for lot in call.lots:
        decision = decisions.get(lot.id)
        if decision is None:
            continue
        awarded = decision.outcome == DecisionOutcome.AWARD and decision.winners
        winners = []
        for winner in decision.winners:
            supplier = {"id": supplier_id(winner.organisation_id), "name": winner.organisation.name}
            winners.append(supplier)
            suppliers[supplier["id"]] = {**supplier, "roles": ["supplier"]}
        related_bids = [bid_detail_id(lot.number, positions[(lot.id, w.organisation_id)])
                        for w in decision.winners if (lot.id, w.organisation_id) in positions]
        awards.append({
            "id": f"award-lot-{lot.number}",
            "title": f"Los {lot.number}: {lot.title}",
            "description": _description(lots_by_number.get(lot.number, {}), scale_max),
            "status": "active" if awarded else "unsuccessful",
            "date": iso(decision.approved_at),
            "suppliers": winners,
            "relatedLots": [str(lot.number)],
            "relatedBids": related_bids,
            "documents": [{"id": "award-notice", "documentType": "awardNotice", "title": f"Vergabebekanntmachung {call.reference}",
                           "url": url, "datePublished": iso(notice.published_at), "format": "text/html", "language": "de"}],
        })
        lot_status.append({"id": str(lot.number), "status": "complete" if awarded else "unsuccessful"})
        for entry in decision.ranking.get("entries", []):
            position = positions.get((lot.id, entry["organisation_id"]))
            if position is not None:
                details.append({"id": bid_detail_id(lot.number, position),
                                "status": "disqualified" if entry["excluded"] else "valid"})
    if not awards:
        return []
    any_awarded = any(a["status"] == "active" for a in awards)
    data = {
        "awards": awards,
        "parties": [buyer_party(), *suppliers.values()],
        "tender": {"id": call.reference, "status": "complete" if any_awarded else "unsuccessful", "lots": lot_status},
        "bids": {"details": sorted(details, key=lambda d: d["id"])},
    }
    return [StageRelease("award", notice.published_at, data, key=str(notice.id))]


def register() -> None:
    register_release_builder("award", build, prefetch=prefetch)
