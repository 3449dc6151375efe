"""Bidder questions (Bieterfragen) and their published answers.

Members of verified organisations ask until the question deadline. Officers
may reword a question for anonymisation (the original stays internal),
merge duplicates, and publish an answer: question and answer then appear for
everyone, numbered, without any name. The asking organisation is kept only
internally (audit events about asking are internal; the public event of an
answer names the call and the number, never the asker).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.models import Organisation
from portal.accounts.permissions import is_member_of
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.audit.transparency import checkpoint_after_commit
from portal.calls.models import Call, Question, QuestionState
from portal.calls.notifications import notify_answer
from portal.calls.state import call_is_open_for_questions
from portal.core.errors import NotPermitted, Refused
from portal.core.i18n import datetime_berlin
from portal.core.time import now
from portal.extensions import db

MAX_QUESTION_LENGTH = 5000


def _text(value: str, field: str, message: Any) -> str:
    value = (value or "").strip()
    if not value:
        raise Refused(message, field=field)
    if len(value) > MAX_QUESTION_LENGTH:
        raise Refused(_l("Bitte fassen Sie sich kürzer (höchstens %(n)s Zeichen).", n=MAX_QUESTION_LENGTH), field=field)
    return value


def ask_question(call: Call, *, organisation: Organisation, text: str, by: Any, at: datetime | None = None) -> Question:
    """Store a question from a member of a verified organisation (internal event)."""
    at = at or now()
    if not is_member_of(by, organisation) or not organisation.is_verified:
        raise NotPermitted(_l("Fragen können nur Mitglieder eines bestätigten Trägers stellen."))
    if not call_is_open_for_questions(call, at):
        if call.question_deadline is not None and at >= call.question_deadline:
            raise Refused(_l("Die Frist für Fragen ist am %(when)s abgelaufen.", when=datetime_berlin(call.question_deadline, seconds=True)),
                          field="text")
        raise Refused(_l("Zu diesem Aufruf können keine Fragen gestellt werden."), field="text")
    text = _text(text, "text", _l("Bitte geben Sie Ihre Frage ein."))
    question = Question(call_id=call.id, organisation_id=organisation.id, asked_by_id=by.id, asked_at=at,
                        original_text=text, public_text=text)
    db.session.add(question)
    db.session.flush()
    record(AuditAction.QUESTION_ASKED, actor=by, subject=question,
           data={"reference": call.reference, "organisation_id": organisation.id})
    return question


def _open(question: Question) -> None:
    if question.state != QuestionState.OPEN:
        raise Refused(_l("Diese Frage ist bereits beantwortet oder zusammengeführt."))


def reword_question(question: Question, *, public_text: str, by: Any) -> Question:
    """Change the wording that will be published; the original stays internal."""
    _open(question)
    question.public_text = _text(public_text, "public_text", _l("Die veröffentlichte Fassung der Frage darf nicht leer sein."))
    record(AuditAction.QUESTION_REWORDED, actor=by, subject=question, data={"reference": question.call.reference})
    return question


def publish_answer(question: Question, *, answer: str, by: Any, public_text: str | None = None,
                   at: datetime | None = None) -> Question:
    """Publish question and answer to everyone, numbered, anonymised; notify followers."""
    _open(question)
    if public_text is not None:
        question.public_text = _text(public_text, "public_text", _l("Die veröffentlichte Fassung der Frage darf nicht leer sein."))
    question.answer = _text(answer, "answer", _l("Bitte geben Sie eine Antwort ein."))
    at = at or now()
    highest = db.session.scalar(select(func.max(Question.number)).where(Question.call_id == question.call_id))
    question.number = (highest or 0) + 1
    question.answered_at = at
    question.answered_by_id = getattr(by, "id", None)
    question.state = QuestionState.PUBLISHED
    db.session.flush()
    record(AuditAction.QUESTION_ANSWERED, actor=by, subject=question, public=True,
           data={"reference": question.call.reference, "number": question.number})
    checkpoint_after_commit()
    notify_answer(question.call, question)
    return question


def merge_question(question: Question, *, into: Question, by: Any) -> Question:
    """Mark `question` as a duplicate of `into`; it is answered there."""
    _open(question)
    if into.call_id != question.call_id or into.id == question.id or into.state == QuestionState.MERGED:
        raise Refused(_l("Bitte wählen Sie eine andere, nicht zusammengeführte Frage desselben Aufrufs."), field="into")
    question.state = QuestionState.MERGED
    question.duplicate_of_id = into.id
    db.session.flush()
    record(AuditAction.QUESTION_MERGED, actor=by, subject=question, data={"into": into.id, "reference": question.call.reference})
    return question
