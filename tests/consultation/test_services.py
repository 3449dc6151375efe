"""The consultation services: the rules of commenting, moderation, evaluation and versions."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.services import verify_chain
from portal.consultation import services
from portal.consultation.models import AuthorKind, ConsultationState, HideReason, ResponseState
from portal.core.errors import NotPermitted, Refused
from portal.extensions import db
from tests.factories import make_organisation
from tests.factories_consultation import make_comment, make_consultation, make_response
from tests.pdf_samples import pdf_with_javascript, valid_pdf


pytestmark = pytest.mark.usefixtures("request_context")


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_comment_on_behalf_of_own_organisation_is_public_as_the_organisation(consultation, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, section="2.1", organisation=organisation)
    assert comment.author_kind == AuthorKind.ORGANISATION
    assert comment.public_author == organisation.name
    assert comment.section_number == "2.1"
    assert "consultation_comment.posted" in _actions()


def test_council_member_comments_for_a_council_group(consultation, council_member) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, council_member, section=None, council_group="Fraktion Die Grünen")
    assert comment.author_kind == AuthorKind.COUNCIL_GROUP
    assert comment.public_author == "Fraktion Die Grünen"
    assert comment.section is None


def test_person_is_private_unless_consenting(officer, clock, citizen) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer, allow_public=True)
    anonymous = make_comment(consultation, citizen)
    named = make_comment(consultation, citizen, show_name=True)
    assert anonymous.public_author == "Privatperson"
    assert named.public_author == "Petra Privat"


@pytest.mark.parametrize("opens_in, closes_in", [(timedelta(hours=1), timedelta(days=2)), (timedelta(days=-9), timedelta(seconds=-1))])
def test_commenting_before_or_after_the_period_is_refused(officer, clock, bidder, organisation, opens_in, closes_in) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer, opens_in=opens_in, closes_in=closes_in)
    with pytest.raises(Refused) as info:
        services.post_comment(consultation, by=bidder, body="Zu spät oder zu früh", organisation=organisation)
    assert "Frist" in str(info.value.message) or "erst ab" in str(info.value.message)


def test_commenting_at_the_exact_end_is_refused(consultation, clock, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    clock.set(consultation.closes_at)
    with pytest.raises(Refused, match="abgelaufen"):
        services.post_comment(consultation, by=bidder, body="Genau um 23:59", organisation=organisation)


def test_commenting_for_an_organisation_one_is_not_a_member_of_is_refused(consultation, bidder) -> None:  # type: ignore[no-untyped-def]
    other = make_organisation(name="Fremder Träger e. V.")
    with pytest.raises(Refused) as info:
        services.post_comment(consultation, by=bidder, body="Im fremden Namen", organisation=other)
    assert info.value.field == "author"
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "consultation_comment.posted")).first() is None


def test_non_observer_cannot_speak_for_a_council_group(consultation, bidder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused):
        services.post_comment(consultation, by=bidder, body="x", council_group="Fraktion X")


def test_person_cannot_comment_where_only_organisations_may(consultation, citizen) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused):
        services.post_comment(consultation, by=citizen, body="Ich bin privat")


@pytest.mark.parametrize("body", ["", "   \n  ", "x" * 5001])
def test_empty_or_overlong_comments_are_refused(consultation, bidder, organisation, body) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as info:
        services.post_comment(consultation, by=bidder, body=body, organisation=organisation)
    assert info.value.field == "body"


def test_edit_within_15_minutes_only(consultation, clock, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation)
    clock.advance(minutes=14, seconds=59)
    services.edit_comment(comment, by=bidder, body="Geändert")
    assert comment.body == "Geändert" and comment.edited_at is not None
    clock.advance(seconds=1)
    with pytest.raises(Refused, match="15 Minuten"):
        services.edit_comment(comment, by=bidder, body="Zu spät geändert")
    assert comment.body == "Geändert"


def test_editing_someone_elses_comment_is_refused(consultation, bidder, bidder2, organisation) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation)
    with pytest.raises(NotPermitted):
        services.edit_comment(comment, by=bidder2, body="Fremd geändert")
    with pytest.raises(NotPermitted):
        services.withdraw_comment(comment, by=bidder2)


def test_withdraw_until_period_end_keeps_the_comment(consultation, clock, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation)
    clock.advance(days=6)
    services.withdraw_comment(comment, by=bidder)
    assert comment.is_withdrawn and comment.body == "Bitte ergänzen."
    other = make_comment(consultation, bidder, organisation=organisation)
    clock.set(consultation.closes_at)
    with pytest.raises(Refused, match="zurückgezogen"):
        services.withdraw_comment(other, by=bidder)


def test_replies_are_one_level_deep(consultation, bidder, bidder2, organisation, organisation2) -> None:  # type: ignore[no-untyped-def]
    top = make_comment(consultation, bidder, organisation=organisation)
    reply = make_comment(consultation, bidder2, section=None, parent=top, organisation=organisation2)
    assert reply.section_number == top.section_number
    with pytest.raises(Refused, match="nicht auf Antworten"):
        services.post_comment(consultation, by=bidder, body="Tiefer", parent=reply, organisation=organisation)


def test_pdf_attachment_is_checked_and_stored_with_its_hash(consultation, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    data = valid_pdf()
    comment = make_comment(consultation, bidder, organisation=organisation, attachment=("../../stellung.pdf", data))
    assert comment.attachment_name == "stellung.pdf" and comment.attachment_data == data
    import hashlib

    assert comment.attachment_sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(Refused) as info:
        services.post_comment(consultation, by=bidder, body="x", organisation=organisation, attachment=("a.pdf", pdf_with_javascript()))
    assert info.value.field == "attachment" and "JavaScript" in str(info.value.message)


def test_hiding_needs_a_listed_reason_and_an_explanation(consultation, officer, bidder, organisation, smtp_server) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation)
    for reason, note, field in [(None, "Erklärung", "reason"), ("erfunden", "Erklärung", "reason"), (HideReason.INSULT, "  ", "note")]:
        with pytest.raises(Refused) as info:
            services.hide_comment(comment, by=officer, reason=reason, note=note)
        assert info.value.field == field
    assert not comment.is_hidden
    with pytest.raises(NotPermitted):
        services.hide_comment(comment, by=bidder, reason=HideReason.INSULT, note="x")
    services.hide_comment(comment, by=officer, reason=HideReason.INSULT, note="Beleidigt eine Person.")
    assert comment.is_hidden and comment.body == "Bitte ergänzen."
    assert "consultation_comment.hidden" in _actions()


def test_a_hidden_comment_is_shown_again_with_a_published_reason(consultation, officer, bidder, organisation, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from portal.mail.models import OutgoingMail

    comment = make_comment(consultation, bidder, organisation=organisation)
    with pytest.raises(Refused, match="nicht ausgeblendet"):
        services.unhide_comment(comment, by=officer, reason="Versehentlich ausgeblendet.")
    services.hide_comment(comment, by=officer, reason=HideReason.PERSONAL_DATA, note="Nennt eine Nachbarin mit Namen.")
    db.session.commit()
    for reason in ("", "   ", "x" * 2001):
        with pytest.raises(Refused) as info:
            services.unhide_comment(comment, by=officer, reason=reason)
        assert info.value.field == "reason"
    with pytest.raises(NotPermitted):
        services.unhide_comment(comment, by=bidder, reason="Ich will sie wieder sehen.")
    assert comment.is_hidden
    # The change and its audit event are one transaction: rolled back together.
    services.unhide_comment(comment, by=officer, reason="Der Name war der einer Einrichtung, nicht einer Person.")
    db.session.rollback()
    assert comment.is_hidden and "consultation_comment.unhidden" not in _actions()

    services.unhide_comment(comment, by=officer, reason="Der Name war der einer Einrichtung, nicht einer Person.")
    db.session.commit()
    assert comment.is_visible and comment.hide_reason is None and comment.hide_note is None
    assert comment.body == "Bitte ergänzen."
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "consultation_comment.unhidden"))
    assert event.public and event.subject_id == str(comment.id)
    assert "Einrichtung, nicht einer Person" in event.data_json and "Nennt eine Nachbarin" in event.data_json
    assert verify_chain().ok
    mail = db.session.scalar(select(OutgoingMail).where(OutgoingMail.template == "consultation_comment_unhidden"))
    assert mail.to_address == bidder.email and "Einrichtung, nicht einer Person" in mail.body_text
    # Visible again, it is owed a response; and it can be hidden again.
    services.hide_comment(comment, by=officer, reason=HideReason.OFF_TOPIC, note="Betrifft ein anderes Verfahren.")
    assert comment.is_hidden


def test_a_withdrawn_or_evaluated_comment_is_not_shown_again(consultation, officer, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    withdrawn = make_comment(consultation, bidder, organisation=organisation)
    services.hide_comment(withdrawn, by=officer, reason=HideReason.INSULT, note="Beleidigt eine Person.")
    services.withdraw_comment(withdrawn, by=bidder)
    with pytest.raises(Refused, match="zurückgezogen"):
        services.unhide_comment(withdrawn, by=officer, reason="Versehentlich ausgeblendet.")
    late = make_comment(consultation, bidder, organisation=organisation)
    services.hide_comment(late, by=officer, reason=HideReason.INSULT, note="Beleidigt eine Person.")
    consultation.state = ConsultationState.EVALUATED  # as the factory sets a state
    with pytest.raises(Refused, match="Veröffentlichung der Abwägung"):
        services.unhide_comment(late, by=officer, reason="Versehentlich ausgeblendet.")


def test_evaluation_cannot_be_published_with_a_comment_unanswered(consultation, clock, officer, bidder, bidder2, organisation, organisation2) -> None:  # type: ignore[no-untyped-def]
    first = make_comment(consultation, bidder, organisation=organisation)
    second = make_comment(consultation, bidder2, section="3", organisation=organisation2)
    withdrawn = make_comment(consultation, bidder, organisation=organisation)
    services.withdraw_comment(withdrawn, by=bidder)
    clock.set(consultation.closes_at)
    services.close_consultation(consultation, by=officer)
    services.save_response(first, by=officer, state=ResponseState.ADOPTED, reason="Übernommen.")
    with pytest.raises(Refused, match="jede Stellungnahme eine Antwort"):
        services.publish_evaluation(consultation, by=officer)
    assert consultation.state == ConsultationState.CLOSED
    assert first.response.published_at is None
    services.save_response(second, by=officer, state="noted", reason="Zur Kenntnis.")
    services.publish_evaluation(consultation, by=officer)
    assert consultation.state == ConsultationState.EVALUATED
    assert first.response.published_at == second.response.published_at is not None


def test_state_machine_refuses_skipping_and_early_closing(consultation, officer, bidder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused, match="läuft noch"):
        services.close_consultation(consultation, by=officer)
    with pytest.raises(Refused):
        services.set_consultation_state(consultation, ConsultationState.REPORT_PUBLISHED, by=officer)
    with pytest.raises(NotPermitted):
        services.set_consultation_state(consultation, ConsultationState.CLOSED, by=bidder)


def test_full_cycle_with_version_report_and_audit(officer, clock, bidder, organisation, council_member, smtp_server) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer, state=ConsultationState.DRAFT)
    services.add_document(consultation, by=officer, filename="entwurf.pdf", data=valid_pdf())
    services.open_consultation(consultation, by=officer)
    a = make_comment(consultation, bidder, section="3", organisation=organisation)
    b = make_comment(consultation, council_member, section="1", council_group="SPD-Fraktion")
    clock.set(consultation.closes_at + timedelta(minutes=1))
    services.close_consultation(consultation, by=officer)
    version = services.publish_version(consultation, by=officer, note="Abschnitt 3 ergänzt.",
                                       source=consultation.first_version.source.replace("Sechs Case Manager", "Sechs Case Managerinnen und Case Manager"))
    assert version.number == 2
    services.save_response(a, by=officer, state=ResponseState.PARTLY_ADOPTED, reason="Teilweise.", changed_section="3")
    with pytest.raises(Refused) as info:
        services.save_response(b, by=officer, state=ResponseState.NOTED, reason="x", changed_section="9")
    assert info.value.field == "changed_section"
    services.save_response(b, by=officer, state=ResponseState.NOT_ADOPTED, reason="Nicht möglich.")
    services.publish_evaluation(consultation, by=officer)
    services.publish_report(consultation, by=officer)
    db.session.commit()
    actions = _actions()
    for expected in ["consultation.created", "consultation.document_added", "consultation.opened",
                     "consultation_comment.posted", "consultation.closed", "consultation.version_published",
                     "consultation_response.drafted", "consultation.evaluated", "consultation.report_published"]:
        assert expected in actions
    assert verify_chain().ok


def test_public_audit_entries_carry_no_personal_data(officer, clock, citizen) -> None:  # type: ignore[no-untyped-def]
    consultation = make_consultation(officer, allow_public=True)
    make_comment(consultation, citizen, body="Privat")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "consultation_comment.posted")).one()
    assert event.public is False
    assert "Petra" not in event.data_json and "Privat" not in event.data_json


def test_calls_shaped_by_is_empty_without_calls(consultation) -> None:  # type: ignore[no-untyped-def]
    assert services.calls_shaped_by(consultation) == []
    assert services.consultations_by_id([consultation.id]) == {consultation.id: consultation}


def test_make_response_factory(consultation, officer, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation)
    assert make_response(comment, officer).comment is comment


def test_response_state_labels_are_german(consultation) -> None:  # type: ignore[no-untyped-def]
    assert ResponseState.PARTLY_ADOPTED.label == "teilweise übernommen"
