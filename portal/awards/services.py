"""Award decisions (four eyes), information letters, standstill, objections, award notice.

Every function here is the only code that makes its change: keyword-only `by`,
flush but never commit, audit event in the same transaction.

The flow of a call: IN_REVIEW → (every lot has an approved decision) DECIDED →
(information letters sent, the same transaction) STANDSTILL → (the clock:
`finalise_due_awards`, run by `flask calls sweep`, once the standstill ended
and no objection is open) AWARDED with the public `AwardNotice`.
A revision during the standstill is a new proposal with a reason, approved by
a second officer; once every lot is decided again, new letters go out with a
new standstill (a new `AwardRound`).
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.models import Organisation
from portal.accounts.permissions import is_officer
from portal.audit.actions import AuditAction
from portal.audit.services import canonical_json, record, to_jsonable
from portal.audit.transparency import checkpoint_after_commit
from portal.awards import letters, ranking
from portal.awards.models import (
    AwardDecision,
    AwardNotice,
    AwardPolicy,
    AwardRound,
    AwardWinner,
    DecisionOutcome,
    DecisionState,
    InformationLetter,
    LetterKind,
    Objection,
    ObjectionState,
)
from portal.awards.standstill import standstill_end
from portal.bids.models import Bid, BidState
from portal.calls.models import Call, CallState, Lot
from portal.calls.services import set_call_state
from portal.core.errors import NotPermitted, Refused
from portal.core.i18n import datetime_berlin
from portal.core.time import now
from portal.extensions import db

#: The shortest objection and answer the portal accepts (a reason, not a word).
MIN_REASON_CHARS = 20
#: Call states in which a lot may be decided, and (STANDSTILL) revised.
DECIDING_STATES = frozenset({CallState.IN_REVIEW, CallState.DECIDED, CallState.STANDSTILL})


def _require_officer(by: Any, what: Any) -> None:
    if not is_officer(by):
        raise NotPermitted(what)


def _text(value: str | None) -> str:
    return (value or "").strip()


# --------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------


def policy_for(call: Call) -> AwardPolicy:
    """The call's award policy (defaults until an officer changes it; not stored until then)."""
    policy = db.session.get(AwardPolicy, call.id)
    return policy if policy is not None else AwardPolicy(call_id=call.id, several_winners=False, publish_other_bids=False)


def set_policy(call: Call, *, several_winners: bool, publish_other_bids: bool, by: Any) -> AwardPolicy:
    """Change the per-call award settings; refused once a lot has been proposed (or the notice is out)."""
    _require_officer(by, _l("Nur die Vergabestelle kann die Einstellungen zur Vergabe ändern."))
    if call.state in {CallState.AWARDED, CallState.CANCELLED, CallState.DRAFT}:
        raise Refused(_l("Die Einstellungen zur Vergabe können in diesem Zustand des Aufrufs nicht mehr geändert werden."))
    policy = policy_for(call)
    if policy.several_winners != several_winners and decisions_of(call):
        raise Refused(_l("Ob ein Los an mehrere Träger geht, kann nach dem ersten Vergabevorschlag nicht mehr geändert werden."),
                      field="several_winners")
    policy.several_winners = several_winners
    policy.publish_other_bids = publish_other_bids
    policy.changed_at = now()
    policy.changed_by_id = getattr(by, "id", None)
    db.session.add(policy)
    db.session.flush()
    record(AuditAction.AWARD_POLICY_CHANGED, actor=by, subject=call, public=call.is_public,
           data={"reference": call.reference, "several_winners": several_winners, "publish_other_bids": publish_other_bids})
    return policy


def winner_slots(lot: Lot, policy: AwardPolicy) -> int:
    """How many bids a lot goes to: one, or one per whole position if the call says so."""
    if not policy.several_winners:
        return 1
    return max(1, int(Decimal(lot.positions).to_integral_value(rounding=ROUND_FLOOR)))


# --------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------


def decisions_of(call: Call, *, states: frozenset[DecisionState] | None = None) -> list[AwardDecision]:
    stmt = select(AwardDecision).where(AwardDecision.call_id == call.id)
    if states is not None:
        stmt = stmt.where(AwardDecision.state.in_(states))
    return list(db.session.scalars(stmt.order_by(AwardDecision.id)))


def current_decisions(call: Call) -> dict[int, AwardDecision]:
    """Lot id → the approved decision in force (at most one per lot)."""
    return {d.lot_id: d for d in decisions_of(call, states=frozenset({DecisionState.APPROVED}))}


def pending_proposals(call: Call) -> dict[int, AwardDecision]:
    return {d.lot_id: d for d in decisions_of(call, states=frozenset({DecisionState.PROPOSED}))}


def current_round(call: Call) -> AwardRound | None:
    return db.session.scalar(
        select(AwardRound).where(AwardRound.call_id == call.id).order_by(AwardRound.number.desc()).limit(1)
    )


def open_objections(call: Call) -> list[Objection]:
    return list(db.session.scalars(
        select(Objection).where(Objection.call_id == call.id, Objection.state == ObjectionState.OPEN).order_by(Objection.id)
    ))


def objections_of(call: Call) -> list[Objection]:
    """Every objection to the award of `call`, with the organisation and the people the officers' page names."""
    return list(db.session.scalars(
        select(Objection).where(Objection.call_id == call.id)
        # Many-to-one: joined in the same statement (selectin chunks of 500 would interleave with the users' roles).
        .options(joinedload(Objection.organisation), joinedload(Objection.lodged_by), joinedload(Objection.answered_by))
        .order_by(Objection.id)
    ))


def notice_for(call: Call) -> AwardNotice | None:
    return db.session.scalar(select(AwardNotice).where(AwardNotice.call_id == call.id))


def bidding_organisations(call: Call) -> list[Organisation]:
    """Organisations with a bid that counts (last version a submission), by name."""
    return list(db.session.scalars(
        select(Organisation).where(Organisation.id.in_(
            select(Bid.organisation_id).where(Bid.call_id == call.id, Bid.state == BidState.SUBMITTED)
        )).order_by(Organisation.name)
    ))


# --------------------------------------------------------------------------
# Proposal and approval (four eyes)
# --------------------------------------------------------------------------


def _decidability_problems(lot: Lot, snap: dict[str, Any]) -> list[str]:
    problems = list(snap["gaps"])
    if not snap["final"] and not problems:
        problems.append(str(_l("Die Vorsitzende hat die Konsolidierung für Los %(n)s noch nicht abgeschlossen.", n=lot.number)))
    if not problems and not ranking.lot_is_decidable(lot):
        problems.append(str(_l("Los %(n)s ist nach der Bewertung noch nicht entscheidungsreif.", n=lot.number)))
    return problems


def propose_award(
    lot: Lot,
    *,
    by: Any,
    winner_bid_ids: list[int] | None = None,
    no_award: bool = False,
    no_award_reason: str | None = None,
    deviation_reason: str | None = None,
    revision_reason: str | None = None,
) -> AwardDecision:
    """First officer: propose the award of `lot` from its ranking.

    Without `winner_bid_ids` the proposal follows the ranking (the top eligible
    bid, or as many as the lot has positions if the call says so). Any other
    choice, and "no award" while eligible bids exist, deviates from the ranking
    and needs a written reason. A lot the review has not made decidable (a gap
    such as a bid without a review by a reviewer free of conflict) is refused,
    naming the gap. During the standstill a proposal revises the approved
    decision and needs a reason for the revision.
    """
    _require_officer(by, _l("Nur die Vergabestelle kann eine Vergabe vorschlagen."))
    call = lot.call
    if call.state not in DECIDING_STATES:
        raise Refused(_l("Eine Vergabe kann erst vorgeschlagen werden, wenn die Bewertung läuft, und nur bis zum Ende der "
                         "Stillhaltefrist (Zustand des Aufrufs: %(state)s).", state=call.state.value))
    if lot.id in pending_proposals(call):
        raise Refused(_l("Für Los %(n)s liegt bereits ein Vorschlag zur Freigabe vor.", n=lot.number))
    in_force = current_decisions(call).get(lot.id)
    revision_reason = _text(revision_reason) or None
    if in_force is not None:
        if call.state != CallState.STANDSTILL:
            raise Refused(_l("Los %(n)s ist bereits entschieden.", n=lot.number))
        if revision_reason is None:
            raise Refused(_l("Bitte begründen Sie, warum die Entscheidung über Los %(n)s überarbeitet wird.", n=lot.number),
                          field="revision_reason")
    snap = ranking.official_snapshot(lot)
    problems = _decidability_problems(lot, snap)
    if problems:
        raise Refused(_l("Los %(n)s kann noch nicht entschieden werden: %(problems)s Bitte klären Sie das zuerst mit der "
                         "Vorsitzenden der Bewertung.", n=lot.number, problems=" ".join(problems)))
    eligible = ranking.eligible(snap)
    slots = winner_slots(lot, policy_for(call))
    expected = [e["bid_id"] for e in eligible[:slots]]
    deviation_reason = _text(deviation_reason) or None
    if no_award:
        chosen: list[int] = []
        no_award_reason = _text(no_award_reason) or None
        if no_award_reason is None:
            raise Refused(_l("Bitte begründen Sie, warum Los %(n)s nicht vergeben wird.", n=lot.number), field="no_award_reason")
    else:
        if not eligible:
            raise Refused(_l("Los %(n)s hat keine zugelassene Interessenbekundung. Wählen Sie „keine Vergabe“ mit einer "
                             "Begründung.", n=lot.number), field="no_award")
        chosen = list(dict.fromkeys(winner_bid_ids)) if winner_bid_ids else expected
        eligible_ids = {e["bid_id"] for e in eligible}
        if not chosen or any(bid_id not in eligible_ids for bid_id in chosen):
            raise Refused(_l("Bitte wählen Sie nur zugelassene Interessenbekundungen aus der Rangfolge."), field="winners")
        if len(chosen) > slots:
            raise Refused(_l("Los %(n)s kann an höchstens %(slots)s Träger vergeben werden.", n=lot.number, slots=slots),
                          field="winners")
        no_award_reason = None
    deviates = sorted(chosen) != sorted(expected)
    if deviates and deviation_reason is None:
        raise Refused(_l("Der Vorschlag weicht von der Rangfolge ab. Bitte begründen Sie die Abweichung; die Begründung "
                         "wird mit der Vergabe veröffentlicht."), field="deviation_reason")
    if not deviates:
        deviation_reason = None
    at = now()
    decision = AwardDecision(
        call_id=call.id, lot_id=lot.id, state=DecisionState.PROPOSED,
        outcome=DecisionOutcome.NO_AWARD if no_award else DecisionOutcome.AWARD,
        proposed_at=at, proposed_by_id=by.id, deviates=deviates, deviation_reason=deviation_reason,
        no_award_reason=no_award_reason, ranking=snap,
        revises_id=in_force.id if in_force is not None else None,
        revision_reason=revision_reason if in_force is not None else None,
    )
    for position, bid_id in enumerate(chosen, start=1):
        entry = ranking.entry_for(snap, bid_id)
        assert entry is not None
        decision.winners.append(AwardWinner(bid_id=bid_id, organisation_id=entry["organisation_id"], position=position))
    db.session.add(decision)
    db.session.flush()
    record(AuditAction.AWARD_PROPOSED, actor=by, subject=decision, data={
        "reference": call.reference, "lot": lot.number, "outcome": decision.outcome, "winners": chosen,
        "deviates": deviates, "deviation_reason": deviation_reason, "no_award_reason": no_award_reason,
        "revises": decision.revises_id, "revision_reason": decision.revision_reason,
    })
    return decision


def return_proposal(decision: AwardDecision, *, reason: str, by: Any) -> AwardDecision:
    """Send a proposal back (second officer) or withdraw it (proposer), with a reason."""
    _require_officer(by, _l("Nur die Vergabestelle kann einen Vorschlag zurückgeben."))
    if decision.state != DecisionState.PROPOSED:
        raise Refused(_l("Dieser Vorschlag ist nicht mehr offen."))
    reason = _text(reason)
    if not reason:
        raise Refused(_l("Bitte begründen Sie, warum der Vorschlag zurückgegeben wird."), field="reason")
    decision.state = DecisionState.RETURNED
    decision.returned_at = now()
    decision.returned_by_id = by.id
    decision.returned_reason = reason
    db.session.flush()
    record(AuditAction.AWARD_RETURNED, actor=by, subject=decision,
           data={"reference": decision.call.reference, "lot": decision.lot.number, "reason": reason})
    return decision


def approve_award(decision: AwardDecision, *, by: Any) -> AwardDecision:
    """Second officer: approve a proposal (never the proposer's own).

    The ranking must still be the one the proposal was made from. When this
    was the last open lot of the call, the call is decided and the
    information letters go out in the same transaction (`send_information_letters`).
    """
    _require_officer(by, _l("Nur die Vergabestelle kann eine Vergabe freigeben."))
    decision = db.session.scalar(
        select(AwardDecision).where(AwardDecision.id == decision.id).with_for_update().execution_options(populate_existing=True)
    )
    assert decision is not None
    if decision.state != DecisionState.PROPOSED:
        raise Refused(_l("Dieser Vorschlag ist nicht mehr offen."))
    if decision.proposed_by_id == by.id:
        raise Refused(_l("Sie haben diesen Vorschlag selbst gemacht. Eine zweite, andere Person der Vergabestelle muss ihn "
                         "freigeben (Vier-Augen-Prinzip)."))
    lot, call = decision.lot, decision.call
    if call.state not in DECIDING_STATES:
        raise Refused(_l("Der Aufruf ist im Zustand „%(state)s“; eine Freigabe ist nicht mehr möglich.", state=call.state.value))
    live = ranking.official_snapshot(lot)
    problems = _decidability_problems(lot, live)
    if not ranking.same_ranking(live, decision.ranking) or problems:
        why = ranking.ranking_changes(decision.ranking, live) + list(live["gaps"]) or problems
        raise Refused(_l("Die Rangfolge von Los %(n)s hat sich seit dem Vorschlag geändert: %(why)s Nichts wurde freigegeben. "
                         "Bitte geben Sie den Vorschlag zurück; er muss auf der neuen Rangfolge neu gemacht werden.",
                         n=lot.number, why=" ".join(why)))
    at = now()
    previous = db.session.get(AwardDecision, decision.revises_id) if decision.revises_id else None
    if previous is not None:
        previous.state = DecisionState.SUPERSEDED
        previous.superseded_at = at
    decision.state = DecisionState.APPROVED
    decision.approved_at = at
    decision.approved_by_id = by.id
    db.session.flush()
    # Public: that (and when) the lot was decided; who won stays internal until the notice.
    record(AuditAction.AWARD_APPROVED, actor=by, subject=decision, public=True,
           data={"reference": call.reference, "lot": lot.number, "approved_at": at, "revision": previous is not None})
    _after_decision(call, by=by)
    return decision


def _after_decision(call: Call, *, by: Any) -> None:
    decided = current_decisions(call)
    if pending_proposals(call) or any(lot.id not in decided for lot in call.lots):
        return
    if call.state == CallState.IN_REVIEW:
        set_call_state(call, CallState.DECIDED, by=by)
        send_information_letters(call, by=by)
        set_call_state(call, CallState.STANDSTILL, by=by)
    elif call.state == CallState.STANDSTILL:
        reasons = [d.revision_reason for d in decided.values() if d.revises_id is not None and _after_round(d, call)]
        send_information_letters(call, by=by, reason=" ".join(r for r in reasons if r) or None)


def _after_round(decision: AwardDecision, call: Call) -> bool:
    last = current_round(call)
    return last is None or decision.approved_at is None or decision.approved_at >= last.letters_sent_at


# --------------------------------------------------------------------------
# Information letters and the standstill
# --------------------------------------------------------------------------


def send_information_letters(call: Call, *, by: Any, reason: str | None = None) -> AwardRound:
    """Write, keep (with PDF) and e-mail a letter to every bidding organisation; start the standstill.

    The standstill (the call's `standstill_days`) is counted from the day after
    sending and ends at the end of its last day in Europe/Berlin. A later round
    (revision) supersedes the earlier one and needs a reason.
    """
    at = now()
    previous = current_round(call)
    if previous is not None:
        if not reason:
            raise Refused(_l("Neue Informationsschreiben nach einer Überarbeitung brauchen eine Begründung."))
        previous.superseded_at = at
    award_round = AwardRound(
        call_id=call.id, number=(previous.number + 1) if previous else 1, letters_sent_at=at,
        standstill_days=call.standstill_days, standstill_ends_at=standstill_end(at, call.standstill_days),
        reason=reason if previous is not None else None, sent_by_id=getattr(by, "id", None),
    )
    db.session.add(award_round)
    db.session.flush()
    decisions = current_decisions(call)
    made = []
    for organisation in bidding_organisations(call):
        content = letters.information_content(call, organisation, decisions, award_round)
        made.append(letters.issue_letter(call, organisation, LetterKind.INFORMATION, content, award_round=award_round))
    record(AuditAction.AWARD_LETTERS_SENT, actor=by, subject=award_round, public=True, data={
        "reference": call.reference, "round": award_round.number, "letters": len(made),
        "sent_at": at, "standstill_days": award_round.standstill_days, "standstill_ends_at": award_round.standstill_ends_at,
        "reason": award_round.reason,
    })
    return award_round


def mark_letter_read(letter: InformationLetter, *, by: Any) -> None:
    """Record the first time a member of the organisation opened the letter in the portal."""
    if letter.first_read_at is not None:
        return
    letter.first_read_at = now()
    letter.first_read_by_id = by.id
    db.session.flush()
    record(AuditAction.AWARD_LETTER_READ, actor=by, subject=letter,
           data={"reference": letter.call.reference, "organisation": letter.organisation_id, "kind": letter.kind})


# --------------------------------------------------------------------------
# Objections (Rügen)
# --------------------------------------------------------------------------


def objection_deadline(call: Call) -> datetime | None:
    award_round = current_round(call)
    return award_round.standstill_ends_at if award_round is not None else None


def objection_is_open(call: Call, at: datetime | None = None) -> bool:
    """True while objections may be lodged: standstill running, before its end."""
    at = at or now()
    deadline = objection_deadline(call)
    return call.state == CallState.STANDSTILL and deadline is not None and at < deadline


def lodge_objection(call: Call, *, organisation: Organisation, text: str, by: Any) -> Objection:
    """A bidding organisation objects to the award during the standstill, with reasons."""
    from portal.accounts.permissions import is_member_of

    if not is_member_of(by, organisation) or organisation.id not in {o.id for o in bidding_organisations(call)}:
        raise NotPermitted(_l("Nur Träger mit einer Interessenbekundung zu diesem Aufruf können eine Rüge erheben."))
    at = now()
    if not objection_is_open(call, at):
        deadline = objection_deadline(call)
        if deadline is not None and at >= deadline:
            raise Refused(_l("Die Stillhaltefrist ist am %(when)s abgelaufen; eine Rüge über das Portal ist nicht mehr möglich.",
                             when=datetime_berlin(deadline)))
        raise Refused(_l("Eine Rüge ist nur während der Stillhaltefrist möglich."))
    text = _text(text)
    if len(text) < MIN_REASON_CHARS:
        raise Refused(_l("Bitte begründen Sie Ihre Rüge (mindestens %(n)s Zeichen): Was beanstanden Sie, und warum?",
                         n=MIN_REASON_CHARS), field="text")
    award_round = current_round(call)
    assert award_round is not None
    objection = Objection(call_id=call.id, round_id=award_round.id, organisation_id=organisation.id, lodged_at=at,
                          lodged_by_id=by.id, text=text, state=ObjectionState.OPEN)
    db.session.add(objection)
    db.session.flush()
    record(AuditAction.OBJECTION_LODGED, actor=by, subject=objection,
           data={"reference": call.reference, "organisation": organisation.id, "round": award_round.number})
    letters.notify_officers_of_objection(objection)
    return objection


def answer_objection(objection: Objection, *, upheld: bool, answer: str, by: Any) -> Objection:
    """Officers answer an objection with reasons; the answer goes to the bidder as a letter.

    Upheld: the award must be revised (a new proposal with a reason) before the
    call can become final. Rejected: the reasons are sent and the clock runs on.
    """
    _require_officer(by, _l("Nur die Vergabestelle kann Rügen beantworten."))
    if objection.state != ObjectionState.OPEN:
        raise Refused(_l("Diese Rüge ist bereits beantwortet."))
    answer = _text(answer)
    if len(answer) < MIN_REASON_CHARS:
        raise Refused(_l("Bitte begründen Sie die Antwort (mindestens %(n)s Zeichen).", n=MIN_REASON_CHARS), field="answer")
    objection.state = ObjectionState.UPHELD if upheld else ObjectionState.REJECTED
    objection.answer = answer
    objection.answered_at = now()
    objection.answered_by_id = by.id
    db.session.flush()
    record(AuditAction.OBJECTION_ANSWERED, actor=by, subject=objection,
           data={"reference": objection.call.reference, "organisation": objection.organisation_id,
                 "upheld": upheld, "answer": answer})
    content = letters.objection_answer_content(objection)
    letters.issue_letter(objection.call, objection.organisation, LetterKind.OBJECTION_ANSWER, content)
    return objection


# --------------------------------------------------------------------------
# Finalisation by the clock, and the award notice
# --------------------------------------------------------------------------


def finalisation_blockers(call: Call, at: datetime | None = None) -> list[Any]:
    """Why the call cannot become final now (empty when it can)."""
    at = at or now()
    if call.state != CallState.STANDSTILL:
        return [_l("Der Aufruf ist nicht in der Stillhaltefrist.")]
    blockers: list[Any] = []
    award_round = current_round(call)
    if award_round is None:
        return [_l("Es wurden noch keine Informationsschreiben versandt.")]
    if at < award_round.standstill_ends_at:
        blockers.append(_l("Die Stillhaltefrist läuft noch bis %(when)s.", when=datetime_berlin(award_round.standstill_ends_at)))
    if open_objections(call):
        blockers.append(_l("Es gibt unbeantwortete Rügen."))
    if pending_proposals(call):
        blockers.append(_l("Ein überarbeiteter Vorschlag wartet auf die Freigabe."))
    upheld = [o for o in objections_of(call) if o.state == ObjectionState.UPHELD and o.round_id == award_round.id]
    if upheld:
        blockers.append(_l("Einer Rüge wurde abgeholfen; die Vergabe muss erst überarbeitet werden."))
    return blockers


def publish_award_notice(call: Call, *, by: Any = None, at: datetime | None = None) -> AwardNotice:
    """Publish the award notice and move the call to 'awarded'.

    Refused before the standstill ended, while an objection is open, or while a
    revision is pending. Normally run by the clock (`finalise_due_awards`).
    """
    at = at or now()
    blockers = finalisation_blockers(call, at)
    if blockers:
        raise Refused(_l("Die Vergabe kann noch nicht bekannt gemacht werden: %(why)s", why=" ".join(str(b) for b in blockers)))
    award_round = current_round(call)
    assert award_round is not None
    record(AuditAction.AWARD_STANDSTILL_ENDED, actor=by, subject=award_round, public=True,
           data={"reference": call.reference, "round": award_round.number, "standstill_ends_at": award_round.standstill_ends_at})
    from portal.awards.notice import notice_data

    data = to_jsonable(notice_data(call, published_at=at))
    digest = hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
    notice = AwardNotice(call_id=call.id, published_at=at, data=data, sha256=digest)
    db.session.add(notice)
    db.session.flush()
    record(AuditAction.AWARD_NOTICE_PUBLISHED, actor=by, subject=notice, public=True,
           data={"reference": call.reference, "sha256": digest, "notice": data})
    set_call_state(call, CallState.AWARDED, by=by, at=at)
    checkpoint_after_commit()
    return notice


def finalise_due_awards(*, at: datetime | None = None) -> list[Call]:
    """The clock's step: every call whose standstill ended without open objection becomes 'awarded'."""
    at = at or now()
    calls = db.session.scalars(select(Call).where(Call.state == CallState.STANDSTILL).order_by(Call.id)).all()
    done = []
    for call in calls:
        if not finalisation_blockers(call, at):
            publish_award_notice(call, by=None, at=at)
            done.append(call)
    return done


# --------------------------------------------------------------------------
# Cancellation: letters to the bidders (hooked to the call's state change)
# --------------------------------------------------------------------------


def send_cancellation_letters(call: Call, *, by: Any) -> list[InformationLetter]:
    """Every organisation with a bid that counts gets a letter (portal, PDF, e-mail) with the public reason."""
    made = [letters.issue_letter(call, org, LetterKind.CANCELLATION, letters.cancellation_content(call, org))
            for org in bidding_organisations(call)]
    for decision in decisions_of(call, states=frozenset({DecisionState.PROPOSED})):
        decision.state = DecisionState.RETURNED
        decision.returned_at = now()
        decision.returned_by_id = getattr(by, "id", None) or decision.proposed_by_id
        decision.returned_reason = str(_l("Der Aufruf wurde aufgehoben."))
    db.session.flush()
    record(AuditAction.CANCELLATION_LETTERS_SENT, actor=by, subject=call, public=True,
           data={"reference": call.reference, "letters": len(made)})
    return made


def on_call_state_changed(call: Call, *, previous: CallState, target: CallState, by: Any, **_: Any) -> None:
    if target == CallState.CANCELLED and previous != CallState.DRAFT:
        send_cancellation_letters(call, by=by)
