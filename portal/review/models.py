"""Review (Begutachtung): panel, conflict declarations, eligibility, scores, consolidation.

- `ReviewAssignment`: a reviewer assigned to one lot, or the chair of a call
  (`role == CHAIR`, no lot). A reviewer's assignment also carries the state of
  their review of that lot: `submitted_at` is set when they submit all their
  scores, and cleared when they reopen it.
- `ConflictDeclaration` (Befangenheitserklärung): one per person, lot and
  bidding organisation; "no conflict" may later become "conflict", never back.
- `EligibilityDecision`: the chair's met / not met per bid and eligibility criterion.
- `Score`: one reviewer's points and justification per bid and scored criterion.
- `ConsolidatedScore`: the chair's final points per bid and scored criterion.
- `LotReview`: per lot, whether the chair closed the consolidation.
- `TieDraw`: a drawing of lots that ordered bids the published tie-break left equal.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.time import now
from portal.db import UTCDateTime, enum_type
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Organisation, User
    from portal.bids.models import Bid
    from portal.calls.models import Call, Criterion, Lot


class PanelRole(enum.StrEnum):
    REVIEWER = "reviewer"
    CHAIR = "chair"


class ConflictKind(enum.StrEnum):
    MEMBERSHIP = "membership"
    EMPLOYMENT = "employment"
    FAMILY = "family"
    OTHER = "other"


class ReviewAssignment(db.Model):
    __tablename__ = "review_assignment"
    __table_args__ = (
        UniqueConstraint("lot_id", "user_id"),
        CheckConstraint(
            "(role = 'chair' AND lot_id IS NULL AND submitted_at IS NULL) OR (role = 'reviewer' AND lot_id IS NOT NULL)",
            name="lot_matches_role",
        ),
    )
    audit_subject_type = "review_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[PanelRole] = mapped_column(enum_type(PanelRole, "panel_role"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: the reviewer submitted all their scores for the lot (None: not yet, or reopened)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship()
    lot: Mapped[Lot | None] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<ReviewAssignment {self.role} user={self.user_id} lot={self.lot_id}>"


class ConflictDeclaration(db.Model):
    __tablename__ = "review_conflict_declaration"
    __table_args__ = (
        UniqueConstraint("lot_id", "user_id", "organisation_id"),
        CheckConstraint("conflict = (kind IS NOT NULL)", name="kind_iff_conflict"),
    )
    audit_subject_type = "conflict_declaration"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    conflict: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[ConflictKind | None] = mapped_column(enum_type(ConflictKind, "conflict_kind"))
    reason: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: when "no conflict" was later changed to "conflict"
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    organisation: Mapped[Organisation] = relationship()
    lot: Mapped[Lot] = relationship()


class EligibilityDecision(db.Model):
    __tablename__ = "review_eligibility"
    __table_args__ = (UniqueConstraint("bid_id", "criterion_id"),)
    audit_subject_type = "eligibility_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("call_criterion.id", ondelete="CASCADE"))
    met: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    bid: Mapped[Bid] = relationship()
    criterion: Mapped[Criterion] = relationship()
    decided_by: Mapped[User] = relationship()


class Score(db.Model):
    __tablename__ = "review_score"
    __table_args__ = (
        UniqueConstraint("bid_id", "criterion_id", "reviewer_id"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )
    audit_subject_type = "review_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("call_criterion.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    justification: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    reviewer: Mapped[User] = relationship()
    criterion: Mapped[Criterion] = relationship()


class ConsolidatedScore(db.Model):
    __tablename__ = "review_consolidated_score"
    __table_args__ = (
        UniqueConstraint("bid_id", "criterion_id"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )
    audit_subject_type = "consolidated_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("call_criterion.id", ondelete="CASCADE"))
    points: Mapped[int] = mapped_column(Integer)
    #: required when the points differ from the reviewers' median
    reason: Mapped[str] = mapped_column(Text, default="")
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    criterion: Mapped[Criterion] = relationship()


class LotReview(db.Model):
    __tablename__ = "review_lot"
    __table_args__ = (
        CheckConstraint("(closed_at IS NULL) = (closed_by_id IS NULL)", name="closed_complete"),
    )
    audit_subject_type = "lot_review"

    lot_id: Mapped[int] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    closed_by: Mapped[User | None] = relationship()

    @property
    def id(self) -> int:
        return self.lot_id

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class TieDraw(db.Model):
    """Bids with equal totals and equal tie-break points, in the order the lot drew them."""

    __tablename__ = "review_tie_draw"
    audit_subject_type = "tie_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), index=True)
    #: bid ids, first drawn first
    bid_order: Mapped[list[int]] = mapped_column(JSON)
    witness: Mapped[str] = mapped_column(String(200))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    drawn_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    drawn_by: Mapped[User] = relationship()
