"""The end of the standstill: N calendar days from the day after sending, to the end of the last day in Berlin."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.awards.standstill import standstill_end, standstill_last_day


@pytest.mark.parametrize(
    ("sent", "days", "last_day", "end_utc"),
    [
        # Winter time (UTC+1): sent 7 Dec, 10 days → last day 17 Dec, ends 18 Dec 00:00 Berlin = 17 Dec 23:00 UTC.
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), 10, date(2026, 12, 17), datetime(2026, 12, 17, 23, 0, tzinfo=UTC)),
        # Summer time (UTC+2): ends 22:00 UTC.
        (datetime(2026, 6, 1, 9, 0, tzinfo=UTC), 10, date(2026, 6, 11), datetime(2026, 6, 11, 22, 0, tzinfo=UTC)),
        # Sent in summer time, ends after the clocks went back (25 Oct 2026): the end is midnight in winter time.
        (datetime(2026, 10, 20, 9, 0, tzinfo=UTC), 10, date(2026, 10, 30), datetime(2026, 10, 30, 23, 0, tzinfo=UTC)),
        # Sent in winter time, ends after the clocks went forward (29 Mar 2026): midnight in summer time.
        (datetime(2026, 3, 25, 9, 0, tzinfo=UTC), 10, date(2026, 4, 4), datetime(2026, 4, 4, 22, 0, tzinfo=UTC)),
        # 23:30 UTC on 7 Dec is already 8 Dec in Berlin: the Berlin day counts.
        (datetime(2026, 12, 7, 23, 30, tzinfo=UTC), 10, date(2026, 12, 18), datetime(2026, 12, 18, 23, 0, tzinfo=UTC)),
        # The last day is the DST day itself (29 Mar 2026 has 23 hours).
        (datetime(2026, 3, 19, 12, 0, tzinfo=UTC), 10, date(2026, 3, 29), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
        # Zero days: the end of the sending day.
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), 0, date(2026, 12, 7), datetime(2026, 12, 7, 23, 0, tzinfo=UTC)),
    ],
)
def test_standstill_ends_at_midnight_berlin_after_the_last_day(sent: datetime, days: int, last_day: date, end_utc: datetime) -> None:
    assert standstill_last_day(sent, days) == last_day
    assert standstill_end(sent, days) == end_utc
    assert standstill_end(sent, days).tzinfo is not None


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        standstill_end(datetime(2026, 12, 7, tzinfo=UTC), -1)
