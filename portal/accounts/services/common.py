"""Helpers shared by the account services."""
from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for

from portal.accounts.passwords import password_problem
from portal.core.errors import Refused


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for an e-mail: the request's host, or PORTAL_BASE_URL outside requests."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    return base + current_app.url_map.bind("localhost").build(endpoint, values)


def require_good_password(password: str, *, email: str = "", field: str = "password") -> None:
    problem = password_problem(password, email=email)
    if problem is not None:
        raise Refused(problem, field=field)
