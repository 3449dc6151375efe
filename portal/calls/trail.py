"""A call's public audit trail: its own public events plus those of its answers and documents."""
from __future__ import annotations

from typing import Any

from flask import request, url_for
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from portal.audit.models import AuditCheckpoint, AuditEvent
from portal.audit.public import Related, Trail, TrailSubject, latest_public_change, public_trail, register_trail_subject
from portal.calls.models import Call, CallState, Document, Question
from portal.calls.state import time_left_in_words
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


def site_state() -> Validator:
    """Everything a public page can depend on, in one round trip of three indexed aggregates.

    Every change in the portal writes an audit event in its transaction (the
    newest sequence number), every public step may sign a checkpoint that the
    trails link to (its size), and the only changes without an event are the
    clock passing deadlines: bid counts appear and calls close at the
    submission deadline, questions close at the question deadline (the number
    of deadlines passed). A validator built on it is never stale; it is coarse
    (any event, e.g. a sign-in, renews every page), which costs one rendering
    per page and change, not correctness.
    """
    at = now()
    newest = select(func.max(AuditEvent.seq)).scalar_subquery()
    newest_at = select(func.max(AuditEvent.occurred_at)).scalar_subquery()
    checkpoint = select(func.max(AuditCheckpoint.size)).scalar_subquery()
    passed = (
        select(func.count(case((Call.submission_deadline <= at, 1))), func.count(case((Call.question_deadline <= at, 1))))
        .where(Call.state != CallState.DRAFT)
    )
    row = db.session.execute(passed.add_columns(newest, newest_at, checkpoint)).one()
    submission, questions, seq, modified, size = row
    return Validator((seq, size, submission, questions), modified)


def list_validator(*_args: Any, **_kwargs: Any) -> Validator:
    """The call list and the open-data downloads: the site's state and the exact request (filters)."""
    state = site_state()
    return Validator(("site", request.full_path, *state.parts), state.modified)


def page_validator(reference: str) -> Validator | None:
    """The cache validator of a call's public page (`None` for drafts, which only staff see).

    A closed call: every event of the call, its answers and documents (the
    newest sequence number) and every new checkpoint (the trail links to it).
    A call still in its procedure: the site's state (`site_state`) and the
    countdown text the page shows, so the page is rendered again when the
    countdown moves on (at most once a minute, in the last hour).
    """
    row = db.session.execute(
        select(Call.id, Call.state, Call.submission_deadline).where(Call.reference == reference)
    ).one_or_none()
    if row is None or row.state == CallState.DRAFT:
        return None
    if row.state not in FINAL_STATES:
        state = site_state()
        return Validator(("call", row.id, str(row.state), *state.parts, time_left_in_words(row.submission_deadline)),
                         state.modified)
    related: Related = [
        (Question.audit_subject_type, list(db.session.scalars(select(Question.id).where(Question.call_id == row.id)))),
        (Document.audit_subject_type, list(db.session.scalars(select(Document.id).where(Document.call_id == row.id)))),
    ]
    change, modified = latest_public_change("call", row.id, related=related)
    past_deadline = row.submission_deadline is None or row.submission_deadline <= now()
    return Validator(("call", row.id, str(row.state), change, past_deadline), modified)
