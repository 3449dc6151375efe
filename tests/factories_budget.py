"""Factories for the query-budget test: review and award procedures with many bids.

The first ten bids of a procedure go through the real services
(`tests.factories_review`, `tests.factories_awards`), so every state is one
the portal can reach. Growing a lot to 1,000 bids that way would take many
minutes, so `grow_lot()` adds the further bids with everything the review
pages list (version, declarations, eligibility, scores, consolidated points)
as direct inserts, and `grow_letters()` / `grow_objections()` do the same for
the award pages.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from portal.accounts.models import Organisation, User
from portal.awards import services as awards
from portal.awards.models import InformationLetter, LetterDelivery, LetterKind, Objection, ObjectionState
from portal.bids.models import Bid, BidState, BidVersion, VersionKind
from portal.bids.opening import confirm_opening, start_opening
from portal.calls.models import Call, CallState, Lot
from portal.core.time import now
from portal.extensions import db
from portal.mail.models import MailStatus, OutgoingMail
from portal.review.models import ConflictDeclaration, ConflictKind, ConsolidatedScore, EligibilityDecision, Score
from portal.review.queries import eligibility_criteria, scored_criteria
from tests.factories import make_organisation
from tests.factories_awards import decide
from tests.factories_bids import close_call, make_bidder, make_submitted_bid
from tests.factories_calls import make_call
from tests.factories_review import make_reviewer, review_lot

FIRST = 10
JUSTIFICATION = "Nachvollziehbar dargestellt, mit konkreten Angaben zu Personal und Erreichbarkeit."


def first_points(count: int = FIRST, *, tie: bool = False) -> list[dict[str, int]]:
    """Points of the bids made through the services: every total different, so nothing waits for a draw,
    unless `tie`: then the last two are equal in everything and only a drawing of lots can order them."""
    points = [{"K1": 5 - i // 2, "K2": 5 - i % 2, "K3": 3, "K4": 3, "K5": 3} for i in range(count)]
    if tie:
        points[-1] = points[-2]
    return points


def grown_points(n: int) -> dict[str, int]:
    """Points of grown bid `n`: bids n and n + 216 are equal in total, K1 and K2, so large lots have tie groups."""
    return {"K1": n % 6, "K2": n // 6 % 6, "K3": n // 36 % 6, "K4": 2, "K5": 1}


@dataclass
class Procedure:
    """A call with its panel; `bids[lot number]` are the bids made through the services."""

    call: Call
    reviewers: list[User]
    chair: User
    bids: dict[int, list[Bid]] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return self.call.reference

    def lot(self, number: int) -> Lot:
        return next(lot for lot in self.call.lots if lot.number == number)


def opened_call(clock: Any, officer: User, officer2: User, *, reference: str, lots: int, prefix: str) -> Procedure:
    """A published KIM-like call, one bid per organisation in every lot (through the bid services), opened."""
    call = make_call(published=True, lots=lots, reference=reference)
    bids: dict[int, list[Bid]] = {lot.number: [] for lot in call.lots}
    for i in range(FIRST):
        bidder = make_bidder(make_organisation(name=f"{prefix} {i} e. V."), name=f"Mitglied {prefix} {i}")
        for lot in call.lots:
            bids[lot.number].append(make_submitted_bid(call, lot, bidder)[0])
    close_call(call, clock)
    confirm_opening(start_opening(call, by=officer), by=officer2)
    db.session.commit()
    reviewers = [make_reviewer(f"{prefix} Gutachterin {i}") for i in (1, 2)]
    return Procedure(call, reviewers, make_reviewer(f"{prefix} Vorsitz"), bids)


def review(procedure: Procedure, number: int, officer: User, *, close: bool, tie: bool = False) -> None:
    """The whole review of lot `number` through the review services (closed if `close`; see `first_points` for `tie`)."""
    bids = {bid.organisation.name: bid for bid in procedure.bids[number]}
    points = dict(zip(bids, first_points(len(bids), tie=tie)))
    review_lot(procedure.lot(number), officer, procedure.reviewers, procedure.chair, bids, points, close=close)


def awarded_in_standstill(procedure: Procedure, officer: User, officer2: User) -> None:
    """Propose and approve every lot: the letters go out and the standstill runs."""
    decide(procedure.call, officer, officer2)
    db.session.refresh(procedure.call)
    assert procedure.call.state == CallState.STANDSTILL


def grow_lot(procedure: Procedure, number: int, organisations: Sequence[Organisation], *, start: int,
             review: bool = True) -> None:
    """Bids of `organisations` in lot `number` as if submitted, declared, decided, scored and consolidated
    (only submitted unless `review`).

    `start` numbers them (receipts, points). Every seventh fails eligibility
    (no consolidated points), and the first reviewer declared a conflict for
    every eleventh (no scores from her).
    """
    if not organisations:
        return
    at = now()
    call, lot, chair = procedure.call, procedure.lot(number), procedure.chair
    scored, eligibility = scored_criteria(lot), eligibility_criteria(lot)
    rows = [{"call_id": call.id, "lot_id": lot.id, "organisation_id": o.id, "state": BidState.SUBMITTED,
             "version_count": 1, "created_at": at, "draft_changed_at": at} for o in organisations]
    bid_ids = db.session.scalars(insert(Bid).returning(Bid.id, sort_by_parameter_order=True), rows).all()
    versions, declarations, decisions, scores, consolidated = [], [], [], [], []
    for offset, (bid_id, organisation) in enumerate(zip(bid_ids, organisations)):
        n = start + offset
        excluded, conflict = n % 7 == 0, n % 11 == 0
        points = grown_points(n)
        versions.append({"bid_id": bid_id, "number": 1, "kind": VersionKind.SUBMISSION, "submitted_at": at,
                         "receipt_number": f"M-{lot.id}-{n:05d}", "digest": hashlib.sha256(str(bid_id).encode()).hexdigest(),
                         "sealed_content": b""})
        if not review:
            continue
        for person in [*procedure.reviewers, chair]:
            own_conflict = conflict and person is procedure.reviewers[0]
            declarations.append({"call_id": call.id, "lot_id": lot.id, "user_id": person.id, "organisation_id": organisation.id,
                                 "conflict": own_conflict, "kind": ConflictKind.OTHER if own_conflict else None,
                                 "reason": "Frühere Tätigkeit im Vorstand." if own_conflict else "", "declared_at": at})
        for criterion in eligibility:
            met = not (excluded and criterion.code == "E1")
            decisions.append({"bid_id": bid_id, "criterion_id": criterion.id, "met": met, "decided_at": at,
                              "reason": "Nachweis liegt vor." if met else "Freistellungsbescheid fehlt.", "decided_by_id": chair.id})
        if excluded:
            continue
        for criterion in scored:
            for reviewer in procedure.reviewers:
                if conflict and reviewer is procedure.reviewers[0]:
                    continue
                scores.append({"lot_id": lot.id, "bid_id": bid_id, "criterion_id": criterion.id, "reviewer_id": reviewer.id,
                               "points": points[criterion.code], "justification": f"{criterion.code}: {JUSTIFICATION}",
                               "saved_at": at})
            consolidated.append({"lot_id": lot.id, "bid_id": bid_id, "criterion_id": criterion.id,
                                 "points": points[criterion.code], "reason": "", "set_at": at, "set_by_id": chair.id})
    for model, batch in ((BidVersion, versions), (ConflictDeclaration, declarations), (EligibilityDecision, decisions),
                         (Score, scores), (ConsolidatedScore, consolidated)):
        if batch:
            db.session.execute(insert(model), batch)


def grow_letters(letters: Sequence[tuple[Call, Organisation]], *, kind: LetterKind = LetterKind.INFORMATION) -> None:
    """A letter of `kind` about each call to each organisation, each with one e-mail.

    Information letters belong to the call's current round. The e-mails are
    sent, failed or still queued in turn, as the delivery column shows them.
    """
    if not letters:
        return
    at = now()
    rounds = {call.id: awards.current_round(call) for call, _organisation in letters} if kind == LetterKind.INFORMATION else {}
    statuses = (MailStatus.SENT, MailStatus.FAILED, MailStatus.QUEUED)
    mails = [{"to_address": o.contact_email, "subject": "Information über den Ausgang des Verfahrens", "body_text": "Siehe Portal.",
              "template": "awards/letter", "locale": "de", "status": statuses[i % 3], "attempts": 1, "created_at": at,
              "next_attempt_at": at, "sent_at": at if i % 3 == 0 else None,
              "last_error": "Verbindung abgelehnt" if i % 3 == 1 else None} for i, (_call, o) in enumerate(letters)]
    mail_ids = db.session.scalars(insert(OutgoingMail).returning(OutgoingMail.id, sort_by_parameter_order=True), mails).all()
    pdf = b"%PDF-1.7 Schreiben"
    rows = [{"call_id": call.id, "round_id": award_round.id if (award_round := rounds.get(call.id)) else None,
             "organisation_id": o.id, "kind": kind, "created_at": at, "content": {"organisation": o.name},
             "pdf": pdf, "pdf_sha256": hashlib.sha256(pdf).hexdigest()} for call, o in letters]
    letter_ids = db.session.scalars(
        insert(InformationLetter).returning(InformationLetter.id, sort_by_parameter_order=True), rows).all()
    db.session.execute(insert(LetterDelivery), [{"letter_id": letter_id, "mail_id": mail_id, "to_address": o.contact_email}
                                                for letter_id, mail_id, (_call, o) in zip(letter_ids, mail_ids, letters)])


def grow_objections(call: Call, members: Sequence[tuple[Organisation, User]], answered_by: User) -> None:
    """An objection by each (organisation, member); every second one is already rejected."""
    if not members:
        return
    at = now()
    award_round = awards.current_round(call)
    assert award_round is not None
    rows = []
    for i, (organisation, user) in enumerate(members):
        answered = i % 2 == 1
        rows.append({"call_id": call.id, "round_id": award_round.id, "organisation_id": organisation.id,
                     "lodged_at": at - timedelta(hours=1), "lodged_by_id": user.id,
                     "text": "Die Bewertung von K3 übersieht unser Konzept für die Außensprechstunden.",
                     "state": ObjectionState.REJECTED if answered else ObjectionState.OPEN,
                     "answer": "Die Bewertung ist nachvollziehbar begründet." if answered else None,
                     "answered_at": at if answered else None, "answered_by_id": answered_by.id if answered else None})
    db.session.execute(insert(Objection), rows)
