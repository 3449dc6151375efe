"""Database-level guards that make `audit_event` append-only.

Frozen: migration 0001 executes these statements. A change to the guard must
add new statements for a new migration, never edit these in place.

Used by the migration that creates the table and by tests that need to know
the exact trigger names (they drop them to simulate an attacker with direct
database access).
"""
from __future__ import annotations

SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END""",
    # INSERT OR REPLACE deletes the old row without firing DELETE triggers
    # unless recursive_triggers is on; refuse it here regardless, and refuse
    # any insert that does not continue the sequence.
    """CREATE TRIGGER audit_event_insert_guard BEFORE INSERT ON audit_event
    WHEN EXISTS (SELECT 1 FROM audit_event WHERE seq = NEW.seq OR hash = NEW.hash)
      OR NEW.seq <> COALESCE((SELECT MAX(seq) FROM audit_event), 0) + 1
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: insert must continue the sequence'); END""",
]
SQLITE_TRIGGER_NAMES = ["audit_event_no_update", "audit_event_no_delete", "audit_event_insert_guard"]

POSTGRES_STATEMENTS = [
    """CREATE FUNCTION audit_event_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE FUNCTION audit_event_check_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.seq <> COALESCE((SELECT MAX(seq) FROM audit_event), 0) + 1 THEN
        RAISE EXCEPTION 'audit_event is append-only: insert must continue the sequence' USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse()""",
    """CREATE TRIGGER audit_event_insert_guard BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_check_insert()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_insert_guard ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_check_insert()",
    "DROP FUNCTION IF EXISTS audit_event_refuse()",
]


def create_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return list(SQLITE_TRIGGERS)
    if dialect == "postgresql":
        return list(POSTGRES_STATEMENTS)
    raise RuntimeError(f"no append-only guard for database {dialect!r}")


def drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGER_NAMES]
    return list(POSTGRES_DROP)


# ---------------------------------------------------------------------------
# Migration 0400 (transparency): the Merkle subtrees and the signed checkpoints
# are append-only too. Frozen in the same way once released.
# ---------------------------------------------------------------------------

TRANSPARENCY_TABLES = ("audit_subtree", "audit_checkpoint")

TRANSPARENCY_SQLITE_TRIGGERS = [
    statement
    for table in TRANSPARENCY_TABLES
    for statement in (
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END""",
        # With recursive_triggers on, INSERT OR REPLACE fires this as well.
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END""",
    )
]
TRANSPARENCY_SQLITE_TRIGGER_NAMES = [
    f"{table}_{kind}" for table in TRANSPARENCY_TABLES for kind in ("no_update", "no_delete")
]

TRANSPARENCY_POSTGRES_STATEMENTS = [
    """CREATE FUNCTION audit_append_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$""",
    *(
        statement
        for table in TRANSPARENCY_TABLES
        for statement in (
            f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_append_only_refuse()""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only_refuse()""",
        )
    ),
]
TRANSPARENCY_POSTGRES_DROP = [
    *(
        f"DROP TRIGGER IF EXISTS {table}_{kind} ON {table}"
        for table in TRANSPARENCY_TABLES
        for kind in ("no_update", "no_truncate")
    ),
    "DROP FUNCTION IF EXISTS audit_append_only_refuse()",
]


def transparency_create_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return list(TRANSPARENCY_SQLITE_TRIGGERS)
    if dialect == "postgresql":
        return list(TRANSPARENCY_POSTGRES_STATEMENTS)
    raise RuntimeError(f"no append-only guard for database {dialect!r}")


def transparency_drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in TRANSPARENCY_SQLITE_TRIGGER_NAMES]
    return list(TRANSPARENCY_POSTGRES_DROP)
