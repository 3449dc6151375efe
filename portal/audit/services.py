"""Writing and verifying the audit chain.

`record()` is the only way to add an audit event. Services call it inside the
same transaction as the change it records: if the change rolls back, so does
the event, and no event exists for a change that did not happen.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from portal.audit.actions import AuditAction
from portal.audit.merkle import leaf_hash
from portal.audit.models import GENESIS_HASH, AuditEvent
from portal.audit.tree import Frontier, append_leaf, load_frontier
from portal.core.time import now
from portal.extensions import db

# Arbitrary constant identifying the audit chain's advisory lock on PostgreSQL.
CHAIN_LOCK_ID = 4_711_2014


def to_jsonable(value: Any) -> Any:
    """Turn audit data into plain JSON values with one exact spelling each.

    Floats are refused: their decimal spelling differs between languages, and
    an outsider must be able to re-serialise the data byte for byte. Use
    `Decimal` or `str` for fractional numbers.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        raise TypeError("audit data must not contain floats; use Decimal or str")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("audit data must not contain naive datetimes")
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    raise TypeError(f"cannot put {type(value).__name__} into audit data")


# One encoder for every canonical document (json.dumps with these options would
# build a new JSONEncoder per call); the output is identical.
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_encoder() -> Any:
    """`canonical_json` as a bound method, for loops over many events."""
    return _CANONICAL_ENCODER.encode


def canonical_json(value: Any) -> str:
    return _CANONICAL_ENCODER.encode(value)


def format_time(moment: datetime) -> str:
    if moment.tzinfo is UTC and moment.year >= 1000:
        # Same text as the strftime below, about three times faster (verify --full
        # formats every event's time).
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(event: AuditEvent) -> bytes:
    """The exact bytes an event's hash (and its Merkle leaf) is computed over."""
    document = {
        "seq": event.seq,
        "time": format_time(event.occurred_at),
        "actor": event.actor_id,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "data": json.loads(event.data_json),
        "public": bool(event.public),
        "prev_hash": event.prev_hash,
    }
    return canonical_json(document).encode("utf-8")


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_bytes(event)).hexdigest()


def _subject_of(subject: Any) -> tuple[str | None, str | None]:
    if subject is None:
        return None, None
    if isinstance(subject, tuple):
        kind, ident = subject
        return str(kind), None if ident is None else str(ident)
    kind = getattr(subject, "audit_subject_type", None) or subject.__tablename__
    ident = getattr(subject, "id", None)
    return kind, None if ident is None else str(ident)


def _lock_chain(session: Session) -> None:
    """Serialise appends so that two writers can never fork the chain.

    On PostgreSQL a transaction-scoped advisory lock; on SQLite the writing
    transaction already holds the database's single write lock (BEGIN
    IMMEDIATE, see portal.core.database).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})


_HEAD = "ibv_audit_chain_head"


@dataclass
class _ChainHead:
    """The newest event and the tree's right edge as `record()` left them.

    Kept in `session.info` and trusted only while `transaction` is still the
    session's innermost transaction: that transaction holds the chain lock
    (nobody else can append) and everything it appended is still there. A
    savepoint begun, released or rolled back, a commit or a rollback all
    change the innermost transaction, and the next `record()` reads the head
    from the database again. Saves the lock, the head query and the sibling
    read for every event after the first in a transaction.
    """

    transaction: Any
    seq: int
    hash: str
    frontier: Frontier | None = None


def _innermost_transaction(session: Session) -> Any:
    return session.get_nested_transaction() or session.get_transaction()


def record(
    action: AuditAction | str,
    *,
    actor: Any = None,
    subject: Any = None,
    data: dict[str, Any] | None = None,
    public: bool = False,
) -> AuditEvent:
    """Append one event to the audit chain in the current transaction.

    `actor` is a user (or None for the system), `subject` a model instance or
    a `(type, id)` tuple. Public events are shown to everyone: put personal
    data only into internal ones (`public=False`, the default).
    """
    action = AuditAction(action)  # refuses anything outside the vocabulary
    session = db.session()  # the scoped session's current Session
    # Give a new subject its id before it is written into the event.
    session.flush()
    head = session.info.get(_HEAD)
    warm = head is not None and head.transaction is _innermost_transaction(session)
    if not warm:
        _lock_chain(session)
        last = session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        head = _ChainHead(_innermost_transaction(session), last.seq if last else 0, last.hash if last else GENESIS_HASH)
    elif head.frontier is None:
        # A second event in this transaction: from now on the tree's edge is kept here.
        head.frontier = load_frontier(session, head.seq)
    subject_type, subject_id = _subject_of(subject)
    actor_id = getattr(actor, "id", actor) if actor is not None else None
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=now(),
        actor_id=actor_id,
        action=action.value,
        subject_type=subject_type,
        subject_id=subject_id,
        data_json=canonical_json(to_jsonable(data or {})),
        public=public,
        prev_hash=head.hash,
    )
    canonical = canonical_bytes(event)
    event.hash = hashlib.sha256(canonical).hexdigest()
    session.info.pop(_HEAD, None)  # back only once event and leaf are written
    # A Core insert: the unit of work cost more than the statement. The event
    # then joins the session as if it had been loaded from the database.
    connection = session.connection()
    connection.execute(_INSERT_EVENT, {column: getattr(event, column) for column in _EVENT_COLUMNS})
    make_transient_to_detached(event)
    session.add(event)
    append_leaf(connection, event.seq - 1, leaf_hash(canonical), head.frontier)
    head.seq, head.hash = event.seq, event.hash
    session.info[_HEAD] = head
    return event


_EVENT_COLUMNS = tuple(AuditEvent.__table__.columns.keys())
_INSERT_EVENT = insert(AuditEvent.__table__)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_events(events: Iterable[AuditEvent]) -> ChainReport:
    """Recompute every hash and link; stop at the first row that does not fit."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in events:
        if event.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"Eintrag {expected_seq} fehlt oder steht an falscher Stelle (gefunden: {event.seq}).")
        if event.prev_hash != expected_prev:
            return ChainReport(False, checked, event.seq, "Verweis auf den vorherigen Eintrag stimmt nicht (prev_hash).")
        if compute_hash(event) != event.hash:
            return ChainReport(False, checked, event.seq, "Inhalt passt nicht zur gespeicherten Prüfsumme (hash).")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    return ChainReport(True, checked)


def verify_chain(session: Session | None = None, batch: int = 5000) -> ChainReport:
    """Stream the whole log in sequence order and verify it."""
    session = session or db.session
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    result = session.scalars(stmt)
    try:
        return verify_events(result)
    finally:
        result.close()


def events_for(subject: Any, *, public_only: bool = False) -> list[AuditEvent]:
    subject_type, subject_id = _subject_of(subject)
    stmt = select(AuditEvent).where(
        AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id
    )
    if public_only:
        stmt = stmt.where(AuditEvent.public.is_(True))
    return list(db.session.scalars(stmt.order_by(AuditEvent.seq)))
