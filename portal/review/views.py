"""Reviewer pages under /begutachtung: declarations, bids with the scoring form, submit, reopen, scores.

A bid or the scores of a lot that the user may not see answer 403 for staff
(404 for everyone else), and the attempt is recorded as an internal audit
event. Every read of bid contents goes through `portal.bids.sealed`.
"""
from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.accounts.permissions import is_observer, is_officer, is_staff
from portal.bids.canonical import digest
from portal.bids.models import Bid, BidAttachment
from portal.bids.sealed import SealedAccessRefused, read_attachment, read_attachment_meta, read_version
from portal.bids.transactions import commit_with_retry
from portal.bids.views import attachment_rows, refused_sealed
from portal.calls.models import Call, Lot
from portal.core.actions import attempt
from portal.core.errors import NotPermitted, Refused
from portal.core.permissions import require
from portal.extensions import db
from portal.review import queries, services
from portal.review.forms import (
    ConfirmForm,
    LaterConflictForm,
    ReasonForm,
    declaration_form_class,
    score_form_class,
)
from portal.review.models import ConflictKind, ReviewAssignment
from portal.review.permissions import (
    PANEL_STATES,
    REVIEWED_STATES,
    can_declare,
    can_open_review_index,
    can_review_bid,
    can_score,
    can_see_scores,
    has_conflict,
    is_chair,
    is_lot_reviewer,
    reviewer_assignment,
)

bp = Blueprint("review", __name__, url_prefix="/begutachtung")


def refuse(what: str, subject: Any, data: dict[str, Any]) -> NoReturn:
    """Record the refused look (internal audit event), then 403 for staff, 404 for everyone else."""
    commit_with_retry(lambda: services.record_refused_access(current_user, what=what, subject=subject, data=data))
    abort(403 if is_staff(current_user) else 404)


def load_lot(lot_id: int) -> Lot:
    lot = db.session.get(Lot, lot_id)
    if lot is None or lot.call.state not in REVIEWED_STATES:
        abort(404)
    return lot


def load_bid(bid_id: int) -> Bid:
    bid = db.session.get(Bid, bid_id)
    if bid is None:
        abort(404)
    return bid


def require_bid(bid: Bid) -> None:
    """The review's door to a bid: reviewers of its lot and the chair, after declaring no conflict."""
    if can_review_bid(current_user, bid):
        return
    reason = "conflict" if has_conflict(current_user, bid) else "not_panel"
    refuse("bid_review", bid, {"bid": bid.id, "call": bid.call_id, "lot": bid.lot_id, "reason": reason})


def require_scores(lot: Lot) -> None:
    if can_see_scores(current_user, lot):
        return
    refuse("scores", lot, {"lot": lot.id, "call": lot.call_id})


def attempt_or_403(form: Any, action: Any, **kwargs: Any) -> BaseResponse | None:
    """`attempt`, but a `NotPermitted` refusal answers 403 instead of standing on the form."""
    try:
        return attempt(form, action, reraise=(NotPermitted,), **kwargs)
    except NotPermitted:
        abort(403)


def entries_from(form: Any, criteria: list[Any], text_field: str) -> dict[int, tuple[Any, str]]:
    return {c.id: (form[f"points_{c.id}"].data, form[f"{text_field}_{c.id}"].data or "") for c in criteria}


# --------------------------------------------------------------------------
# My review work
# --------------------------------------------------------------------------


@bp.get("")
@login_required
def index() -> str:
    """Entry point: one's own review work; for officers and observers the calls in review."""
    assignments = db.session.scalars(
        select(ReviewAssignment).where(ReviewAssignment.user_id == current_user.id).order_by(ReviewAssignment.id)
    ).all()
    require(can_open_review_index(current_user))
    rows = []
    for assignment in assignments:
        if assignment.call.state not in REVIEWED_STATES:
            continue
        progress = services.review_progress(assignment) if assignment.lot is not None else None
        rows.append({"assignment": assignment, "progress": progress})
    calls = db.session.scalars(
        select(Call).where(Call.state.in_(PANEL_STATES | REVIEWED_STATES)).order_by(Call.submission_deadline.desc())
    ).all() if is_officer(current_user) or is_observer(current_user) else []
    return render_template("review/index.html", rows=rows, calls=calls, title=_("Begutachtung"))


def _lot_context(lot: Lot) -> dict[str, Any]:
    assignment = reviewer_assignment(current_user, lot)
    bids = queries.counting_bids(lot)
    declarations = {org_id: d for (user_id, org_id), d in queries.lot_declarations(lot).items()
                    if user_id == current_user.id}
    scores = services.own_scores(current_user, lot)
    criteria = queries.scored_criteria(lot)
    rows = [{
        "bid": bid,
        "declaration": declarations.get(bid.organisation_id),
        "excluded": services.is_excluded(bid),
        "done": sum(1 for c in criteria if (bid.id, c.id) in scores),
    } for bid in bids]
    later = LaterConflictForm(prefix="later")
    later.organisation.choices = [SelectChoice(str(b.organisation_id), b.organisation.name) for b in bids
                                  if (d := declarations.get(b.organisation_id)) is not None and not d.conflict]
    return {
        "lot": lot, "call": lot.call, "assignment": assignment, "rows": rows, "criteria": criteria,
        "progress": services.review_progress(assignment) if assignment else None,
        "undeclared": services.undeclared_organisations(current_user, lot),
        "submit_form": ConfirmForm(prefix="submit"), "reopen_form": ReasonForm(prefix="reopen"), "later_form": later,
        "title": _("Begutachtung Los %(number)s: %(title)s", number=lot.number, title=lot.title),
    }


def _render_lot(lot: Lot, *, status: int = 200, **forms: Any) -> tuple[str, int]:
    context = _lot_context(lot)
    context.update(forms)
    return render_template("review/lot.html", **context), status


def _require_lot_member(lot: Lot) -> None:
    require(is_lot_reviewer(current_user, lot) or is_chair(current_user, lot.call))


@bp.get("/lose/<int:lot_id>")
@login_required
def lot(lot_id: int) -> Any:
    lot = load_lot(lot_id)
    _require_lot_member(lot)
    return _render_lot(lot)


@bp.route("/lose/<int:lot_id>/erklaerung", methods=["GET", "POST"])
@login_required
def declaration(lot_id: int) -> Any:
    """The conflict-of-interest declaration for every bidding organisation not yet declared."""
    lot = load_lot(lot_id)
    _require_lot_member(lot)
    require(can_declare(current_user, lot))
    organisations = services.undeclared_organisations(current_user, lot)
    if not organisations:
        flash(_("Sie haben Ihre Erklärung für alle Träger dieses Loses abgegeben."), "success")
        return redirect(url_for("review.lot", lot_id=lot.id))
    form = declaration_form_class(organisations)()
    status = 200
    if form.validate_on_submit():
        problems: dict[str, Any] = {}

        def work() -> None:
            for organisation in organisations:
                conflict = form[f"decision_{organisation.id}"].data == "conflict"
                try:
                    with db.session.begin_nested():
                        services.declare(lot, organisation, by=current_user, conflict=conflict,
                                         kind=form[f"kind_{organisation.id}"].data or None,
                                         reason=form[f"reason_{organisation.id}"].data or "")
                except Refused as exc:
                    problems[f"{exc.field or 'decision'}_{organisation.id}"] = exc.message
            if problems:
                raise services.InvalidEntries(problems)

        if done := attempt(form, work, success=_("Ihre Erklärung wurde gespeichert."),
                           redirect_to=url_for("review.lot", lot_id=lot.id), code=302, commit=commit_with_retry):
            return done
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("review/declaration.html", lot=lot, call=lot.call, form=form, organisations=organisations,
                           kinds=ConflictKind, title=_("Befangenheitserklärung für Los %(number)s", number=lot.number)), status


@bp.post("/lose/<int:lot_id>/befangenheit")
@login_required
def later_conflict(lot_id: int) -> Any:
    """A conflict discovered later: withdraws the reviewer's scores for that bid."""
    lot = load_lot(lot_id)
    _require_lot_member(lot)
    context = _lot_context(lot)
    form = context["later_form"]
    if form.validate_on_submit():
        organisation = next((b.organisation for b in queries.counting_bids(lot)
                             if b.organisation_id == form.organisation.data), None)
        if organisation is None:
            abort(404)
        if done := attempt_or_403(
            form, lambda: services.declare(lot, organisation, by=current_user, conflict=True,
                                           kind=form.kind.data or None, reason=form.reason.data or ""),
            success=_("Ihre Befangenheit für %(organisation)s wurde erklärt. Ihre Bewertungen dieser "
                      "Interessenbekundung wurden zurückgezogen.", organisation=organisation.name),
            redirect_to=url_for("review.lot", lot_id=lot.id), code=302, commit=commit_with_retry,
        ):
            return done
    return _render_lot(lot, status=422, later_form=form)


@bp.post("/lose/<int:lot_id>/abschliessen")
@login_required
def submit(lot_id: int) -> Any:
    lot = load_lot(lot_id)
    require(is_lot_reviewer(current_user, lot))
    form = ConfirmForm(prefix="submit")
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.submit_review(lot, by=current_user),
        success=_("Ihre Bewertung ist abgeschlossen. Sie sehen jetzt auch die Bewertungen der anderen."),
        redirect_to=url_for("review.lot", lot_id=lot.id), code=302, commit=commit_with_retry,
    )):
        return done
    return _render_lot(lot, status=422, submit_form=form)


@bp.post("/lose/<int:lot_id>/wieder-oeffnen")
@login_required
def reopen(lot_id: int) -> Any:
    lot = load_lot(lot_id)
    require(is_lot_reviewer(current_user, lot))
    form = ReasonForm(prefix="reopen")
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.reopen_review(lot, by=current_user, reason=form.reason.data or ""),
        success=_("Ihre Bewertung ist wieder geöffnet. Schließen Sie sie nach den Änderungen erneut ab."),
        redirect_to=url_for("review.lot", lot_id=lot.id), code=302, commit=commit_with_retry,
    )):
        return done
    return _render_lot(lot, status=422, reopen_form=form)


# --------------------------------------------------------------------------
# A bid: answers and attachments beside the criteria, the scoring form
# --------------------------------------------------------------------------


def bid_context(bid: Bid) -> dict[str, Any]:
    version = bid.latest_submission
    assert version is not None
    data = read_version(version, user=current_user)
    document = json.loads(data)
    attachments = attachment_rows(bid, version.attachments)
    lot = bid.lot
    assignment = reviewer_assignment(current_user, lot)
    criteria = queries.scored_criteria(lot)
    answers = {a["criterion"]: a["text"] for a in document["answers"]}
    return {
        "bid": bid, "lot": lot, "call": bid.call, "version": version, "document": document,
        "verified": digest(data) == version.digest, "answers": answers,
        "general_attachments": [a for a in attachments if a["attachment"].criterion_id is None],
        "evidence": attachments, "criteria": criteria, "eligibility": queries.eligibility_criteria(lot),
        "assignment": assignment, "progress": services.review_progress(assignment) if assignment else None,
        "may_score": can_score(current_user, bid),
        "title": _("Interessenbekundung von %(org)s", org=bid.organisation.name),
    }


def bid_form_page(bid: Bid, form: Any, work: Any, *, done: str, next_url: str, template: str,
                  **extra: Any) -> Any:
    """A form beside the bid's contents: on POST run the service `work` and redirect, else (or on a refusal,
    with every problem next to its field) render `template` with the decrypted bid (reads are recorded)."""
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit() and (saved := attempt_or_403(form, work, success=done, redirect_to=next_url,
                                                                   code=302, commit=commit_with_retry)):
            return saved
    try:
        context = bid_context(bid)
    except SealedAccessRefused as exc:
        refused_sealed(exc)
    db.session.commit()  # the recorded reads
    return render_template(template, form=form, **{**context, **extra}), status


@bp.route("/interessenbekundungen/<int:bid_id>", methods=["GET", "POST"])
@login_required
def bid(bid_id: int) -> Any:
    bid = load_bid(bid_id)
    require_bid(bid)
    criteria = queries.scored_criteria(bid.lot)
    form = score_form_class(bid.call, criteria)()
    if request.method == "GET":
        for (bid_id_, criterion_id), score in services.own_scores(current_user, bid.lot).items():
            if bid_id_ == bid.id:
                form[f"points_{criterion_id}"].data = str(score.points)
                form[f"justification_{criterion_id}"].data = score.justification
    return bid_form_page(
        bid, form, lambda: services.save_scores(bid, entries_from(form, criteria, "justification"), by=current_user),
        done=_("Ihre Bewertung wurde gespeichert."), next_url=url_for("review.bid", bid_id=bid.id),
        template="review/bid.html")


@bp.get("/interessenbekundungen/<int:bid_id>/anhaenge/<int:attachment_id>")
@login_required
def attachment(bid_id: int, attachment_id: int) -> Any:
    """A PDF of the bid shown in the browser (the bids page offers the download)."""
    bid = load_bid(bid_id)
    require_bid(bid)
    item = db.session.get(BidAttachment, attachment_id)
    if item is None or item.bid_id != bid.id:
        abort(404)
    try:
        data = read_attachment(item, user=current_user)
        meta = read_attachment_meta(item, user=current_user)
    except SealedAccessRefused as exc:
        refused_sealed(exc)
    db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "inline", filename=meta["filename"])
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------
# The scores of a lot (after one's own are submitted)
# --------------------------------------------------------------------------


def score_sheet(lot: Lot) -> list[dict[str, Any]]:
    """Per bid the user may see: per criterion every counting score, the statistics and the consolidated points."""
    statistics = services.submitted_scores(lot)
    consolidated = queries.lot_consolidated(lot)
    criteria = queries.scored_criteria(lot)
    sheet = []
    for bid in queries.counting_bids(lot):
        if has_conflict(current_user, bid):
            continue
        sheet.append({
            "bid": bid, "excluded": services.is_excluded(bid),
            "criteria": [{
                "criterion": c,
                "stats": statistics.get((bid.id, c.id)),
                "consolidated": consolidated.get((bid.id, c.id)),
            } for c in criteria],
        })
    return sheet


@bp.get("/lose/<int:lot_id>/bewertungen")
@login_required
def scores(lot_id: int) -> str:
    lot = load_lot(lot_id)
    require_scores(lot)
    return render_template("review/scores.html", lot=lot, call=lot.call, sheet=score_sheet(lot),
                           format_decimal=services.format_decimal,
                           title=_("Bewertungen Los %(number)s: %(title)s", number=lot.number, title=lot.title))
