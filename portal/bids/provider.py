"""What the calls domain learns about bids (`portal.calls.bidding.BidInfo`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.accounts.models import Organisation
from portal.bids.models import Bid, BidState
from portal.calls.models import Call
from portal.extensions import db


class BidInfoProvider:
    def has_submitted_bids(self, call: Call) -> bool:
        """True once any version was submitted (a withdrawn bid was submitted too)."""
        return db.session.scalar(
            select(Bid.id).where(Bid.call_id == call.id, Bid.version_count > 0).limit(1)
        ) is not None

    def _members(self, call: Call, *states: BidState) -> list[Any]:
        stmt = select(Organisation).join(Bid, Bid.organisation_id == Organisation.id).where(Bid.call_id == call.id)
        if states:
            stmt = stmt.where(Bid.state.in_(states))
        users: dict[int, Any] = {}
        for organisation in db.session.scalars(stmt.distinct()):
            for user in organisation.active_members:
                users.setdefault(user.id, user)
        return list(users.values())

    def bid_holders(self, call: Call) -> list[Any]:
        return self._members(call)

    def draft_holders(self, call: Call) -> list[Any]:
        return self._members(call, BidState.DRAFT)


PROVIDER = BidInfoProvider()
