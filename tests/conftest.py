"""The test harness every domain reuses.

- Every test that uses `app` runs once per database backend: SQLite always,
  PostgreSQL when TEST_DATABASE_URL is set (REQUIRE_POSTGRES=1 turns a missing
  PostgreSQL into a failure instead of a skip).
- The schema comes from the Alembic migrations (run once per backend and test
  session), never from `create_all`, so tests exercise what production runs.
- `client` commits the test's own session before each request, so data made
  by factories is visible to the request and the test sees the request's
  writes afterwards (and never holds SQLite's write lock across a request).
- Role fixtures (`admin`, `officer`, ...) and plain factory functions in
  tests/factories.py; `login(client, user)` signs a user in directly.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.audit.triggers import (
    create_statements,
    drop_statements,
    transparency_create_statements,
    transparency_drop_statements,
)
from portal.core import time as portal_time
from portal.extensions import db

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.browser_support"]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str, *, required: bool) -> None:
    """Skip with a one-line reason on a laptop; fail in CI where it is required."""
    if required:
        pytest.fail(f"{reason} (required in this run)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------
# Database backends
# --------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    template: str  # SQLite: template file; PostgreSQL: database URL

    def fresh_url(self, tmp_path: Path) -> str:
        if self.name == "sqlite":
            target = tmp_path / "portal.sqlite3"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        _clean_postgres(self.template)
        return self.template


def _worker_suffix() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tree = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    return f"{tree}_{worker}"


def migrate_to_head(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()


def _clean_postgres(url: str) -> None:
    """Empty every table, audit log included, between tests.

    The audit table refuses DELETE through its triggers; replica mode skips
    ordinary triggers for this superuser-only cleanup connection.
    """
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET session_replication_role = replica")
        tables = conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).scalars().all()
        if tables:
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        conn.exec_driver_sql("RESET session_replication_role")
        # Tamper tests drop the append-only guard; put it back for the next test.
        for statement in (
            drop_statements("postgresql")
            + create_statements("postgresql")
            + transparency_drop_statements("postgresql")
            + transparency_create_statements("postgresql")
        ):
            conn.execute(sa.text(statement))
    engine.dispose()


def postgres_base_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def create_postgres_database(name: str) -> str:
    """Create (or recreate) a database on the TEST_DATABASE_URL server; return its URL."""
    base = sa.engine.make_url(postgres_base_url())
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
        migrate_to_head(f"sqlite:///{template}")
        return Backend("sqlite", str(template))
    if not postgres_base_url():
        skip_or_fail("PostgreSQL: TEST_DATABASE_URL is not set", required=_env_flag("REQUIRE_POSTGRES"))
    try:
        url = create_postgres_database(f"ibv_test_{_worker_suffix()}")
    except sa.exc.OperationalError as exc:
        skip_or_fail(f"PostgreSQL unreachable: {exc.orig}", required=_env_flag("REQUIRE_POSTGRES"))
    migrate_to_head(url)
    return Backend("postgres", url)


# --------------------------------------------------------------------------
# App, client, clock
# --------------------------------------------------------------------------


class CommittingClient(FlaskClient):
    """A test client whose requests run as they would in production.

    The test itself runs inside an app context (for factories and queries).
    Flask would reuse that context for requests, sharing `g`, the signed-in
    user and the database session between the test and every request. So
    each request runs with the test's app context hidden: it gets its own
    context and session, as on a real server. Before the request the test's
    transaction is committed; afterwards the test's objects are expired so
    the next attribute access sees what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        from flask.globals import _cv_app

        db.session.commit()
        token = _cv_app.set(None)  # type: ignore[arg-type]
        try:
            response = super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)
        db.session.expire_all()
        return response


@pytest.fixture
def app(backend: Backend, tmp_path: Path) -> Iterator[Flask]:
    url = backend.fresh_url(tmp_path)
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url, PORTAL_TEST_TMP=str(tmp_path))
    application.test_client_class = CommittingClient
    application.config["TEST_BACKEND"] = backend.name
    with application.app_context():
        yield application
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


def run_cli(app: Flask, args: list[str], **kwargs: Any) -> Any:
    """Invoke a CLI command of `app` (another app than the test's, e.g. a restore
    target) with the test's own app context hidden, as a real `flask` run would."""
    import contextvars

    def invoke() -> Any:
        result = app.test_cli_runner().invoke(args=args, **kwargs)
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        return result

    db.session.commit()
    return contextvars.Context().run(invoke)


@pytest.fixture
def clock() -> Iterator[portal_time.FrozenClock]:
    """A frozen clock at a fixed Wednesday morning; move it with set()/advance()."""
    frozen = portal_time.FrozenClock(datetime(2026, 3, 4, 9, 0, tzinfo=UTC))
    portal_time.install_clock(frozen)
    yield frozen
    portal_time.install_clock(None)


# --------------------------------------------------------------------------
# Users and sign-in
# --------------------------------------------------------------------------


def login(client: FlaskClient, user: Any, *, two_factor: bool = True) -> FlaskClient:
    """Sign `user` in on `client` without going through the form."""
    from portal.accounts.sessions import TWO_FACTOR_PASSED

    db.session.commit()
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session[TWO_FACTOR_PASSED] = two_factor
    return client


@pytest.fixture
def admin(app: Flask) -> Any:
    from tests.factories import make_user
    from portal.accounts.models import Role

    return make_user(name="Anna Admin", roles=[Role.ADMIN], totp=True)


@pytest.fixture
def officer(app: Flask) -> Any:
    from tests.factories import make_user
    from portal.accounts.models import Role

    return make_user(name="Olaf Vergabe", roles=[Role.OFFICER], totp=True)


@pytest.fixture
def officer2(app: Flask) -> Any:
    from tests.factories import make_user
    from portal.accounts.models import Role

    return make_user(name="Oksana Zweitprüferin", roles=[Role.OFFICER], totp=True)


@pytest.fixture
def reviewer(app: Flask) -> Any:
    from tests.factories import make_user
    from portal.accounts.models import Role

    return make_user(name="Rita Gutachterin", roles=[Role.REVIEWER], totp=True)


@pytest.fixture
def observer(app: Flask) -> Any:
    from tests.factories import make_user
    from portal.accounts.models import Role

    return make_user(name="Kai Kreistag", roles=[Role.OBSERVER])


@pytest.fixture
def organisation(app: Flask) -> Any:
    from tests.factories import make_organisation

    return make_organisation(name="Caritasverband Test e. V.")


@pytest.fixture
def bidder(organisation: Any) -> Any:
    """A member of a verified organisation."""
    from tests.factories import make_user, add_member

    user = make_user(name="Clara Caritas")
    add_member(organisation, user)
    return user


# --------------------------------------------------------------------------
# A real SMTP server on loopback
# --------------------------------------------------------------------------


class SmtpSink:
    """Collects every message a real local SMTP server (aiosmtpd) received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.content, policy=default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]

    def text(self, message: Any) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app: Flask) -> Iterator[SmtpSink]:
    """Start aiosmtpd on a free loopback port and point the app's mail at it."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False)
    try:
        yield sink
    finally:
        controller.stop()
