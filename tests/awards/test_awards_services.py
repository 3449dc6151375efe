"""Award services: four eyes, deviations, gaps, letters, standstill, objections, notice, cancellation."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.awards import services
from portal.awards.models import (
    AwardDecision,
    AwardNotice,
    DecisionOutcome,
    DecisionState,
    InformationLetter,
    LetterKind,
    ObjectionState,
)
from portal.awards.notice import recompute_total
from portal.calls.models import CallState
from portal.calls.services import cancel_call
from portal.core.errors import Refused
from portal.extensions import db
from portal.mail.models import OutgoingMail
from tests.factories_awards import ORGANISATIONS, TOTALS, decide, decided_call, reviewed_call

CARITAS, DIAKONIE, AWO = ORGANISATIONS


@pytest.fixture(autouse=True)
def german(app: Any) -> Any:
    from flask_babel import force_locale

    with force_locale("de"):
        yield


def _member(bids: dict[str, Any], name: str) -> Any:
    return bids[name].organisation.active_members[0]


def _actions(call: Any) -> list[str]:
    from portal.awards.record import call_events

    return [e.action for e in call_events(call)]


def test_proposal_follows_the_ranking_and_a_second_officer_approves(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = reviewed_call(clock, officer, officer2)
    assert call.state == CallState.IN_REVIEW
    lot = call.lots[0]
    decision = services.propose_award(lot, by=officer)
    db.session.commit()
    assert decision.state == DecisionState.PROPOSED and not decision.deviates
    assert [w.organisation.name for w in decision.winners] == [CARITAS]
    assert call.state == CallState.IN_REVIEW  # nothing is decided before the approval

    services.approve_award(decision, by=officer2)
    db.session.commit()
    assert decision.state == DecisionState.APPROVED and decision.approved_by_id == officer2.id
    assert decision.approved_at is not None
    # The last lot decided: the call is decided, letters went out and the standstill runs.
    assert call.state == CallState.STANDSTILL
    award_round = services.current_round(call)
    assert award_round is not None and award_round.number == 1
    letters = db.session.scalars(select(InformationLetter).where(InformationLetter.call_id == call.id)).all()
    assert sorted(letter.organisation.name for letter in letters) == sorted(ORGANISATIONS)
    assert all(letter.pdf.startswith(b"%PDF") and letter.deliveries for letter in letters)
    actions = _actions(call)
    for action in ("award.proposed", "award.approved", "award.letters_sent"):
        assert action in actions
    # The approval is public but names nobody; the proposal is internal.
    approved = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "award.approved"))
    assert approved.public and CARITAS not in approved.data_json
    proposed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "award.proposed"))
    assert not proposed.public


def test_letters_say_won_or_not_with_own_scores_rank_and_standstill_end(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = decided_call(clock, officer, officer2)
    letters = {letter.organisation.name: letter for letter in
               db.session.scalars(select(InformationLetter).where(InformationLetter.call_id == call.id))}
    won = letters[CARITAS].content["bids"][0]
    lost = letters[DIAKONIE].content["bids"][0]
    assert won["won"] and not lost["won"]
    assert lost["winners"] == [CARITAS] and lost["rank"] == 2 and lost["eligible_count"] == 3
    assert Decimal(lost["total"]) == Decimal(TOTALS[DIAKONIE])
    assert {c["code"]: c["points"] for c in lost["criteria"]} == {"K1": 4, "K2": 4, "K3": 3, "K4": 3, "K5": 2}
    assert all(c["reason"] for c in lost["criteria"])
    # The letter to Diakonie never carries another bidder's scores.
    assert "Caritasverband" not in str(lost["criteria"])
    award_round = services.current_round(call)
    assert letters[DIAKONIE].content["standstill_ends_at"].startswith(award_round.standstill_ends_at.strftime("%Y-%m-%dT%H:%M"))
    mail = db.session.scalar(select(OutgoingMail).where(OutgoingMail.to_address == _member(bids, DIAKONIE).email,
                                                        OutgoingMail.template == "awards/letter"))
    assert "Rang unter den zugelassenen Interessenbekundungen: 2 von 3" in mail.body_text
    assert "K1 Kriterium K1 (30 %): 4 / 5 Punkte" in mail.body_text


def test_the_same_officer_cannot_approve_their_own_proposal(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, _bids = reviewed_call(clock, officer, officer2)
    decision = services.propose_award(call.lots[0], by=officer)
    db.session.commit()
    with pytest.raises(Refused, match="Vier-Augen-Prinzip"):
        services.approve_award(decision, by=officer)
    db.session.rollback()
    assert db.session.get(AwardDecision, decision.id).state == DecisionState.PROPOSED
    assert call.state == CallState.IN_REVIEW


def test_a_deviating_award_needs_a_reason_which_is_kept(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = reviewed_call(clock, officer, officer2)
    lot = call.lots[0]
    with pytest.raises(Refused) as refused:
        services.propose_award(lot, by=officer, winner_bid_ids=[bids[DIAKONIE].id])
    assert refused.value.field == "deviation_reason"
    db.session.rollback()
    decision = services.propose_award(lot, by=officer, winner_bid_ids=[bids[DIAKONIE].id],
                                      deviation_reason="Caritas hat die Trägerschaft inzwischen abgelehnt.")
    assert decision.deviates and decision.deviation_reason.startswith("Caritas hat")
    # Choosing exactly the ranking is not a deviation, and a stray reason is not kept.
    db.session.rollback()
    plain = services.propose_award(lot, by=officer, winner_bid_ids=[bids[CARITAS].id], deviation_reason="unnötig")
    assert not plain.deviates and plain.deviation_reason is None


def test_a_lot_with_a_review_gap_is_refused_until_the_chair_resolves_it(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    from portal.review import services as review
    from tests.factories_review import (
        consolidate_all,
        declare_all,
        decide_all,
        make_opened_call,
        make_reviewer,
        score_all,
        set_up_panel,
    )
    from tests.factories_awards import POINTS

    call, bids = make_opened_call(clock, officer, officer2, organisations=ORGANISATIONS, lots=1)
    lot = call.lots[0]
    rita, rolf, chair = make_reviewer("Rita Gutachterin"), make_reviewer("Rolf Gutachter"), make_reviewer("Vera Vorsitz")
    set_up_panel(lot, officer, [rita, rolf], chair)
    declare_all(lot, rita, conflicts=[CARITAS])  # Rita is biased towards Caritas and does not score it
    declare_all(lot, rolf)
    declare_all(lot, chair)
    decide_all(lot, chair, bids.values())
    score_all(lot, rita, POINTS)  # Rolf has not finished: nobody without conflict has reviewed Caritas
    with pytest.raises(Refused, match="keine abgeschlossene Bewertung einer nicht befangenen Person"):
        services.propose_award(lot, by=officer)
    db.session.rollback()
    assert db.session.scalar(select(AwardDecision.id)) is None

    # The chair resolves the gap: Rolf completes his review, the chair consolidates and closes the lot.
    score_all(lot, rolf, POINTS)
    consolidate_all(lot, chair, bids.values(), POINTS)
    review.close_consolidation(lot, by=chair)
    db.session.commit()
    decision = services.propose_award(lot, by=officer)
    assert [w.organisation.name for w in decision.winners] == [CARITAS]


def test_no_eligible_bid_ends_without_award_with_a_reason(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    failing = {name: "Kein Freistellungsbescheid vorgelegt." for name in ORGANISATIONS}
    call, _bids = reviewed_call(clock, officer, officer2, failing=failing)
    lot = call.lots[0]
    with pytest.raises(Refused) as refused:
        services.propose_award(lot, by=officer)
    assert refused.value.field == "no_award"
    db.session.rollback()
    with pytest.raises(Refused) as refused:
        services.propose_award(lot, by=officer, no_award=True)
    assert refused.value.field == "no_award_reason"
    db.session.rollback()
    decision = services.propose_award(lot, by=officer, no_award=True, no_award_reason="Keine zugelassene Interessenbekundung.")
    db.session.commit()
    services.approve_award(decision, by=officer2)
    db.session.commit()
    assert decision.outcome == DecisionOutcome.NO_AWARD and not decision.deviates and decision.winners == []
    letter = db.session.scalars(select(InformationLetter)).first()
    assert letter.content["bids"][0]["excluded"] and "Freistellungsbescheid" in letter.content["bids"][0]["exclusion_reason"]


def test_publishing_before_the_standstill_ended_is_refused_and_the_clock_finalises(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, _bids = decided_call(clock, officer, officer2)
    award_round = services.current_round(call)
    with pytest.raises(Refused, match="Stillhaltefrist läuft noch"):
        services.publish_award_notice(call, by=officer)
    db.session.rollback()
    clock.set(award_round.standstill_ends_at - timedelta(seconds=1))
    assert services.finalise_due_awards() == []
    assert call.state == CallState.STANDSTILL and services.notice_for(call) is None

    clock.set(award_round.standstill_ends_at)
    assert services.finalise_due_awards() == [call]
    db.session.commit()
    assert call.state == CallState.AWARDED
    notice = services.notice_for(call)
    assert notice is not None and notice.published_at == award_round.standstill_ends_at
    events = {e.action: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.public.is_(True)))}
    assert notice.sha256 in events["award.notice_published"].data_json
    assert "award.standstill_ended" in events
    assert events["call.state_changed"].actor_id is None  # by the clock, not by a person


def test_the_sweep_command_finalises(app, clock, officer, officer2, runner) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import run_cli

    call, _bids = decided_call(clock, officer, officer2)
    clock.set(services.current_round(call).standstill_ends_at + timedelta(minutes=3))
    result = run_cli(app, ["calls", "sweep"])
    assert "1 Vergabe(n) bekannt gemacht" in result.output
    db.session.expire_all()
    assert call.state == CallState.AWARDED


def test_an_open_objection_keeps_the_call_from_becoming_final(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = decided_call(clock, officer, officer2)
    diakonie = bids[DIAKONIE].organisation
    with pytest.raises(Refused) as refused:
        services.lodge_objection(call, organisation=diakonie, text="zu kurz", by=_member(bids, DIAKONIE))
    assert refused.value.field == "text"
    db.session.rollback()
    objection = services.lodge_objection(call, organisation=diakonie, by=_member(bids, DIAKONIE),
                                         text="Unser Konzept zu K3 wurde falsch bewertet: die Außensprechstunden fehlen.")
    db.session.commit()
    end = services.current_round(call).standstill_ends_at
    clock.set(end + timedelta(days=3))
    assert services.finalise_due_awards() == []
    with pytest.raises(Refused, match="unbeantwortete Rügen"):
        services.publish_award_notice(call)
    db.session.rollback()
    # An objection after the end of the standstill is refused.
    with pytest.raises(Refused, match="abgelaufen"):
        services.lodge_objection(call, organisation=bids[AWO].organisation, by=_member(bids, AWO),
                                 text="Wir rügen die Bewertung nachträglich mit ausführlicher Begründung.")
    db.session.rollback()

    services.answer_objection(objection, upheld=False, by=officer,
                              answer="Die Außensprechstunden sind unter K2 bewertet worden, nicht unter K3.")
    db.session.commit()
    answer_letter = db.session.scalar(select(InformationLetter).where(InformationLetter.kind == LetterKind.OBJECTION_ANSWER))
    assert answer_letter.organisation_id == diakonie.id and "K2 bewertet" in answer_letter.content["answer"]
    assert services.finalise_due_awards() == [call]
    assert call.state == CallState.AWARDED


def test_an_upheld_objection_needs_a_revision_with_new_letters_and_a_new_standstill(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = decided_call(clock, officer, officer2)
    first = services.current_round(call)
    objection = services.lodge_objection(call, organisation=bids[DIAKONIE].organisation, by=_member(bids, DIAKONIE),
                                         text="Der Träger auf Rang 1 erfüllt E1 nicht; der Bescheid ist abgelaufen.")
    services.answer_objection(objection, upheld=True, by=officer2,
                              answer="Wir prüfen die Eignung erneut und überarbeiten die Vergabe.")
    db.session.commit()
    assert objection.state == ObjectionState.UPHELD
    clock.set(first.standstill_ends_at + timedelta(hours=1))
    assert services.finalise_due_awards() == []
    lot = call.lots[0]
    clock.set(first.standstill_ends_at - timedelta(days=1))
    with pytest.raises(Refused) as refused:
        services.propose_award(lot, by=officer2, winner_bid_ids=[bids[DIAKONIE].id], deviation_reason="Rüge berechtigt.")
    assert refused.value.field == "revision_reason"
    db.session.rollback()
    revision = services.propose_award(lot, by=officer2, winner_bid_ids=[bids[DIAKONIE].id],
                                      deviation_reason="Der Freistellungsbescheid von Caritas ist abgelaufen.",
                                      revision_reason="Abhilfe auf die Rüge der Diakonie.")
    db.session.commit()
    services.approve_award(revision, by=officer)
    db.session.commit()
    second = services.current_round(call)
    assert second.number == 2 and second.reason == "Abhilfe auf die Rüge der Diakonie."
    assert second.standstill_ends_at > first.standstill_ends_at and first.superseded_at is not None
    assert db.session.get(AwardDecision, revision.revises_id).state == DecisionState.SUPERSEDED
    new_letters = db.session.scalars(select(InformationLetter).where(InformationLetter.round_id == second.id)).all()
    assert len(new_letters) == 3 and all(letter.content["revision_reason"] for letter in new_letters)
    clock.set(second.standstill_ends_at)
    assert services.finalise_due_awards() == [call]
    assert services.notice_for(call).data["lots"][0]["winners"][0]["organisation"] == DIAKONIE


def test_notice_lists_what_is_public_and_its_numbers_recompute(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, _bids = reviewed_call(clock, officer, officer2)
    services.set_policy(call, several_winners=False, publish_other_bids=True, by=officer)
    decide(call, officer, officer2)
    clock.set(services.current_round(call).standstill_ends_at)
    services.finalise_due_awards()
    db.session.commit()
    data = db.session.scalar(select(AwardNotice)).data
    lot = data["lots"][0]
    assert lot["bids_received"] == 3 and lot["bids_excluded"] == 0 and lot["deviates"] is False
    assert [c["code"] for c in lot["criteria"]] == ["K1", "K2", "K3", "K4", "K5"]
    winner = lot["winners"][0]
    assert winner["organisation"] == CARITAS and all(s["reason"] for s in winner["scores"])
    assert recompute_total(winner["scores"], data["formula"]["scale_max"]) == Decimal(winner["total"]) == Decimal("81")
    others = lot["other_bids"]
    assert [o["label"] for o in others] == ["B", "C"]
    assert [recompute_total(o["scores"], 5) for o in others] == [Decimal("69"), Decimal("60")]
    text = str(data)
    assert DIAKONIE not in text and AWO not in text and "reason" not in str(others)


def test_cancellation_sends_letters_to_the_bidders(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = decided_call(clock, officer, officer2)
    cancel_call(call, reason="Die Landesförderung wurde gestrichen.", by=officer)
    db.session.commit()
    letters = db.session.scalars(select(InformationLetter).where(InformationLetter.kind == LetterKind.CANCELLATION)).all()
    assert sorted(letter.organisation.name for letter in letters) == sorted(ORGANISATIONS)
    assert all(letter.content["reason"] == "Die Landesförderung wurde gestrichen." for letter in letters)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "award.cancellation_letters_sent"))
    assert event.public
    assert services.finalise_due_awards() == []


def test_several_winners_when_the_call_says_so(app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = reviewed_call(clock, officer, officer2)
    lot = call.lots[0]
    lot.positions = Decimal("2.00")
    db.session.commit()
    assert [w.organisation.name for w in services.propose_award(lot, by=officer).winners] == [CARITAS]
    db.session.rollback()
    services.set_policy(call, several_winners=True, publish_other_bids=False, by=officer)
    decision = services.propose_award(lot, by=officer)
    assert [w.organisation.name for w in decision.winners] == [CARITAS, DIAKONIE]
    db.session.commit()
    with pytest.raises(Refused) as refused:
        services.set_policy(call, several_winners=False, publish_other_bids=False, by=officer)
    assert refused.value.field == "several_winners"
