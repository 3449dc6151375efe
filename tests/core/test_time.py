"""Europe/Berlin wall-clock input, UTC storage and the injectable clock."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.core import time as t


def test_from_berlin_summer_and_winter_offsets() -> None:
    assert t.from_berlin(datetime(2022, 8, 5, 12, 0)) == datetime(2022, 8, 5, 10, 0, tzinfo=UTC)
    assert t.from_berlin(datetime(2022, 12, 5, 12, 0)) == datetime(2022, 12, 5, 11, 0, tzinfo=UTC)


def test_spring_gap_is_refused() -> None:
    # 2026-03-29: clocks jump from 02:00 to 03:00, 02:30 does not exist.
    with pytest.raises(t.NonexistentLocalTime):
        t.from_berlin(datetime(2026, 3, 29, 2, 30))


def test_autumn_ambiguity_is_refused() -> None:
    # 2026-10-25: 02:30 happens twice.
    with pytest.raises(t.AmbiguousLocalTime):
        t.from_berlin(datetime(2026, 10, 25, 2, 30))


def test_times_next_to_the_transitions_are_accepted() -> None:
    assert t.from_berlin(datetime(2026, 3, 29, 3, 0)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert t.from_berlin(datetime(2026, 10, 25, 3, 0)) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)


def test_to_berlin_round_trip() -> None:
    moment = datetime(2022, 8, 5, 10, 0, tzinfo=UTC)
    assert t.to_berlin(moment).replace(tzinfo=None) == datetime(2022, 8, 5, 12, 0)
    with pytest.raises(ValueError):
        t.to_berlin(datetime(2022, 8, 5, 10, 0))


def test_frozen_clock_moves_only_when_told(clock: t.FrozenClock) -> None:
    first = t.now()
    assert t.now() == first
    clock.advance(hours=2)
    assert t.now() - first == timedelta(hours=2)
    assert t.now().tzinfo is not None


def test_transaction_now_reads_the_database_clock(app) -> None:  # type: ignore[no-untyped-def]
    from portal.extensions import db

    before = datetime.now(UTC) - timedelta(seconds=5)
    value = t.transaction_now(db.session)
    assert value.tzinfo is not None
    assert before <= value <= datetime.now(UTC) + timedelta(seconds=5)


def test_transaction_now_follows_the_test_clock(app, clock) -> None:  # type: ignore[no-untyped-def]
    from portal.extensions import db

    assert t.transaction_now(db.session) == clock()
