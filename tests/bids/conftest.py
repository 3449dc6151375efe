"""Fixtures for the bids tests: an open call, two bidding organisations."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_organisation
from tests.factories_bids import make_bidder, make_open_call


@pytest.fixture
def call(app: Any, clock: Any) -> Any:
    return make_open_call()


@pytest.fixture
def lot(call: Any) -> Any:
    return call.lots[0]


@pytest.fixture
def org_a(app: Any) -> Any:
    return make_organisation(name="Caritasverband Test e. V.")


@pytest.fixture
def org_b(app: Any) -> Any:
    return make_organisation(name="Diakonie Test gGmbH")


@pytest.fixture
def member_a(org_a: Any) -> Any:
    return make_bidder(org_a, name="Clara Caritas")


@pytest.fixture
def member_a2(org_a: Any) -> Any:
    return make_bidder(org_a, name="Carl Caritas")


@pytest.fixture
def member_b(org_b: Any) -> Any:
    return make_bidder(org_b, name="Dirk Diakonie")


@pytest.fixture(autouse=True)
def german(app: Any) -> Any:
    """Services format refusals in the active language; outside a request that is German."""
    from flask_babel import force_locale

    with force_locale("de"):
        yield
