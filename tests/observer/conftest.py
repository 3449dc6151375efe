from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.public.conftest import procedures  # noqa: F401  (the same procedures as the open-data tests)


@pytest.fixture(autouse=True)
def german(app: Any) -> Iterator[None]:
    from flask_babel import force_locale

    with force_locale("de"):
        yield
