"""The bidder pages and the opening, through HTTP, including the attacks from the issue."""
from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.bids import services
from portal.bids.models import Bid, BidState, Opening
from portal.extensions import db
from tests.conftest import login
from tests.factories_bids import close_call, make_draft, make_submitted_bid
from tests.pdf_samples import encrypted_pdf, exe_bytes, pdf_with_javascript, valid_pdf


def _form(bid: Bid, text: str = "Unsere Antwort mit Umlauten: äöü ß") -> dict[str, Any]:
    data: dict[str, Any] = {f"answer_{c.id}": text for c in services.scored_criteria(bid)}
    data.update({f"declaration_{c.id}": "y" for c in services.eligibility_criteria(bid)})
    data.update(contact_name="Clara Caritas", contact_email="clara@example.org", contact_phone="", action="save")
    return data


def _refusals() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bid.access_refused")))


def test_draft_submit_receipt_flow(client: Any, call: Any, lot: Any, member_a: Any, member_a2: Any, org_a: Any) -> None:
    login(client, member_a)
    page = client.get(f"/aufrufe/{call.reference}/interessenbekundung?los=1")
    assert page.status_code == 200
    response = client.post(f"/aufrufe/{call.reference}/interessenbekundung", data={"lot": lot.id, "organisation": org_a.id})
    assert response.status_code == 302
    bid = db.session.scalars(select(Bid)).one()
    data = _form(bid)
    data["attachment_title"] = "Konzept"
    data["attachment"] = (io.BytesIO(valid_pdf()), "Konzept für Los 1.pdf")
    response = client.post(f"/interessenbekundungen/{bid.id}", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    # Every member sees the same draft, with the last editor.
    login(client, member_a2)
    page = client.get(f"/interessenbekundungen/{bid.id}").get_data(as_text=True)
    assert "Unsere Antwort mit Umlauten: äöü ß" in page
    assert "Clara Caritas" in page and "Konzept für Los 1.pdf" in page
    assert bid.draft_attachments[0].sha256 in page
    summary = client.get(f"/interessenbekundungen/{bid.id}/einreichen").get_data(as_text=True)
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', summary).group(1)
    assert "Verbindlich einreichen" in summary and bid.draft_attachments[0].sha256 in summary
    response = client.post(f"/interessenbekundungen/{bid.id}/einreichen", data={"fingerprint": fingerprint, "confirm": "y"})
    assert response.status_code == 302
    version = bid.versions[0]
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert version.receipt_number in receipt and version.digest in receipt and "UTC" in receipt
    pdf = client.get(f"/eingangsbestaetigungen/{version.receipt_number}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    listing = client.get("/interessenbekundungen").get_data(as_text=True)
    assert version.receipt_number in listing


def test_unconfirmed_submission_keeps_the_summary(client: Any, call: Any, lot: Any, member_a: Any) -> None:
    bid = make_draft(call, lot, member_a)
    login(client, member_a)
    response = client.post(f"/interessenbekundungen/{bid.id}/einreichen", data={})
    assert response.status_code == 422
    assert "Bitte bestätigen Sie" in response.get_data(as_text=True)
    assert bid.versions == []


def test_other_organisation_gets_404_and_attempt_is_recorded(client: Any, call: Any, lot: Any, member_a: Any, member_b: Any) -> None:
    bid, version = make_submitted_bid(call, lot, member_a)
    attachment = bid.attachments[0]
    login(client, member_b)
    for url in (f"/interessenbekundungen/{bid.id}", f"/interessenbekundungen/{bid.id}/einreichen",
                f"/interessenbekundungen/{bid.id}/anhaenge/{attachment.id}",
                f"/eingangsbestaetigungen/{version.receipt_number}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/interessenbekundungen/{bid.id}/einreichen", data={"confirm": "y"}).status_code == 404
    assert client.post(f"/interessenbekundungen/{bid.id}/zuruecknehmen", data={"confirm": "y"}).status_code == 404
    assert len(bid.versions) == 1
    assert len(_refusals()) >= 3


@pytest.mark.parametrize("who", ["officer", "admin"])
def test_staff_cannot_read_sealed_bid_before_opening(request: Any, client: Any, call: Any, lot: Any, member_a: Any, who: str) -> None:
    user = request.getfixturevalue(who)
    bid, _ = make_submitted_bid(call, lot, member_a)
    attachment = bid.attachments[0]
    login(client, user)
    assert client.get(f"/verwaltung/interessenbekundungen/{bid.id}").status_code == 403
    assert client.get(f"/interessenbekundungen/{bid.id}/anhaenge/{attachment.id}").status_code == 403
    assert client.get(f"/interessenbekundungen/{bid.id}").status_code == 403
    events = _refusals()
    assert len(events) == 3
    assert all(e.actor_id == user.id and not e.public for e in events)


BAD_FILES = [
    ("exe", exe_bytes(), "keine PDF-Datei"),
    ("javascript", pdf_with_javascript(), "JavaScript"),
    ("encrypted", encrypted_pdf(), "verschlüsselt"),
    ("empty", b"", "leer"),
]


@pytest.mark.parametrize("name, data, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_upload_is_refused_and_text_kept(client: Any, call: Any, lot: Any, member_a: Any, name: str, data: bytes, message: str) -> None:
    bid = services.start_bid(call=call, lot=lot, organisation=member_a.active_memberships[0].organisation, by=member_a)
    login(client, member_a)
    form = _form(bid, text="Mein langer Text, der nicht verloren gehen darf.")
    form["attachment_title"] = "Anlage"
    form["attachment"] = (io.BytesIO(data), "rechnung.pdf")
    response = client.post(f"/interessenbekundungen/{bid.id}", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Mein langer Text, der nicht verloren gehen darf." in page
    assert bid.draft_attachments == []


def test_oversized_file_gives_413_page_that_keeps_the_answers(app: Any, client: Any, call: Any, lot: Any, member_a: Any) -> None:
    app.config["BID_ATTACHMENT_MAX_BYTES"] = 2000
    bid = services.start_bid(call=call, lot=lot, organisation=member_a.active_memberships[0].organisation, by=member_a)
    login(client, member_a)
    form = _form(bid, text="Antwort bleibt erhalten")
    form["attachment_title"] = "Großes Konzept"
    form["attachment"] = (io.BytesIO(valid_pdf(pages=40)), "groß.pdf")
    response = client.post(f"/interessenbekundungen/{bid.id}", data=form, content_type="multipart/form-data")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Antwort bleibt erhalten" in page and "größer als" in page


def test_deadline_passing_between_loading_and_posting(client: Any, call: Any, lot: Any, member_a: Any, clock: Any) -> None:
    bid = make_draft(call, lot, member_a)
    login(client, member_a)
    summary = client.get(f"/interessenbekundungen/{bid.id}/einreichen").get_data(as_text=True)
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', summary).group(1)
    close_call(call, clock)
    response = client.post(f"/interessenbekundungen/{bid.id}/einreichen", data={"fingerprint": fingerprint, "confirm": "y"})
    assert response.status_code == 409
    assert "abgelaufen" in response.get_data(as_text=True)
    assert bid.versions == []
    edit = client.post(f"/interessenbekundungen/{bid.id}", data=_form(bid, text="Zu spät geändert"))
    assert edit.status_code == 409 and "Zu spät geändert" in edit.get_data(as_text=True)


def test_late_change_keeps_last_submitted_version_and_page_says_so(client: Any, call: Any, lot: Any, member_a: Any, clock: Any) -> None:
    bid, version = make_submitted_bid(call, lot, member_a)
    clock.advance(minutes=1)
    services.save_draft(bid, by=member_a, answers={}, declarations={}, contact={})
    db.session.commit()
    close_call(call, clock)
    login(client, member_a)
    page = client.get(f"/interessenbekundungen/{bid.id}").get_data(as_text=True)
    assert "Es zählt die zuletzt eingereichte Fassung 1" in page
    assert "nicht eingereichte Änderungen" in page


def test_counts_hidden_before_deadline_shown_after(client: Any, call: Any, lot: Any, member_a: Any, officer: Any, clock: Any) -> None:
    make_submitted_bid(call, lot, member_a)
    login(client, officer)
    before = client.get(f"/verwaltung/aufrufe/{call.reference}/oeffnung").get_data(as_text=True)
    assert "Los 1: 1" not in before and "nicht angezeigt" in before
    close_call(call, clock)
    after = client.get(f"/verwaltung/aufrufe/{call.reference}/oeffnung").get_data(as_text=True)
    assert "Los 1: 1" in after and "Los 2: 0" in after


def test_opening_by_two_officers(client: Any, call: Any, lot: Any, member_a: Any, member_b: Any, officer: Any, officer2: Any, admin: Any, clock: Any) -> None:
    bid_a, first_a = make_submitted_bid(call, lot, member_a)
    clock.advance(minutes=1)
    second_a = services.submit_bid(bid_a, by=member_a)
    bid_b, first_b = make_submitted_bid(call, lot, member_b)
    withdrawal_b = services.withdraw_bid(bid_b, by=member_b)
    db.session.commit()
    login(client, officer)
    assert client.post(f"/verwaltung/aufrufe/{call.reference}/oeffnung/einleiten", data={"confirm": "y"}).status_code == 409
    close_call(call, clock)
    assert client.post(f"/verwaltung/aufrufe/{call.reference}/oeffnung/einleiten", data={"confirm": "y"}).status_code == 302
    # The same officer cannot confirm their own opening.
    response = client.post(f"/verwaltung/aufrufe/{call.reference}/oeffnung/bestaetigen", data={"confirm": "y"})
    assert response.status_code in (403, 409)
    assert not db.session.scalars(select(Opening)).one().is_confirmed
    assert client.get(f"/verwaltung/interessenbekundungen/{bid_a.id}").status_code == 403
    # Without the second factor, the second officer cannot confirm either.
    login(client, officer2, two_factor=False)
    blocked = client.post(f"/verwaltung/aufrufe/{call.reference}/oeffnung/bestaetigen", data={"confirm": "y"})
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/anmelden/code")
    assert not db.session.scalars(select(Opening)).one().is_confirmed
    login(client, officer2)
    response = client.post(f"/verwaltung/aufrufe/{call.reference}/oeffnung/bestaetigen", data={"confirm": "y"})
    assert response.status_code == 302
    record = client.get(f"/verwaltung/aufrufe/{call.reference}/oeffnungsprotokoll").get_data(as_text=True)
    assert second_a.receipt_number in record and second_a.digest in record
    assert first_a.receipt_number not in record
    assert withdrawal_b.receipt_number in record and "Zurückgezogene" in record
    assert "Olaf Vergabe" in record and "Oksana Zweitprüferin" in record
    pdf = client.get(f"/verwaltung/aufrufe/{call.reference}/oeffnungsprotokoll.pdf")
    assert pdf.data.startswith(b"%PDF-")
    opened = client.get(f"/verwaltung/interessenbekundungen/{bid_a.id}").get_data(as_text=True)
    assert "stimmt mit der Eingangsbestätigung überein" in opened and second_a.digest in opened
    assert client.get(f"/interessenbekundungen/{bid_a.id}/anhaenge/{bid_a.attachments[0].id}").data.startswith(b"%PDF-")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bid.opening_confirmed")).one()
    assert event.public
    data = json.loads(event.data_json)
    assert data["lots"][0]["bids"][0]["digest"] == second_a.digest
    assert member_a.active_memberships[0].organisation.name not in event.data_json
    assert call.state.value == "opened"
    # Administrators still cannot read opened bids.
    login(client, admin)
    assert client.get(f"/verwaltung/interessenbekundungen/{bid_a.id}").status_code == 403
    assert bid_b.state == BidState.WITHDRAWN and first_b.number == 1


def test_evidence_upload_replace_and_remove(client: Any, call: Any, lot: Any, member_a: Any) -> None:
    bid = services.start_bid(call=call, lot=lot, organisation=member_a.active_memberships[0].organisation, by=member_a)
    evidence = services.eligibility_criteria(bid)[0]
    login(client, member_a)
    for name in ("Bescheid alt.pdf", "Bescheid neu.pdf"):
        form = _form(bid)
        form[f"evidence_{evidence.id}"] = (io.BytesIO(valid_pdf()), name)
        assert client.post(f"/interessenbekundungen/{bid.id}", data=form, content_type="multipart/form-data").status_code == 302
    assert len(bid.draft_attachments) == 1 and bid.draft_attachments[0].criterion_id == evidence.id
    page = client.get(f"/interessenbekundungen/{bid.id}").get_data(as_text=True)
    assert "Bescheid neu.pdf" in page and "Bescheid alt.pdf" not in page
    form = _form(bid)
    form["remove"] = str(bid.draft_attachments[0].id)
    assert client.post(f"/interessenbekundungen/{bid.id}", data=form).status_code == 302
    assert bid.draft_attachments == []


def test_copy_view_takes_over_answers(client: Any, call: Any, member_a: Any, org_a: Any) -> None:
    source = make_draft(call, call.lots[0], member_a, text="Aus Los 1 übernommen")
    target = services.start_bid(call=call, lot=call.lots[1], organisation=org_a, by=member_a)
    login(client, member_a)
    page = client.get(f"/interessenbekundungen/{target.id}").get_data(as_text=True)
    assert "Angaben aus einem anderen Los übernehmen" in page
    response = client.post(f"/interessenbekundungen/{target.id}/uebernehmen", data={"source": source.id})
    assert response.status_code == 302
    assert "Aus Los 1 übernommen" in client.get(f"/interessenbekundungen/{target.id}").get_data(as_text=True)


def test_receipt_mail_reaches_every_member(client: Any, smtp_server: Any, call: Any, lot: Any, member_a: Any, member_a2: Any) -> None:
    bid = make_draft(call, lot, member_a)
    login(client, member_a)
    response = client.post(f"/interessenbekundungen/{bid.id}/einreichen", data={"confirm": "y"})
    assert response.status_code == 302
    version = bid.versions[0]
    for member in (member_a, member_a2):
        [message] = smtp_server.to(member.email)
        text = smtp_server.text(message)
        assert version.receipt_number in text and version.digest in text and "UTC" in text


def test_call_pages_link_to_bidding_and_to_the_opening(client: Any, call: Any, lot: Any, member_a: Any, officer: Any, clock: Any) -> None:
    login(client, member_a)
    public = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    assert f"/aufrufe/{call.reference}/interessenbekundung" in public
    login(client, officer)
    assert f"/aufrufe/{call.reference}/interessenbekundung" not in client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    assert f"/verwaltung/aufrufe/{call.reference}/oeffnung" not in client.get(f"/verwaltung/aufrufe/{call.id}").get_data(as_text=True)
    close_call(call, clock)
    assert f"/verwaltung/aufrufe/{call.reference}/oeffnung" in client.get(f"/verwaltung/aufrufe/{call.id}").get_data(as_text=True)
