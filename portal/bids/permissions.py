"""Who may do what with bids. Registered as Jinja globals by `portal.bids.init_app`.

Sealing rule (Annex IV (b), (d)–(f)): contents are readable by the bidding
organisation's own members, and by anybody else only after the opening was
confirmed by a second officer, and then only by officers and by the review
panel of the bid's lot without a conflict of interest. Administrators never
read bids by virtue of their role.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from portal.accounts.permissions import is_admin, is_member_of, is_observer, is_officer
from portal.bids.models import Bid, Opening
from portal.calls.models import Call, CallState
from portal.calls.state import call_is_open_for_submission, effective_state
from portal.core.permissions import is_signed_in
from portal.extensions import db

__all__ = [
    "bid_organisations",
    "is_own_bid",
    "can_start_bid",
    "can_edit_bid",
    "can_read_bid_contents",
    "can_view_bid_counts",
    "deadline_passed",
    "can_manage_opening",
    "can_start_opening",
    "can_confirm_opening",
    "can_view_opening_record",
    "opening_for",
    "call_is_opened",
]


def bid_organisations(user: Any) -> list[Any]:
    """The verified organisations in whose name `user` may bid."""
    if not is_signed_in(user):
        return []
    return [m.organisation for m in user.active_memberships if m.organisation.is_verified]


def is_own_bid(user: Any, bid: Bid) -> bool:
    return is_member_of(user, bid.organisation) and bid.organisation.is_verified


def can_start_bid(user: Any, call: Call, at: datetime | None = None) -> bool:
    return bool(bid_organisations(user)) and call_is_open_for_submission(call, at)


def can_edit_bid(user: Any, bid: Bid, at: datetime | None = None) -> bool:
    """Draft, submit, withdraw: own bid, strictly before the deadline."""
    return is_own_bid(user, bid) and call_is_open_for_submission(bid.call, at)


def opening_for(call: Call) -> Opening | None:
    return db.session.scalar(select(Opening).where(Opening.call_id == call.id))


def call_is_opened(call: Call) -> bool:
    opening = opening_for(call)
    return opening is not None and opening.is_confirmed


def can_read_bid_contents(user: Any, bid: Bid) -> bool:
    """Own bids always; after the confirmed opening officers, and the review panel of the bid's lot.

    A declared conflict of interest for the bidding organisation shuts out
    everyone, officers included (`portal.review.permissions`). Reviewers and
    the chair read only bids that count, after declaring "no conflict".
    """
    from portal.review.permissions import has_conflict, may_read_as_panel

    if not is_signed_in(user):
        return False
    if is_own_bid(user, bid):
        return True
    if not call_is_opened(bid.call) or has_conflict(user, bid):
        return False
    return is_officer(user) or may_read_as_panel(user, bid)


def deadline_passed(call: Call, at: datetime | None = None) -> bool:
    return call.state != CallState.DRAFT and effective_state(call, at) not in {CallState.PUBLISHED, CallState.DRAFT}


def can_view_bid_counts(user: Any, call: Call, at: datetime | None = None) -> bool:
    """Before the deadline nobody learns how many bids exist; afterwards staff see the count per lot."""
    return (is_officer(user) or is_admin(user) or is_observer(user)) and deadline_passed(call, at)


def can_manage_opening(user: Any) -> bool:
    return is_officer(user)


def can_start_opening(user: Any, call: Call, at: datetime | None = None) -> bool:
    return (
        is_officer(user)
        and effective_state(call, at) == CallState.SUBMISSION_CLOSED
        and opening_for(call) is None
    )


def can_confirm_opening(user: Any, opening: Opening | None) -> bool:
    """The second officer: anybody with the role except the one who started it."""
    return (
        opening is not None
        and is_officer(user)
        and not opening.is_confirmed
        and opening.started_by_id != user.id
    )


def can_view_opening_record(user: Any, call: Call) -> bool:
    return (is_officer(user) or is_admin(user)) and call_is_opened(call)
