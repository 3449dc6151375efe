"""A call's public audit trail: its own public events plus those of its answers and documents."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.audit.public import Related, Trail, TrailSubject, latest_public_change, public_trail, register_trail_subject
from portal.calls.models import Call, CallState, Document, Question
from portal.core.caching import Validator
from portal.core.time import now
from portal.extensions import db

#: A call in one of these states no longer changes except through audited steps:
#: its public page may be revalidated (ETag / Last-Modified, see portal.core.caching).
FINAL_STATES = frozenset({CallState.AWARDED, CallState.CANCELLED})


def trail_related(call: Call) -> Related:
    """The subjects whose public events belong to the call's trail (no queries for a loaded call)."""
    return [
        (Question.audit_subject_type, [q.id for q in call.questions]),
        (Document.audit_subject_type, [d.id for d in call.documents]),
    ]


def call_trail(call: Call) -> Trail:
    """The call's public trail, for its public page (two queries)."""
    return public_trail("call", call.id, related=trail_related(call))


def _load(subject_id: str) -> Call | None:
    if not subject_id.isdigit():
        return None
    return db.session.scalar(
        select(Call).where(Call.id == int(subject_id)).options(selectinload(Call.questions), selectinload(Call.documents))
    )


def _related(subject_id: str) -> Related:
    call = _load(subject_id)
    return trail_related(call) if call is not None else []


def _page(subject_id: str) -> tuple[str, str] | None:
    call = _load(subject_id)
    if call is None or not call.is_public:
        return None
    return call.title, url_for("calls.show", reference=call.reference)


def register() -> None:
    register_trail_subject("call", TrailSubject(related=_related, page=_page))


def page_validator(reference: str) -> Validator | None:
    """The cache validator of a closed call's public page; `None` while the call can still change.

    It changes with every event of the call, its answers and documents (the
    newest sequence number) and with every new checkpoint (the trail links to it).
    """
    row = db.session.execute(
        select(Call.id, Call.state, Call.submission_deadline).where(Call.reference == reference)
    ).one_or_none()
    if row is None or row.state not in FINAL_STATES:
        return None
    related: Related = [
        (Question.audit_subject_type, list(db.session.scalars(select(Question.id).where(Question.call_id == row.id)))),
        (Document.audit_subject_type, list(db.session.scalars(select(Document.id).where(Document.call_id == row.id)))),
    ]
    change, modified = latest_public_change("call", row.id, related=related)
    past_deadline = row.submission_deadline is None or row.submission_deadline <= now()
    return Validator(("call", row.id, str(row.state), change, past_deadline), modified)
