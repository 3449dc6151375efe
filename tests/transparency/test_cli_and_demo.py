"""`flask audit checkpoint`, `verify --full`, and the demo log checked by the verifier."""
from __future__ import annotations

from portal.audit.transparency import latest_checkpoint
from portal.demo import load_demo
from portal.extensions import db
from tests.browser_support import LiveServer
from tests.transparency.conftest import fill_log


def test_checkpoint_command_signs_only_when_there_is_something_new(runner) -> None:  # type: ignore[no-untyped-def]
    fill_log(3)
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0 and "3 Einträge" in result.output
    again = runner.invoke(args=["audit", "checkpoint"])
    assert again.exit_code == 0 and "nichts zu signieren" in again.output
    db.session.expire_all()
    assert latest_checkpoint().size == 3


def test_verify_full_on_a_good_log(runner) -> None:  # type: ignore[no-untyped-def]
    fill_log(40)
    runner.invoke(args=["audit", "checkpoint"])
    fill_log(3)
    result = runner.invoke(args=["audit", "verify", "--full"])
    assert result.exit_code == 0, result.output
    assert "43 Einträge" in result.output and "1 Prüfpunkte" in result.output


def test_verifier_confirms_the_demo_log_and_then_reports_an_edit(app, verifier, tamper) -> None:  # type: ignore[no-untyped-def]
    load_demo()
    latest = latest_checkpoint()
    assert latest is not None and latest.size > 5
    db.session.commit()
    with LiveServer(app) as server:
        status, output = verifier(server.url)
        assert status == 0, output
        assert f"{latest.size} Ereignisse geladen" in output
        tamper(["UPDATE audit_event SET data_json = '{\"demo\":false}' WHERE seq = 2"])
        status, output = verifier(server.url)
    assert status == 1, output
    assert "Ereignis Nr. 2 gehört nicht zum signierten Baum" in output
