"""Factories for the awards tests: a call reviewed through the review services, decided through the award services.

`reviewed_call()` continues `tests.factories_review`: a KIM-like call (weights
30/25/20/15/10, scale 0–5) with three bids in lot 1, opened by two officers,
reviewed by two reviewers and consolidated and closed by the chair, so that
`rank_lot` gives Caritas 81, Diakonie 69, AWO 60 points.
`decided_call()` then proposes and approves every lot (letters go out, the
standstill starts).
"""
from __future__ import annotations

from typing import Any

from portal.awards import services
from portal.calls.models import Call
from portal.extensions import db
from tests.factories_review import make_opened_call, make_reviewer, review_lot

ORGANISATIONS = ("Caritasverband Siegen e. V.", "Diakonie Siegerland gGmbH", "AWO Kreisverband e. V.")
POINTS = {
    "Caritasverband Siegen e. V.": {"K1": 5, "K2": 4, "K3": 4, "K4": 3, "K5": 3},  # 81
    "Diakonie Siegerland gGmbH": {"K1": 4, "K2": 4, "K3": 3, "K4": 3, "K5": 2},  # 69
    "AWO Kreisverband e. V.": {"K1": 3, "K2": 3, "K3": 3, "K4": 3, "K5": 3},  # 60
}
TOTALS = {"Caritasverband Siegen e. V.": "81", "Diakonie Siegerland gGmbH": "69", "AWO Kreisverband e. V.": "60"}


def reviewed_call(clock: Any, officer: Any, officer2: Any, *, failing: dict[str, str] | None = None,
                  close: bool = True, **overrides: Any) -> tuple[Call, dict[str, Any]]:
    overrides.setdefault("lots", 1)
    call, bids = make_opened_call(clock, officer, officer2, organisations=ORGANISATIONS, **overrides)
    reviewers = [make_reviewer("Rita Gutachterin"), make_reviewer("Rolf Gutachter")]
    chair = make_reviewer("Vera Vorsitz")
    review_lot(call.lots[0], officer, reviewers, chair, bids, POINTS, failing=failing, close=close)
    db.session.refresh(call)
    return call, bids


def decide(call: Call, proposer: Any, approver: Any, **proposal: Any) -> None:
    """Propose (following the ranking unless told otherwise) and approve every lot."""
    for lot in call.lots:
        decision = services.propose_award(lot, by=proposer, **proposal)
        db.session.commit()
        services.approve_award(decision, by=approver)
        db.session.commit()


def decided_call(clock: Any, officer: Any, officer2: Any, **overrides: Any) -> tuple[Call, dict[str, Any]]:
    call, bids = reviewed_call(clock, officer, officer2, **overrides)
    decide(call, officer, officer2)
    return call, bids
