"""Checks that decide whether an instance may serve traffic."""
from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.config import Config as AlembicConfig
from flask import current_app

from portal.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


def migration_heads() -> set[str]:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def database_revisions() -> set[str]:
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def pending_migrations() -> bool:
    return database_revisions() != migration_heads()


def problems_before_serving() -> list[str]:
    """Why this instance must not serve (empty list: ready).

    Run by gunicorn before it starts workers and by /readyz: a server with
    pending migrations would write rows the schema does not expect.
    """
    problems: list[str] = []
    try:
        if pending_migrations():
            problems.append(
                "Datenbank-Migrationen stehen aus (flask db upgrade): "
                f"Datenbank {sorted(database_revisions())}, Code {sorted(migration_heads())}."
            )
    except Exception as exc:  # noqa: BLE001 - any database error means not ready
        problems.append(f"Datenbank nicht erreichbar: {type(exc).__name__}")
    if current_app.debug:
        problems.append("Debug-Modus ist aktiv.")
    return problems
