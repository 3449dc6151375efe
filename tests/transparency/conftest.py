"""Fixtures for the transparency tests: a filled log and the outsiders' verifier."""
from __future__ import annotations

import importlib.util
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.audit.triggers import (
    drop_statements,
    transparency_drop_statements,
)
from portal.extensions import db

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "verify_log.py"


def _load_verifier() -> Any:
    spec = importlib.util.spec_from_file_location("verify_log_transparency", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


verify_log = _load_verifier()


def fill_log(n: int, *, subject: tuple[str, str] = ("call", "7")) -> None:
    """n events; every third one public and about `subject`."""
    for i in range(n):
        public = i % 3 == 0
        record(AuditAction.DEMO_LOADED, subject=subject if public else None, data={"i": i}, public=public)
    db.session.commit()


@pytest.fixture
def verifier(tmp_path: Path) -> Callable[..., tuple[int, str]]:
    """Run tools/verify_log.py in-process with its own state directory; (status, output)."""
    state = tmp_path / "verifier-state"

    def run(url: str, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        status = verify_log.main([url, "--state-dir", str(state), "--events", *args], out=out)
        return status, out.getvalue()

    return run


@pytest.fixture
def tamper(app: Any) -> Callable[[list[str]], None]:
    """Execute SQL as a database operator would, with every append-only guard dropped."""

    def run(statements: list[str]) -> None:
        db.session.commit()
        engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
        dialect = engine.dialect.name
        with engine.begin() as conn:
            for statement in drop_statements(dialect) + transparency_drop_statements(dialect) + statements:
                conn.exec_driver_sql(statement)
        engine.dispose()
        db.session.expire_all()

    return run
