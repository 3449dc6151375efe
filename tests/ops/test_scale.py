"""`flask demo scale` (issue 10, item 1) with tiny numbers: through the services, resumable."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from portal.accounts.models import Organisation
from portal.audit.models import AuditEvent
from portal.audit.services import verify_chain
from portal.bids.models import Bid, BidVersion
from portal.calls.models import Call, CallState, Lot
from portal.consultation.models import Comment, Consultation
from portal.core.time import now
from portal.extensions import db
from tests.conftest import run_cli

TINY = ["--calls", "2", "--lots", "4", "--bids", "6", "--organisations", "4", "--consultations", "1", "--comments", "4",
        "--awarded", "0"]


def _count(model: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_scale_data_goes_through_the_services_and_resumes(app: Flask) -> None:
    first = run_cli(app, ["demo", "scale", *TINY, "--events", "150"])
    assert first.exit_code == 0, first.output
    assert "Audit-Ereignisse: 150" in first.output
    assert (_count(Call), _count(Lot), _count(Bid), _count(Organisation), _count(Consultation), _count(Comment)) == (2, 4, 6, 4, 1, 4)
    assert _count(BidVersion) == 8  # every third bid was submitted twice
    assert _count(AuditEvent) == 150
    # Closed calls' deadlines lie in the past when the run ends, so they can be opened.
    calls = db.session.scalars(sa.select(Call).order_by(Call.reference)).all()
    assert all(c.state == CallState.PUBLISHED and c.submission_deadline < now() for c in calls)
    db.session.rollback()

    # Bigger numbers continue the same data set: nothing is created twice.
    more = run_cli(app, ["demo", "scale", "--calls", "3", "--lots", "6", "--bids", "9", *TINY[6:], "--events", "220"])
    assert more.exit_code == 0, more.output
    assert _count(Call) == 3 and _count(Lot) == 6 and _count(Organisation) == 4 and _count(Consultation) == 1
    assert _count(Bid) == 9 and _count(AuditEvent) == 220
    assert len(set(db.session.scalars(sa.select(Call.reference)))) == 3
    assert verify_chain().ok
    db.session.rollback()
