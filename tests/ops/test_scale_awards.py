"""`flask demo scale --awarded N`: closed calls of the scale data run through review and award to their notice."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from portal.audit.services import verify_chain
from portal.awards.models import AwardNotice
from portal.calls.models import Call, CallState
from portal.extensions import db
from tests.conftest import run_cli

SMALL = ["--calls", "3", "--lots", "6", "--bids", "12", "--organisations", "6", "--consultations", "1", "--comments", "2"]


def test_awarded_calls_reach_a_public_notice_and_the_run_resumes(app: Flask) -> None:
    result = run_cli(app, ["demo", "scale", *SMALL, "--awarded", "1", "--events", "10"])
    assert result.exit_code == 0, result.output
    assert "Vergabebekanntmachungen: 1" in result.output
    notice = db.session.scalars(sa.select(AwardNotice)).one()
    call = db.session.get(Call, notice.call_id)
    assert call is not None and call.state == CallState.AWARDED
    # Every lot's ranking and award is on the public notice, with the reviewers' reasons.
    page = app.test_client().get(f"/vergaben/{call.reference}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert all(lot.title in text for lot in call.lots)
    assert "die Nachweise sind schlüssig" in text
    db.session.rollback()

    again = run_cli(app, ["demo", "scale", *SMALL, "--awarded", "2", "--events", "10"])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AwardNotice)) == 2
    assert verify_chain().ok
    db.session.rollback()
