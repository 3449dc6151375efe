"""Helpers for permission predicates.

Each domain has `permissions.py` with small predicates `can_<verb>(user, obj)`
that return False for anonymous users first. Views use `require(...)`;
templates call the same predicates (they are registered as Jinja globals by
the domain's `init_app`), so a link is shown exactly when following it works.
"""
from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import AnonymousUserMixin


def is_signed_in(user: Any) -> bool:
    return user is not None and not isinstance(user, AnonymousUserMixin) and bool(
        getattr(user, "is_authenticated", False)
    )


def require(allowed: bool, *, hide: bool = False) -> None:
    """Abort with 403, or 404 where the object's existence is confidential."""
    if not allowed:
        abort(404 if hide else 403)
