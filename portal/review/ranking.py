"""The ranking of a lot: the ONE function that computes totals and ranks (`rank_lot`).

Formula (`Call.formula_kind == weighted_sum_normalised`, published with the call):
``total = Σ weight% × points / scale_max`` over the scored criteria of the lot,
from the chair's consolidated points. Everything is exact `Decimal`; totals are
compared through their exact numerator ``Σ weight × points`` (the divisor is
the same for every bid), so a division can never make equal totals unequal.

Tie-break (`Call.tie_break`, e.g. ``["K1", "K2", "lot"]``): on equal totals the
higher consolidated points in K1 decide, then K2; bids still equal are ordered
by a recorded drawing of lots (`services.record_draw`). Until that is recorded
they share a rank and the tie is listed among the `gaps`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from portal.bids.models import Bid
from portal.calls.models import TIE_BREAK_LOT, Criterion, FormulaKind, Lot
from portal.core.i18n import datetime_berlin
from portal.extensions import db
from portal.review import queries
from portal.review.models import LotReview, TieDraw


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: int
    code: str
    title: str
    weight: Decimal
    points: int
    reason: str
    weighted: Decimal


@dataclass(frozen=True)
class RankedBid:
    bid_id: int
    organisation_id: int
    organisation_name: str
    total: Decimal | None
    rank: int | None
    criteria: tuple[CriterionResult, ...]
    excluded: bool
    exclusion_reason: str | None
    tie_note: str | None


@dataclass(frozen=True)
class LotRanking:
    lot_id: int
    final: bool
    entries: tuple[RankedBid, ...]
    gaps: tuple[str, ...]


def weighted(weight: Decimal, points: int, scale_max: int) -> Decimal:
    return Decimal(weight) * points / scale_max


def _draws(lot: Lot) -> list[TieDraw]:
    return list(db.session.scalars(select(TieDraw).where(TieDraw.lot_id == lot.id).order_by(TieDraw.id)))


def _draw_note(draw: TieDraw) -> str:
    return _("Los: gezogen am %(when)s von %(who)s in Anwesenheit von %(witness)s",
             when=datetime_berlin(draw.drawn_at), who=draw.drawn_by.name, witness=draw.witness)


def _review_gaps(lot: Lot, bids: list[Bid], eligible_ids: set[int]) -> list[str]:
    """Missing reviews: nobody assigned, reviewers not finished, bids nobody without conflict reviewed."""
    gaps: list[str] = []
    reviewers = queries.lot_reviewers(lot)
    if not reviewers:
        return [_("Für Los %(number)s ist niemand mit der Bewertung beauftragt.", number=lot.number)]
    declarations = queries.lot_declarations(lot)
    for assignment in reviewers:
        if assignment.submitted_at is None:
            gaps.append(_("Die Bewertung von %(name)s ist noch nicht abgeschlossen.", name=assignment.user.name))
    for bid in bids:
        if bid.id not in eligible_ids:
            continue
        done = [
            a for a in reviewers
            if a.submitted_at is not None
            and (d := declarations.get((a.user_id, bid.organisation_id))) is not None and not d.conflict
        ]
        if not done:
            gaps.append(_("%(organisation)s: Es liegt keine abgeschlossene Bewertung einer nicht befangenen Person vor.",
                          organisation=bid.organisation.name))
    return gaps


def rank_lot(lot: Lot) -> LotRanking:
    """Totals, ranks, exclusions and open problems of `lot` from the consolidated scores."""
    return _rank(lot)[0]


def closing_gaps(lot: Lot) -> list[str]:
    """The gaps that block closing the consolidation (an undrawn tie is drawn after closing)."""
    ranking, tie_gaps, _ties = _rank(lot)
    return [gap for gap in ranking.gaps if gap not in tie_gaps]


def unresolved_ties(lot: Lot) -> list[list[int]]:
    """Groups of bid ids equal in total and every tie-break criterion, without a recorded draw."""
    return _rank(lot)[2]


def ranking_data(ranking: LotRanking) -> dict[str, object]:
    """The ranking as plain data for the audit entry."""
    return {
        "final": ranking.final,
        "entries": [
            {"bid": e.bid_id, "organisation": e.organisation_id, "rank": e.rank, "total": e.total,
             "excluded": e.excluded, "tie_note": e.tie_note,
             "criteria": {r.code: r.points for r in e.criteria}}
            for e in ranking.entries
        ],
        "gaps": list(ranking.gaps),
    }


def _rank(lot: Lot) -> tuple[LotRanking, list[str], list[list[int]]]:
    call = lot.call
    if call.formula_kind != FormulaKind.WEIGHTED_SUM_NORMALISED:  # pragma: no cover - the only kind so far
        raise ValueError(f"unknown formula {call.formula_kind}")
    bids = queries.counting_bids(lot)
    scored = queries.scored_criteria(lot)
    eligibility = queries.eligibility_criteria(lot)
    decisions = queries.lot_eligibility(lot)
    consolidated = queries.lot_consolidated(lot)
    justifications: dict[tuple[int, int], list[str]] = {}
    for score in queries.lot_scores(lot):
        justifications.setdefault((score.bid_id, score.criterion_id), []).append(score.justification)
    state = db.session.get(LotReview, lot.id)
    final = state is not None and state.is_closed

    gaps: list[str] = []
    excluded: list[RankedBid] = []
    incomplete: list[RankedBid] = []
    complete: dict[int, tuple[Bid, tuple[CriterionResult, ...], Decimal]] = {}
    for bid in bids:
        name = bid.organisation.name
        failed = [(c, decisions[(bid.id, c.id)]) for c in eligibility
                  if (bid.id, c.id) in decisions and not decisions[(bid.id, c.id)].met]
        if failed:
            reason = "; ".join(f"{c.code} {c.title}: {d.reason}" for c, d in failed)
            excluded.append(RankedBid(bid.id, bid.organisation_id, name, None, None, (), True, reason, None))
            continue
        undecided = [c.code for c in eligibility if (bid.id, c.id) not in decisions]
        if undecided:
            gaps.append(_("%(organisation)s: Die Eignung ist noch nicht festgestellt (%(codes)s).",
                          organisation=name, codes=", ".join(undecided)))
        results: list[CriterionResult] = []
        missing: list[str] = []
        numerator = Decimal(0)
        for criterion in scored:
            fixed = consolidated.get((bid.id, criterion.id))
            if fixed is None:
                missing.append(criterion.code)
                continue
            weight = Decimal(criterion.weight or 0)
            numerator += weight * fixed.points
            reason = fixed.reason.strip() or " | ".join(justifications.get((bid.id, criterion.id), []))
            results.append(CriterionResult(criterion.id, criterion.code, criterion.title, weight, fixed.points,
                                           reason, weighted(weight, fixed.points, call.scale_max)))
        if missing:
            gaps.append(_("%(organisation)s: Es fehlt die konsolidierte Bewertung (%(codes)s).",
                          organisation=name, codes=", ".join(missing)))
            incomplete.append(RankedBid(bid.id, bid.organisation_id, name, None, None, tuple(results), False, None, None))
        else:
            complete[bid.id] = (bid, tuple(results), numerator)

    eligible_ids = {b.id for b in bids} - {e.bid_id for e in excluded}
    gaps = _review_gaps(lot, bids, eligible_ids) + gaps
    ranked, tie_gaps, ties = _order(call, scored, complete, _draws(lot))
    return LotRanking(lot.id, final, tuple(ranked + incomplete + excluded), tuple(gaps + tie_gaps)), tie_gaps, ties


def _order(call: object, scored: list[Criterion],
           complete: dict[int, tuple[Bid, tuple[CriterionResult, ...], Decimal]],
           draws: list[TieDraw]) -> tuple[list[RankedBid], list[str], list[list[int]]]:
    by_code = {c.code: c.id for c in scored}
    steps = [code for code in getattr(call, "tie_break") or [] if code != TIE_BREAK_LOT and code in by_code]

    def points(bid_id: int, code: str) -> int:
        return next(r.points for r in complete[bid_id][1] if r.code == code)

    keys = {bid_id: (complete[bid_id][2], tuple(points(bid_id, code) for code in steps)) for bid_id in complete}
    same_total: dict[Decimal, list[int]] = {}
    for bid_id, (numerator, _points) in keys.items():
        same_total.setdefault(numerator, []).append(bid_id)
    # Groups of bids equal in total and every tie-break criterion, best first.
    groups: dict[tuple[Decimal, tuple[int, ...]], list[int]] = {}
    for bid_id in sorted(complete, key=lambda b: complete[b][0].organisation.name.casefold()):
        groups.setdefault(keys[bid_id], []).append(bid_id)
    draw_for = {frozenset(d.bid_order): d for d in draws}
    scale_max = getattr(call, "scale_max")
    entries: list[RankedBid] = []
    gaps: list[str] = []
    ties: list[list[int]] = []
    position = 0
    for group_key in sorted(groups, reverse=True):
        members = groups[group_key]
        draw = draw_for.get(frozenset(members)) if len(members) > 1 else None
        if draw is not None:
            members = list(draw.bid_order)
        elif len(members) > 1:
            ties.append(list(members))
            gaps.append(_("Gleichstand zwischen %(names)s: Die Reihenfolge muss durch Los entschieden werden.",
                          names=", ".join(complete[b][0].organisation.name for b in members)))
        for index, bid_id in enumerate(members):
            bid, results, numerator = complete[bid_id]
            rank = position + (index + 1 if draw is not None or len(members) == 1 else 1)
            note = _tie_note(bid_id, keys, same_total[keys[bid_id][0]], steps, draw)
            entries.append(RankedBid(bid.id, bid.organisation_id, bid.organisation.name, numerator / scale_max,
                                     rank, results, False, None, note))
        position += len(members)
    return entries, gaps, ties


def _tie_note(bid_id: int, keys: dict[int, tuple[Decimal, tuple[int, ...]]], same_total: list[int], steps: list[str],
              draw: TieDraw | None) -> str | None:
    """How this bid's place among bids with the same total (`same_total`) was decided: the deciding criterion, or the draw.

    Only bids with the same total are compared, so a large lot costs its size, not its size squared.
    """
    tie_points = keys[bid_id][1]
    deepest = -1
    for other in same_total:
        if other == bid_id:
            continue
        other_points = keys[other][1]
        differs = next((i for i, (a, b) in enumerate(zip(tie_points, other_points)) if a != b), len(steps))
        deepest = max(deepest, differs)
    if deepest < 0:
        return None
    if deepest < len(steps):
        return steps[deepest]
    return _draw_note(draw) if draw is not None else _("Los: noch nicht gezogen")
