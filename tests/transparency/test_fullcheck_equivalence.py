"""The optimised `verify --full` gives exactly the reports of the reference
implementation (same first bad entry, subtree or checkpoint, same counts), for
small chunk sizes so that tampering lands in every position of a chunk."""
from __future__ import annotations

import dataclasses

import pytest

from portal.audit import fullcheck
from portal.audit.transparency import issue_checkpoint
from portal.extensions import db
from tests.transparency import reference_fullcheck
from tests.transparency.conftest import fill_log

BAD = "%(bad)s"  # a 32-byte literal, spelled per dialect below
BAD_LITERAL = {"sqlite": "X'" + "ab" * 32 + "'", "postgresql": "decode('" + "ab" * 32 + "', 'hex')"}

SCENARIOS = {
    "good": [],
    "leaf-changed": [f'UPDATE audit_subtree SET hash = {BAD} WHERE level = 0 AND "index" = 13'],
    "inner-changed": [f'UPDATE audit_subtree SET hash = {BAD} WHERE level = 2 AND "index" = 3'],
    "chunk-root-changed": [f'UPDATE audit_subtree SET hash = {BAD} WHERE level = 3 AND "index" = 1'],
    "upper-changed": [f'UPDATE audit_subtree SET hash = {BAD} WHERE level = 5 AND "index" = 0'],
    "two-changed": [
        f'UPDATE audit_subtree SET hash = {BAD} WHERE level = 0 AND "index" = 15',
        f'UPDATE audit_subtree SET hash = {BAD} WHERE level = 3 AND "index" = 1',
    ],
    "tail-changed": [f'UPDATE audit_subtree SET hash = {BAD} WHERE level = 1 AND "index" = 17'],
    "leaf-missing": ['DELETE FROM audit_subtree WHERE level = 0 AND "index" = 22'],
    "inner-missing": ['DELETE FROM audit_subtree WHERE level = 1 AND "index" = 2'],
    "extra-node": [f'INSERT INTO audit_subtree (level, "index", hash) VALUES (0, 500, {BAD})'],
    "event-changed": ["UPDATE audit_event SET data_json = '{\"i\":99}' WHERE seq = 5"],
    "event-deleted": ["DELETE FROM audit_event WHERE seq = 30"],
    "checkpoint-root": [f"UPDATE audit_checkpoint SET root = {BAD} WHERE size = 20"],
    "checkpoint-beyond-log": ["DELETE FROM audit_subtree WHERE \"index\" >= 0 AND level = 0 AND \"index\" >= 36",
                              "DELETE FROM audit_event WHERE seq = 37"],
}


@pytest.mark.parametrize("chunk_bits", [1, 2, 3, 6])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_reports_match_the_reference(app, tamper, monkeypatch, scenario, chunk_bits) -> None:  # type: ignore[no-untyped-def]
    for size in (8, 20, 32, 37):
        fill_log(size - (db.session.execute(db.text("SELECT count(*) FROM audit_event")).scalar_one()))
        issue_checkpoint()
        db.session.commit()
    dialect = db.session.get_bind().dialect.name
    tamper([statement.replace(BAD, BAD_LITERAL[dialect]) for statement in SCENARIOS[scenario]])
    monkeypatch.setattr(reference_fullcheck, "CHUNK", 1 << chunk_bits)
    expected = reference_fullcheck.verify_full()
    db.session.rollback()
    got = fullcheck.verify_full(chunk_bits=chunk_bits, batch=7)
    db.session.rollback()
    assert dataclasses.asdict(got) == dataclasses.asdict(expected)
    assert got.ok == (scenario == "good")


@pytest.mark.parametrize(
    "raw",
    ["2026-01-01 00:00:01.000000", "2026-12-31 23:59:59.999999", "0999-01-01 00:00:00.000000", "2026-03-04 05:06:07"],
)
def test_time_text_is_format_time_of_the_column_value(sqlite_session, raw) -> None:  # type: ignore[no-untyped-def]
    """SQLite's text form of a time (the fast path) gives the same text as the column type."""
    from portal.audit.models import AuditEvent
    from portal.audit.services import format_time

    dialect = sqlite_session.get_bind().dialect
    process = AuditEvent.__table__.c.occurred_at.type.dialect_impl(dialect).result_processor(dialect, None)
    assert fullcheck._time_text_function(sqlite_session)(raw) == format_time(process(raw))


def test_an_impossible_sqlite_time_is_refused_like_the_column_type_does(sqlite_session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        fullcheck._time_text_function(sqlite_session)("2026-13-01 00:00:00.000000")


@pytest.fixture
def sqlite_session():  # type: ignore[no-untyped-def]
    """These checks concern SQLite's text representation only, whatever backend runs."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    engine = sa.create_engine("sqlite://")
    with Session(engine) as session:
        yield session
    engine.dispose()
