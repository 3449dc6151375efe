"""`flask demo scale` (issue 10, item 1) with tiny numbers: through the services, resumable,
committed in whole units."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.accounts.models import Membership, Organisation, OrganisationStatus, User
from portal.audit.models import AuditEvent
from portal.bids.models import Bid, BidVersion
from portal.calls.models import Call, CallState, Lot
from portal.consultation.models import Comment, Consultation
from portal.core.time import now
from portal.extensions import db
from tests.conftest import run_cli

TINY = ["--calls", "2", "--lots", "4", "--bids", "6", "--organisations", "4", "--consultations", "1", "--comments", "4",
        "--awarded", "0"]


def _count(model: Any, *where: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def _log_verifies(app: Flask) -> None:
    """Chain, stored Merkle tree and checkpoints, as an auditor checks them."""
    result = run_cli(app, ["audit", "verify", "--full"])
    assert result.exit_code == 0, result.output
    assert "in Ordnung" in result.output


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
    _log_verifies(app)

    # Bigger numbers continue the same data set: nothing is created twice.
    more = run_cli(app, ["demo", "scale", "--calls", "3", "--lots", "6", "--bids", "9", *TINY[6:], "--events", "220"])
    assert more.exit_code == 0, more.output
    assert _count(Call) == 3 and _count(Lot) == 6 and _count(Organisation) == 4 and _count(Consultation) == 1
    assert _count(Bid) == 9 and _count(AuditEvent) == 220
    assert len(set(db.session.scalars(sa.select(Call.reference)))) == 3
    db.session.rollback()
    _log_verifies(app)


class Interrupted(Exception):
    """Stands for the operator's Ctrl-C or a killed process in the middle of a batch."""


@contextmanager
def interrupted_at(app: Flask, statement_start: str, nth: int) -> Iterator[None]:
    """Stop the run when it is about to execute the `nth` statement starting with `statement_start`."""
    seen = [0]

    def stop(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith(statement_start):
            seen[0] += 1
            if seen[0] == nth:
                raise Interrupted(statement_start)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", stop)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", stop)
    assert seen[0] >= nth, "the run ended before the interruption"


#: --batch 2: two organisations (or comments) per transaction, forty sign-ins.
SMALL = ["--calls", "3", "--lots", "6", "--bids", "9", "--organisations", "5", "--consultations", "2",
         "--comments", "8", "--events", "200", "--batch", "2", "--awarded", "0"]
FULL = {"organisations": 5, "calls": 3, "lots": 6, "bids": 9, "consultations": 2, "comments": 8}


def _counts() -> dict[str, int]:
    return {
        "organisations": _count(Organisation), "calls": _count(Call), "lots": _count(Lot), "bids": _count(Bid),
        "consultations": _count(Consultation), "comments": _count(Comment),
        "sign-ins": _count(AuditEvent, AuditEvent.action == "user.signed_in"),
    }


def _whole_units() -> None:
    """What a stopped run may leave behind: only complete units."""
    organisations = db.session.scalars(sa.select(Organisation)).all()
    assert all(o.status == OrganisationStatus.VERIFIED and len(o.active_members) == 1 for o in organisations)
    assert _count(User) == len(organisations) + 1  # their members and the officer
    # A call comes with all its lots and bids or not at all.
    for call in db.session.scalars(sa.select(Call)):
        assert len(call.lots) == 2
        assert _count(Bid, Bid.call_id == call.id) == 3
    # Comments come in whole batches of two.
    for consultation in db.session.scalars(sa.select(Consultation)):
        assert _count(Comment, Comment.consultation_id == consultation.id) % 2 == 0
    db.session.rollback()


@pytest.mark.parametrize(
    ("statement", "nth", "expected"),
    [
        # the 4th organisation is in the second batch: the first two stay, the third goes
        ("INSERT INTO organisation", 4, {"organisations": 2, "calls": 0}),
        # during the bids of the second call: the first call stays whole
        ("INSERT INTO bid ", 5, {"organisations": 5, "calls": 1, "lots": 2, "bids": 3, "consultations": 0}),
        # the third comment opens the second batch of the first consultation
        ("INSERT INTO consultation_comment", 3, {"calls": 3, "consultations": 1, "comments": 2, "sign-ins": 0}),
        # sign-ins come forty to a transaction: the 60th is in the second
        ("UPDATE user_account SET last_sign_in_at", 60, {"comments": 8, "sign-ins": 40}),
    ],
    ids=["organisations", "call-with-bids", "comments", "sign-ins"],
)
def test_an_interrupted_batch_leaves_no_half_unit(app: Flask, statement: str, nth: int, expected: dict[str, int]) -> None:
    with interrupted_at(app, statement, nth):
        stopped = run_cli(app, ["demo", "scale", *SMALL])
    assert isinstance(stopped.exception, Interrupted), stopped.output
    counts = _counts()
    assert {key: counts[key] for key in expected} == expected
    _whole_units()
    events_after_stop = _count(AuditEvent)
    db.session.rollback()
    _log_verifies(app)

    resumed = run_cli(app, ["demo", "scale", *SMALL])
    assert resumed.exit_code == 0, resumed.output
    counts = _counts()
    assert {key: counts[key] for key in FULL} == FULL
    assert _count(AuditEvent) == 200 > events_after_stop
    # Nothing was made twice: one member per organisation, one bid per organisation and lot.
    assert _count(Membership) == 5
    assert _count(Bid) == len(set(db.session.execute(sa.select(Bid.organisation_id, Bid.lot_id)).all()))
    _whole_units()
    _log_verifies(app)
