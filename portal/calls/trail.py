"""A call's public audit trail: its own public events plus those of its answers and documents."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.audit.public import Related, Trail, TrailSubject, public_trail, register_trail_subject
from portal.calls.models import Call, Document, Question
from portal.extensions import db


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
