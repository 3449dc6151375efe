"""What the public may see of the audit log: proofs, event hashes, public events.

Internal events are leaves of the tree like every other event, but only their
sequence number, time and leaf hash leave the server; a public event also
carries its content and the exact canonical bytes that were hashed. Leaf
hashes are recomputed from the stored events (not read from the tree), so an
event changed behind the portal's back no longer matches the signed tree.
"""
from __future__ import annotations

import base64
import json
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from portal.audit import merkle
from portal.audit.models import AuditCheckpoint, AuditEvent
from portal.audit.services import canonical_bytes, format_time
from portal.audit.transparency import all_checkpoints, latest_checkpoint
from portal.audit.tree import DbSubtreeStore
from portal.core.time import now
from portal.extensions import db

#: Largest page of /transparency/events.
EVENTS_PAGE_LIMIT = 1000


class BadRequest(ValueError):
    """A request the log cannot answer; the message is German and user-facing."""


# --------------------------------------------------------------------------
# Embargoed public events
# --------------------------------------------------------------------------
#: kind → function(list of event data) giving, for each, the moment the event may be shown (None: not yet
#: known). It answers for a whole page of events at once: one look-up per kind, not one per event.
EmbargoResolver = Callable[[Sequence[dict[str, Any]]], "list[datetime | None]"]
_embargoes: dict[str, EmbargoResolver] = {}


def register_embargo(kind: str, resolver: EmbargoResolver) -> None:
    """Let a domain hold back public events until a moment only it knows.

    A public event whose data carries `"embargo": kind` is served like an
    internal one (sequence number, time and leaf hash only) until the
    resolver's moment has passed. Sealed bids use it: a submission is a public
    step, but before the deadline nobody may learn how many bids exist
    (Annex IV (b)); the deadline may still move by amendment, so the moment
    is looked up when the event is served, not when it was recorded.
    """
    _embargoes[kind] = resolver


def embargoed(datas: Sequence[dict[str, Any]]) -> list[bool]:
    """For each event's data: is the event held back now? One resolver call per embargo kind."""
    at = now()
    held = [False] * len(datas)
    by_kind: dict[str, list[int]] = {}
    for position, data in enumerate(datas):
        if data.get("embargo"):
            by_kind.setdefault(data["embargo"], []).append(position)
    for kind, positions in by_kind.items():
        resolver = _embargoes.get(kind)
        moments = resolver([datas[p] for p in positions]) if resolver else [None] * len(positions)
        for position, until in zip(positions, moments):
            held[position] = until is None or at < until
    return held


def is_embargoed(data: dict[str, Any]) -> bool:
    return embargoed([data])[0]


def checkpoint_json(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "size": checkpoint.size,
        "root": base64.b64encode(bytes(checkpoint.root)).decode(),
        "issued_at": checkpoint.issued_at.isoformat(),
        "text": checkpoint.text,
    }


def checkpoints_json(session: Session | None = None) -> dict[str, Any]:
    return {"checkpoints": [checkpoint_json(c) for c in all_checkpoints(session)]}


def public_event_json(row: Any, held: bool | None = None) -> dict[str, Any]:
    """One event as /transparency/events lists it (`held`: whether it is embargoed, if already known)."""
    canonical = canonical_bytes(row)
    entry: dict[str, Any] = {
        "seq": row.seq,
        "time": format_time(row.occurred_at),
        "leaf_hash": merkle.leaf_hash(canonical).hex(),
        "public": bool(row.public),
    }
    data = json.loads(row.data_json)
    if held is None:
        held = is_embargoed(data)
    if row.public and not held:
        entry.update(
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            data=data,
            canonical=base64.b64encode(canonical).decode(),
        )
    return entry


def events_page(first: int, last: int, session: Session | None = None) -> dict[str, Any]:
    """Events `first`..`last` (at most EVENTS_PAGE_LIMIT) and the next sequence number."""
    session = session or db.session
    if first < 1 or last < first:
        raise BadRequest(_("Bitte „from“ ≥ 1 und „to“ ≥ „from“ angeben."))
    last = min(last, first + EVENTS_PAGE_LIMIT - 1)
    rows = list(
        session.execute(
            select(AuditEvent.__table__)
            .where(AuditEvent.seq >= first, AuditEvent.seq <= last)
            .order_by(AuditEvent.seq)
        )
    )
    held = embargoed([json.loads(row.data_json) if row.public else {} for row in rows])
    events = [public_event_json(row, hold) for row, hold in zip(rows, held)]
    after = rows[-1].seq if rows else last
    later = session.scalar(select(AuditEvent.seq).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(1))
    return {"events": events, "next": after + 1 if later is not None else None}


def inclusion_json(seq: int, size: int, session: Session | None = None) -> dict[str, Any]:
    session = session or db.session
    store = DbSubtreeStore(session)
    current = store.size()
    if not 1 <= seq <= size <= current:
        raise BadRequest(_("Es muss 1 ≤ seq ≤ size ≤ %(current)s gelten (aktuelle Größe des Protokolls).", current=current))
    row = session.execute(select(AuditEvent.__table__).where(AuditEvent.seq == seq)).first()
    if row is None:
        raise BadRequest(_("Eintrag %(seq)s ist nicht im Protokoll.", seq=seq))
    return {
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": size,
        "leaf_hash": merkle.leaf_hash(canonical_bytes(row)).hex(),
        "proof": [p.hex() for p in merkle.inclusion_proof(store, seq - 1, size)],
    }


def consistency_json(old: int, new: int, session: Session | None = None) -> dict[str, Any]:
    store = DbSubtreeStore(session or db.session)
    current = store.size()
    if not 0 <= old <= new <= current:
        raise BadRequest(_("Es muss 0 ≤ old ≤ new ≤ %(current)s gelten (aktuelle Größe des Protokolls).", current=current))
    return {"old": old, "new": new, "proof": [p.hex() for p in merkle.consistency_proof(store, old, new)]}


@dataclass(frozen=True)
class TrailEntry:
    seq: int
    occurred_at: datetime
    action: str
    data: dict[str, Any]
    covered_by: int | None  # size of the first checkpoint that includes it


@dataclass(frozen=True)
class Trail:
    subject_type: str
    subject_id: str
    entries: list[TrailEntry]
    latest_size: int | None

    @property
    def last_checkpoint_size(self) -> int | None:
        """The checkpoint that covered the subject's last public step."""
        return self.entries[-1].covered_by if self.entries else None


Related = Sequence[tuple[str, Sequence[str | int]]]


@dataclass(frozen=True)
class TrailSubject:
    """What a domain tells the audit trail about one of its subject types.

    `related(subject_id)` names other subjects whose public events belong to this
    one's procedure (a call's answered questions and documents); `page(subject_id)`
    gives (title, url) of the subject's public page for the link back, or None.
    """
    related: Callable[[str], Related] | None = None
    page: Callable[[str], tuple[str, str] | None] | None = None


#: subject type -> TrailSubject; filled by the domains' init_app.
TRAIL_SUBJECTS: dict[str, TrailSubject] = {}


def register_trail_subject(subject_type: str, subject: TrailSubject) -> None:
    """Let /transparenz/verlauf/<subject_type>/<id> include related events and link back."""
    TRAIL_SUBJECTS[subject_type] = subject


def trail_page_link(subject_type: str, subject_id: str) -> tuple[str, str] | None:
    """(title, url) of the public page the trail belongs to, if the domain registered one."""
    subject = TRAIL_SUBJECTS.get(subject_type)
    return subject.page(subject_id) if subject is not None and subject.page is not None else None


def _trail_filter(subject_type: str, subject_id: str, related: Related | None) -> Any:
    registered = TRAIL_SUBJECTS.get(subject_type)
    if related is None and registered is not None and registered.related is not None:
        related = registered.related(subject_id)
    subjects = [and_(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)]
    for kind, ids in related or ():
        if ids:
            subjects.append(and_(AuditEvent.subject_type == kind, AuditEvent.subject_id.in_([str(i) for i in ids])))
    return or_(*subjects)


def latest_public_change(
    subject_type: str, subject_id: str | int, *, related: Related | None = None, session: Session | None = None
) -> tuple[tuple[int | None, int | None], datetime | None]:
    """What a public page about one subject depends on in the log, cheaply.

    Returns ``((newest event seq of the subject and its related subjects,
    latest checkpoint size), newest of their times)``. Every change writes an
    event (and every public step a checkpoint), so a cache validator built
    from this changes exactly when the subject's trail can look different.
    Two indexed aggregate queries.
    """
    session = session or db.session
    seq, at = session.execute(
        select(func.max(AuditEvent.seq), func.max(AuditEvent.occurred_at))
        .where(_trail_filter(subject_type, str(subject_id), related))
    ).one()
    size, signed = session.execute(select(func.max(AuditCheckpoint.size), func.max(AuditCheckpoint.issued_at))).one()
    times = [t for t in (at, signed) if t is not None]
    return (seq, size), max(times) if times else None


def public_trail(
    subject_type: str,
    subject_id: str | int,
    session: Session | None = None,
    *,
    related: Related | None = None,
) -> Trail:
    """The public events of one subject, oldest first, with their covering checkpoints.

    `related` adds the public events of other subjects that belong to this one's
    procedure, e.g. ``[("question", [3, 4]), ("call_document", [7])]`` for a call;
    without it, the subject type's registered scope (if any) is asked. Two queries,
    whatever the number of events: the events and the checkpoint sizes.
    """
    session = session or db.session
    subject_id = str(subject_id)
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(_trail_filter(subject_type, subject_id, related), AuditEvent.public.is_(True))
            .order_by(AuditEvent.seq)
        )
    )
    sizes = list(session.scalars(select(AuditCheckpoint.size).order_by(AuditCheckpoint.size)))

    def covering(seq: int) -> int | None:
        position = bisect_left(sizes, seq)
        return sizes[position] if position < len(sizes) else None

    datas = [json.loads(e.data_json) for e in events]
    entries = [
        TrailEntry(e.seq, e.occurred_at, e.action, data, covering(e.seq))
        for e, data, held in zip(events, datas, embargoed(datas))
        if not held
    ]
    return Trail(subject_type, subject_id, entries, sizes[-1] if sizes else None)


__all__ = [
    "BadRequest",
    "embargoed",
    "is_embargoed",
    "register_embargo",
    "EVENTS_PAGE_LIMIT",
    "Trail",
    "TrailEntry",
    "checkpoint_json",
    "checkpoints_json",
    "consistency_json",
    "events_page",
    "inclusion_json",
    "latest_checkpoint",
    "latest_public_change",
    "public_trail",
    "TrailSubject",
    "register_trail_subject",
    "trail_page_link",
]
