"""Signed, expiring links (e-mail verification, password reset, e-mail change).

The payload is signed with the app's secret key (itsdangerous) and carries
its issue time taken from `portal.core.time.now()`, so tests can move the
clock past the expiry. Single use comes from the payload: it names state
that the action changes (the password hash, the unverified address), so a
used link no longer matches.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from portal.core.errors import Refused
from portal.core.time import now

INVALID = _l("Der Link ist ungültig oder wurde bereits verwendet.")
EXPIRED = _l("Der Link ist abgelaufen. Bitte fordern Sie einen neuen an.")


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"ibv.{purpose}")


def make_token(purpose: str, **payload: Any) -> str:
    return _serializer(purpose).dumps({**payload, "iat": int(now().timestamp())})


def read_token(purpose: str, token: str, *, max_age: timedelta) -> dict[str, Any]:
    """Return the payload, or refuse with a message the visitor can act on."""
    try:
        payload = _serializer(purpose).loads(token)
    except BadSignature:
        raise Refused(INVALID) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("iat"), int):
        raise Refused(INVALID)
    if now().timestamp() - payload["iat"] > max_age.total_seconds():
        raise Refused(EXPIRED)
    return payload


def fingerprint(value: str | None) -> str:
    """A short digest of state a token depends on (never the state itself)."""
    return hashlib.sha256((value or "").encode()).hexdigest()[:16]


def new_random_token() -> tuple[str, str]:
    """(token for the link, SHA-256 to store) for invitations."""
    token = secrets.token_urlsafe(32)
    return token, hash_random_token(token)


def hash_random_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
