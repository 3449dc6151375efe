"""Award decisions, information letters, standstill rounds, objections and award notices.

One `AwardDecision` per lot and proposal: proposed by one officer, approved by
a second, different one (four eyes). A revision during the standstill is a new
decision that supersedes the approved one. The ranking the proposal was made
from is stored with it (`ranking`), so that letters, the notice and the
procurement record show exactly what was decided on.

Querying the outcome (for OCDS, the council view): the *current* decision of a
lot is the one in state APPROVED (at most one per lot, see `current_decisions`
in services); its `winners` name the bids and organisations, `approved_at` is
the date of the decision, `deviates` / `deviation_reason` say whether and why
it deviates from the ranking.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

# The models referred to by name below must be mapped whenever these are, whatever imports first.
import portal.accounts.models  # noqa: F401
import portal.bids.models  # noqa: F401
import portal.mail.models  # noqa: F401
from portal.core.time import now
from portal.db import UTCDateTime, enum_type
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Organisation, User
    from portal.bids.models import Bid
    from portal.calls.models import Call, Lot


class AwardPolicy(db.Model):
    """Per-call settings of the award: several winners per lot, anonymised ranking in the notice."""

    __tablename__ = "award_policy"

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), primary_key=True)
    #: a lot with several positions goes to as many bids as it has whole positions
    several_winners: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the notice also shows the other eligible bids, anonymised ("Bewerbung B", …)
    publish_other_bids: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class DecisionState(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    #: sent back by the second officer (or withdrawn), with a reason
    RETURNED = "returned"
    #: replaced by a revision during the standstill
    SUPERSEDED = "superseded"


class DecisionOutcome(enum.StrEnum):
    AWARD = "award"
    NO_AWARD = "no_award"


class AwardDecision(db.Model):
    __tablename__ = "award_decision"
    __table_args__ = (
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> proposed_by_id", name="four_eyes"),
        CheckConstraint("state NOT IN ('approved', 'superseded') OR (approved_at IS NOT NULL AND approved_by_id IS NOT NULL)",
                        name="approved_complete"),
        CheckConstraint("outcome <> 'no_award' OR no_award_reason IS NOT NULL", name="no_award_has_reason"),
        CheckConstraint("NOT deviates OR deviation_reason IS NOT NULL", name="deviation_has_reason"),
        CheckConstraint("state <> 'returned' OR returned_reason IS NOT NULL", name="returned_has_reason"),
        CheckConstraint("revises_id IS NULL OR revision_reason IS NOT NULL", name="revision_has_reason"),
    )
    audit_subject_type = "award_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), index=True)
    state: Mapped[DecisionState] = mapped_column(enum_type(DecisionState, "award_decision_state"),
                                                 default=DecisionState.PROPOSED, index=True)
    outcome: Mapped[DecisionOutcome] = mapped_column(enum_type(DecisionOutcome, "award_outcome"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deviates: Mapped[bool] = mapped_column(Boolean, default=False)
    deviation_reason: Mapped[str | None] = mapped_column(Text)
    no_award_reason: Mapped[str | None] = mapped_column(Text)
    #: the approved decision this one replaces (revision during the standstill)
    revises_id: Mapped[int | None] = mapped_column(ForeignKey("award_decision.id"))
    revision_reason: Mapped[str | None] = mapped_column(Text)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    returned_reason: Mapped[str | None] = mapped_column(Text)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the ranking the proposal was made from (see `ranking.snapshot`)
    ranking: Mapped[dict[str, Any]] = mapped_column(JSON)

    call: Mapped[Call] = relationship()
    lot: Mapped[Lot] = relationship()
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])
    winners: Mapped[list[AwardWinner]] = relationship(back_populates="decision", order_by="AwardWinner.position",
                                                      cascade="all, delete-orphan")

    @property
    def winner_names(self) -> list[str]:
        return [w.organisation.name for w in self.winners]

    def __repr__(self) -> str:
        return f"<AwardDecision lot={self.lot_id} {self.state} {self.outcome}>"


class AwardWinner(db.Model):
    __tablename__ = "award_winner"
    __table_args__ = (UniqueConstraint("decision_id", "bid_id"), CheckConstraint("position > 0", name="position_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("award_decision.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)

    decision: Mapped[AwardDecision] = relationship(back_populates="winners")
    bid: Mapped[Bid] = relationship()
    organisation: Mapped[Organisation] = relationship()


class AwardRound(db.Model):
    """One sending of information letters and the standstill period that follows it."""

    __tablename__ = "award_round"
    __table_args__ = (
        UniqueConstraint("call_id", "number"),
        CheckConstraint("number = 1 OR reason IS NOT NULL", name="revision_round_has_reason"),
    )
    audit_subject_type = "award_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    letters_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    standstill_days: Mapped[int] = mapped_column(Integer)
    standstill_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: why the award was revised (rounds after the first)
    reason: Mapped[str | None] = mapped_column(Text)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship()
    letters: Mapped[list[InformationLetter]] = relationship(back_populates="round", order_by="InformationLetter.id")


class LetterKind(enum.StrEnum):
    INFORMATION = "information"
    CANCELLATION = "cancellation"
    OBJECTION_ANSWER = "objection_answer"


class InformationLetter(db.Model):
    """A letter to one organisation, kept with its PDF; `content` is what it says."""

    __tablename__ = "award_letter"
    __table_args__ = (CheckConstraint("kind <> 'information' OR round_id IS NOT NULL", name="information_has_round"),)
    audit_subject_type = "award_letter"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("award_round.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[LetterKind] = mapped_column(enum_type(LetterKind, "award_letter_kind"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    first_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_read_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    call: Mapped[Call] = relationship()
    round: Mapped[AwardRound | None] = relationship(back_populates="letters")
    organisation: Mapped[Organisation] = relationship()
    deliveries: Mapped[list[LetterDelivery]] = relationship(back_populates="letter", order_by="LetterDelivery.id",
                                                            cascade="all, delete-orphan")


class LetterDelivery(db.Model):
    """One e-mail carrying a letter; its state is the outbox row's (queued, sent, failed)."""

    __tablename__ = "award_letter_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("award_letter.id", ondelete="CASCADE"), index=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("outgoing_mail.id"))
    to_address: Mapped[str] = mapped_column(String(254))

    letter: Mapped[InformationLetter] = relationship(back_populates="deliveries")
    mail: Mapped[Any] = relationship("OutgoingMail")


class ObjectionState(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Objection(db.Model):
    """A bidder's reasoned objection (Rüge) during the standstill, and the officers' answer."""

    __tablename__ = "award_objection"
    __table_args__ = (
        CheckConstraint("state = 'open' OR (answer IS NOT NULL AND answered_at IS NOT NULL AND answered_by_id IS NOT NULL)",
                        name="answered_complete"),
    )
    audit_subject_type = "award_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("award_round.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    lodged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lodged_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[ObjectionState] = mapped_column(enum_type(ObjectionState, "award_objection_state"),
                                                  default=ObjectionState.OPEN, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    call: Mapped[Call] = relationship()
    round: Mapped[AwardRound] = relationship()
    organisation: Mapped[Organisation] = relationship()
    lodged_by: Mapped[User] = relationship(foreign_keys=[lodged_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])


class AwardNotice(db.Model):
    """The public award notice (Vergabebekanntmachung) of a call; `data` is its JSON."""

    __tablename__ = "award_notice"
    audit_subject_type = "award_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), unique=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: SHA-256 of the canonical JSON (also in the public audit event)
    sha256: Mapped[str] = mapped_column(String(64))

    call: Mapped[Call] = relationship()
