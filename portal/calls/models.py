"""Calls for expression of interest (Aufrufe), their lots, criteria and documents.

A `Call` is prepared as a draft, published, and then moves through the states
of the procedure (see `CallState` and `TRANSITIONS`). Once published, lots,
criteria, weights, formula and dates are frozen; a change is an `Amendment`.

Computable specification for the review and bids issues:

- `Call.formula_kind` names the aggregation the portal applies, with
  `Call.scale_min` / `Call.scale_max`. `weighted_sum_normalised` means
  ``total = sum(weight_percent * points / scale_max)`` over the scored
  criteria of the lot, i.e. at most 100 points.
- `Call.tie_break` is an ordered list of criterion codes, then the literal
  ``"lot"`` (drawing lots): on equal totals, the higher consolidated points in
  the first code decide, then the next, and the draw is the last resort.
- `criteria_for(lot)` returns the criteria that apply to a lot: the lot's own
  set if it has one, otherwise the call-wide set.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, joinedload, mapped_column, relationship, selectinload

from portal.core.time import now
from portal.db import UTCDateTime, enum_type
from portal.extensions import db

if TYPE_CHECKING:
    from portal.consultation.models import Consultation


class CallState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUBMISSION_CLOSED = "submission_closed"
    OPENED = "opened"
    IN_REVIEW = "in_review"
    DECIDED = "decided"
    STANDSTILL = "standstill"
    AWARDED = "awarded"
    CANCELLED = "cancelled"


#: States in which everyone may read the call.
PUBLIC_STATES = frozenset(CallState) - {CallState.DRAFT}
#: States after the submission deadline, before the award (shown as "closed").
CLOSED_STATES = frozenset(
    {CallState.SUBMISSION_CLOSED, CallState.OPENED, CallState.IN_REVIEW, CallState.DECIDED, CallState.STANDSTILL}
)
FINAL_STATES = frozenset({CallState.AWARDED, CallState.CANCELLED})

#: The only state changes the portal makes (`services.set_call_state`).
TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    # A draft was never public: there is nothing to cancel (aufheben) publicly.
    CallState.DRAFT: frozenset({CallState.PUBLISHED}),
    CallState.PUBLISHED: frozenset({CallState.SUBMISSION_CLOSED, CallState.CANCELLED}),
    CallState.SUBMISSION_CLOSED: frozenset({CallState.OPENED, CallState.CANCELLED}),
    CallState.OPENED: frozenset({CallState.IN_REVIEW, CallState.CANCELLED}),
    CallState.IN_REVIEW: frozenset({CallState.DECIDED, CallState.CANCELLED}),
    CallState.DECIDED: frozenset({CallState.STANDSTILL, CallState.CANCELLED}),
    CallState.STANDSTILL: frozenset({CallState.AWARDED, CallState.CANCELLED}),
    CallState.AWARDED: frozenset(),
    CallState.CANCELLED: frozenset(),
}


class FormulaKind(enum.StrEnum):
    #: total = Σ weight% × points / scale_max (0–100 points)
    WEIGHTED_SUM_NORMALISED = "weighted_sum_normalised"


class CriterionKind(enum.StrEnum):
    ELIGIBILITY = "eligibility"
    SCORED = "scored"


#: The last tie-break step: drawing lots.
TIE_BREAK_LOT = "lot"


class Call(db.Model):
    __tablename__ = "call"
    __table_args__ = (
        CheckConstraint("state <> 'cancelled' OR (cancel_reason IS NOT NULL AND cancelled_at IS NOT NULL)", name="cancelled_has_reason"),
        CheckConstraint("state = 'draft' OR published_at IS NOT NULL", name="published_has_date"),
        CheckConstraint("standstill_days >= 0", name="standstill_not_negative"),
        CheckConstraint("scale_max > scale_min", name="scale_has_two_points"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    funding_note: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[CallState] = mapped_column(enum_type(CallState, "call_state"), default=CallState.DRAFT, index=True)

    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    question_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submission_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    decision_planned_on: Mapped[date | None] = mapped_column(Date)
    standstill_days: Mapped[int] = mapped_column(Integer, default=10)

    scale_min: Mapped[int] = mapped_column(Integer, default=0)
    scale_max: Mapped[int] = mapped_column(Integer, default=5)
    #: {"0": "nicht erfüllt", …}: a label for every point of the scale
    scale_labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    formula_kind: Mapped[FormulaKind] = mapped_column(
        enum_type(FormulaKind, "formula_kind"), default=FormulaKind.WEIGHTED_SUM_NORMALISED
    )
    formula_text: Mapped[str] = mapped_column(Text, default="")
    tie_break_text: Mapped[str] = mapped_column(Text, default="")
    #: ordered criterion codes, then "lot" (see module docstring)
    tie_break: Mapped[list[str]] = mapped_column(JSON, default=list)

    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: The consultation whose concept shaped this call (set on the draft form only).
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultation.id", ondelete="SET NULL"), index=True)

    consultation: Mapped[Consultation | None] = relationship()
    lots: Mapped[list[Lot]] = relationship(back_populates="call", order_by="Lot.number", cascade="all, delete-orphan")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", order_by="(Criterion.kind, Criterion.position, Criterion.id)", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(back_populates="call", order_by="Document.id", cascade="all, delete-orphan")
    amendments: Mapped[list[Amendment]] = relationship(back_populates="call", order_by="Amendment.number", cascade="all, delete-orphan")
    questions: Mapped[list[Question]] = relationship(back_populates="call", order_by="Question.id", cascade="all, delete-orphan")

    @property
    def is_public(self) -> bool:
        return self.state in PUBLIC_STATES

    def criteria_for(self, lot: Lot | None, kind: CriterionKind | None = None) -> list[Criterion]:
        """The criteria that apply to `lot`: its own set, else the call-wide set."""
        own = [c for c in self.criteria if lot is not None and c.lot_id == lot.id]
        chosen = own or [c for c in self.criteria if c.lot_id is None]
        return [c for c in chosen if kind is None or c.kind == kind]

    @property
    def regions(self) -> list[str]:
        return sorted({lot.region for lot in self.lots if lot.region})

    @property
    def current_documents(self) -> list[Document]:
        return [d for d in self.documents if d.superseded_at is None]

    @property
    def published_questions(self) -> list[Question]:
        published = [q for q in self.questions if q.state == QuestionState.PUBLISHED]
        return sorted(published, key=lambda q: q.number or 0)

    def __repr__(self) -> str:
        return f"<Call {self.reference} {self.state}>"


class Lot(db.Model):
    __tablename__ = "call_lot"
    __table_args__ = (
        UniqueConstraint("call_id", "number"),
        CheckConstraint("positions > 0", name="positions_positive"),
        CheckConstraint("budget IS NULL OR budget >= 0", name="budget_not_negative"),
    )
    audit_subject_type = "lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(200), default="")
    municipalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    positions: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    budget: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    description: Mapped[str] = mapped_column(Text, default="")

    call: Mapped[Call] = relationship(back_populates="lots")

    def __repr__(self) -> str:
        return f"<Lot {self.number} {self.title}>"


class Criterion(db.Model):
    """An eligibility (pass/fail) or scored criterion, call-wide or for one lot."""

    __tablename__ = "call_criterion"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'scored' AND weight IS NOT NULL AND weight > 0) OR (kind = 'eligibility' AND weight IS NULL)",
            name="weight_matches_kind",
        ),
    )
    audit_subject_type = "criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CriterionKind] = mapped_column(enum_type(CriterionKind, "criterion_kind"))
    code: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: eligibility: the evidence a bidder must provide
    evidence: Mapped[str] = mapped_column(Text, default="")
    #: scored: weight in percent; the weights of one set add up to exactly 100
    weight: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    position: Mapped[int] = mapped_column(Integer, default=0)

    call: Mapped[Call] = relationship(back_populates="criteria")
    lot: Mapped[Lot | None] = relationship()

    def __repr__(self) -> str:
        return f"<Criterion {self.code} {self.kind}>"


class Document(db.Model):
    """A PDF attached to a call (or one lot); replaced versions stay visible."""

    __tablename__ = "call_document"
    __table_args__ = (
        CheckConstraint("superseded_at IS NULL OR superseded_by_id IS NOT NULL", name="superseded_has_successor"),
    )
    audit_subject_type = "call_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("call_document.id"))

    call: Mapped[Call] = relationship(back_populates="documents")
    lot: Mapped[Lot | None] = relationship()


class Amendment(db.Model):
    """A published change (Änderungsbekanntmachung) with its exact before/after."""

    __tablename__ = "call_amendment"
    __table_args__ = (UniqueConstraint("call_id", "number"),)
    audit_subject_type = "amendment"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: [{"field": "lot.5.positions", "label": "Los 5: Stellen", "before": "2.00", "after": "2.50"}, …]
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    call: Mapped[Call] = relationship(back_populates="amendments")


class QuestionState(enum.StrEnum):
    OPEN = "open"
    PUBLISHED = "published"
    MERGED = "merged"


class Question(db.Model):
    """A bidder question (Bieterfrage). The asker is internal, never public."""

    __tablename__ = "call_question"
    __table_args__ = (
        CheckConstraint(
            "state <> 'published' OR (answer IS NOT NULL AND answered_at IS NOT NULL AND number IS NOT NULL)",
            name="published_has_answer",
        ),
        CheckConstraint("state <> 'merged' OR duplicate_of_id IS NOT NULL", name="merged_has_target"),
        UniqueConstraint("call_id", "number"),
    )
    audit_subject_type = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: what the bidder wrote; stays internal
    original_text: Mapped[str] = mapped_column(Text)
    #: the wording published (officers may anonymise it)
    public_text: Mapped[str] = mapped_column(Text)
    state: Mapped[QuestionState] = mapped_column(enum_type(QuestionState, "question_state"), default=QuestionState.OPEN)
    number: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("call_question.id"))

    call: Mapped[Call] = relationship(back_populates="questions")


class Follow(db.Model):
    """A user who wants e-mails about a call (amendments, answers, reminders)."""

    __tablename__ = "call_follow"
    __table_args__ = (UniqueConstraint("call_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ReminderSent(db.Model):
    """One deadline reminder sent for one deadline; makes the sweep idempotent."""

    __tablename__ = "call_reminder"
    __table_args__ = (UniqueConstraint("call_id", "hours_before", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    hours_before: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


def public_page_options() -> tuple[Any, ...]:
    """Everything a public view of a call reads (its page, its OCDS data, the CSV exports), loaded up front.

    A function, not a constant: the options need every related model mapped, which is not yet
    the case while this module is imported.
    """
    return (
        selectinload(Call.lots),
        selectinload(Call.criteria),
        selectinload(Call.documents),
        selectinload(Call.amendments),
        selectinload(Call.questions),
        joinedload(Call.consultation),
    )
