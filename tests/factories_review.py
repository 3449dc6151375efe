"""Factories for the review tests (and the awards tests that build on them).

`make_opened_call()` gives a KIM-like call (weights 30/25/20/15/10, scale 0–5,
tie-break K1, K2, lot) whose bids were submitted through the bid services and
opened by two officers. `review_lot()` runs a whole review of one lot through
the review services: every reviewer declares and scores, the chair decides
eligibility and consolidates, and (optionally) closes the lot.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from portal.accounts.models import Role
from portal.bids.models import Bid
from portal.bids.opening import confirm_opening, start_opening
from portal.calls.models import Call, Lot
from portal.extensions import db
from portal.review import services
from portal.review.queries import eligibility_criteria, scored_criteria
from tests.factories import make_organisation, make_user
from tests.factories_bids import close_call, make_bidder, make_submitted_bid
from tests.factories_calls import make_call

JUSTIFICATION = "Nachvollziehbar dargestellt, mit konkreten Angaben zu Personal und Erreichbarkeit."


def make_reviewer(name: str = "Rita Gutachterin") -> Any:
    return make_user(name=name, roles=[Role.REVIEWER], totp=True)


def make_opened_call(clock: Any, officer: Any, officer2: Any, *, organisations: Iterable[str],
                     lots: int = 2, lot_number: int = 1, **overrides: Any) -> tuple[Call, dict[str, Bid]]:
    """A published KIM-like call, one submitted bid per organisation name in lot `lot_number`, opened."""
    call = make_call(published=True, lots=lots, **overrides)
    lot = next(lot for lot in call.lots if lot.number == lot_number)
    bids = {}
    for name in organisations:
        bidder = make_bidder(make_organisation(name=name), name=f"Mitglied {name}")
        bids[name], _version = make_submitted_bid(call, lot, bidder)
    close_call(call, clock)
    confirm_opening(start_opening(call, by=officer), by=officer2)
    db.session.commit()
    return call, bids


def set_up_panel(lot: Lot, officer: Any, reviewers: Iterable[Any], chair: Any) -> None:
    for reviewer in reviewers:
        services.assign_reviewer(lot, reviewer, by=officer)
    if services.chair_of(lot.call) is None:
        services.name_chair(lot.call, chair, by=officer)
    db.session.commit()


def declare_all(lot: Lot, user: Any, *, conflicts: Iterable[str] = ()) -> None:
    """`user` declares for every bidding organisation of `lot`: conflict for those named in `conflicts`."""
    conflicts = set(conflicts)
    for organisation in services.undeclared_organisations(user, lot):
        if organisation.name in conflicts:
            services.declare(lot, organisation, by=user, conflict=True, kind="membership",
                             reason="Ich bin Mitglied im Vorstand dieses Vereins.")
        else:
            services.declare(lot, organisation, by=user, conflict=False)
    db.session.commit()


def score_all(lot: Lot, reviewer: Any, points: Mapping[str, Mapping[str, int]], *, submit: bool = True) -> None:
    """`points[organisation name][criterion code]` for every bid the reviewer has to score."""
    assignment = services.reviewer_assignment(reviewer, lot)
    for bid in services.bids_to_score(assignment):
        values = points[bid.organisation.name]
        services.save_scores(bid, {c.id: (values[c.code], f"{c.code}: {JUSTIFICATION}") for c in scored_criteria(lot)},
                             by=reviewer)
    if submit:
        services.submit_review(lot, by=reviewer)
    db.session.commit()


def decide_all(lot: Lot, chair: Any, bids: Iterable[Bid], *, failing: Mapping[str, str] | None = None) -> None:
    """The chair decides every eligibility criterion; `failing[organisation name]` = reason for "not met" on E1."""
    failing = failing or {}
    for bid in bids:
        for criterion in eligibility_criteria(lot):
            name = bid.organisation.name
            if name in failing and criterion.code == "E1":
                services.decide_eligibility(bid, criterion, met=False, reason=failing[name], by=chair)
            else:
                services.decide_eligibility(bid, criterion, met=True, reason="Nachweis liegt vor.", by=chair)
    db.session.commit()


def consolidate_all(lot: Lot, chair: Any, bids: Iterable[Bid], points: Mapping[str, Mapping[str, int]]) -> None:
    for bid in bids:
        if services.is_excluded(bid):
            continue
        values = points[bid.organisation.name]
        services.consolidate_bid(bid, {c.id: (values[c.code], "") for c in scored_criteria(lot)}, by=chair)
    db.session.commit()


def review_lot(lot: Lot, officer: Any, reviewers: list[Any], chair: Any, bids: Mapping[str, Bid],
               points: Mapping[str, Mapping[str, int]], *, failing: Mapping[str, str] | None = None,
               close: bool = True) -> None:
    """A complete review of `lot` in which every reviewer gives the consolidated points."""
    set_up_panel(lot, officer, reviewers, chair)
    for user in [*reviewers, chair]:
        declare_all(lot, user)
    decide_all(lot, chair, bids.values(), failing=failing)
    for reviewer in reviewers:
        score_all(lot, reviewer, points)
    consolidate_all(lot, chair, bids.values(), points)
    if close:
        services.close_consolidation(lot, by=chair)
        db.session.commit()
