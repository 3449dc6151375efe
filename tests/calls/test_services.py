"""Calls services: validation, publication, the state machine, documents, amendments, questions."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.calls import bidding
from portal.calls.amendments import amend_call
from portal.calls.models import TRANSITIONS, CallState, CriterionKind, QuestionState
from portal.calls.notifications import follow_call, send_deadline_reminders
from portal.calls.questions import ask_question, merge_question, publish_answer
from portal.calls.services import (
    add_criterion,
    add_document,
    cancel_call,
    close_due_calls,
    create_call,
    publication_checklist,
    publish_call,
    replace_document,
    set_call_state,
)
from portal.calls.state import call_is_open_for_submission, effective_state
from portal.core.errors import NotPermitted, Refused
from portal.core.time import now
from portal.extensions import db
from tests.factories import add_member, make_organisation, make_user
from tests.factories_calls import make_call, make_criteria, make_question
from tests.pdf_samples import exe_bytes, valid_pdf


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def problems(call: Any) -> str:
    return " ".join(str(item.detail) for item in publication_checklist(call) if not item.ok)


def test_publish_a_complete_draft_freezes_it_and_records_a_public_event(draft_call, officer) -> None:  # type: ignore[no-untyped-def]
    assert problems(draft_call) == ""
    publish_call(draft_call, by=officer)
    assert draft_call.state == CallState.PUBLISHED and draft_call.published_at == now()
    (event,) = events("call.published")
    assert event.public and event.actor_id == officer.id


@pytest.mark.parametrize(
    "weights, message",
    [((("K1", 30), ("K2", 25)), "ergeben 55 % statt genau 100 %"), ((("K1", 60), ("K2", 30)), "ergeben 90 % statt")],
)
def test_publication_refused_when_weights_do_not_sum_to_100(app, clock, officer, weights, message) -> None:  # type: ignore[no-untyped-def]
    call = make_call(criteria=False)
    make_criteria(call, weights=weights)
    with pytest.raises(Refused, match=message):
        publish_call(call, by=officer)
    assert call.state == CallState.DRAFT


def test_publication_checklist_names_every_gap(app, clock, officer) -> None:  # type: ignore[no-untyped-def]
    call = make_call(lots=0, criteria=False, question_deadline=now() + timedelta(days=20),
                     submission_deadline=now() + timedelta(days=24), tie_break=["K9"], scale_labels={"0": "nichts"})
    text = problems(call)
    assert "noch kein Los" in text
    assert "keine Bewertungskriterien" in text
    assert "mindestens 6 Tage vor" in text
    assert "mit dem Los" in text and "unbekannte Kriterien: K9" in text
    assert "fehlt eine Beschreibung für die Punkte 1, 2, 3, 4, 5" in text


def test_deadlines_in_the_past_or_out_of_order_are_refused(app, clock, officer) -> None:  # type: ignore[no-untyped-def]
    base: dict[str, Any] = dict(reference="X-1", title="Titel")
    with pytest.raises(Refused, match="in der Zukunft") as exc:
        create_call(by=officer, **base, submission_deadline=now() - timedelta(hours=1))
    assert exc.value.field == "submission_deadline"
    with pytest.raises(Refused, match="mindestens 6 Tage") as exc:
        create_call(by=officer, **base, question_deadline=now() + timedelta(days=10), submission_deadline=now() + timedelta(days=12))
    assert exc.value.field == "question_deadline"
    with pytest.raises(Refused, match="zwei Punkte"):
        create_call(by=officer, **base, scale_min=3, scale_max=3)


def test_reference_is_unique_case_insensitively(draft_call, officer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused, match="bereits vergeben") as exc:
        create_call(by=officer, reference=draft_call.reference.lower(), title="Noch einer")
    assert exc.value.field == "reference"


def test_criteria_refuse_duplicate_codes_and_weights_over_100(app, clock, officer) -> None:  # type: ignore[no-untyped-def]
    call = make_call(criteria=False)
    add_criterion(call, by=officer, kind=CriterionKind.SCORED, code="K1", title="A", weight=Decimal("70"), lot_id=None)
    with pytest.raises(Refused, match="schon verwendet"):
        add_criterion(call, by=officer, kind=CriterionKind.SCORED, code="k1", title="B", weight=Decimal("10"), lot_id=None)
    with pytest.raises(Refused, match=r"Summe 110 %.*noch verfügbar: 30 %") as exc:
        add_criterion(call, by=officer, kind=CriterionKind.SCORED, code="K2", title="B", weight=Decimal("40"), lot_id=None)
    assert exc.value.field == "weight"
    with pytest.raises(Refused, match="größer als 0"):
        add_criterion(call, by=officer, kind=CriterionKind.SCORED, code="K3", title="C", weight=Decimal("0"), lot_id=None)


def test_a_lot_with_its_own_criteria_uses_them(app, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(lots=2)
    special = make_criteria(call, lot=call.lots[1], weights=(("S1", 100),), eligibility=0)
    assert [c.code for c in call.criteria_for(call.lots[0], CriterionKind.SCORED)] == ["K1", "K2", "K3", "K4", "K5"]
    assert call.criteria_for(call.lots[1]) == special
    assert problems(call) == ""


@pytest.mark.parametrize("state", list(CallState))
def test_state_changes_follow_the_transitions_table(app, clock, officer, state) -> None:  # type: ignore[no-untyped-def]
    for target in CallState:
        call = make_call(state=state, published_at=now(), cancel_reason="x" if state == CallState.CANCELLED else None,
                         cancelled_at=now() if state == CallState.CANCELLED else None)
        if target in TRANSITIONS[state]:
            set_call_state(call, target, by=officer, reason="Grund")
            assert call.state == target
        else:
            with pytest.raises(Refused, match="kann nicht in den Zustand"):
                set_call_state(call, target, by=officer, reason="Grund")
        db.session.rollback()


def test_submission_closes_by_the_clock_and_the_sweep_records_it(open_call, clock) -> None:  # type: ignore[no-untyped-def]
    deadline = open_call.submission_deadline
    assert call_is_open_for_submission(open_call, deadline - timedelta(seconds=1))
    assert not call_is_open_for_submission(open_call, deadline)
    clock.set(deadline)
    assert effective_state(open_call) == CallState.SUBMISSION_CLOSED
    assert open_call.state == CallState.PUBLISHED  # nothing ran yet, still closed
    assert close_due_calls() == [open_call]
    assert open_call.state == CallState.SUBMISSION_CLOSED
    (event,) = events("call.submission_closed")
    assert event.public and event.actor_id is None
    assert close_due_calls() == []


def test_cancellation_needs_a_reason_and_notifies_followers(open_call, officer, bidder, smtp_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused, match="Grund"):
        cancel_call(open_call, reason="  ", by=officer)
    follow_call(open_call, by=bidder)
    cancel_call(open_call, reason="Bedarf entfallen.", by=officer)
    db.session.commit()
    from portal.mail.services import deliver_pending

    deliver_pending()
    (mail,) = smtp_server.to(bidder.email)
    assert "aufgehoben" in mail["Subject"]
    assert "Bedarf entfallen." in smtp_server.text(mail)
    assert events("call.cancelled")[0].public


def test_documents_are_checked_hashed_and_replacements_keep_the_old_version(open_call, officer, app) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    data = valid_pdf()
    doc = add_document(open_call, title="Konzept", filename="C:\\Users\\x\\Konzept.pdf", data=data, by=officer)
    assert doc.sha256 == hashlib.sha256(data).hexdigest() and doc.size == len(data) and doc.filename == "Konzept.pdf"
    with pytest.raises(Refused, match="keine PDF-Datei") as exc:
        add_document(open_call, title="Programm", filename="x.pdf", data=exe_bytes(), by=officer)
    assert exc.value.field == "file"
    app.config["CALL_DOCUMENT_MAX_BYTES"] = 1000
    with pytest.raises(Refused, match="größer als"):
        add_document(open_call, title="Groß", filename="gross.pdf", data=valid_pdf(pages=5), by=officer)
    app.config.pop("CALL_DOCUMENT_MAX_BYTES")
    new = replace_document(doc, filename="Konzept-v2.pdf", data=valid_pdf(text="Neue Fassung"), by=officer)
    assert doc.superseded_by_id == new.id and doc.superseded_at is not None
    assert open_call.current_documents == [new]
    replaced = events("call.document_replaced")[0]
    assert replaced.public and doc.sha256 in replaced.data_json


class SubmittedBids:
    """The bids package's side of `portal.calls.bidding`, for calls with bids."""

    def __init__(self, holders: list[Any]) -> None:
        self.holders = holders

    def has_submitted_bids(self, call: Any) -> bool:
        return True

    def bid_holders(self, call: Any) -> list[Any]:
        return self.holders

    def draft_holders(self, call: Any) -> list[Any]:
        return self.holders


def test_amendment_records_before_and_after_and_notifies_followers(open_call, officer, bidder, smtp_server) -> None:  # type: ignore[no-untyped-def]
    follow_call(open_call, by=bidder)
    old_deadline = open_call.submission_deadline
    amendment = amend_call(open_call, reason="Mehr Zeit.", by=officer, changes={
        "call.submission_deadline": old_deadline + timedelta(days=7),
        "lot.1.positions": Decimal("2.5"),
        "call.title": open_call.title,  # unchanged: not listed
    })
    db.session.commit()
    assert amendment.number == 1
    assert [(c["field"], c["before"], c["after"]) for c in amendment.changes] == [
        ("call.submission_deadline", old_deadline.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
         (old_deadline + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
        ("lot.1.positions", "1.00", "2.5"),
    ]
    assert open_call.lots[0].positions == Decimal("2.5")
    (event,) = events("call.amended")
    assert event.public and "Mehr Zeit." in event.data_json
    from portal.mail.services import deliver_pending

    deliver_pending()
    (mail,) = smtp_server.to(bidder.email)
    assert "Änderung am Aufruf" in mail["Subject"] and "Mehr Zeit." in smtp_server.text(mail)


@pytest.mark.parametrize(
    "changes, reason, message",
    [
        ({"call.title": "Neu"}, " ", "begründen"),
        ({}, "Grund", "keine Änderung"),
        ({"criterion.{k1}.weight": Decimal("40")}, "Grund", "ergäben zusammen 110 %"),
        ({"call.submission_deadline": "PAST"}, "Grund", "in der Zukunft"),
        ({"call.question_deadline": "LATE"}, "Grund", "mindestens 6 Tage"),
        ({"call.state": "awarded"}, "Grund", "können nicht geändert werden"),
    ],
)
def test_bad_amendments_are_refused(open_call, officer, changes, reason, message) -> None:  # type: ignore[no-untyped-def]
    k1 = next(c for c in open_call.criteria if c.code == "K1")
    resolved = {}
    for path, value in changes.items():
        if value == "PAST":
            value = now() - timedelta(days=1)
        if value == "LATE":
            value = open_call.submission_deadline - timedelta(days=2)
        resolved[path.format(k1=k1.id)] = value
    with pytest.raises(Refused, match=message):
        amend_call(open_call, changes=resolved, reason=reason, by=officer)


def test_with_bids_criteria_are_frozen_and_the_deadline_must_be_extended(open_call, officer, bidder, smtp_server) -> None:  # type: ignore[no-untyped-def]
    provider = SubmittedBids([bidder])
    bidding.register_bid_info(provider)
    try:
        k1 = next(c for c in open_call.criteria if c.code == "K1")
        with pytest.raises(Refused, match="bereits Interessenbekundungen eingereicht"):
            amend_call(open_call, changes={f"criterion.{k1.id}.title": "Neu"}, reason="Grund", by=officer)
        with pytest.raises(Refused, match="Frist muss verlängert werden") as exc:
            amend_call(open_call, changes={"call.contact": "Neu"}, reason="Grund", by=officer)
        assert exc.value.field == "call.submission_deadline"
        amend_call(open_call, reason="Neuer Kontakt.", by=officer, changes={
            "call.contact": "Neu", "call.submission_deadline": open_call.submission_deadline + timedelta(days=7)})
        db.session.commit()
        from portal.mail.services import deliver_pending

        deliver_pending()
        (mail,) = smtp_server.to(bidder.email)
        assert "bestätigen oder überarbeiten" in mail["Subject"]
    finally:
        bidding.unregister_bid_info(provider)


def test_questions_until_the_deadline_answers_numbered_and_anonymous(open_call, officer, bidder, organisation, clock, smtp_server) -> None:  # type: ignore[no-untyped-def]
    follower = make_user(name="Fritz Folgt")
    follow_call(open_call, by=follower)
    question = ask_question(open_call, organisation=organisation, text="Wie viele Stellen?", by=bidder)
    asked = events("question.asked")[0]
    assert not asked.public
    published = publish_answer(question, answer="Sechs.", public_text="Wie viele Stellen gibt es?", by=officer)
    assert published.number == 1 and published.state == QuestionState.PUBLISHED
    assert published.original_text == "Wie viele Stellen?"
    answered = events("question.answered")[0]
    assert answered.public and organisation.name not in answered.data_json and "organisation" not in answered.data_json
    db.session.commit()
    from portal.mail.services import deliver_pending

    deliver_pending()
    (mail,) = smtp_server.to(follower.email)
    assert "Sechs." in smtp_server.text(mail) and organisation.name not in smtp_server.text(mail)
    clock.set(open_call.question_deadline)
    with pytest.raises(Refused, match=r"Frist für Fragen ist am .* abgelaufen"):
        ask_question(open_call, organisation=organisation, text="Noch eine?", by=bidder)


def test_only_members_of_verified_organisations_ask(open_call, bidder) -> None:  # type: ignore[no-untyped-def]
    from portal.accounts.models import OrganisationStatus

    pending = make_organisation(status=OrganisationStatus.PENDING)
    add_member(pending, bidder)
    with pytest.raises(NotPermitted):
        ask_question(open_call, organisation=pending, text="Frage?", by=bidder)


def test_duplicates_are_merged(open_call, officer, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    first = make_question(open_call, organisation, bidder)
    second = make_question(open_call, organisation, bidder, text="Dieselbe Frage")
    merge_question(second, into=first, by=officer)
    assert second.state == QuestionState.MERGED and second.duplicate_of_id == first.id
    with pytest.raises(Refused):
        merge_question(first, into=first, by=officer)
    with pytest.raises(Refused, match="bereits beantwortet oder zusammengeführt"):
        publish_answer(second, answer="x", by=officer)


def test_deadline_reminders_48_and_24_hours_before_each_once(open_call, bidder, clock, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from portal.mail.services import deliver_pending

    follow_call(open_call, by=bidder)
    deadline = open_call.submission_deadline
    clock.set(deadline - timedelta(hours=72))
    assert send_deadline_reminders() == 0
    clock.set(deadline - timedelta(hours=47))
    assert send_deadline_reminders() == 1
    assert send_deadline_reminders() == 0
    clock.set(deadline - timedelta(hours=23))
    assert send_deadline_reminders() == 1
    clock.set(deadline - timedelta(hours=1))
    assert send_deadline_reminders() == 0
    db.session.commit()
    deliver_pending()
    subjects = [m["Subject"] for m in smtp_server.to(bidder.email)]
    assert subjects == [f"Erinnerung: Frist für {open_call.reference} endet in 48 Stunden",
                        f"Erinnerung: Frist für {open_call.reference} endet in 24 Stunden"]
