"""Database setup: engine options, SQLite pragmas and transaction modes.

SQLite only allows one writer. A transaction that first reads and later
writes (BEGIN DEFERRED) fails with SQLITE_BUSY when another writer committed
in between, so every transaction that may write starts with BEGIN IMMEDIATE
and waits for the lock instead. Requests that only read (GET, HEAD) begin a
deferred transaction so that readers never queue behind writers (WAL mode).
"""
from __future__ import annotations

import contextvars
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from portal.extensions import db, migrate

_read_only: contextvars.ContextVar[bool] = contextvars.ContextVar("ibv_read_only", default=False)
_busy_timeout_ms = 15000


@contextmanager
def read_mostly() -> Iterator[None]:
    """Mark the enclosed work as read-mostly: SQLite begins deferred transactions."""
    token = _read_only.set(True)
    try:
        yield
    finally:
        _read_only.reset(token)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event below issue BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {int(_busy_timeout_ms)}")
    # REPLACE deletes the conflicting row; with recursive triggers on, that
    # delete fires the audit table's DELETE guard too.
    cursor.execute("PRAGMA recursive_triggers = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN" if _read_only.get() else "BEGIN IMMEDIATE")


def init_app(app: Flask) -> None:
    global _busy_timeout_ms
    _busy_timeout_ms = app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        options.setdefault("connect_args", {})
        options["connect_args"] = {**options["connect_args"], "check_same_thread": False}
        if uri in {"sqlite://", "sqlite:///:memory:"}:
            from sqlalchemy.pool import StaticPool

            options["poolclass"] = StaticPool
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)

    @app.before_request
    def _mark_read_requests() -> None:
        if request.method in {"GET", "HEAD", "OPTIONS"}:
            request.environ["ibv.read_token"] = _read_only.set(True)

    @app.teardown_request
    def _unmark_read_requests(exc: BaseException | None) -> None:
        token = request.environ.pop("ibv.read_token", None)
        if token is not None:
            try:
                _read_only.reset(token)
            except ValueError:  # torn down in another context than it began
                _read_only.set(False)
