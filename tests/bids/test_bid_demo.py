"""The demo leaves a call whose deadline has passed, with sealed bids ready to be opened."""
from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from portal.bids.models import Bid, BidState
from portal.bids.opening import bid_counts
from portal.bids.permissions import can_start_opening
from portal.calls.models import Call
from portal.demo import load_demo
from portal.extensions import db
from tests.conftest import login


def test_demo_call_is_ready_for_the_opening(app: Any, client: Any) -> None:
    with force_locale("de"):
        ctx = load_demo()
    call = db.session.scalar(select(Call).where(Call.reference.like("KIM-%-VORLAUF")))
    officer = ctx.objects["officer"]
    assert can_start_opening(officer, call)
    assert bid_counts(call) == {1: 2, 2: 1}
    states = sorted(b.state.value for b in db.session.scalars(select(Bid).where(Bid.call_id == call.id)))
    assert states == ["submitted", "submitted", "submitted", "withdrawn"]
    assert BidState.SUBMITTED in {b.state for b in db.session.scalars(select(Bid))}
    login(client, officer)
    page = client.get("/verwaltung/oeffnungen").get_data(as_text=True)
    assert call.reference in page and "noch nicht geöffnet" in page
