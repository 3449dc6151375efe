"""Counting SQL statements: the query-budget tests' one tool."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa


@dataclass
class Counted:
    log: list[str] = field(default_factory=list)

    @property
    def statements(self) -> int:
        return len(self.log)


@contextmanager
def count_queries(engine: sa.Engine) -> Iterator[Counted]:
    """Count every statement sent to `engine` inside the block (SQLAlchemy event listener)."""
    counted = Counted()

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counted.log.append(" ".join(statement.split())[:200])

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield counted
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
