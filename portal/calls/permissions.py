"""Who may do what with calls. Registered as Jinja globals by `portal.calls.init_app`."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.accounts.permissions import is_officer
from portal.calls.models import Call, CallState
from portal.calls.state import call_is_open_for_questions, effective_state
from portal.core.permissions import is_signed_in

__all__ = [
    "can_manage_calls",
    "can_view_call",
    "can_edit_call",
    "can_publish_call",
    "can_amend_call",
    "can_cancel_call",
    "can_answer_questions",
    "can_ask_question",
    "can_follow_call",
    "question_organisations",
]


def can_manage_calls(user: Any) -> bool:
    return is_officer(user)


def can_view_call(user: Any, call: Call) -> bool:
    return call.is_public or can_manage_calls(user)


def can_edit_call(user: Any, call: Call) -> bool:
    """Drafts only: a published call changes through an amendment."""
    return can_manage_calls(user) and call.state == CallState.DRAFT


def can_publish_call(user: Any, call: Call) -> bool:
    return can_edit_call(user, call)


def can_amend_call(user: Any, call: Call, at: datetime | None = None) -> bool:
    return can_manage_calls(user) and effective_state(call, at) == CallState.PUBLISHED


def can_cancel_call(user: Any, call: Call) -> bool:
    return can_manage_calls(user) and call.state not in {CallState.DRAFT, CallState.AWARDED, CallState.CANCELLED}


def can_answer_questions(user: Any, call: Call) -> bool:
    return can_manage_calls(user) and call.is_public


def question_organisations(user: Any) -> list[Any]:
    """The verified organisations in whose name `user` may ask questions."""
    if not is_signed_in(user):
        return []
    return [m.organisation for m in user.active_memberships if m.organisation.is_verified]


def can_ask_question(user: Any, call: Call, at: datetime | None = None) -> bool:
    return bool(question_organisations(user)) and call_is_open_for_questions(call, at)


def can_follow_call(user: Any, call: Call) -> bool:
    return is_signed_in(user) and call.is_public
