"""Faults (issue 10, item 8): the database going away in the middle of a request.

The app talks to PostgreSQL through a TCP relay on loopback that the test
cuts: the connection really breaks, as when the database server restarts or
the network fails. The visitor gets a clear German 503 page and nothing of
the interrupted transaction is stored. (A worker killed during a submission:
tests/bids/test_bid_concurrency.py::test_process_killed_mid_submission_leaves_previous_version_intact;
the disk full during a backup: tests/ops/test_ops.py::test_backup_on_a_full_disk_leaves_no_file.)
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import create_app
from portal.accounts.models import Organisation, User
from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.conftest import CommittingClient, _env_flag, _worker_suffix, create_postgres_database, migrate_to_head, postgres_base_url, skip_or_fail

pytestmark = pytest.mark.postgres

REGISTRATION = {
    "name": "Flüchtlingshilfe Siegen e. V.", "legal_form": "eingetragener Verein", "street": "Bahnhofstraße 5",
    "postcode": "57072", "city": "Siegen", "contact_email": "info@fluechtlingshilfe.example.org", "phone": "",
    "register_number": "VR 1234", "migration_work": "Seit 2016 Migrationsberatung für Erwachsene im Kreisgebiet.",
    "person_name": "Fatma Yilmaz", "email": "fatma@fluechtlingshilfe.example.org",
    "password": "ein langer satz als passwort", "password_repeat": "ein langer satz als passwort",
}


class Relay:
    """Forwards loopback TCP connections to the database; `cut()` breaks them all."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """The database is gone: open connections break, new ones are refused."""
        self.up = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def database() -> str:
    if not postgres_base_url():
        skip_or_fail("PostgreSQL: TEST_DATABASE_URL is not set", required=_env_flag("REQUIRE_POSTGRES"))
    url = create_postgres_database(f"ibv_fault_{_worker_suffix()}")
    migrate_to_head(url)
    return url


@pytest.fixture
def relayed(database: str) -> Iterator[tuple[Flask, Relay, sa.Engine]]:
    """An app whose database connections go through the relay; `direct` bypasses it."""
    real = sa.engine.make_url(database)
    relay = Relay((real.host or "127.0.0.1", real.port or 5432))
    through = real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=through)
    app.test_client_class = CommittingClient
    direct = sa.create_engine(database, poolclass=sa.pool.NullPool)
    with app.app_context():
        yield app, relay, direct
        db.session.rollback()
        db.session.remove()
        relay.close()
        db.engine.dispose()
    direct.dispose()


def _count(engine: sa.Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def test_database_gone_during_a_write_gives_a_german_503_and_stores_nothing(relayed: Any) -> None:
    app, relay, direct = relayed
    cut_at: list[str] = []

    def cut_before_the_audit_event(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The organisation and the user are already sent to the database in
        # this transaction; the database disappears before the audit event.
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT") and not cut_at:
            cut_at.append(statement)
            relay.cut()

    sa.event.listen(db.engine, "before_cursor_execute", cut_before_the_audit_event)
    try:
        response = app.test_client().post("/registrieren", data=REGISTRATION)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", cut_before_the_audit_event)
    assert cut_at, "the registration never reached its audit event"
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "Dienst vorübergehend nicht verfügbar" in body and "Ihre Daten wurden nicht verändert" in body
    assert "Traceback" not in body and "psycopg" not in body
    # No partial write: neither the organisation, nor the user, nor an event.
    assert _count(direct, Organisation) == 0
    assert _count(direct, User) == 0
    assert _count(direct, AuditEvent) == 0

    # While the database stays away, every page says the same, also to a signed-in visitor.
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"
    response = client.get("/aufrufe")
    assert response.status_code == 503 and "Dienst vorübergehend nicht verfügbar" in response.get_data(as_text=True)
    assert app.test_client().get("/readyz").status_code == 503

    # Back again: the pool replaces the broken connections and the same form goes through.
    relay.restore()
    response = app.test_client().post("/registrieren", data=REGISTRATION)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _count(direct, Organisation) == 1 and _count(direct, User) == 1
