"""Who may do what with awards, letters, objections and the procurement record.

Registered as Jinja globals by `portal.awards.init_app`. Letters are private to
the organisation they are addressed to (and the officers); the procurement
record names reviewers and scores, so only officers read it. Observers,
administrators and other bidders get a 404 for both (their existence is not
confirmed by URL guessing).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.accounts.permissions import is_member_of, is_officer
from portal.awards.models import AwardDecision, DecisionState, InformationLetter, Objection, ObjectionState
from portal.calls.models import Call, CallState
from portal.core.permissions import is_signed_in

__all__ = [
    "can_manage_awards",
    "can_propose_award",
    "can_approve_award",
    "can_return_proposal",
    "can_view_letter",
    "can_view_procurement_record",
    "can_lodge_objection",
    "can_answer_objection",
    "objecting_organisations",
]

DECIDING = frozenset({CallState.IN_REVIEW, CallState.DECIDED, CallState.STANDSTILL})


def can_manage_awards(user: Any, call: Call | None = None) -> bool:
    if not is_officer(user):
        return False
    return call is None or call.state not in {CallState.DRAFT, CallState.PUBLISHED}


def can_propose_award(user: Any, call: Call) -> bool:
    return is_officer(user) and call.state in DECIDING


def can_approve_award(user: Any, decision: AwardDecision | None) -> bool:
    """The second officer: anybody with the role except the proposer."""
    return (decision is not None and is_officer(user) and decision.state == DecisionState.PROPOSED
            and decision.proposed_by_id != user.id and decision.call.state in DECIDING)


def can_return_proposal(user: Any, decision: AwardDecision | None) -> bool:
    return decision is not None and is_officer(user) and decision.state == DecisionState.PROPOSED


def can_view_letter(user: Any, letter: InformationLetter) -> bool:
    if not is_signed_in(user):
        return False
    return is_officer(user) or (is_member_of(user, letter.organisation) and letter.organisation.is_verified)


def can_view_procurement_record(user: Any, call: Call) -> bool:
    return is_officer(user) and call.state != CallState.DRAFT


def objecting_organisations(user: Any, call: Call) -> list[Any]:
    """The organisations in whose name `user` may object to the award of `call` now."""
    from portal.awards.services import bidding_organisations, objection_is_open

    if not is_signed_in(user) or not objection_is_open(call):
        return []
    return [o for o in bidding_organisations(call) if is_member_of(user, o)]


def can_lodge_objection(user: Any, call: Call, at: datetime | None = None) -> bool:
    return bool(objecting_organisations(user, call))


def can_answer_objection(user: Any, objection: Objection) -> bool:
    return is_officer(user) and objection.state == ObjectionState.OPEN
