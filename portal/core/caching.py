"""Conditional GET (`ETag`, `Last-Modified`, 304) for pages that rarely change.

A view opts in with ``@conditional(validator)``. The validator gets the view's
arguments and returns a `Validator` when the response may be revalidated, or
`None` when it must always be rendered (e.g. a call that is still open). It
must be cheap (one or two small queries) and name everything the response
depends on, typically the newest audit event of the subject (see
`portal.audit.public.latest_public_change`): every change in the portal writes
an event in the same transaction, so a new event is what invalidates.

The ETag also covers the language (chosen in the session: `Vary: Cookie`) and the release. Only
anonymous visitors get validators: a signed-in user's page shows personal
state (follow buttons, names), and flashed messages must not be swallowed by a
304. Responses say ``Cache-Control: no-cache``: browsers and proxies may keep
them but must ask again each time, so a change is visible at once.

Usage (e.g. for an OCDS package)::

    @bp.get("/<reference>/ocds.json")
    @conditional(lambda reference: my_validator(reference))
    def package(reference): ...
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from flask import current_app, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user


@dataclass(frozen=True)
class Validator:
    """What a response depends on (`parts`) and when it last changed (`modified`, aware)."""

    parts: tuple[Any, ...]
    modified: datetime | None = None


def _release() -> str:
    try:
        return metadata.version("ibv-portal")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "dev"


RELEASE = _release()


def etag_for(validator: Validator) -> str:
    """A strong ETag for the validator, the language and the release."""
    material = repr((validator.parts, str(get_locale()), RELEASE, current_app.config.get("CACHE_SALT", "")))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _cacheable_visitor() -> bool:
    return not getattr(current_user, "is_authenticated", False) and not session.get("_flashes")


def _not_modified(tag: str, modified: datetime | None) -> bool:
    if request.if_none_match:
        return request.if_none_match.contains(tag)
    since = request.if_modified_since
    return modified is not None and since is not None and modified.replace(microsecond=0) <= since


def conditional(validator: Callable[..., Validator | None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer 304 without rendering when the visitor's copy is current; otherwise add the validators."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method not in {"GET", "HEAD"} or not _cacheable_visitor():
                return view(*args, **kwargs)
            found = validator(*args, **kwargs)
            if found is None:
                return view(*args, **kwargs)
            tag = etag_for(found)
            modified = found.modified.astimezone(UTC) if found.modified else None
            if _not_modified(tag, modified):
                response = current_app.response_class(status=304)
            else:
                response = make_response(view(*args, **kwargs))
                if response.status_code != 200:
                    return response
            response.set_etag(tag)
            if modified is not None:
                response.last_modified = modified
            response.headers["Cache-Control"] = "no-cache"
            response.vary.add("Cookie")  # the language choice lives in the session
            return response

        return wrapper

    return decorate
