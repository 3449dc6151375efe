"""Counting SQL statements: the query-budget tests' one tool."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

_PARAMETER = re.compile(r"%\(\w+\)s(?:::\w+)?|\$\d+(?:::\w+)?")  # psycopg / asyncpg style
_IN_LIST = re.compile(r"IN \([^()]*\)")


@dataclass
class Counted:
    log: list[str] = field(default_factory=list)

    @property
    def statements(self) -> int:
        """Round trips, except that one eager load split into batches counts once.

        `selectinload` sends its IN list in chunks of 500 keys, so 1,000 rows
        cost two identical statements in a row: that is a constant per 500
        rows, not a query per row, and counts as one. A lazy load per row
        (`WHERE x.id = ?` again and again) still counts every time.
        """
        count, previous = 0, None
        for shape in self.shapes():
            if not (shape == previous and "IN (…)" in shape):
                count += 1
            previous = shape
        return count

    def shapes(self) -> list[str]:
        """The statements without their parameters: a lazy load per row is the same shape again and again."""
        return [_IN_LIST.sub("IN (…)", _PARAMETER.sub("?", statement)) for statement in self.log]


@contextmanager
def count_queries(engine: sa.Engine) -> Iterator[Counted]:
    """Count every statement sent to `engine` inside the block (SQLAlchemy event listener)."""
    counted = Counted()

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statement = " ".join(statement.split())
        # Beginning and locking differ between the databases, not between pages: the portal sends SQLite's
        # BEGIN (IMMEDIATE) itself (portal.core.database), PostgreSQL's driver begins implicitly, and the audit
        # chain's advisory lock on PostgreSQL is what BEGIN IMMEDIATE already holds on SQLite
        # (portal.audit.services._lock_chain). Leaving them out gives both databases the same numbers.
        if not statement.startswith(("BEGIN", "SELECT pg_advisory_xact_lock(")):
            counted.log.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield counted
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
