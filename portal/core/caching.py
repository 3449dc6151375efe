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

The same validator also keys a server-side store (`PageStore`, one per app
and worker process, bounded by `PAGE_CACHE_MB`, least recently used out
first): an anonymous visitor without a copy of their own gets the rendered
body of the last visitor who saw the same state, so a busy public page costs
its validator queries, not its rendering. A body is stored only if rendering
it left nothing personal behind: no CSRF token was generated, the session was
not changed, no cookie was set. Since the validator changes whenever the
page can look different, the store never needs invalidating; old entries
simply stop being asked for and age out.

Usage (e.g. for an OCDS package)::

    @bp.get("/<reference>/ocds.json")
    @conditional(lambda reference: my_validator(reference))
    def package(reference): ...
"""
from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from flask import Flask, current_app, g, make_response, request, session
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


@dataclass(frozen=True)
class Stored:
    """A rendered 200 response: its body and the headers the view set (no cookies)."""

    body: bytes
    headers: tuple[tuple[str, str], ...]


#: Headers that belong to one response, never to a stored page.
_PER_RESPONSE = {"set-cookie", "content-length", "date", "etag", "last-modified", "cache-control", "vary"}


class PageStore:
    """Rendered pages keyed by (path, query, ETag); thread-safe LRU bounded by bytes."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.size = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple[str, str], Stored] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Stored | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple[str, str], stored: Stored) -> None:
        cost = len(stored.body)
        if cost > self.limit // 4:  # one huge page must not push out everything else
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.size -= len(previous.body)
            self._entries[key] = stored
            self.size += cost
            while self.size > self.limit and self._entries:
                _key, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped.body)


def init_app(app: Flask) -> None:
    """Give the app its page store (none when `PAGE_CACHE_MB` is 0)."""
    megabytes = float(app.config.get("PAGE_CACHE_MB", 0) or 0)
    app.extensions["page_store"] = PageStore(int(megabytes * 1024 * 1024)) if megabytes > 0 else None


def page_store() -> PageStore | None:
    return current_app.extensions.get("page_store")


def _storable(response: Any) -> bool:
    """Nothing in this response or the session is personal to the visitor who caused it."""
    return (
        response.status_code == 200
        and not response.direct_passthrough
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
        and "csrf_token" not in g
        and not session.modified
    )


def _render(view: Callable[..., Any], tag: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The view's response, from the page store when another visitor saw the same state."""
    store = page_store()
    key = (request.full_path, tag)
    stored = store.get(key) if store is not None else None
    if stored is not None:
        response = current_app.response_class(stored.body, status=200)
        response.headers.clear()
        response.headers.extend(stored.headers)
        response.headers["X-Page-Store"] = "hit"
        return response
    response = make_response(view(*args, **kwargs))
    if store is not None and _storable(response):
        headers = tuple((k, v) for k, v in response.headers.items() if k.lower() not in _PER_RESPONSE)
        store.put(key, Stored(response.get_data(), headers))
    return response


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
                response = _render(view, tag, args, kwargs)
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
