"""Factories for bids (and the open calls they need), for the bids and review tests.

`make_open_call()` writes a published call directly through the models;
`make_submitted_bid()` goes through the services, so versions, receipts and
audit events are real. The review engineer can build on `open_call_with_bids`.
"""
from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from portal.accounts.models import Organisation, User
from portal.bids import services
from portal.bids.models import Bid, BidVersion
from portal.calls.models import Call, CallState, Criterion, CriterionKind, Lot
from portal.core.time import now
from portal.extensions import db
from tests.factories import add_member, make_organisation, make_user
from tests.pdf_samples import valid_pdf

_counter = itertools.count(1)


def make_open_call(*, lots: int = 2, deadline_in: timedelta = timedelta(days=7), **overrides: Any) -> Call:
    """A published call with `lots` lots, two scored and one eligibility criterion (call-wide)."""
    n = next(_counter)
    at = now()
    call = Call(
        reference=overrides.pop("reference", f"IBV-TEST-{n:03d}"),
        title=overrides.pop("title", f"Testaufruf {n}"),
        summary="Zusammenfassung", description="Beschreibung",
        state=CallState.PUBLISHED, published_at=at - timedelta(days=1),
        question_deadline=at + deadline_in / 2, submission_deadline=at + deadline_in,
        scale_min=0, scale_max=5, created_at=at - timedelta(days=2), **overrides,
    )
    for number in range(1, lots + 1):
        call.lots.append(Lot(number=number, title=f"Region {number}", positions=Decimal("1.00")))
    call.criteria.extend([
        Criterion(kind=CriterionKind.SCORED, code="K1", title="Konzept der Beratung",
                  description="Beschreiben Sie Ihr Beratungskonzept.", weight=Decimal("60"), position=1),
        Criterion(kind=CriterionKind.SCORED, code="K2", title="Vernetzung in der Region",
                  description="Wie arbeiten Sie mit den Kommunen zusammen?", weight=Decimal("40"), position=2),
        Criterion(kind=CriterionKind.ELIGIBILITY, code="E1", title="Gemeinnützigkeit",
                  description="Der Träger ist gemeinnützig.", evidence="Freistellungsbescheid des Finanzamts", position=1),
    ])
    db.session.add(call)
    db.session.commit()
    return call


def make_bidder(organisation: Organisation | None = None, *, name: str = "Berta Bieterin") -> User:
    organisation = organisation or make_organisation()
    user = make_user(name=name)
    add_member(organisation, user)
    return user


def answers_for(bid: Bid, text: str = "Unser Konzept: Beratung vor Ort, mehrsprachig, mit Außensprechstunden.") -> dict[int, str]:
    return {c.id: f"{text} ({c.code})" for c in services.scored_criteria(bid)}


def make_draft(call: Call, lot: Lot, user: User, *, organisation: Organisation | None = None,
               text: str | None = None, attachment: bool = True) -> Bid:
    """A complete draft (answers, declarations, contact, one attachment), committed."""
    organisation = organisation or user.active_memberships[0].organisation
    bid = services.start_bid(call=call, lot=lot, organisation=organisation, by=user)
    services.save_draft(
        bid, by=user,
        answers=answers_for(bid) if text is None else {c.id: text for c in services.scored_criteria(bid)},
        declarations={c.id: True for c in services.eligibility_criteria(bid)},
        contact={"name": user.name, "email": user.email, "phone": ""},
    )
    if attachment:
        services.add_attachment(bid, by=user, data=valid_pdf(text="Konzept"), filename="Konzept für Los.pdf",
                                title="Konzept")
    db.session.commit()
    return bid


def make_submitted_bid(call: Call, lot: Lot, user: User, **kwargs: Any) -> tuple[Bid, BidVersion]:
    bid = make_draft(call, lot, user, **kwargs)
    version = services.submit_bid(bid, by=user)
    db.session.commit()
    return bid, version


def close_call(call: Call, clock: Any, *, after: timedelta = timedelta(seconds=1)) -> None:
    """Move the test clock past the call's deadline."""
    assert call.submission_deadline is not None
    clock.set(call.submission_deadline + after)
