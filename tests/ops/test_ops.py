"""Operations: readiness, request ids, admin bootstrap, backup and restore."""
from __future__ import annotations

import json
import logging
import os
import resource
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm
from flask import Flask

from portal import create_app
from portal.audit.actions import AuditAction
from portal.audit.models import AuditEvent
from portal.audit.services import record, verify_chain
from portal.extensions import db
from portal.ops.logging import JsonFormatter
from tests.conftest import ROOT, create_postgres_database, run_cli


def test_readyz_is_ready_at_the_migration_head(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json() == {"status": "ready"}


def test_readyz_refuses_with_pending_migrations(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    head = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0001_foundation'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "Migrationen stehen aus" in response.get_json()["problems"][0]
        result = app.test_cli_runner().invoke(args=["check"])
        assert result.exit_code == 1
    finally:  # the PostgreSQL test database is shared by the whole session
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()


def test_request_id_is_echoed_or_generated(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/", headers={"X-Request-ID": "proxy-abc-123456"}).headers["X-Request-ID"] == "proxy-abc-123456"
    generated = client.get("/", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert len(generated) == 32 and " " not in generated


def test_json_log_lines_carry_the_request_id(app: Flask) -> None:
    formatter = JsonFormatter()
    with app.test_request_context("/aufrufe", headers={"X-Request-ID": "req-000000001"}):
        app.preprocess_request()
        line = formatter.format(logging.LogRecord("portal", logging.INFO, __file__, 1, "hallo %s", ("welt",), None))
    entry = json.loads(line)
    assert entry["message"] == "hallo welt" and entry["request_id"] == "req-000000001" and entry["path"] == "/aufrufe"


def test_create_admin(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["create-admin", "--email", "Chefin@Kreis.example", "--name", "Chefin", "--password-stdin"],
                           input="ein-langes-passwort-2026\n")
    assert result.exit_code == 0, result.output
    from portal.accounts.models import Role, User

    user = db.session.scalar(sa.select(User).where(User.email == "chefin@kreis.example"))
    assert user is not None and user.has_role(Role.ADMIN)
    assert db.session.scalar(sa.select(AuditEvent.action)) == "system.admin_created"
    again = runner.invoke(args=["create-admin", "--email", "chefin@kreis.example", "--name", "X", "--password-stdin"],
                          input="ein-langes-passwort-2026\n")
    assert again.exit_code != 0 and "existiert bereits" in again.output
    short = runner.invoke(args=["create-admin", "--email", "b@kreis.example", "--name", "B", "--password-stdin"], input="kurz\n")
    assert short.exit_code != 0 and "mindestens 12 Zeichen" in short.output


def _restore_target(backend, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    if backend.name == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    return create_postgres_database(f"ibv_restore_{os.getpid()}")


def test_backup_under_write_load_restores_and_verifies(app: Flask, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for i in range(50):
        record(AuditAction.DEMO_LOADED, data={"before": i})
    db.session.commit()
    stop = threading.Event()

    def writer() -> None:
        with app.app_context():
            i = 0
            while not stop.is_set():
                record(AuditAction.DEMO_LOADED, data={"during": i})
                db.session.commit()
                i += 1
            db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "sicherung.bin")])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "Sicherung fertig" in result.output

    target_url = _restore_target(backend, tmp_path)
    restored = create_app("testing", SQLALCHEMY_DATABASE_URI=target_url)
    outcome = run_cli(restored, ["restore", str(tmp_path / "sicherung.bin")])
    assert outcome.exit_code == 0, outcome.output
    assert "Kette lückenlos" in outcome.output
    engine = sa.create_engine(target_url, poolclass=sa.pool.NullPool)
    with sa.orm.Session(engine) as session:
        report = verify_chain(session)
        count = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    engine.dispose()
    assert report.ok and count >= 50 and report.checked == count


def test_restore_refuses_a_database_that_is_not_empty(app: Flask, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    record(AuditAction.DEMO_LOADED)
    db.session.commit()
    assert app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b.bin")]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "b.bin")])
    assert result.exit_code != 0 and "nicht leer" in result.output


def test_backup_on_a_full_disk_leaves_no_file(app: Flask, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The operating system refuses writes beyond 64 KiB (RLIMIT_FSIZE), as a full disk would."""
    for i in range(600):
        record(AuditAction.DEMO_LOADED, data={"padding": secrets.token_hex(300)})
    db.session.commit()

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    env = {**os.environ, "PORTAL_CONFIG": "testing", "FLASK_APP": "portal:create_app",
           "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    target = tmp_path / "voll.bin"
    other = tmp_path / "voll-gestern.bin"  # yesterday's good backup under the same name must survive
    result = subprocess.run(
        [sys.executable, "-m", "flask", "backup", str(target)],
        cwd=ROOT, env=env, capture_output=True, text=True, preexec_fn=limit_file_size, timeout=120,
    )
    assert result.returncode != 0
    assert "Sicherung fehlgeschlagen" in result.stderr or "fehlgeschlagen" in result.stderr
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if "voll" in p.name] == []
    # An earlier good backup at the target is never replaced by a broken one.
    other.write_bytes(b"gestrige Sicherung")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "backup", str(other)],
        cwd=ROOT, env=env, capture_output=True, text=True, preexec_fn=limit_file_size, timeout=120,
    )
    assert result.returncode != 0
    assert other.read_bytes() == b"gestrige Sicherung"
    assert sorted(p.name for p in tmp_path.iterdir() if "voll" in p.name) == ["voll-gestern.bin"]
