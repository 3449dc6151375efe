"""Fixtures for consultation tests: an open consultation, a second organisation, a council member."""
from __future__ import annotations

from typing import Any

import pytest

from portal.accounts.models import Role
from tests.factories import add_member, make_organisation, make_user
from tests.factories_consultation import make_consultation


@pytest.fixture
def consultation(officer: Any, clock: Any) -> Any:
    """Open for comments since yesterday, for seven more days."""
    return make_consultation(officer)


@pytest.fixture
def organisation2(app: Any) -> Any:
    return make_organisation(name="Diakonisches Werk Test gGmbH")


@pytest.fixture
def bidder2(organisation2: Any) -> Any:
    user = make_user(name="Dirk Diakonie")
    add_member(organisation2, user)
    return user


@pytest.fixture
def council_member(app: Any) -> Any:
    return make_user(name="Kai Kreistag", roles=[Role.OBSERVER])


@pytest.fixture
def citizen(app: Any) -> Any:
    return make_user(name="Petra Privat")


@pytest.fixture
def request_context(app: Any) -> Any:
    """Services speak German through Flask-Babel, which needs a request (as in the portal).

    Only for tests that call services directly; the test client brings its own.
    """
    with app.test_request_context():
        yield
