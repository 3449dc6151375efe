"""Before the deadline nobody learns how many bids exist, not even from the public log."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.bids import services
from portal.extensions import db
from tests.factories_bids import close_call, make_submitted_bid


def _submission_events(client: Any) -> list[dict[str, Any]]:
    events = client.get("/transparency/events?from=1&to=1000").get_json()["events"]
    return [e for e in events if e.get("action") in {"bid.version_submitted", "bid.withdrawn"}]


def test_submission_events_are_public_only_after_the_current_deadline(client: Any, call: Any, lot: Any, member_a: Any, member_b: Any, clock: Any) -> None:
    bid_a, _ = make_submitted_bid(call, lot, member_a)
    bid_b, _ = make_submitted_bid(call, lot, member_b)
    services.withdraw_bid(bid_b, by=member_b)
    db.session.commit()
    assert _submission_events(client) == []
    trail = client.get(f"/transparenz/verlauf/bid/{bid_a.id}").get_data(as_text=True)
    assert "bid.version_submitted" not in trail and "Eingereicht" not in trail

    # An amendment moves the deadline: the embargo follows the call's current deadline.
    call.submission_deadline = call.submission_deadline + timedelta(days=7)
    db.session.commit()
    clock.set(call.submission_deadline - timedelta(days=3))
    assert _submission_events(client) == []

    close_call(call, clock)
    shown = _submission_events(client)
    assert sorted(e["action"] for e in shown) == ["bid.version_submitted", "bid.version_submitted", "bid.withdrawn"]
    assert all("organisation" not in e["data"] for e in shown)
