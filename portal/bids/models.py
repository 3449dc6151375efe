"""Bids (Interessenbekundungen), their sealed versions, attachments and the opening.

A `Bid` belongs to one organisation and one lot (unique). Its working copy
(the draft) and every submitted `BidVersion` are sealed with the call's data
key (`CallKey`); only `portal.bids.sealed` opens them. A version is immutable
once written: a new submission or a withdrawal is a new version with its own
receipt. The `Opening` of a call needs two different officers.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.time import now
from portal.db import UTCDateTime, enum_type
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Organisation, User
    from portal.calls.models import Call, Lot


class BidState(enum.StrEnum):
    #: never submitted
    DRAFT = "draft"
    #: the last version is a submission
    SUBMITTED = "submitted"
    #: the last version is a withdrawal
    WITHDRAWN = "withdrawn"


class VersionKind(enum.StrEnum):
    SUBMISSION = "submission"
    WITHDRAWAL = "withdrawal"


class CallKey(db.Model):
    """The data key of one call, wrapped by the master key (never stored in clear)."""

    __tablename__ = "bid_call_key"

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), primary_key=True)
    master_key_id: Mapped[str] = mapped_column(String(16))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


bid_version_attachment = Table(
    "bid_version_attachment",
    db.metadata,
    Column("version_id", ForeignKey("bid_version.id", ondelete="CASCADE"), primary_key=True),
    Column("attachment_id", ForeignKey("bid_attachment.id", ondelete="RESTRICT"), primary_key=True),
)


class Bid(db.Model):
    __tablename__ = "bid"
    __table_args__ = (
        UniqueConstraint("organisation_id", "lot_id"),
        CheckConstraint("state = 'draft' OR version_count > 0", name="submitted_has_version"),
    )
    audit_subject_type = "bid"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("call_lot.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    state: Mapped[BidState] = mapped_column(enum_type(BidState, "bid_state"), default=BidState.DRAFT)
    #: the working copy (answers, declarations, contact) as sealed JSON
    sealed_draft: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    version_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    draft_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    draft_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    call: Mapped[Call] = relationship()
    lot: Mapped[Lot] = relationship()
    organisation: Mapped[Organisation] = relationship()
    draft_changed_by: Mapped[User | None] = relationship(foreign_keys=[draft_changed_by_id])
    versions: Mapped[list[BidVersion]] = relationship(
        back_populates="bid", order_by="BidVersion.number", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[BidAttachment]] = relationship(
        back_populates="bid", order_by="BidAttachment.id", cascade="all, delete-orphan"
    )

    @property
    def latest_version(self) -> BidVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def latest_submission(self) -> BidVersion | None:
        for version in reversed(self.versions):
            if version.kind == VersionKind.SUBMISSION:
                return version
        return None

    @property
    def draft_attachments(self) -> list[BidAttachment]:
        return [a for a in self.attachments if a.in_draft]

    @property
    def has_unsubmitted_changes(self) -> bool:
        latest = self.latest_version
        return latest is None or self.draft_changed_at > latest.submitted_at

    def __repr__(self) -> str:
        return f"<Bid {self.id} org={self.organisation_id} lot={self.lot_id} {self.state}>"


class BidAttachment(db.Model):
    """A checked PDF; its bytes and its title/filename are sealed, its hash is not."""

    __tablename__ = "bid_attachment"
    audit_subject_type = "bid_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="CASCADE"), index=True)
    #: evidence for this eligibility criterion; None for a general attachment
    criterion_id: Mapped[int | None] = mapped_column(ForeignKey("call_criterion.id"))
    #: random name of the storage place (binds the ciphertext to this row)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    sealed_meta: Mapped[bytes] = mapped_column(LargeBinary)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    page_count: Mapped[int] = mapped_column(Integer)
    #: part of the working copy (a removed attachment stays if a version names it)
    in_draft: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    bid: Mapped[Bid] = relationship(back_populates="attachments")

    @property
    def content_place(self) -> str:
        return f"bid-attachment:{self.bid_id}:{self.token}"

    @property
    def meta_place(self) -> str:
        return f"bid-attachment-meta:{self.bid_id}:{self.token}"


class BidVersion(db.Model):
    """One submission or withdrawal, immutable, with its receipt (Eingangsbestätigung)."""

    __tablename__ = "bid_version"
    __table_args__ = (UniqueConstraint("bid_id", "number"), CheckConstraint("number > 0", name="number_positive"))
    audit_subject_type = "bid_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[VersionKind] = mapped_column(enum_type(VersionKind, "bid_version_kind"))
    #: the database's clock inside the transaction that checked the deadline
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    #: SHA-256 of the canonical document (= the sealed plaintext)
    digest: Mapped[str] = mapped_column(String(64))
    sealed_content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    bid: Mapped[Bid] = relationship(back_populates="versions")
    submitted_by: Mapped[User | None] = relationship()
    attachments: Mapped[list[BidAttachment]] = relationship(
        secondary=bid_version_attachment, order_by="BidAttachment.id"
    )

    @property
    def place(self) -> str:
        return f"bid-version:{self.bid_id}:{self.number}"


class Opening(db.Model):
    """The opening (Öffnung) of a call's bids: started by one officer, confirmed by another."""

    __tablename__ = "bid_opening"
    __table_args__ = (
        CheckConstraint("confirmed_by_id IS NULL OR confirmed_by_id <> started_by_id", name="two_officers"),
        CheckConstraint("(confirmed_at IS NULL) = (confirmed_by_id IS NULL)", name="confirmed_complete"),
    )
    audit_subject_type = "bid_opening"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: SHA-256 of the canonical opening record (also in the public audit event)
    record_digest: Mapped[str | None] = mapped_column(String(64))

    call: Mapped[Call] = relationship()
    started_by: Mapped[User] = relationship(foreign_keys=[started_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None
