"""Every route, for every role, answers without a server error.

A safety net over the whole URL map, so that a new page cannot crash for a
role its author did not think of. Each domain additionally has its own
authorisation test with the exact expected statuses.
"""
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing.converters import AnyConverter, NumberConverter

from tests.conftest import login

ALLOWED = {200, 302, 303, 400, 403, 404, 405, 409, 410, 422}


def _sample_urls(app: Flask) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in (rule.methods or set()):
            continue
        values = {}
        for name, converter in rule._converters.items():  # noqa: SLF001 - werkzeug has no public API for this
            if isinstance(converter, NumberConverter):
                values[name] = "999999"
            elif isinstance(converter, AnyConverter):
                values[name] = sorted(converter.items)[0]
            else:
                values[name] = "gibt-es-nicht"
        url = rule.build(values, append_unknown=False)
        if url is not None:
            urls.append(url[1])
    return sorted(set(urls))


@pytest.mark.parametrize("role", ["anonymous", "bidder", "officer", "reviewer", "observer", "admin"])
def test_no_route_crashes_for_any_role(app: Flask, client, role: str, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    if role != "anonymous":
        user: Any = request.getfixturevalue(role)
        login(client, user)
    failures = []
    for url in _sample_urls(app):
        if url.startswith(("/sprache/", "/dev/")):
            continue
        status = client.get(url).status_code
        if status not in ALLOWED:
            failures.append(f"{url} → {status}")
    assert not failures, "\n".join(failures)
