"""What the calls domain needs to know about bids, without depending on them.

Bids are built on top of calls. The bids package registers a `BidInfo`
provider here (`register_bid_info`); until one is registered no call has any
bid. Amendments ask `has_submitted_bids` (criteria are then frozen and the
deadline must be extended) and notify `bid_holders`; deadline reminders go
to `draft_holders`.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from portal.calls.models import Call


class BidInfo(Protocol):
    def has_submitted_bids(self, call: Call) -> bool: ...

    def bid_holders(self, call: Call) -> Iterable[Any]:
        """Users of organisations with a draft or a submitted bid for `call`."""
        ...

    def draft_holders(self, call: Call) -> Iterable[Any]:
        """Users of organisations with a draft that is not submitted."""
        ...


_providers: list[BidInfo] = []


def register_bid_info(provider: BidInfo) -> None:
    if provider not in _providers:
        _providers.append(provider)


def unregister_bid_info(provider: BidInfo) -> None:
    if provider in _providers:
        _providers.remove(provider)


def has_submitted_bids(call: Call) -> bool:
    return any(p.has_submitted_bids(call) for p in _providers)


def bid_holders(call: Call) -> list[Any]:
    return [u for p in _providers for u in p.bid_holders(call)]


def draft_holders(call: Call) -> list[Any]:
    return [u for p in _providers for u in p.draft_holders(call)]
