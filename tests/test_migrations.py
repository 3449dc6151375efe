"""The Alembic history and the models describe the same schema, on both databases."""
from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from portal import create_app
from portal.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def test_models_match_migrations(app: Flask) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_flask_db_upgrade_from_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tables = set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert {"audit_event", "user_account", "organisation", "alembic_version"} <= tables


def test_flask_db_upgrade_from_empty_postgres(backend) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the session fixture already upgraded an empty database;
    check that it is at head and carries the append-only triggers."""
    if backend.name != "postgres":
        return
    import sqlalchemy as sa

    engine = sa.create_engine(backend.template, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        triggers = set(conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").scalars())
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    assert {"audit_event_no_update", "audit_event_no_truncate", "audit_event_insert_guard"} <= triggers
    assert version
