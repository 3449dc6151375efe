"""The audit log's Merkle tree, stored as perfect subtrees in `audit_subtree`.

`append_leaf()` is called by `record()` under the chain lock, in the same
transaction as the event, so the tree and the chain can never disagree about
which events exist. Everything else reads: `DbSubtreeStore` answers the
lookups `portal.audit.merkle` needs with one query per proof.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from portal.audit import merkle
from portal.audit.models import AuditSubtree
from portal.extensions import db


class DbSubtreeStore:
    """`merkle.BatchSubtreeStore` over the `audit_subtree` table."""

    def __init__(self, session: Session | None = None) -> None:
        self.session = session or db.session

    def get(self, level: int, index: int) -> bytes:
        return self.get_many([(level, index)])[0]

    def get_many(self, keys: Sequence[tuple[int, int]]) -> list[bytes]:
        if not keys:
            return []
        found = _fetch_nodes(self.session, keys)
        try:
            return [found[key] for key in keys]
        except KeyError as exc:
            raise KeyError(f"no stored subtree {exc.args[0]}") from None

    def size(self) -> int:
        """Number of leaves stored (the tree size the table can prove)."""
        last = self.session.execute(_SIZE_QUERY).scalar()
        return 0 if last is None else last + 1


_SIZE_QUERY = select(func.max(AuditSubtree.__table__.c.index)).where(AuditSubtree.__table__.c.level == 0)


@lru_cache(maxsize=128)
def _nodes_query(levels: int) -> Select[Any]:
    """`level = :l<k> AND index IN (:i<k>)` for `levels` levels, OR-ed, built once.

    Proofs call this for every request; building the expression each time cost
    more than running it. Parameters: l0, i0 (expanding), l1, i1, ...
    """
    table = AuditSubtree.__table__
    condition = or_(*(
        (table.c.level == bindparam(f"l{k}")) & table.c.index.in_(bindparam(f"i{k}", expanding=True))
        for k in range(levels)
    ))
    return select(table.c.level, table.c.index, table.c.hash).where(condition)


def _fetch_nodes(db_or_conn: Session | Connection, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """One SELECT for all keys: `level = L AND index IN (...)` per level, OR-ed.

    (A row-value IN list is not matched against the primary key by SQLite and
    would scan the table.)
    """
    if not keys:
        return {}
    by_level: dict[int, list[int]] = {}
    for level, index in dict.fromkeys(keys):
        by_level.setdefault(level, []).append(index)
    params: dict[str, Any] = {}
    for k, (level, indexes) in enumerate(by_level.items()):
        params[f"l{k}"] = level
        params[f"i{k}"] = indexes
    rows = db_or_conn.execute(_nodes_query(len(by_level)), params)
    # Unpack: Row.index is the tuple method, not the column.
    return {(level, index): bytes(value) for level, index, value in rows}


def left_siblings(leaf_index: int) -> list[tuple[int, int]]:
    """The stored nodes `merkle.nodes_completed_by_append` will ask for."""
    keys = []
    level, index = 0, leaf_index
    while index & 1:
        keys.append((level, index - 1))
        level += 1
        index >>= 1
    return keys


def frontier_keys(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees a tree of `size` leaves decomposes into, largest first."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


class Frontier:
    """The right edge of a growing tree: its perfect subtrees, O(log n) of them.

    Enough to append further leaves (yielding the nodes to store) and to compute
    the current root, without any other node: used to build or re-check the
    tree while streaming the log once.
    """

    def __init__(self, size: int = 0, nodes: dict[tuple[int, int], bytes] | None = None) -> None:
        self.size = size
        self.nodes = dict(nodes or {})
        if set(self.nodes) != set(frontier_keys(size)):
            raise ValueError("frontier nodes do not match the tree size")

    def append(self, leaf: bytes) -> list[merkle.Node]:
        nodes = merkle.nodes_completed_by_append(lambda lv, ix: self.nodes.pop((lv, ix)), self.size, leaf)
        level, index, value = nodes[-1]
        self.nodes[(level, index)] = value  # the new top is the next left sibling
        self.size += 1
        return nodes

    def root(self) -> bytes:
        if not self.size:
            return merkle.EMPTY_ROOT
        pieces = [self.nodes[key] for key in frontier_keys(self.size)]
        acc = pieces[-1]
        for piece in reversed(pieces[:-1]):
            acc = merkle.node_hash(piece, acc)
        return acc


def load_frontier(session: Session, size: int) -> Frontier:
    """The right edge of the stored tree of `size` leaves (one read)."""
    return Frontier(size, _fetch_nodes(session, frontier_keys(size)))


def append_leaf(
    db_or_conn: Session | Connection, leaf_index: int, leaf: bytes, frontier: Frontier | None = None
) -> list[merkle.Node]:
    """Store the leaf and every subtree its append completes (O(log n), at most one read).

    With the tree's `frontier` (as `record()` keeps it within one transaction)
    the left siblings are taken from it and nothing is read; the frontier then
    includes the new leaf. Must run under the chain lock (see
    `portal.audit.services._lock_chain`).
    """
    if frontier is not None:
        if frontier.size != leaf_index:
            raise ValueError(f"frontier of {frontier.size} leaves cannot take leaf {leaf_index}")
        nodes = frontier.append(leaf)
    else:
        siblings = _fetch_nodes(db_or_conn, left_siblings(leaf_index)) if leaf_index & 1 else {}
        nodes = merkle.nodes_completed_by_append(lambda lv, ix: siblings[(lv, ix)], leaf_index, leaf)
    # A Core insert (the ORM's bulk path cost more than the statement), and one
    # row as a plain execute (half of all appends; executemany means a pipeline).
    rows = [{"level": lv, "index": ix, "hash": h} for lv, ix, h in nodes]
    db_or_conn.execute(_INSERT_NODES, rows[0] if len(rows) == 1 else rows)
    return nodes


_INSERT_NODES = insert(AuditSubtree.__table__)


def backfill_subtrees(connection: Connection, batch: int = 10_000) -> int:
    """Build the stored tree for events written before the tree existed (migration 0400).

    Only the O(log n) frontier is kept in memory.
    Returns the number of leaves added.
    """
    from portal.audit.models import AuditEvent
    from portal.audit.services import canonical_bytes

    start = connection.execute(select(func.count()).select_from(AuditSubtree.__table__).where(AuditSubtree.level == 0)).scalar_one()
    frontier = Frontier(start, _fetch_nodes(connection, frontier_keys(start)))
    events = connection.execute(
        select(AuditEvent.__table__).where(AuditEvent.seq > start).order_by(AuditEvent.seq)
    )
    pending: list[dict[str, object]] = []
    added = 0
    for row in events:
        nodes = frontier.append(merkle.leaf_hash(canonical_bytes(row)))
        pending.extend({"level": lv, "index": ix, "hash": h} for lv, ix, h in nodes)
        added += 1
        if len(pending) >= batch:
            connection.execute(insert(AuditSubtree.__table__), pending)
            pending.clear()
    if pending:
        connection.execute(insert(AuditSubtree.__table__), pending)
    return added

