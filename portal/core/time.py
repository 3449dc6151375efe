"""The one place where the portal learns what time it is.

All code asks `now()` (aware UTC). Tests install a `FrozenClock` to move time
(deadlines, standstill periods) without sleeping. Deadlines are entered and
shown as Europe/Berlin wall-clock time and stored as UTC.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

BERLIN = ZoneInfo("Europe/Berlin")


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start).astimezone(UTC)

    def __call__(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _require_aware(moment).astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        self._now += delta if delta is not None else timedelta(**kwargs)


_clock: FrozenClock | None = None


def install_clock(clock: FrozenClock | None) -> None:
    """Replace the system clock (tests only); `None` restores it."""
    global _clock
    _clock = clock


def clock_is_frozen() -> bool:
    return _clock is not None


def now() -> datetime:
    """The current time as aware UTC."""
    if _clock is not None:
        return _clock()
    return datetime.now(UTC)


def transaction_now(session: Session) -> datetime:
    """The authoritative time for a decision made inside a transaction.

    Deadlines are decided by the database server's clock, read inside the
    transaction that writes the result, so several app servers agree on one
    clock. When a test clock is installed it wins, so tests can move time.
    """
    if _clock is not None:
        return _clock()
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC)
    value = session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a time zone")
    return moment


def to_berlin(moment: datetime) -> datetime:
    """Convert an aware datetime to Europe/Berlin for display."""
    return _require_aware(moment).astimezone(BERLIN)


class LocalTimeError(ValueError):
    """A wall-clock time that cannot be turned into one instant."""


class NonexistentLocalTime(LocalTimeError):
    """The time falls into the spring daylight-saving gap."""


class AmbiguousLocalTime(LocalTimeError):
    """The time occurs twice (autumn, clocks go back)."""


def from_berlin(local: datetime) -> datetime:
    """Turn a naive Europe/Berlin wall-clock time into aware UTC.

    Refuses times that do not exist (02:30 on the last Sunday of March) or
    exist twice (02:30 on the last Sunday of October): a deadline must name
    exactly one instant.
    """
    if local.tzinfo is not None:
        raise ValueError("expected a naive wall-clock time")
    first = local.replace(tzinfo=BERLIN, fold=0)
    second = local.replace(tzinfo=BERLIN, fold=1)
    roundtrip = first.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None)
    if roundtrip != local:
        raise NonexistentLocalTime(local)
    if first.utcoffset() != second.utcoffset():
        raise AmbiguousLocalTime(local)
    return first.astimezone(UTC)
