"""The opening by two officers and its record, through the services."""
from __future__ import annotations

from typing import Any

import pytest

from portal.bids import services
from portal.bids.opening import confirm_opening, opening_record, start_opening
from portal.bids.permissions import call_is_opened, can_read_bid_contents
from portal.calls.models import CallState
from portal.calls.services import close_due_calls
from portal.core.errors import NotPermitted, Refused
from portal.extensions import db
from tests.factories_bids import close_call, make_submitted_bid


def test_opening_before_the_deadline_is_refused(call: Any, officer: Any) -> None:
    with pytest.raises(Refused, match="erst nach Ablauf"):
        start_opening(call, by=officer)


def test_non_officer_cannot_start(call: Any, member_a: Any, admin: Any, clock: Any) -> None:
    close_call(call, clock)
    for user in (member_a, admin):
        with pytest.raises(NotPermitted):
            start_opening(call, by=user)


def test_same_officer_cannot_confirm_and_second_can(call: Any, lot: Any, member_a: Any, officer: Any, officer2: Any, clock: Any) -> None:
    bid, version = make_submitted_bid(call, lot, member_a)
    close_call(call, clock)
    close_due_calls()  # the sweep already persisted "submission closed"
    opening = start_opening(call, by=officer)
    with pytest.raises(Refused, match="zweiten, anderen Person"):
        confirm_opening(opening, by=officer)
    assert not call_is_opened(call) and not can_read_bid_contents(officer, bid)
    with pytest.raises(Refused, match="bereits eingeleitet"):
        start_opening(call, by=officer2)
    confirm_opening(opening, by=officer2)
    db.session.commit()
    assert call.state == CallState.OPENED and call_is_opened(call)
    assert can_read_bid_contents(officer, bid) and can_read_bid_contents(officer2, bid)
    [lot_record, _] = opening_record(call)
    assert [e.version.receipt_number for e in lot_record.bids] == [version.receipt_number]
    assert opening.record_digest and len(opening.record_digest) == 64
    with pytest.raises(Refused, match="bereits bestätigt"):
        confirm_opening(opening, by=officer)


def test_resubmission_after_withdrawal_counts(call: Any, lot: Any, member_a: Any, officer: Any, officer2: Any, clock: Any) -> None:
    bid, _ = make_submitted_bid(call, lot, member_a)
    services.withdraw_bid(bid, by=member_a)
    with pytest.raises(Refused, match="Nur eine eingereichte"):
        services.withdraw_bid(bid, by=member_a)
    again = services.submit_bid(bid, by=member_a)
    db.session.commit()
    close_call(call, clock)
    confirm_opening(start_opening(call, by=officer), by=officer2)
    [lot_record, _] = opening_record(call)
    assert [e.version.number for e in lot_record.bids] == [again.number] == [3]
    assert lot_record.withdrawn == []


def test_confirmed_opening_is_covered_by_a_new_signed_checkpoint(call: Any, lot: Any, member_a: Any, officer: Any, officer2: Any, clock: Any) -> None:
    from sqlalchemy import select

    from portal.audit.models import AuditEvent
    from portal.audit.transparency import latest_checkpoint

    make_submitted_bid(call, lot, member_a)
    db.session.commit()
    close_call(call, clock)
    opening = start_opening(call, by=officer)
    db.session.commit()
    confirm_opening(opening, by=officer2)
    db.session.commit()
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "bid.opening_confirmed")
    ).one()
    checkpoint = latest_checkpoint()
    assert checkpoint is not None and checkpoint.size >= event.seq
