"""Tampering behind the portal's back is caught by the outsiders' verifier
(holding an earlier checkpoint) and by `flask audit verify --full`."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.audit.services import compute_hash
from portal.audit.transparency import issue_checkpoint
from portal.audit.tree import backfill_subtrees
from portal.extensions import db
from tests.browser_support import LiveServer
from tests.transparency.conftest import fill_log

ALTER = ["UPDATE audit_event SET data_json = '{\"i\":99}' WHERE seq = 5"]
ALTER_PUBLIC = ["UPDATE audit_event SET subject_id = '8' WHERE seq = 4"]
DELETE = ["DELETE FROM audit_event WHERE seq = 6"]
REORDER = [
    "UPDATE audit_event SET seq = -7 WHERE seq = 7",
    "UPDATE audit_event SET seq = 7 WHERE seq = 8",
    "UPDATE audit_event SET seq = 8 WHERE seq = -7",
]


def _prepare(app, verifier) -> LiveServer:  # type: ignore[no-untyped-def]
    fill_log(12)
    issue_checkpoint()
    db.session.commit()
    server = LiveServer(app).__enter__()
    status, output = verifier(server.url)
    assert status == 0, output
    fill_log(5)
    issue_checkpoint()
    db.session.commit()
    return server


@pytest.mark.parametrize(
    ("statements", "verifier_says", "full_says"),
    [
        (ALTER, "Ereignis Nr. 5 gehört nicht zum signierten Baum", "Eintrag 5"),
        (ALTER_PUBLIC, "Ereignis Nr. 4 gehört nicht zum signierten Baum", "Eintrag 4"),
        (DELETE, "erwartet wurde Nr. 6, geliefert Nr. 7", "Eintrag 6"),
        (REORDER, "Ereignis Nr. 7 gehört nicht zum signierten Baum", "Eintrag 7"),
    ],
    ids=["alter", "alter-public", "delete", "reorder"],
)
def test_direct_database_edits_are_reported(app, runner, verifier, tamper, statements, verifier_says, full_says) -> None:  # type: ignore[no-untyped-def]
    server = _prepare(app, verifier)
    try:
        assert verifier(server.url)[0] == 0
        tamper(statements)
        status, output = verifier(server.url)
    finally:
        server.__exit__(None, None, None)
    assert status == 1, output
    assert verifier_says in output
    result = runner.invoke(args=["audit", "verify", "--full"])
    assert result.exit_code == 1
    assert full_says in result.output


def test_a_consistently_rewritten_history_is_reported(app, runner, verifier, tamper) -> None:  # type: ignore[no-untyped-def]
    """The operator rewrites event 3, recomputes chain, tree and checkpoints and
    re-signs with the portal's own key: only a checkpoint kept outside reveals it."""
    server = _prepare(app, verifier)
    try:
        tamper(["DELETE FROM audit_subtree", "DELETE FROM audit_checkpoint"])
        events = list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))
        events[2].data_json = '{"i":"umgeschrieben"}'
        for previous, event in zip(events, events[1:]):
            if event.seq >= 3:
                event.prev_hash = previous.hash if event.seq > 3 else event.prev_hash
                event.hash = compute_hash(event)
        db.session.flush()
        backfill_subtrees(db.session.connection())
        issue_checkpoint()
        db.session.commit()
        # Everything on the server agrees with itself now ...
        assert runner.invoke(args=["audit", "verify", "--full"]).exit_code == 0
        status, output = verifier(server.url)
    finally:
        server.__exit__(None, None, None)
    # ... but not with the checkpoint over 12 entries the outsider kept.
    assert status == 1, output
    assert "Prüfpunkt mit 12 Einträgen" in output and "NICHT konsistent" in output


def test_the_portal_refuses_to_sign_over_a_changed_tree(app, tamper) -> None:  # type: ignore[no-untyped-def]
    from portal.audit.transparency import CheckpointRefused

    fill_log(6)
    issue_checkpoint()
    db.session.commit()
    fill_log(1)
    tamper(["UPDATE audit_event SET data_json = '{}' WHERE seq = 7"])
    with pytest.raises(CheckpointRefused, match="Eintrag 7 passt nicht"):
        issue_checkpoint()
    db.session.rollback()
    tamper(["UPDATE audit_subtree SET hash = (SELECT hash FROM audit_subtree WHERE level = 0 AND \"index\" = 0) WHERE level = 2 AND \"index\" = 0"])
    with pytest.raises(CheckpointRefused, match="nicht konsistent mit dem Prüfpunkt über 6"):
        issue_checkpoint()
