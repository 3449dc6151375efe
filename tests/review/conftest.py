"""Fixtures for the review tests: a second reviewer and a chair; services speak German."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories_review import make_reviewer


@pytest.fixture
def reviewer2(app: Any) -> Any:
    return make_reviewer("Ralf Gutachter")


@pytest.fixture
def chair(app: Any) -> Any:
    return make_reviewer("Vera Vorsitz")


@pytest.fixture(autouse=True)
def german(app: Any) -> Any:
    """Services format refusals in the active language; outside a request that is German."""
    from flask_babel import force_locale

    with force_locale("de"):
        yield
