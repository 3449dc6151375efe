"""Wiring between calls, consultation and the audit log: the consultation that shaped a
call, the public audit trail on both pages, and checkpoints after public steps."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from portal.audit.checkpoint import verify_checkpoint
from portal.audit.models import AuditCheckpoint, AuditEvent
from portal.audit.transparency import latest_checkpoint, signing_identity
from portal.calls.amendments import amend_call
from portal.calls.models import Call, CallState
from portal.calls.questions import publish_answer
from portal.calls.services import cancel_call, create_call
from portal.consultation import services as consultation_services
from portal.consultation.models import ConsultationState
from portal.core.errors import Refused
from portal.extensions import db
from tests.calls.test_views import call_form
from tests.conftest import login
from tests.factories_calls import make_call, make_question
from tests.factories_consultation import make_comment, make_consultation, make_response


def event(action: str, subject: Any) -> AuditEvent:
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject_id == str(subject.id))
        .order_by(AuditEvent.seq.desc())
    ).first()


def checkpoints() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint)) or 0


def test_officer_names_the_consultation_on_the_draft_form(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer)
    login(client, officer)
    form = client.get("/verwaltung/aufrufe/neu").get_data(as_text=True)
    assert 'name="consultation_id"' in form and consultation.title in form
    response = client.post("/verwaltung/aufrufe/neu", data=call_form(consultation_id=str(consultation.id)))
    assert response.status_code == 303
    call = db.session.scalar(sa.select(Call).where(Call.reference == "KIM-2026-01"))
    assert call.consultation_id == consultation.id
    edit = client.get(f"/verwaltung/aufrufe/{call.id}/bearbeiten").get_data(as_text=True)
    assert f'<option selected value="{consultation.id}">' in edit or f'value="{consultation.id}" selected' in edit
    response = client.post(f"/verwaltung/aufrufe/{call.id}/bearbeiten", data=call_form(consultation_id=""))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Call, call.id).consultation_id is None


def test_a_consultation_that_does_not_exist_is_refused(officer, clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as refused:
        create_call(by=officer, reference="X-1", title="X", consultation_id=999_999)
    assert refused.value.field == "consultation_id"
    assert "Diese Beteiligung gibt es nicht" in str(refused.value.message)


def test_draft_call_is_never_shown_on_the_consultation_page(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer)
    draft = make_call(consultation_id=consultation.id, title="Geheimer Entwurf")
    assert consultation_services.calls_shaped_by(consultation) == []
    for who in (None, officer):
        if who is not None:
            login(client, who)
        page = client.get(f"/beteiligung/{consultation.id}").get_data(as_text=True)
        assert draft.title not in page and draft.reference not in page
        assert "Aufrufe, die auf dieser Beteiligung beruhen" not in page


def test_published_call_and_consultation_link_each_other(app, client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer)
    call = make_call(consultation_id=consultation.id)
    login(client, officer)
    assert client.post(f"/verwaltung/aufrufe/{call.id}/veroeffentlichen").status_code == 303
    client = app.test_client()  # the public, without an account
    call_page = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    assert "Vorausgegangene Beteiligung" in call_page
    assert f'href="/beteiligung/{consultation.id}"' in call_page and consultation.title in call_page
    consultation_page = client.get(f"/beteiligung/{consultation.id}").get_data(as_text=True)
    assert "Aufrufe, die auf dieser Beteiligung beruhen" in consultation_page
    assert f'href="/aufrufe/{call.reference}"' in consultation_page


def test_a_draft_consultation_is_not_linked_from_the_public_call_page(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer, state=ConsultationState.DRAFT)
    call = make_call(published=True, consultation_id=consultation.id)
    page = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    assert "Vorausgegangene Beteiligung" not in page and consultation.title not in page


def test_publishing_through_the_view_signs_a_checkpoint_covering_the_publication(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call()
    before = checkpoints()
    login(client, officer)
    assert client.post(f"/verwaltung/aufrufe/{call.id}/veroeffentlichen").status_code == 303
    published = event("call.published", call)
    assert published is not None and published.public
    assert checkpoints() == before + 1
    checkpoint = latest_checkpoint()
    assert checkpoint is not None and checkpoint.size >= published.seq
    identity = signing_identity()
    verified = verify_checkpoint(checkpoint.text, identity.key_name, identity.public_key, identity.origin)
    assert verified.size == checkpoint.size

    page = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    assert "Öffentlicher Verlauf" in page and "Aufruf veröffentlicht" in page
    assert f"Protokolleintrag Nr. {published.seq}" in page
    assert f"/transparency/proof/inclusion?seq={published.seq}&amp;size={checkpoint.size}" in page
    assert f"Der letzte Schritt ist vom Prüfpunkt über {checkpoint.size} Einträge erfasst." in page
    assert f'href="/transparenz/verlauf/call/{call.id}"' in page
    proof = client.get(f"/transparency/proof/inclusion?seq={published.seq}&size={checkpoint.size}")
    assert proof.status_code == 200

    trail_page = client.get(f"/transparenz/verlauf/call/{call.id}").get_data(as_text=True)
    assert "Aufruf veröffentlicht" in trail_page and f'href="/aufrufe/{call.reference}"' in trail_page


def test_amendment_answer_and_cancellation_each_issue_a_checkpoint(client, officer, bidder, organisation, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(published=True)
    question = make_question(call, organisation, bidder)
    steps = [
        lambda: publish_answer(question, answer="So.", by=officer),
        lambda: amend_call(call, changes={"call.contact": "Neu"}, reason="Neue Telefonnummer.", by=officer),
        lambda: cancel_call(call, by=officer, reason="Bedarf entfallen."),
    ]
    for step in steps:
        before = checkpoints()
        step()
        db.session.commit()
        assert checkpoints() == before + 1
        last = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.public.is_(True)).order_by(AuditEvent.seq.desc())).first()
        assert latest_checkpoint().size >= last.seq

    page = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    for label in ("Frage mit Antwort veröffentlicht", "Änderungsbekanntmachung veröffentlicht", "Aufruf aufgehoben"):
        assert label in page
    trail_page = client.get(f"/transparenz/verlauf/call/{call.id}").get_data(as_text=True)
    assert "Frage mit Antwort veröffentlicht" in trail_page
    # The asker is never named in the public trail
    assert organisation.name not in page.split('id="verlauf"')[1]


def test_draft_steps_issue_no_checkpoint_and_leave_no_public_trail(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    before = checkpoints()
    call = create_call(by=officer, reference="ENTWURF-1", title="Entwurf")
    db.session.commit()
    assert checkpoints() == before
    assert client.get(f"/transparenz/verlauf/call/{call.id}").status_code == 404


def test_consultation_steps_issue_checkpoints_and_show_the_trail(client, officer, organisation, bidder, clock) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer, state=ConsultationState.DRAFT)
    before = checkpoints()
    consultation_services.open_consultation(consultation, by=officer)
    db.session.commit()
    assert checkpoints() == before + 1
    comment = make_comment(consultation, bidder, organisation=organisation)
    posted = event("consultation_comment.posted", comment)
    assert posted is not None and not posted.public  # a commenter is not an official in office
    make_response(comment, officer)
    clock.set(consultation.closes_at)
    consultation_services.close_consultation(consultation, by=officer)
    db.session.commit()
    before = checkpoints()
    consultation_services.publish_evaluation(consultation, by=officer)
    db.session.commit()
    assert checkpoints() == before + 1
    consultation_services.publish_report(consultation, by=officer)
    db.session.commit()
    assert checkpoints() == before + 2
    report = event("consultation.report_published", consultation)
    assert latest_checkpoint().size >= report.seq

    page = client.get(f"/beteiligung/{consultation.id}").get_data(as_text=True)
    for label in ("Beteiligung eröffnet", "Abwägung veröffentlicht", "Beteiligungsbericht veröffentlicht"):
        assert label in page
    assert f"Protokolleintrag Nr. {report.seq}" in page
    assert f'href="/transparenz/verlauf/consultation/{consultation.id}"' in page
    trail_page = client.get(f"/transparenz/verlauf/consultation/{consultation.id}").get_data(as_text=True)
    assert f'href="/beteiligung/{consultation.id}"' in trail_page


def test_draft_consultation_document_is_internal_until_opening_publishes_its_hash(officer, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.pdf_samples import valid_pdf

    consultation = make_consultation(officer, state=ConsultationState.DRAFT)
    document = consultation_services.add_document(consultation, by=officer, filename="Konzept.pdf", data=valid_pdf())
    db.session.commit()
    assert not event("consultation.document_added", consultation).public
    consultation_services.open_consultation(consultation, by=officer)
    db.session.commit()
    opened = event("consultation.opened", consultation)
    assert opened.public and document.sha256 in opened.data_json
