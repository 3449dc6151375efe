"""The append-only audit log.

Each row commits to the previous one through `prev_hash`, so a changed,
removed or reordered row breaks the chain from that point on. The database
itself refuses UPDATE, DELETE, TRUNCATE and INSERT OR REPLACE on this table
(see `portal.audit.triggers`).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime
from portal.extensions import db

GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    # Canonical JSON text exactly as it was hashed.
    data_json: Mapped[str] = mapped_column(Text, default="{}")
    public: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("ix_audit_event_subject", "subject_type", "subject_id", "seq"),)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action} {self.subject_type}:{self.subject_id}>"


class AuditSubtree(db.Model):
    """One perfect aligned subtree of the RFC 9162 Merkle tree over `audit_event`.

    Level 0 holds the leaf hashes (index = seq - 1); level l, index i covers the
    leaves [i * 2**l, (i + 1) * 2**l). Rows are written by `record()` in the
    same transaction as the event whose append completes them, and never change
    (see `portal.audit.triggers.SUBTREE_*`).
    """

    __tablename__ = "audit_subtree"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    def __repr__(self) -> str:
        return f"<AuditSubtree {self.level}/{self.index}>"


class AuditCheckpoint(db.Model):
    """A signed tree head (C2SP checkpoint) as published; kept forever."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The complete signed note exactly as served at /transparency/checkpoint.
    text: Mapped[str] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<AuditCheckpoint {self.size}>"
