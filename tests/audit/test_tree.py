"""The stored Merkle tree: written by record(), read with one query, append-only."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.audit import merkle
from portal.audit.actions import AuditAction
from portal.audit.models import AuditEvent, AuditSubtree
from portal.audit.services import canonical_bytes, record
from portal.audit.tree import DbSubtreeStore, backfill_subtrees
from portal.audit.triggers import transparency_create_statements, transparency_drop_statements
from portal.extensions import db


def _append(n: int) -> None:
    for i in range(n):
        record(AuditAction.DEMO_LOADED, data={"i": i}, public=bool(i % 2))
    db.session.commit()


def _leaves() -> list[bytes]:
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))
    return [merkle.leaf_hash(canonical_bytes(e)) for e in events]


def _raw(app):  # type: ignore[no-untyped-def]
    return sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)


def test_record_stores_the_rfc9162_tree(app) -> None:  # type: ignore[no-untyped-def]
    _append(37)
    leaves = _leaves()
    store = DbSubtreeStore()
    assert store.size() == 37
    # About two stored nodes per leaf: every perfect subtree exactly once.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditSubtree)) == sum(37 >> lv for lv in range(6))
    for size in range(1, 38):
        root = merkle.root_hash(store, size)
        assert root == merkle.mth(leaves[:size])
        for index in {0, size // 2, size - 1}:
            proof = merkle.inclusion_proof(store, index, size)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
        for old in {1, size // 3, size - 1} - {0}:
            proof = merkle.consistency_proof(store, old, size)
            assert merkle.verify_consistency(old, size, merkle.mth(leaves[:old]), root, proof)


def test_a_proof_costs_one_query(app) -> None:  # type: ignore[no-untyped-def]
    _append(23)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.startswith("SELECT"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        merkle.consistency_proof(DbSubtreeStore(), 5, 23)
        merkle.inclusion_proof(DbSubtreeStore(), 6, 21)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 2


def test_missing_subtree_is_a_key_error(app) -> None:  # type: ignore[no-untyped-def]
    _append(3)
    with pytest.raises(KeyError):
        DbSubtreeStore().get(2, 0)


def test_tree_rolls_back_with_the_event(app) -> None:  # type: ignore[no-untyped-def]
    _append(2)
    record(AuditAction.DEMO_LOADED)
    db.session.rollback()
    assert DbSubtreeStore().size() == 2
    _append(1)
    assert merkle.root_hash(DbSubtreeStore(), 3) == merkle.mth(_leaves())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_subtree SET hash = hash WHERE level = 0",
        "DELETE FROM audit_subtree WHERE level = 1",
        "UPDATE audit_checkpoint SET size = size",
        "DELETE FROM audit_checkpoint",
    ],
)
def test_database_refuses_changes_to_tree_and_checkpoints(app, statement: str) -> None:  # type: ignore[no-untyped-def]
    _append(4)
    from portal.audit.transparency import issue_checkpoint

    issue_checkpoint()
    db.session.commit()
    engine = _raw(app)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_backfill_builds_the_same_tree(app) -> None:  # type: ignore[no-untyped-def]
    """Migration 0400 on a log that already had events."""
    _append(13)
    expected = merkle.root_hash(DbSubtreeStore(), 13)
    db.session.commit()
    engine = _raw(app)
    dialect = engine.dialect.name
    with engine.begin() as conn:
        for statement in transparency_drop_statements(dialect):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("DELETE FROM audit_subtree")
        assert backfill_subtrees(conn) == 13
        for statement in transparency_create_statements(dialect):
            conn.execute(sa.text(statement))
    engine.dispose()
    db.session.expire_all()
    assert merkle.root_hash(DbSubtreeStore(), 13) == expected


def test_further_events_in_a_transaction_cost_two_inserts(app) -> None:  # type: ignore[no-untyped-def]
    """record() keeps the chain head and the tree's edge for its transaction: after
    the first event (lock, head, siblings) and the second (the edge, once), each
    event is its row and its nodes, nothing read again."""
    _append(5)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()[:3]))

    record(AuditAction.DEMO_LOADED, data={"i": 0})
    record(AuditAction.DEMO_LOADED, data={"i": 1})
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        for i in range(2, 12):
            record(AuditAction.DEMO_LOADED, data={"i": i})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    db.session.commit()
    assert statements == ["INSERT INTO audit_event", "INSERT INTO audit_subtree"] * 10
    assert merkle.root_hash(DbSubtreeStore(), 17) == merkle.mth(_leaves())


def test_savepoints_in_between_keep_chain_and_tree_whole(app) -> None:  # type: ignore[no-untyped-def]
    """A savepoint rolled back takes its events with it, one released keeps them;
    either way the next event continues the chain and the stored tree."""
    from portal.audit.fullcheck import verify_full

    _append(3)
    record(AuditAction.DEMO_LOADED, data={"step": "outer"})
    savepoint = db.session.begin_nested()
    record(AuditAction.DEMO_LOADED, data={"step": "lost"})
    record(AuditAction.DEMO_LOADED, data={"step": "lost"})
    savepoint.rollback()
    record(AuditAction.DEMO_LOADED, data={"step": "after rollback"})
    with db.session.begin_nested():
        record(AuditAction.DEMO_LOADED, data={"step": "kept"})
        record(AuditAction.DEMO_LOADED, data={"step": "kept"})
    record(AuditAction.DEMO_LOADED, data={"step": "after release"})
    db.session.commit()
    steps = [e.data_json for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq > 3).order_by(AuditEvent.seq))]
    assert steps == ['{"step":"outer"}', '{"step":"after rollback"}', '{"step":"kept"}', '{"step":"kept"}', '{"step":"after release"}']
    assert merkle.root_hash(DbSubtreeStore(), 8) == merkle.mth(_leaves())
    report = verify_full()
    assert report.ok and report.events == 8, report.reason
