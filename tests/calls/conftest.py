"""Fixtures for call tests: a draft and an open call, with the frozen clock."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories_calls import make_call


@pytest.fixture
def draft_call(app: Any, clock: Any) -> Any:
    return make_call()


@pytest.fixture
def open_call(app: Any, clock: Any) -> Any:
    return make_call(published=True)


@pytest.fixture(autouse=True)
def german_outside_requests(request: pytest.FixtureRequest) -> Any:
    """Services called directly (as from the CLI sweep) render messages in German.

    Outside a request the portal's locale selector has no session to read;
    `flask calls sweep` and `flask demo load` set German the same way.
    """
    if "app" not in request.fixturenames:
        yield
        return
    from flask_babel import force_locale

    request.getfixturevalue("app")
    with force_locale("de"):
        yield
