"""Who may do what with accounts and organisations."""
from __future__ import annotations

from typing import Any

from portal.accounts.models import Organisation, Role
from portal.core.permissions import is_signed_in

__all__ = [
    "is_admin",
    "is_officer",
    "is_reviewer",
    "is_observer",
    "is_staff",
    "is_member_of",
    "can_manage_accounts",
    "can_verify_organisation",
    "can_view_organisation",
    "is_bidder",
    "can_edit_organisation",
    "can_invite_member",
    "can_leave_organisation",
    "can_view_failed_mails",
]


def _has(user: Any, role: Role) -> bool:
    return is_signed_in(user) and user.has_role(role)


def is_admin(user: Any) -> bool:
    return _has(user, Role.ADMIN)


def is_officer(user: Any) -> bool:
    return _has(user, Role.OFFICER)


def is_reviewer(user: Any) -> bool:
    return _has(user, Role.REVIEWER)


def is_observer(user: Any) -> bool:
    return _has(user, Role.OBSERVER)


def is_staff(user: Any) -> bool:
    return is_signed_in(user) and bool(user.role_set)


def is_member_of(user: Any, organisation: Organisation | None) -> bool:
    if not is_signed_in(user) or organisation is None:
        return False
    return any(m.organisation_id == organisation.id for m in user.active_memberships)


def can_manage_accounts(user: Any) -> bool:
    return is_admin(user)


def can_verify_organisation(user: Any, organisation: Organisation | None = None) -> bool:
    return is_officer(user)


def can_view_organisation(user: Any, organisation: Organisation) -> bool:
    return is_member_of(user, organisation) or is_officer(user) or is_admin(user)


def is_bidder(user: Any) -> bool:
    """A member of at least one organisation (whatever its verification state)."""
    return is_signed_in(user) and bool(user.active_memberships)


def can_edit_organisation(user: Any, organisation: Organisation) -> bool:
    return is_member_of(user, organisation)


def can_invite_member(user: Any, organisation: Organisation) -> bool:
    return is_member_of(user, organisation)


def can_leave_organisation(user: Any, organisation: Organisation) -> bool:
    return is_member_of(user, organisation)


def can_view_failed_mails(user: Any) -> bool:
    return is_admin(user)
