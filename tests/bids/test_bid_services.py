"""Drafting, submission, receipts, withdrawal and the deadline, through the services."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.bids import services
from portal.bids.models import BidState, VersionKind
from portal.bids.sealed import read_attachment, read_version
from portal.core.errors import NotPermitted, Refused
from portal.extensions import db
from portal.mail.models import OutgoingMail
from tests.factories_bids import make_draft, make_submitted_bid


def test_submission_issues_receipt_with_digest_of_canonical_document(call: Any, lot: Any, member_a: Any, member_a2: Any) -> None:
    bid, version = make_submitted_bid(call, lot, member_a)
    assert bid.state == BidState.SUBMITTED
    assert version.number == 1 and version.kind == VersionKind.SUBMISSION
    assert version.receipt_number.startswith("EB-")
    document = read_version(version, user=member_a)
    assert hashlib.sha256(document).hexdigest() == version.digest
    parsed = json.loads(document)
    assert parsed["lot"] == lot.number and parsed["version"] == 1
    stored = read_attachment(version.attachments[0], user=member_a)
    assert stored.startswith(b"%PDF-")
    assert [a["sha256"] for a in parsed["attachments"]] == [hashlib.sha256(stored).hexdigest()]
    assert parsed["attachments"][0]["filename"] == "Konzept für Los.pdf"
    # The plaintext is nowhere in the row.
    assert b"Konzept" not in version.sealed_content
    mails = db.session.scalars(select(OutgoingMail).where(OutgoingMail.template == "bids/receipt")).all()
    assert sorted(m.to_address for m in mails) == sorted([member_a.email, member_a2.email])
    assert version.receipt_number in mails[0].body_text and version.digest in mails[0].body_text


def test_public_submission_event_has_no_organisation(call: Any, lot: Any, member_a: Any, org_a: Any) -> None:
    _, version = make_submitted_bid(call, lot, member_a)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bid.version_submitted")).one()
    assert event.public and event.actor_id is None
    assert version.digest in event.data_json
    assert org_a.name not in event.data_json


def test_new_version_and_withdrawal_get_own_receipts(call: Any, lot: Any, member_a: Any, clock: Any) -> None:
    bid, first = make_submitted_bid(call, lot, member_a)
    clock.advance(minutes=5)
    services.save_draft(bid, by=member_a, answers={c.id: "Zweite Fassung" for c in services.scored_criteria(bid)},
                        declarations={c.id: True for c in services.eligibility_criteria(bid)},
                        contact={"name": "C", "email": "c@example.org"})
    second = services.submit_bid(bid, by=member_a)
    withdrawal = services.withdraw_bid(bid, by=member_a)
    db.session.commit()
    assert [v.number for v in bid.versions] == [1, 2, 3]
    assert second.digest != first.digest
    assert withdrawal.kind == VersionKind.WITHDRAWAL and bid.state == BidState.WITHDRAWN
    assert json.loads(read_version(withdrawal, user=member_a))["withdraws"] == second.digest
    assert len({first.receipt_number, second.receipt_number, withdrawal.receipt_number}) == 3


@pytest.mark.parametrize("offset, accepted", [(timedelta(seconds=-1), True), (timedelta(0), False), (timedelta(seconds=1), False)])
def test_deadline_decided_by_transaction_clock(call: Any, lot: Any, member_a: Any, clock: Any, offset: timedelta, accepted: bool) -> None:
    bid = make_draft(call, lot, member_a)
    clock.set(call.submission_deadline + offset)
    if accepted:
        version = services.submit_bid(bid, by=member_a)
        assert version.submitted_at == call.submission_deadline + offset
    else:
        with pytest.raises(services.DeadlinePassed, match="abgelaufen"):
            services.submit_bid(bid, by=member_a)


def test_incomplete_draft_is_refused(call: Any, lot: Any, member_a: Any) -> None:
    bid = services.start_bid(call=call, lot=lot, organisation=member_a.active_memberships[0].organisation, by=member_a)
    with pytest.raises(Refused, match="nicht vollständig"):
        services.submit_bid(bid, by=member_a)


def test_answer_over_limit_is_refused_at_its_field(app: Any, call: Any, lot: Any, member_a: Any) -> None:
    app.config["BID_ANSWER_MAX_CHARS"] = 10
    bid = services.start_bid(call=call, lot=lot, organisation=member_a.active_memberships[0].organisation, by=member_a)
    criterion = services.scored_criteria(bid)[0]
    with pytest.raises(Refused) as info:
        services.save_draft(bid, by=member_a, answers={criterion.id: "x" * 11}, declarations={}, contact={})
    assert info.value.field == f"answer_{criterion.id}"


def test_other_organisation_cannot_submit(call: Any, lot: Any, member_a: Any, member_b: Any) -> None:
    bid = make_draft(call, lot, member_a)
    with pytest.raises(NotPermitted):
        services.submit_bid(bid, by=member_b)


def test_one_bid_per_organisation_and_lot(call: Any, lot: Any, member_a: Any, org_a: Any) -> None:
    first = services.start_bid(call=call, lot=lot, organisation=org_a, by=member_a)
    second = services.start_bid(call=call, lot=lot, organisation=org_a, by=member_a)
    assert first.id == second.id


def test_copy_from_other_lot(call: Any, member_a: Any, org_a: Any) -> None:
    source = make_draft(call, call.lots[0], member_a, text="Text für beide Lose")
    target = services.start_bid(call=call, lot=call.lots[1], organisation=org_a, by=member_a)
    services.copy_from_bid(target, source, by=member_a)
    db.session.commit()
    summary = services.build_summary(target, by=member_a)
    assert not summary.problems
    assert {a["text"] for a in summary.document["answers"]} == {"Text für beide Lose"}
    assert [a["sha256"] for a in summary.document["attachments"]] == [source.draft_attachments[0].sha256]


def test_changed_draft_after_summary_is_refused(call: Any, lot: Any, member_a: Any, member_a2: Any) -> None:
    bid = make_draft(call, lot, member_a)
    fingerprint = services.build_summary(bid, by=member_a).fingerprint
    services.save_draft(bid, by=member_a2, answers={c.id: "geändert" for c in services.scored_criteria(bid)},
                        declarations={c.id: True for c in services.eligibility_criteria(bid)},
                        contact={"name": "C", "email": "c@example.org"})
    with pytest.raises(Refused, match="geändert"):
        services.submit_bid(bid, by=member_a, confirmed_fingerprint=fingerprint)


def test_bid_info_provider(call: Any, lot: Any, member_a: Any, member_b: Any) -> None:
    from portal.calls import bidding

    make_draft(call, lot, member_b)
    assert not bidding.has_submitted_bids(call)
    assert [u.id for u in bidding.draft_holders(call)] == [member_b.id]
    make_submitted_bid(call, lot, member_a)
    assert bidding.has_submitted_bids(call)
    assert {u.id for u in bidding.bid_holders(call)} == {member_a.id, member_b.id}


def test_per_bid_size_limit(app: Any, call: Any, lot: Any, member_a: Any) -> None:
    from tests.pdf_samples import valid_pdf

    first = valid_pdf()
    app.config["BID_MAX_BYTES"] = len(first) + 10
    bid = services.start_bid(call=call, lot=lot, organisation=member_a.active_memberships[0].organisation, by=member_a)
    services.add_attachment(bid, by=member_a, data=first, filename="a.pdf", title="A")
    with pytest.raises(Refused, match="zusammen"):
        services.add_attachment(bid, by=member_a, data=valid_pdf(), filename="b.pdf", title="B")


def test_attachment_name_is_kept_for_display_only(call: Any, lot: Any, member_a: Any) -> None:
    from portal.bids.sealed import read_attachment_meta
    from tests.pdf_samples import valid_pdf

    bid = services.start_bid(call=call, lot=lot, organisation=member_a.active_memberships[0].organisation, by=member_a)
    attachment = services.add_attachment(bid, by=member_a, data=valid_pdf(), filename="C:\\Users\\x\\Größe & Konzept.pdf", title="Konzept")
    assert read_attachment_meta(attachment, user=member_a)["filename"] == "Größe & Konzept.pdf"
    assert "Konzept" not in attachment.content_place and len(attachment.token) == 32


def test_refused_attempt_can_be_recorded_again_after_a_rollback(call: Any, lot: Any, member_a: Any, officer: Any) -> None:
    from portal.bids.sealed import SealedAccessRefused

    _, version = make_submitted_bid(call, lot, member_a)
    with pytest.raises(SealedAccessRefused) as info:
        read_version(version, user=officer)
    db.session.rollback()  # as if the commit had failed
    info.value.record_again()
    db.session.commit()
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bid.access_refused")).all()
    assert event.actor_id == officer.id and event.subject_type == "bid_version" and event.subject_id == str(version.id)
