"""Throttling of sign-in, registration, password reset and invitations.

Each protected endpoint has two limits on POST: one per client IP and one
per account (the e-mail address typed, or the user in the second step).
The windows are short (per minute by default), so an attacker is slowed
down while a legitimate user is never locked out for long. Storage is in
memory unless RATELIMIT_STORAGE_URI names a Redis server (several app
servers then share the counters).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import current_app, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(get_remote_address)


def _account_key() -> str:
    typed = request.form.get("email", "")
    if typed:
        ident = typed.strip().lower()
    else:
        ident = str(session.get("_user_id", "")).split(":", 1)[0] or get_remote_address()
    return "account:" + hashlib.sha256(ident.encode()).hexdigest()[:24]


def _per_account() -> str:
    return str(current_app.config["RATELIMIT_PER_ACCOUNT"])


def _per_ip() -> str:
    return str(current_app.config["RATELIMIT_PER_IP"])


def throttled(view: Callable[..., Any]) -> Callable[..., Any]:
    """Apply the per-IP and the per-account limit to POSTs of `view`."""
    view = limiter.limit(_per_account, key_func=_account_key, methods=["POST"])(view)
    return limiter.limit(_per_ip, methods=["POST"])(view)
