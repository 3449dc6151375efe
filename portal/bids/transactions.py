"""Run a unit of work and commit it, retrying when the database asks to.

PostgreSQL may abort a transaction with a serialisation failure or a deadlock
(SQLSTATE 40001, 40P01); SQLite may report "database is locked" when its busy
timeout ran out under a burst. In each case nothing was written, and running
the same work again is correct: `work` must load what it changes by id.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from portal.extensions import db

T = TypeVar("T")
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_retryable(exc: OperationalError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def commit_with_retry(work: Callable[[], T], *, attempts: int = 5) -> T:
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except OperationalError as exc:
            db.session.rollback()
            if attempt == attempts or not is_retryable(exc):
                raise
            time.sleep(0.02 * attempt)
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")
