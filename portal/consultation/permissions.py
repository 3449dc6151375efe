"""Who may do what in a consultation.

Council groups (Kreistagsfraktionen) have no account of their own: a user
with the observer role is a council member and comments *for* their group
(the group's name is given with the comment and shown as its author).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.accounts.models import Organisation
from portal.accounts.permissions import is_member_of, is_observer, is_officer
from portal.consultation.models import (
    EDIT_WINDOW_MINUTES,
    AuthorKind,
    Comment,
    Consultation,
    ConsultationState,
)
from portal.core.permissions import is_signed_in
from portal.core.time import now

__all__ = [
    "can_manage_consultations",
    "can_view_consultation",
    "comment_options",
    "can_comment",
    "can_reply",
    "can_edit_comment",
    "can_withdraw_comment",
    "can_hide_comment",
    "can_unhide_comment",
    "can_respond",
    "can_view_report",
    "period_phase",
]


def can_manage_consultations(user: Any, consultation: Consultation | None = None) -> bool:
    return is_officer(user)


def can_view_consultation(user: Any, consultation: Consultation) -> bool:
    return consultation.is_public or is_officer(user)


def period_phase(consultation: Consultation) -> str:
    """"before", "running" or "after" the comment period, by the clock."""
    moment = now()
    if moment < consultation.opens_at:
        return "before"
    if moment >= consultation.closes_at:
        return "after"
    return "running"


def comment_options(user: Any, consultation: Consultation) -> list[tuple[AuthorKind, Organisation | None]]:
    """The ways `user` may comment on `consultation` (as which organisation, group or person)."""
    if not is_signed_in(user):
        return []
    options: list[tuple[AuthorKind, Organisation | None]] = []
    if consultation.allow_organisations:
        for membership in user.active_memberships:
            if membership.organisation.is_verified:
                options.append((AuthorKind.ORGANISATION, membership.organisation))
    if consultation.allow_council_groups and is_observer(user):
        options.append((AuthorKind.COUNCIL_GROUP, None))
    if consultation.allow_public:
        options.append((AuthorKind.PERSON, None))
    return options


def can_comment(user: Any, consultation: Consultation) -> bool:
    return (
        consultation.state == ConsultationState.OPEN
        and period_phase(consultation) == "running"
        and bool(comment_options(user, consultation))
    )


def can_reply(user: Any, comment: Comment) -> bool:
    return comment.parent_id is None and comment.is_visible and can_comment(user, comment.consultation)


def _is_author(user: Any, comment: Comment) -> bool:
    return is_signed_in(user) and comment.author_id == user.id


def can_edit_comment(user: Any, comment: Comment) -> bool:
    return (
        _is_author(user, comment)
        and comment.is_visible
        and comment.consultation.state == ConsultationState.OPEN
        and period_phase(comment.consultation) == "running"
        and now() < comment.created_at + timedelta(minutes=EDIT_WINDOW_MINUTES)
    )


def can_withdraw_comment(user: Any, comment: Comment) -> bool:
    return (
        _is_author(user, comment)
        and not comment.is_withdrawn
        and comment.consultation.state == ConsultationState.OPEN
        and period_phase(comment.consultation) != "after"
    )


def can_hide_comment(user: Any, comment: Comment) -> bool:
    return (
        is_officer(user)
        and comment.is_visible
        and comment.consultation.state in {ConsultationState.OPEN, ConsultationState.CLOSED}
    )


def can_unhide_comment(user: Any, comment: Comment) -> bool:
    return (
        is_officer(user)
        and comment.is_hidden
        and not comment.is_withdrawn
        and comment.consultation.state in {ConsultationState.OPEN, ConsultationState.CLOSED}
    )


def can_respond(user: Any, consultation: Consultation) -> bool:
    return is_officer(user) and consultation.state == ConsultationState.CLOSED


def can_view_report(user: Any, consultation: Consultation) -> bool:
    if consultation.state == ConsultationState.REPORT_PUBLISHED:
        return True
    return is_officer(user) and consultation.state == ConsultationState.EVALUATED
