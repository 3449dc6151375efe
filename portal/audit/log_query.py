"""The administrators' view of the full audit log: filters and exports."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, or_, select

from portal.accounts.models import User
from portal.audit.actions import AuditAction
from portal.audit.models import AuditEvent
from portal.audit.services import format_time, record
from portal.core.time import from_berlin
from portal.extensions import db

EXPORT_FIELDS = ["seq", "time", "actor_id", "actor", "action", "subject_type", "subject_id", "public", "data", "hash"]


@dataclass(frozen=True)
class LogFilter:
    start: date | None = None  # Europe/Berlin calendar days, inclusive
    end: date | None = None
    actor: str | None = None  # account number or part of an e-mail address
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def _day_start(day: date) -> datetime:
    return from_berlin(datetime.combine(day, time()))


def filtered_events(flt: LogFilter) -> Select[tuple[AuditEvent, User | None]]:
    """All events matching the filter, newest first, with their actors."""
    stmt = select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id)
    if flt.start:
        stmt = stmt.where(AuditEvent.occurred_at >= _day_start(flt.start))
    if flt.end:
        stmt = stmt.where(AuditEvent.occurred_at < _day_start(flt.end + timedelta(days=1)))
    if flt.actor:
        term = flt.actor.strip()
        if term.isdigit():
            stmt = stmt.where(AuditEvent.actor_id == int(term))
        else:
            stmt = stmt.where(or_(User.email.ilike(f"%{term}%"), User.name.ilike(f"%{term}%")))
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.subject_type:
        stmt = stmt.where(AuditEvent.subject_type == flt.subject_type)
    if flt.subject_id:
        stmt = stmt.where(AuditEvent.subject_id == flt.subject_id)
    return stmt.order_by(AuditEvent.seq.desc())


def _export_rows(rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for event, user in rows:
        yield {
            "seq": event.seq,
            "time": format_time(event.occurred_at),
            "actor_id": event.actor_id,
            "actor": user.email if user else None,
            "action": event.action,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "public": bool(event.public),
            "data": json.loads(event.data_json),
            "hash": event.hash,
        }


def export_log(flt: LogFilter, fmt: str, *, by: Any) -> str:
    """The filtered log as CSV or JSON text; records who exported what.

    The export is an internal audit event itself: the full log contains
    personal data, so taking it out of the portal is logged.
    """
    if fmt not in {"csv", "json"}:
        raise ValueError(fmt)
    record(AuditAction.AUDIT_LOG_EXPORTED, actor=by, data={"format": fmt, "filter": flt.as_data()})
    rows = _export_rows(db.session.execute(filtered_events(flt)))
    if fmt == "json":
        return json.dumps({"filter": flt.as_data(), "events": list(rows)}, ensure_ascii=False, indent=1, default=str)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        row["data"] = json.dumps(row["data"], ensure_ascii=False, sort_keys=True)
        writer.writerow(row)
    return out.getvalue()
