"""Bidder pages: /interessenbekundungen, receipts under /eingangsbestaetigungen.

Views load, authorise, validate, call one service inside `commit_with_retry`
and redirect. A bid of another organisation answers 404; a sealed bid fetched
by staff answers 403. Either attempt is recorded by `portal.bids.sealed`.
"""
from __future__ import annotations

from typing import Any, NoReturn

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as BaseResponse

from portal.accounts.permissions import is_staff
from portal.bids import services
from portal.bids.forms import CopyForm, StartForm, SubmitForm, WithdrawForm, draft_form_class
from portal.bids.models import Bid, BidAttachment, BidVersion
from portal.bids.permissions import (
    bid_organisations,
    can_edit_bid,
    can_read_bid_contents,
    can_start_bid,
    is_own_bid,
)
from portal.bids.receipts import receipt_pdf, utc_text
from portal.bids.sealed import (
    SealedAccessRefused,
    read_attachment,
    read_attachment_meta,
    read_draft,
    refuse_access,
)
from portal.bids.transactions import commit_with_retry
from portal.calls.models import Call, CallState, Lot
from portal.calls.state import call_is_open_for_submission, time_left_in_words
from portal.core.actions import attempt
from portal.core.errors import Refused, show_refusal
from portal.core.permissions import require
from portal.extensions import db

bp = Blueprint("bids", __name__)




def refused_sealed(exc: SealedAccessRefused) -> NoReturn:
    """Keep the audit record of the attempt, then refuse: 403 for staff, 404 for everyone else.

    A GET begins a deferred transaction on SQLite, whose upgrade to a writer
    can fail under concurrent writers; the record is then written again in a
    fresh transaction, because an attempt must never go unrecorded.
    """
    staff = is_staff(current_user)
    try:
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        commit_with_retry(exc.record_again)
    abort(403 if staff else 404)


def load_bid(bid_id: int) -> Bid:
    """A bid of the user's own organisation; anything else is 404 (and recorded)."""
    bid = db.session.get(Bid, bid_id)
    if bid is None:
        abort(404)
    if not is_own_bid(current_user, bid):
        if not can_read_bid_contents(current_user, bid):
            try:
                refuse_access(current_user, bid, what="bid_page", subject=bid)
            except SealedAccessRefused as exc:
                refused_sealed(exc)
        abort(404)
    return bid


def attachment_rows(bid: Bid, attachments: list[BidAttachment]) -> list[dict[str, Any]]:
    rows = []
    for attachment in attachments:
        meta = read_attachment_meta(attachment, user=current_user)
        rows.append({"attachment": attachment, **meta})
    return rows


# --------------------------------------------------------------------------
# Bidder pages
# --------------------------------------------------------------------------


@bp.get("/interessenbekundungen")
@login_required
def index() -> str:
    organisations = bid_organisations(current_user)
    bids = db.session.scalars(
        select(Bid)
        .where(Bid.organisation_id.in_([o.id for o in organisations]))
        .options(selectinload(Bid.versions), selectinload(Bid.call), selectinload(Bid.lot))
        .order_by(Bid.call_id, Bid.lot_id)
    ).all() if organisations else []
    open_calls = db.session.scalars(
        select(Call).where(Call.state == CallState.PUBLISHED).order_by(Call.submission_deadline)
    ).all() if organisations else []
    open_calls = [c for c in open_calls if call_is_open_for_submission(c)]
    return render_template(
        "bids/index.html", bids=bids, organisations=organisations, open_calls=open_calls,
        time_left=time_left_in_words, title=_("Meine Interessenbekundungen"),
    )


@bp.route("/aufrufe/<reference>/interessenbekundung", methods=["GET", "POST"])
@login_required
def start(reference: str) -> Any:
    call = db.session.scalar(select(Call).where(Call.reference == reference))
    if call is None or not call.is_public:
        abort(404)
    require(can_start_bid(current_user, call))
    organisations = bid_organisations(current_user)
    form = StartForm()
    form.lot.choices = [(lot.id, _("Los %(number)s: %(title)s", number=lot.number, title=lot.title)) for lot in call.lots]
    form.organisation.choices = [(o.id, o.name) for o in organisations]
    if request.method == "GET" and request.args.get("los"):
        chosen = next((lot for lot in call.lots if str(lot.number) == request.args["los"]), None)
        if chosen is not None:
            form.lot.data = chosen.id
    if form.validate_on_submit():
        lot = db.session.get(Lot, form.lot.data)
        organisation = next(o for o in organisations if o.id == form.organisation.data)
        if done := attempt(
            form, lambda: services.start_bid(call=db.session.get(Call, call.id), lot=db.session.get(Lot, lot.id),
                                             organisation=organisation, by=current_user),
            success=None, redirect_to=lambda bid: url_for("bids.edit", bid_id=bid.id), code=302, commit=commit_with_retry,
        ):
            return done
    return render_template("bids/start.html", call=call, form=form, title=_("Interessenbekundung beginnen"))


def _draft_form(bid: Bid) -> Any:
    form_class = draft_form_class(services.scored_criteria(bid), services.eligibility_criteria(bid))
    return form_class()


def _fill_form(form: Any, bid: Bid) -> None:
    draft = read_draft(bid, user=current_user)
    for criterion in services.scored_criteria(bid):
        form[f"answer_{criterion.id}"].data = draft["answers"].get(str(criterion.id), "")
    for criterion in services.eligibility_criteria(bid):
        form[f"declaration_{criterion.id}"].data = bool(draft["declarations"].get(str(criterion.id)))
    for key in services.CONTACT_FIELDS:
        form[f"contact_{key}"].data = draft["contact"].get(key, "")


def _render_edit(bid: Bid, form: Any, *, status: int = 200) -> tuple[str, int]:
    others = [b for b in db.session.scalars(
        select(Bid).where(Bid.organisation_id == bid.organisation_id, Bid.call_id == bid.call_id, Bid.id != bid.id)
    )]
    copy_form = CopyForm(formdata=None)
    copy_form.source.choices = [(b.id, _("Los %(number)s", number=b.lot.number)) for b in others]
    attachments = attachment_rows(bid, bid.draft_attachments)
    return render_template(
        "bids/edit.html", bid=bid, form=form, copy_form=copy_form, attachments=attachments,
        scored=services.scored_criteria(bid), eligible=services.eligibility_criteria(bid),
        max_chars=services.answer_max_chars(), editable=can_edit_bid(current_user, bid),
        max_file=services.attachment_max_bytes(), max_bid=services.bid_max_bytes(),
        time_left=time_left_in_words(bid.call.submission_deadline),
        title=_("Interessenbekundung für Los %(number)s", number=bid.lot.number),
    ), status


@bp.route("/interessenbekundungen/<int:bid_id>", methods=["GET", "POST"])
@login_required
def edit(bid_id: int) -> Any:
    bid = load_bid(bid_id)
    if request.method == "POST":
        # Allow a request up to the per-bid limit, so that a single file over
        # the per-file limit is refused next to its field with the text kept.
        request.max_content_length = services.bid_max_bytes() + 2 * 1024 * 1024
    form = _draft_form(bid)
    if request.method == "GET":
        _fill_form(form, bid)
        return _render_edit(bid, form)
    if not can_edit_bid(current_user, bid):
        form.form_errors.append(_("Die Frist ist abgelaufen; der Entwurf kann nicht mehr geändert werden. "
                                  "Es zählt die zuletzt eingereichte Fassung."))
        return _render_edit(bid, form, status=409)
    if not form.validate():
        return _render_edit(bid, form, status=422)
    try:
        commit_with_retry(lambda: _save(bid.id, form))
    except Refused as exc:
        db.session.rollback()
        show_refusal(form, exc)
        return _render_edit(db.session.get(Bid, bid_id), form, status=409 if isinstance(exc, services.DeadlinePassed) else 422)
    bid = db.session.get(Bid, bid_id)
    status, stored = _store_uploads(bid, form)
    if status != 200:
        form.form_errors.append(_("Ihre Texte wurden gespeichert; die markierte Datei wurde nicht übernommen."))
        return _render_edit(db.session.get(Bid, bid_id), form, status=status)
    remove = request.form.get("remove", type=int)
    if remove:
        attachment = db.session.get(BidAttachment, remove)
        if attachment is not None and attachment.bid_id == bid.id:
            commit_with_retry(lambda: services.remove_attachment(db.session.get(BidAttachment, remove), by=current_user))
            flash(_("Der Anhang wurde entfernt."), "success")
    flash(_("Der Entwurf wurde gespeichert.") + (" " + _("%(n)s Datei(en) hochgeladen.", n=stored) if stored else ""), "success")
    if request.form.get("action") == "submit":
        return redirect(url_for("bids.submit", bid_id=bid.id))
    return redirect(url_for("bids.edit", bid_id=bid.id))


def _save(bid_id: int, form: Any) -> Bid:
    bid = db.session.get(Bid, bid_id)
    return services.save_draft(
        bid, by=current_user,
        answers={c.id: form[f"answer_{c.id}"].data or "" for c in services.scored_criteria(bid)},
        declarations={c.id: bool(form[f"declaration_{c.id}"].data) for c in services.eligibility_criteria(bid)},
        contact={key: form[f"contact_{key}"].data or "" for key in services.CONTACT_FIELDS},
    )


def _store_uploads(bid: Bid, form: Any) -> tuple[int, int]:
    """Store each uploaded file; stop at the first refusal (413 if it was too large)."""
    uploads: list[tuple[str, Any, Any]] = []
    for criterion in services.eligibility_criteria(bid):
        uploads.append((f"evidence_{criterion.id}", criterion, form[f"evidence_{criterion.id}"].data))
    uploads.append(("attachment", None, form.attachment.data))
    stored = 0
    for field_name, criterion, upload in uploads:
        if upload is None or not getattr(upload, "filename", ""):
            continue
        data = upload.read()
        title = form.attachment_title.data or "" if criterion is None else ""
        try:
            commit_with_retry(lambda: services.add_attachment(
                db.session.get(Bid, bid.id), by=current_user, data=data, filename=upload.filename, title=title,
                criterion=criterion))
        except Refused as exc:
            db.session.rollback()
            show_refusal(form, exc)
            too_large = len(data) > services.attachment_max_bytes() or "größer" in str(exc.message)
            return (413 if too_large else 422), stored
        stored += 1
    return 200, stored


@bp.post("/interessenbekundungen/<int:bid_id>/uebernehmen")
@login_required
def copy(bid_id: int) -> BaseResponse:
    bid = load_bid(bid_id)
    source = load_bid(request.form.get("source", type=int) or 0)
    back = url_for("bids.edit", bid_id=bid.id)
    return attempt(
        None, lambda: services.copy_from_bid(db.session.get(Bid, bid.id), db.session.get(Bid, source.id), by=current_user),
        success=_("Die Angaben aus Los %(number)s wurden übernommen. Bitte prüfen Sie sie.", number=source.lot.number),
        redirect_to=back, code=302, commit=commit_with_retry,
    ) or redirect(back)


@bp.get("/interessenbekundungen/<int:bid_id>/anhaenge/<int:attachment_id>")
@login_required
def attachment(bid_id: int, attachment_id: int) -> Any:
    item = db.session.get(BidAttachment, attachment_id)
    if item is None or item.bid_id != bid_id:
        abort(404)
    try:
        data = read_attachment(item, user=current_user)
        meta = read_attachment_meta(item, user=current_user)
    except SealedAccessRefused as exc:
        return refused_sealed(exc)
    db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment", filename=meta["filename"])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/interessenbekundungen/<int:bid_id>/einreichen", methods=["GET", "POST"])
@login_required
def submit(bid_id: int) -> Any:
    bid = load_bid(bid_id)
    form = SubmitForm()
    summary = services.build_summary(bid, by=current_user, version=bid.version_count + 1)
    if request.method == "GET":
        form.fingerprint.data = summary.fingerprint
    status = 200
    if form.validate_on_submit():
        if done := attempt(
            form, lambda: services.submit_bid(db.session.get(Bid, bid_id), by=current_user,
                                              confirmed_fingerprint=form.fingerprint.data or None),
            success=_("Ihre Interessenbekundung ist eingegangen. Die Eingangsbestätigung wurde auch per E-Mail versandt."),
            redirect_to=lambda version: url_for("bids.receipt", number=version.receipt_number), code=302,
            commit=commit_with_retry,
        ):
            return done
        status = 409
        bid = db.session.get(Bid, bid_id)
        summary = services.build_summary(bid, by=current_user, version=bid.version_count + 1)
        form.fingerprint.data = summary.fingerprint
    elif request.method == "POST":
        status = 422
    return render_template(
        "bids/submit.html", bid=bid, form=form, summary=summary, editable=can_edit_bid(current_user, bid),
        scored=services.scored_criteria(bid), eligible=services.eligibility_criteria(bid),
        title=_("Interessenbekundung einreichen"),
    ), status


@bp.route("/interessenbekundungen/<int:bid_id>/zuruecknehmen", methods=["GET", "POST"])
@login_required
def withdraw(bid_id: int) -> Any:
    bid = load_bid(bid_id)
    form = WithdrawForm()
    status = 200
    if form.validate_on_submit():
        if done := attempt(
            form, lambda: services.withdraw_bid(db.session.get(Bid, bid_id), by=current_user),
            success=_("Ihre Interessenbekundung wurde zurückgezogen."),
            redirect_to=lambda version: url_for("bids.receipt", number=version.receipt_number), code=302,
            commit=commit_with_retry,
        ):
            return done
        status = 409
    elif request.method == "POST":
        status = 422
    return render_template("bids/withdraw.html", bid=bid, form=form, title=_("Interessenbekundung zurückziehen")), status


def _load_receipt(number: str) -> BidVersion:
    version = services.find_version_by_receipt(number)
    if version is None or not is_own_bid(current_user, version.bid):
        abort(404)
    return version


@bp.get("/eingangsbestaetigungen/<number>")
@login_required
def receipt(number: str) -> str:
    version = _load_receipt(number)
    return render_template("bids/receipt.html", version=version, bid=version.bid, utc_text=utc_text(version),
                           attachments=attachment_rows(version.bid, version.attachments),
                           title=_("Eingangsbestätigung %(number)s", number=version.receipt_number))


@bp.get("/eingangsbestaetigungen/<number>.pdf")
@login_required
def receipt_pdf_view(number: str) -> Response:
    version = _load_receipt(number)
    pdf = receipt_pdf(version, bid=version.bid, attachments=attachment_rows(version.bid, version.attachments))
    response = Response(pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment", filename=f"Eingangsbestaetigung-{number}.pdf")
    return response
