"""Read-only look-ups shared by the review services, the ranking and the pages."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.bids.models import Bid, BidState
from portal.calls.models import Criterion, CriterionKind, Lot
from portal.extensions import db
from portal.review.models import (
    ConflictDeclaration,
    ConsolidatedScore,
    EligibilityDecision,
    PanelRole,
    ReviewAssignment,
    Score,
)


def counting_bids(lot: Lot) -> list[Bid]:
    """The bids that count in `lot`: the last version is a submission (withdrawn and drafts do not count).

    After the deadline a bid's state is fixed, so its latest version is the one
    the opening record lists. Ordered by organisation name.
    """
    bids = db.session.scalars(
        select(Bid).where(Bid.lot_id == lot.id, Bid.state == BidState.SUBMITTED)
        .options(selectinload(Bid.organisation), selectinload(Bid.versions))
    ).all()
    return sorted(bids, key=lambda b: (b.organisation.name.casefold(), b.id))


def scored_criteria(lot: Lot) -> list[Criterion]:
    return sorted(lot.call.criteria_for(lot, CriterionKind.SCORED), key=lambda c: (c.position, c.id))


def eligibility_criteria(lot: Lot) -> list[Criterion]:
    return sorted(lot.call.criteria_for(lot, CriterionKind.ELIGIBILITY), key=lambda c: (c.position, c.id))


def lot_reviewers(lot: Lot) -> list[ReviewAssignment]:
    return list(db.session.scalars(
        select(ReviewAssignment)
        .where(ReviewAssignment.lot_id == lot.id, ReviewAssignment.role == PanelRole.REVIEWER)
        .options(selectinload(ReviewAssignment.user))
        .order_by(ReviewAssignment.id)
    ))


def lot_declarations(lot: Lot) -> dict[tuple[int, int], ConflictDeclaration]:
    """{(user_id, organisation_id): declaration} for the lot."""
    rows = db.session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.lot_id == lot.id))
    return {(d.user_id, d.organisation_id): d for d in rows}


def lot_scores(lot: Lot) -> list[Score]:
    return list(db.session.scalars(
        select(Score).where(Score.lot_id == lot.id).options(selectinload(Score.reviewer)).order_by(Score.id)
    ))


def lot_eligibility(lot: Lot) -> dict[tuple[int, int], EligibilityDecision]:
    """{(bid_id, criterion_id): decision}."""
    rows = db.session.scalars(
        select(EligibilityDecision).join(Bid, Bid.id == EligibilityDecision.bid_id).where(Bid.lot_id == lot.id)
    )
    return {(d.bid_id, d.criterion_id): d for d in rows}


def lot_consolidated(lot: Lot) -> dict[tuple[int, int], ConsolidatedScore]:
    """{(bid_id, criterion_id): consolidated score}."""
    rows = db.session.scalars(select(ConsolidatedScore).where(ConsolidatedScore.lot_id == lot.id))
    return {(c.bid_id, c.criterion_id): c for c in rows}


def scoring_started(lot: Lot) -> bool:
    return db.session.scalar(select(Score.id).where(Score.lot_id == lot.id).limit(1)) is not None
