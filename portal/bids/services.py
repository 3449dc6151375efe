"""Drafting, attachments, submission and withdrawal of bids.

Every function takes the acting user as keyword-only `by`, flushes but never
commits, and records its audit event in the same transaction. A submission
decides the deadline with the database's clock (`transaction_now`) inside the
transaction that also writes the version and its receipt, after locking the
bid row: on PostgreSQL with `SELECT … FOR UPDATE`, on SQLite the writing
transaction holds the database's write lock from `BEGIN IMMEDIATE` on.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.bids import canonical
from portal.bids.models import Bid, BidAttachment, BidState, BidVersion, VersionKind
from portal.bids.permissions import is_own_bid
from portal.bids.sealed import (
    draft_place,
    read_attachment,
    read_attachment_meta,
    read_draft,
    seal_bytes,
    seal_json,
)
from portal.calls.models import Call, Criterion, CriterionKind, Lot
from portal.calls.state import call_is_open_for_submission
from portal.core.errors import NotPermitted, Refused
from portal.core.i18n import datetime_berlin
from portal.core.pdf import PdfRejected, human_size, inspect_pdf, safe_display_filename
from portal.core.time import to_berlin, transaction_now
from portal.extensions import db
from portal.mail.services import queue_mail

DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_BID_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_ANSWER_MAX_CHARS = 6000
CONTACT_FIELDS = ("name", "email", "phone")


class BerlinTime:
    """A time shown in the reader's language when the message is rendered.

    Services run without a request too (CLI, demo, tests); there the German
    wall-clock form is used.
    """

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __str__(self) -> str:
        if has_request_context():
            return datetime_berlin(self.moment, seconds=True)
        local = to_berlin(self.moment)
        return local.strftime("%d.%m.%Y, %H:%M:%S Uhr ") + ("(MESZ)" if local.dst() else "(MEZ)")


class DeadlinePassed(Refused):
    """The submission deadline had passed when the database checked it."""


def attachment_max_bytes() -> int:
    return int(current_app.config.get("BID_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES))


def bid_max_bytes() -> int:
    return int(current_app.config.get("BID_MAX_BYTES", DEFAULT_BID_MAX_BYTES))


def answer_max_chars() -> int:
    return int(current_app.config.get("BID_ANSWER_MAX_CHARS", DEFAULT_ANSWER_MAX_CHARS))


def scored_criteria(bid: Bid) -> list[Criterion]:
    return bid.call.criteria_for(bid.lot, CriterionKind.SCORED)


def eligibility_criteria(bid: Bid) -> list[Criterion]:
    return bid.call.criteria_for(bid.lot, CriterionKind.ELIGIBILITY)


# --------------------------------------------------------------------------
# Locking and the deadline
# --------------------------------------------------------------------------


def lock_bid(bid_id: int) -> Bid:
    """Load the bid row locked for this transaction (fresh from the database)."""
    bid = db.session.scalar(
        select(Bid).where(Bid.id == bid_id).with_for_update().execution_options(populate_existing=True)
    )
    if bid is None:
        raise NotPermitted(_l("Diese Interessenbekundung gibt es nicht."))
    return bid


def _require_own(bid: Bid, by: Any) -> None:
    if not is_own_bid(by, bid):
        raise NotPermitted(_l("Sie können nur Interessenbekundungen Ihres eigenen Trägers bearbeiten."))


def check_deadline(call: Call) -> datetime:
    """Return the transaction's time if the call still accepts bids; refuse otherwise."""
    at = transaction_now(db.session)
    if not call_is_open_for_submission(call, at):
        if call.submission_deadline is not None and at >= call.submission_deadline:
            raise DeadlinePassed(
                _l(
                    "Die Frist für Interessenbekundungen ist am %(deadline)s abgelaufen. "
                    "Es kann nichts mehr eingereicht oder geändert werden.",
                    deadline=BerlinTime(call.submission_deadline),
                )
            )
        raise DeadlinePassed(_l("Für diesen Aufruf können keine Interessenbekundungen eingereicht werden."))
    return at


# --------------------------------------------------------------------------
# Drafts
# --------------------------------------------------------------------------


def start_bid(*, call: Call, lot: Lot, organisation: Any, by: Any) -> Bid:
    """Start (or return the existing) bid of `organisation` for `lot`.

    One bid per organisation and lot: a concurrent second start hits the
    unique constraint inside a savepoint and returns the bid that won.
    """
    if lot.call_id != call.id:
        raise NotPermitted(_l("Dieses Los gehört nicht zu diesem Aufruf."))
    if not any(m.organisation_id == organisation.id for m in by.active_memberships) or not organisation.is_verified:
        raise NotPermitted(_l("Sie können nur für einen verifizierten Träger, dem Sie angehören, eine Interessenbekundung abgeben."))
    check_deadline(call)
    existing = _find_bid(organisation.id, lot.id)
    if existing is not None:
        return existing
    bid = Bid(
        call_id=call.id, lot_id=lot.id, organisation_id=organisation.id,
        created_by_id=by.id, draft_changed_by_id=by.id, draft_changed_at=transaction_now(db.session),
    )
    try:
        with db.session.begin_nested():
            db.session.add(bid)
            db.session.flush()
    except IntegrityError:
        existing = _find_bid(organisation.id, lot.id)
        assert existing is not None
        return existing
    record(
        AuditAction.BID_DRAFT_CREATED, actor=by, subject=bid,
        data={"call": call.reference, "lot": lot.number, "organisation": organisation.id},
    )
    return bid


def _find_bid(organisation_id: int, lot_id: int) -> Bid | None:
    return db.session.scalar(select(Bid).where(Bid.organisation_id == organisation_id, Bid.lot_id == lot_id))


def save_draft(
    bid: Bid,
    *,
    by: Any,
    answers: dict[int, str],
    declarations: dict[int, bool],
    contact: dict[str, str],
) -> Bid:
    """Store the working copy (sealed). Refuses answers over the limit, field by field."""
    bid = lock_bid(bid.id)
    _require_own(bid, by)
    at = check_deadline(bid.call)
    limit = answer_max_chars()
    scored = {c.id for c in scored_criteria(bid)}
    eligible = {c.id for c in eligibility_criteria(bid)}
    clean_answers: dict[str, str] = {}
    for criterion_id, text in answers.items():
        if criterion_id not in scored:
            continue
        text = canonical.normalise_text(text)
        if len(text) > limit:
            raise Refused(
                _l("Die Antwort ist %(n)s Zeichen lang; erlaubt sind höchstens %(limit)s Zeichen. Bitte kürzen Sie sie.",
                   n=len(text), limit=limit),
                field=f"answer_{criterion_id}",
            )
        clean_answers[str(criterion_id)] = text
    draft = {
        "answers": clean_answers,
        "declarations": {str(cid): bool(value) for cid, value in declarations.items() if cid in eligible},
        "contact": {key: canonical.normalise_text(contact.get(key, ""))[:200] for key in CONTACT_FIELDS},
    }
    bid.sealed_draft = seal_json(bid.call_id, draft, place=draft_place(bid))
    _touch(bid, by, at)
    db.session.flush()
    return bid


def _touch(bid: Bid, by: Any, at: datetime) -> None:
    bid.draft_changed_at = at
    bid.draft_changed_by_id = by.id


def add_attachment(
    bid: Bid, *, by: Any, data: bytes, filename: str, title: str, criterion: Criterion | None = None
) -> BidAttachment:
    """Check `data` as a PDF by its content and seal it into the bid's working copy.

    Evidence for an eligibility criterion replaces earlier evidence for it.
    The bytes go into the bid's own transaction: they commit or roll back
    with it, and a crash can never leave half a file behind.
    """
    bid = lock_bid(bid.id)
    _require_own(bid, by)
    at = check_deadline(bid.call)
    field = f"evidence_{criterion.id}" if criterion is not None else "attachment"
    if criterion is not None and criterion not in eligibility_criteria(bid):
        raise Refused(_l("Dieses Kriterium gehört nicht zu diesem Los."), field=field)
    try:
        info = inspect_pdf(data, max_bytes=attachment_max_bytes())
    except PdfRejected as exc:
        raise Refused(exc.lazy_message, field=field) from None
    replaced = [a for a in bid.draft_attachments if criterion is not None and a.criterion_id == criterion.id]
    used = sum(a.size for a in bid.draft_attachments if a not in replaced)
    if used + info.size > bid_max_bytes():
        raise Refused(
            _l("Alle Anhänge einer Interessenbekundung zusammen dürfen höchstens %(limit)s groß sein "
               "(bereits hochgeladen: %(used)s).", limit=human_size(bid_max_bytes()), used=human_size(used)),
            field=field,
        )
    display_name = safe_display_filename(filename)
    title = canonical.normalise_text(title)[:200] or (criterion.title if criterion is not None else "")
    if not title:
        raise Refused(_l("Bitte geben Sie dem Anhang einen Titel."), field="attachment_title")
    for old in replaced:
        _drop_from_draft(old)
    attachment = BidAttachment(
        bid_id=bid.id, criterion_id=criterion.id if criterion is not None else None, token=secrets.token_hex(16),
        sha256=info.sha256, size=info.size, page_count=info.page_count, uploaded_at=at, uploaded_by_id=by.id,
        in_draft=True,
    )
    attachment.sealed_meta = seal_json(
        bid.call_id, {"title": title, "filename": display_name}, place=attachment.meta_place
    )
    attachment.content = seal_bytes(bid.call_id, data, place=attachment.content_place)
    db.session.add(attachment)
    bid.attachments.append(attachment)
    _touch(bid, by, at)
    db.session.flush()
    return attachment


def _drop_from_draft(attachment: BidAttachment) -> None:
    """Remove from the working copy; keep the bytes if a submitted version names them."""
    in_version = db.session.scalar(
        select(BidVersion.id).where(BidVersion.attachments.any(BidAttachment.id == attachment.id)).limit(1)
    )
    if in_version is None:
        attachment.bid.attachments.remove(attachment)
        db.session.delete(attachment)
    else:
        attachment.in_draft = False


def remove_attachment(attachment: BidAttachment, *, by: Any) -> None:
    bid = lock_bid(attachment.bid_id)
    _require_own(bid, by)
    at = check_deadline(bid.call)
    if not attachment.in_draft:
        return
    _drop_from_draft(attachment)
    _touch(bid, by, at)
    db.session.flush()


def copy_from_bid(bid: Bid, source: Bid, *, by: Any) -> Bid:
    """Take over answers, declarations, contact and attachments from another lot's bid.

    Criteria are matched by their code; attachments are sealed anew for this bid.
    """
    if source.id == bid.id or source.organisation_id != bid.organisation_id or source.call_id != bid.call_id:
        raise NotPermitted(_l("Übernehmen ist nur aus einer anderen Interessenbekundung Ihres Trägers zu diesem Aufruf möglich."))
    _require_own(source, by)
    draft = read_draft(source, user=by)
    by_code_source = {c.code: c.id for c in source.call.criteria_for(source.lot)}
    target_by_code = {c.code: c.id for c in bid.call.criteria_for(bid.lot)}
    mapping = {str(by_code_source[code]): target_by_code[code] for code in by_code_source if code in target_by_code}
    save_draft(
        bid, by=by,
        answers={mapping[k]: v for k, v in draft["answers"].items() if k in mapping},
        declarations={mapping[k]: v for k, v in draft["declarations"].items() if k in mapping},
        contact=draft["contact"],
    )
    target_criteria = {c.id: c for c in eligibility_criteria(bid)}
    for attachment in source.draft_attachments:
        criterion = None
        if attachment.criterion_id is not None:
            target_id = mapping.get(str(attachment.criterion_id))
            criterion = target_criteria.get(target_id) if target_id is not None else None
            if criterion is None:
                continue
        meta = read_attachment_meta(attachment, user=by)
        add_attachment(
            bid, by=by, data=read_attachment(attachment, user=by), filename=meta["filename"], title=meta["title"],
            criterion=criterion,
        )
    return bid


# --------------------------------------------------------------------------
# Summary, submission and withdrawal
# --------------------------------------------------------------------------


@dataclass
class Summary:
    """What "Einreichen" shows before the confirmation, and what it will submit."""

    document: dict[str, Any]
    problems: list[Any]
    fingerprint: str


def build_summary(bid: Bid, *, by: Any, version: int = 0) -> Summary:
    draft = read_draft(bid, user=by)
    problems: list[Any] = []
    answers = []
    for criterion in scored_criteria(bid):
        text = draft["answers"].get(str(criterion.id), "")
        if not text.strip():
            problems.append(_l("Die Antwort zu „%(title)s“ fehlt.", title=criterion.title))
        answers.append({"criterion": criterion.code, "text": text})
    declarations = []
    for criterion in eligibility_criteria(bid):
        confirmed = bool(draft["declarations"].get(str(criterion.id)))
        if not confirmed:
            problems.append(_l("Die Erklärung zu „%(title)s“ ist nicht bestätigt.", title=criterion.title))
        declarations.append({"criterion": criterion.code, "confirmed": confirmed})
    contact = {key: draft["contact"].get(key, "") for key in CONTACT_FIELDS}
    if not contact["name"] or not contact["email"]:
        problems.append(_l("Bitte nennen Sie eine Ansprechperson mit E-Mail-Adresse."))
    codes = {c.id: c.code for c in bid.call.criteria_for(bid.lot)}
    attachments = []
    for attachment in bid.draft_attachments:
        meta = read_attachment_meta(attachment, user=by)
        attachments.append({
            "title": meta["title"], "filename": meta["filename"], "sha256": attachment.sha256,
            "size": attachment.size, "criterion": codes.get(attachment.criterion_id) if attachment.criterion_id else None,
        })
    document = canonical.submission_document(
        call_reference=bid.call.reference, lot_number=bid.lot.number, organisation=bid.organisation.name,
        version=version, answers=answers, declarations=declarations, contact=contact, attachments=attachments,
    )
    fingerprint = canonical.digest(canonical.canonical_bytes({**document, "version": 0}))
    return Summary(document=document, problems=problems, fingerprint=fingerprint)


def submit_bid(bid: Bid, *, by: Any, confirmed_fingerprint: str | None = None) -> BidVersion:
    """Submit the working copy as a new immutable version and issue its receipt.

    The deadline is decided here, with the database's clock, in the same
    transaction that numbers the version and writes the receipt. If
    `confirmed_fingerprint` is given (the summary the bidder confirmed), a
    draft changed in the meantime by another member is refused.
    """
    bid = lock_bid(bid.id)
    _require_own(bid, by)
    at = check_deadline(bid.call)
    number = bid.version_count + 1
    summary = build_summary(bid, by=by, version=number)
    if summary.problems:
        raise Refused(_l("Die Interessenbekundung ist noch nicht vollständig: %(problems)s",
                         problems=" ".join(str(p) for p in summary.problems)))
    if confirmed_fingerprint is not None and confirmed_fingerprint != summary.fingerprint:
        raise Refused(_l("Der Entwurf wurde geändert, nachdem Sie die Zusammenfassung geöffnet haben "
                         "(vielleicht von einer anderen Person Ihres Trägers). Bitte prüfen Sie die Zusammenfassung erneut."))
    data = canonical.canonical_bytes(summary.document)
    version = _new_version(bid, number=number, kind=VersionKind.SUBMISSION, data=data, at=at, by=by)
    version.attachments = list(bid.draft_attachments)
    bid.state = BidState.SUBMITTED
    db.session.flush()
    record(
        AuditAction.BID_VERSION_SUBMITTED, actor=None, subject=bid, public=True,
        data={"call": bid.call.reference, "lot": bid.lot.number, "version": number, "receipt_digest": version.digest,
              "submitted_at": at, "embargo": SUBMISSION_EMBARGO},
    )
    _send_receipt(version)
    return version


#: Public submission events stay hidden until the call's (current) deadline; see
#: portal.audit.public.register_embargo and `submission_embargo_until` below.
SUBMISSION_EMBARGO = "until_submission_deadline"


def submission_embargo_until(datas: Sequence[dict[str, Any]]) -> list[datetime | None]:
    """The moments submission events may be shown: each one's call's current deadline (one query for all)."""
    from portal.calls.models import Call

    references = {data.get("call") for data in datas}
    rows = db.session.execute(select(Call.reference, Call.submission_deadline).where(Call.reference.in_(references)))
    deadlines = {reference: deadline for reference, deadline in rows}
    return [deadlines.get(data.get("call")) for data in datas]


def withdraw_bid(bid: Bid, *, by: Any) -> BidVersion:
    """Withdraw a submitted bid before the deadline; the withdrawal gets a receipt too."""
    bid = lock_bid(bid.id)
    _require_own(bid, by)
    at = check_deadline(bid.call)
    if bid.state != BidState.SUBMITTED:
        raise Refused(_l("Nur eine eingereichte Interessenbekundung kann zurückgezogen werden."))
    number = bid.version_count + 1
    withdrawn = bid.latest_submission
    document = canonical.withdrawal_document(
        call_reference=bid.call.reference, lot_number=bid.lot.number, organisation=bid.organisation.name,
        version=number, withdrawn_digest=withdrawn.digest if withdrawn else None,
    )
    version = _new_version(bid, number=number, kind=VersionKind.WITHDRAWAL,
                           data=canonical.canonical_bytes(document), at=at, by=by)
    bid.state = BidState.WITHDRAWN
    db.session.flush()
    record(
        AuditAction.BID_WITHDRAWN, actor=None, subject=bid, public=True,
        data={"call": bid.call.reference, "lot": bid.lot.number, "version": number, "receipt_digest": version.digest,
              "submitted_at": at, "embargo": SUBMISSION_EMBARGO},
    )
    _send_receipt(version)
    return version


def _new_version(bid: Bid, *, number: int, kind: VersionKind, data: bytes, at: datetime, by: Any) -> BidVersion:
    version = BidVersion(
        bid_id=bid.id, number=number, kind=kind, submitted_at=at, submitted_by_id=by.id,
        receipt_number=canonical.new_receipt_number(), digest=canonical.digest(data),
    )
    version.sealed_content = seal_bytes(bid.call_id, data, place=version.place)
    bid.versions.append(version)
    bid.version_count = number
    return version


def _send_receipt(version: BidVersion) -> None:
    """E-mail the receipt to every active member of the organisation (after commit)."""
    from portal.bids.receipts import receipt_mail_context

    bid = version.bid
    for member in bid.organisation.active_members:
        context = receipt_mail_context(version, locale=member.locale)
        subject = context.pop("subject")
        queue_mail(member.email, subject, "bids/receipt", locale=member.locale, **context)


def find_version_by_receipt(number: str) -> BidVersion | None:
    return db.session.scalar(select(BidVersion).where(BidVersion.receipt_number == number))
