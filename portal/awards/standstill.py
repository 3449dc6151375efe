"""The end of the standstill period (Stillhaltefrist, § 134 GWB).

The period is counted in calendar days from the day after the letters were
sent (the sending day in Europe/Berlin), and ends at the end of its last day
in Europe/Berlin, i.e. at midnight Berlin time; stored as UTC. Midnight never
falls into a daylight-saving gap in Germany, so the end is always one instant.
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from portal.core.time import BERLIN, to_berlin


def standstill_last_day(sent_at: datetime, days: int) -> datetime:
    """The last day of the period as a Berlin date (a `date`)."""
    return to_berlin(sent_at).date() + timedelta(days=days)  # type: ignore[return-value]


def standstill_end(sent_at: datetime, days: int) -> datetime:
    """The instant the standstill ends: the end of its last day in Europe/Berlin, as UTC."""
    if days < 0:
        raise ValueError("standstill days must not be negative")
    following = to_berlin(sent_at).date() + timedelta(days=days + 1)
    return datetime.combine(following, time(0), tzinfo=BERLIN).astimezone(UTC)
