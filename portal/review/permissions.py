"""Who may do what in the review. Registered as Jinja globals by `portal.review.init_app`.

The conflict rule applies to everyone: whoever declared a conflict for an
organisation in a lot can neither read that organisation's bid nor see or
give scores for it, whatever their roles (`portal.bids.permissions` asks
`has_conflict` before its officer rule). Reviewers read only opened bids of
their own lots, and only after declaring "no conflict" for the bidder;
they see other reviewers' scores only after submitting their own for the lot.
"""
from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from sqlalchemy import select

from portal.accounts.permissions import is_observer, is_officer, is_reviewer
from portal.bids.models import Bid, BidState
from portal.calls.models import Call, CallState, Lot
from portal.core.permissions import is_signed_in
from portal.extensions import db
from portal.review.models import ConflictDeclaration, EligibilityDecision, LotReview, PanelRole, ReviewAssignment

__all__ = [
    "chair_of",
    "is_chair",
    "is_lot_reviewer",
    "reviewer_assignment",
    "declaration_for",
    "has_conflict",
    "declared_no_conflict",
    "is_excluded",
    "lot_review",
    "lot_is_closed",
    "may_read_as_panel",
    "can_manage_panel",
    "can_view_review_overview",
    "can_view_review_details",
    "can_declare",
    "can_review_bid",
    "can_score",
    "can_see_scores",
    "can_decide_eligibility",
    "can_consolidate",
    "can_record_draw",
    "can_view_ranking",
    "can_export_scores",
    "can_open_review_index",
]

#: States in which the panel may still be set up.
PANEL_STATES = frozenset({CallState.PUBLISHED, CallState.SUBMISSION_CLOSED, CallState.OPENED, CallState.IN_REVIEW})
#: States in which reviewers work.
REVIEW_STATES = frozenset({CallState.OPENED, CallState.IN_REVIEW})
#: States after the opening, in which the review can be looked at.
REVIEWED_STATES = frozenset({CallState.OPENED, CallState.IN_REVIEW, CallState.DECIDED, CallState.STANDSTILL, CallState.AWARDED})


def _cached(key: tuple[Any, ...], compute: Any) -> Any:
    """Per-request memo: the same predicate is asked many times on one page.

    Only inside a request: a test's or CLI's app context lives across changes.
    """
    if not has_request_context():
        return compute()
    cache = g.setdefault("_review_permissions", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def forget_cached() -> None:
    """Services call this after changing the panel, declarations or states."""
    if has_request_context():
        g.pop("_review_permissions", None)


def _panel(call_id: int) -> list[ReviewAssignment]:
    return _cached(("panel", call_id), lambda: list(db.session.scalars(
        select(ReviewAssignment).where(ReviewAssignment.call_id == call_id).order_by(ReviewAssignment.id)
    )))


def chair_of(call: Call) -> ReviewAssignment | None:
    return next((a for a in _panel(call.id) if a.role == PanelRole.CHAIR), None)


def is_chair(user: Any, call: Call) -> bool:
    chair = chair_of(call) if is_signed_in(user) else None
    return chair is not None and chair.user_id == user.id


def reviewer_assignment(user: Any, lot: Lot) -> ReviewAssignment | None:
    if not is_signed_in(user):
        return None
    return next((a for a in _panel(lot.call_id) if a.role == PanelRole.REVIEWER
                 and a.lot_id == lot.id and a.user_id == user.id), None)


def is_lot_reviewer(user: Any, lot: Lot) -> bool:
    return reviewer_assignment(user, lot) is not None


def declaration_for(user: Any, lot_id: int, organisation_id: int) -> ConflictDeclaration | None:
    if not is_signed_in(user):
        return None
    declarations = _cached(("declarations", user.id), lambda: {
        (d.lot_id, d.organisation_id): d
        for d in db.session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.user_id == user.id))
    })
    return declarations.get((lot_id, organisation_id))


def has_conflict(user: Any, bid: Bid) -> bool:
    declaration = declaration_for(user, bid.lot_id, bid.organisation_id)
    return declaration is not None and declaration.conflict


def declared_no_conflict(user: Any, bid: Bid) -> bool:
    declaration = declaration_for(user, bid.lot_id, bid.organisation_id)
    return declaration is not None and not declaration.conflict


def lot_review(lot: Lot) -> LotReview | None:
    return _cached(("lot_review", lot.id), lambda: db.session.get(LotReview, lot.id))


def lot_is_closed(lot: Lot) -> bool:
    state = lot_review(lot)
    return state is not None and state.is_closed


def excluded_bids(lot_id: int) -> frozenset[int]:
    """Ids of the lot's bids with an eligibility criterion found not met (one query per lot, not per bid)."""
    return _cached(("excluded", lot_id), lambda: frozenset(db.session.scalars(
        select(EligibilityDecision.bid_id).join(Bid, Bid.id == EligibilityDecision.bid_id)
        .where(Bid.lot_id == lot_id, EligibilityDecision.met.is_(False))
    )))


def is_excluded(bid: Bid) -> bool:
    """The chair found an eligibility criterion not met."""
    return bid.id in excluded_bids(bid.lot_id)


def may_read_as_panel(user: Any, bid: Bid) -> bool:
    """The review's grant for `portal.bids.permissions.can_read_bid_contents` (opened call assumed).

    A reviewer of the bid's lot or the call's chair, after declaring no
    conflict for the bidding organisation; only bids that count.
    """
    if bid.state != BidState.SUBMITTED or bid.call.state not in REVIEWED_STATES:
        return False
    return (is_lot_reviewer(user, bid.lot) or is_chair(user, bid.call)) and declared_no_conflict(user, bid)


# --------------------------------------------------------------------------
# Predicates for views and templates
# --------------------------------------------------------------------------


def can_manage_panel(user: Any, call: Call) -> bool:
    return is_officer(user) and call.state in PANEL_STATES


def can_view_review_overview(user: Any, call: Call) -> bool:
    """Progress figures: officers, the chair, council observers."""
    return (is_officer(user) or is_observer(user) or is_chair(user, call)) and call.state in REVIEWED_STATES


def can_view_review_details(user: Any, call: Call) -> bool:
    """Names, declarations, gaps: officers and the chair (observers see figures only)."""
    return (is_officer(user) or is_chair(user, call)) and call.state in REVIEWED_STATES


def can_open_review_index(user: Any) -> bool:
    """The "Begutachtung" entry point: reviewers (and chairs), officers, observers."""
    return is_reviewer(user) or is_officer(user) or is_observer(user)


def can_declare(user: Any, lot: Lot) -> bool:
    """Reviewers of the lot and the chair declare once the bids are opened."""
    from portal.bids.permissions import call_is_opened

    call = lot.call
    return (
        (is_lot_reviewer(user, lot) or is_chair(user, call))
        and call.state in REVIEW_STATES
        and call_is_opened(call)
        and not lot_is_closed(lot)
    )


def can_review_bid(user: Any, bid: Bid) -> bool:
    """See the bid in the review pages: reviewer of its lot or chair, no conflict declared."""
    return is_signed_in(user) and may_read_as_panel(user, bid)


def can_score(user: Any, bid: Bid) -> bool:
    assignment = reviewer_assignment(user, bid.lot)
    return (
        assignment is not None
        and assignment.submitted_at is None
        and bid.call.state in REVIEW_STATES
        and declared_no_conflict(user, bid)
        and bid.state == BidState.SUBMITTED
        and not lot_is_closed(bid.lot)
        and not is_excluded(bid)
    )


def can_see_scores(user: Any, lot: Lot) -> bool:
    """Independence: a reviewer of the lot sees others' scores only after submitting their own.

    That holds for an officer who is also a reviewer of the lot. Observers see
    scores only after the award. Per bid, `has_conflict` hides them as well.
    """
    if not is_signed_in(user):
        return False
    assignment = reviewer_assignment(user, lot)
    if assignment is not None:
        return assignment.submitted_at is not None
    call = lot.call
    if call.state not in REVIEWED_STATES:
        return False
    if is_observer(user):
        return call.state == CallState.AWARDED
    return is_officer(user) or is_chair(user, call)


def can_decide_eligibility(user: Any, bid: Bid) -> bool:
    return (
        is_chair(user, bid.call)
        and bid.call.state in REVIEW_STATES
        and declared_no_conflict(user, bid)
        and bid.state == BidState.SUBMITTED
        and not lot_is_closed(bid.lot)
    )


def can_consolidate(user: Any, lot: Lot) -> bool:
    """Open the consolidation page of a lot (whether it is ready is the service's refusal).

    A chair who also reviews the lot sees the others' scores only after submitting their own.
    """
    return is_chair(user, lot.call) and lot.call.state in REVIEW_STATES and can_see_scores(user, lot)


def can_record_draw(user: Any, lot: Lot) -> bool:
    return is_officer(user) and lot.call.state in REVIEW_STATES and lot_is_closed(lot)


def can_view_ranking(user: Any, lot: Lot) -> bool:
    return can_see_scores(user, lot)


def can_export_scores(user: Any, call: Call) -> bool:
    return (is_officer(user) or is_chair(user, call)) and call.state in REVIEWED_STATES
