"""The audit core: hash chain, append-only guard in the database, verification."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from portal.audit.actions import AuditAction
from portal.audit.models import GENESIS_HASH, AuditEvent
from portal.audit.services import compute_hash, record, verify_chain
from portal.audit.triggers import drop_statements
from portal.extensions import db


def _append(n: int, **kwargs) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    events = [record(AuditAction.DEMO_LOADED, data={"i": i, **kwargs}) for i in range(n)]
    db.session.commit()
    return events


def _raw(app):  # type: ignore[no-untyped-def]
    """A connection behind the app's back, as a database operator would have."""
    return sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)


def test_events_form_a_chain(app) -> None:  # type: ignore[no-untyped-def]
    events = _append(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert all(compute_hash(e) == e.hash for e in events)
    report = verify_chain()
    assert report.ok and report.checked == 3


def test_record_rejects_unknown_actions_and_floats(app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        record("call.deleted_quietly")
    with pytest.raises(TypeError):
        record(AuditAction.DEMO_LOADED, data={"score": 2.5})
    event = record(AuditAction.DEMO_LOADED, data={"score": Decimal("2.50")})
    assert event.data_json == '{"score":"2.50"}'


def test_event_rolls_back_with_its_transaction(app) -> None:  # type: ignore[no-untyped-def]
    _append(1)
    record(AuditAction.DEMO_LOADED, data={"lost": True})
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'user.signed_in' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 2",
        "DELETE FROM audit_event",
    ],
)
def test_database_refuses_changes(app, statement: str) -> None:  # type: ignore[no-untyped-def]
    _append(2)
    engine = _raw(app)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()
    assert verify_chain().ok


def test_database_refuses_replace_and_out_of_sequence_inserts(app) -> None:  # type: ignore[no-untyped-def]
    _append(2)
    engine = _raw(app)
    if engine.dialect.name == "sqlite":
        replace = "INSERT OR REPLACE INTO audit_event SELECT * FROM audit_event WHERE seq = 1"
    else:
        replace = (
            "INSERT INTO audit_event SELECT * FROM audit_event WHERE seq = 1 "
            "ON CONFLICT (seq) DO UPDATE SET action = 'user.signed_in'"
        )
    forged = (
        "INSERT INTO audit_event (seq, occurred_at, action, data_json, public, prev_hash, hash) "
        "VALUES (7, CURRENT_TIMESTAMP, 'system.demo_loaded', '{}', false, 'x', 'y')"
    )
    for statement in (replace, forged):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)
    engine.dispose()
    assert verify_chain().ok


def test_database_refuses_emptying_the_table(app) -> None:  # type: ignore[no-untyped-def]
    """TRUNCATE on PostgreSQL; SQLite's equivalent is an unconditional DELETE
    (its truncate optimisation), which must fire the guard as well."""
    _append(1)
    engine = _raw(app)
    statement = "TRUNCATE audit_event CASCADE" if engine.dialect.name == "postgresql" else "DELETE FROM audit_event"
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()
    assert verify_chain().checked == 1


def _tamper(app, statement: str) -> None:  # type: ignore[no-untyped-def]
    """Change the table behind the app's back with the guard dropped."""
    engine = _raw(app)
    with engine.begin() as conn:
        for drop in drop_statements(engine.dialect.name):
            conn.exec_driver_sql(drop)
        conn.exec_driver_sql(statement)
    engine.dispose()
    db.session.expire_all()


@pytest.mark.parametrize(
    ("statement", "first_bad"),
    [
        ("UPDATE audit_event SET data_json = '{\"i\":99}' WHERE seq = 3", 3),
        ("UPDATE audit_event SET actor_id = NULL, public = true WHERE seq = 2", 2),
        ("DELETE FROM audit_event WHERE seq = 4", 4),
        ("UPDATE audit_event SET prev_hash = 'ab' WHERE seq = 5", 5),
        ("UPDATE audit_event SET seq = seq + 100 WHERE seq = 2", 2),
    ],
)
def test_verify_names_the_first_altered_row(app, runner, statement: str, first_bad: int) -> None:  # type: ignore[no-untyped-def]
    _append(6)
    _tamper(app, statement)
    report = verify_chain()
    assert not report.ok
    assert report.first_bad_seq == first_bad
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"ab Eintrag {first_bad}" in result.output


def test_verify_command_succeeds_on_an_intact_log(app, runner) -> None:  # type: ignore[no-untyped-def]
    _append(4)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "4 Einträge geprüft" in result.output


def test_parallel_writers_form_one_unbroken_chain(app) -> None:  # type: ignore[no-untyped-def]
    writers, per_writer = 6, 15
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        with app.app_context():
            try:
                for i in range(per_writer):
                    record(AuditAction.DEMO_LOADED, data={"worker": worker, "i": i})
                    db.session.commit()
            except BaseException as exc:  # surfaced below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    db.session.expire_all()
    report = verify_chain()
    assert report.ok and report.checked == writers * per_writer
    seqs = db.session.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert seqs == list(range(1, writers * per_writer + 1))
    # Every writer's events are all there (nothing lost to a race).
    rows = db.session.execute(text("SELECT data_json FROM audit_event")).scalars().all()
    assert len(set(rows)) == writers * per_writer
