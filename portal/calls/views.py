"""Public call pages (readable without an account), feeds, calendar, questions, following.

Every page loads what it shows with a fixed number of queries (eager loading
chosen per page), however many calls, lots and questions there are.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from portal.calls import feeds
from portal.calls.forms import FollowForm, QuestionForm
from portal.calls.models import CLOSED_STATES, Call, CallState, Lot, Question, QuestionState, public_page_options
from portal.calls.notifications import follow_call, is_following, unfollow_call
from portal.calls.permissions import can_ask_question, can_follow_call, can_view_call, question_organisations
from portal.calls.questions import ask_question
from portal.calls.state import STATE_GROUPS
from portal.calls.trail import call_trail, list_validator, page_validator
from portal.core.caching import conditional
from portal.core.actions import attempt
from portal.core.permissions import require
from portal.core.time import now
from portal.extensions import db

bp = Blueprint("calls", __name__, url_prefix="/aufrufe")





def load_public_call(reference: str, *, options: tuple[Any, ...] | None = None) -> Call:
    options = public_page_options() if options is None else options
    call = db.session.scalar(select(Call).where(Call.reference == reference).options(*options))
    if call is None or not can_view_call(current_user, call):
        abort(404)
    return call


def _state_filter(group: str) -> Any:
    at = now()
    if group == "offen":
        return and_(Call.state == CallState.PUBLISHED, Call.submission_deadline > at)
    if group == "geschlossen":
        return or_(Call.state.in_(CLOSED_STATES), and_(Call.state == CallState.PUBLISHED, Call.submission_deadline <= at))
    return Call.state.in_(STATE_GROUPS[group][1])


@bp.get("/")
@conditional(list_validator)
def index() -> str:
    status = request.args.get("status", "")
    region = request.args.get("region", "").strip()
    query = request.args.get("q", "").strip()
    stmt = select(Call).where(Call.state != CallState.DRAFT).options(selectinload(Call.lots))
    if status in STATE_GROUPS:
        stmt = stmt.where(_state_filter(status))
    if region:
        stmt = stmt.where(Call.lots.any(Lot.region == region))
    if query:
        pattern = f"%{query.lower()}%"
        stmt = stmt.where(or_(db.func.lower(Call.title).like(pattern), db.func.lower(Call.reference).like(pattern)))
    calls = db.session.scalars(stmt.order_by(Call.published_at.desc(), Call.id.desc())).all()
    regions = db.session.scalars(
        select(Lot.region).distinct().join(Call).where(Call.state != CallState.DRAFT, Lot.region != "").order_by(Lot.region)
    ).all()
    return render_template("calls/index.html", title=_("Aufrufe zur Interessenbekundung"), calls=calls, regions=regions,
                           status=status, region=region, query=query, groups=STATE_GROUPS)


@bp.get("/feed.atom")
def feed_all() -> Response:
    calls = db.session.scalars(
        select(Call).where(Call.state != CallState.DRAFT).options(selectinload(Call.amendments), selectinload(Call.questions))
    ).all()
    return feeds.atom_response(calls, title=_("Aufrufe zur Interessenbekundung"), self_url=url_for("calls.feed_all", _external=True))


@bp.get("/<reference>")
@conditional(page_validator)
def show(reference: str) -> str:
    call = load_public_call(reference)
    signed_in = getattr(current_user, "is_authenticated", False)
    following = is_following(current_user, call) if signed_in else False
    # Only signed-in users can follow: an anonymous visitor's page carries no CSRF token (and can be stored).
    return render_template("calls/show.html", title=call.title, call=call, following=following,
                           follow_form=FollowForm() if signed_in else None,
                           trail=call_trail(call) if call.is_public else None)


@bp.get("/<reference>/feed.atom")
def feed_call(reference: str) -> Response:
    call = load_public_call(reference, options=(selectinload(Call.amendments), selectinload(Call.questions)))
    return feeds.atom_response([call], title=call.title, self_url=url_for("calls.feed_call", reference=call.reference, _external=True))


@bp.get("/<reference>/termine.ics")
def calendar(reference: str) -> Response:
    call = load_public_call(reference, options=())
    return feeds.ics_response(call)


@bp.get("/<reference>/dokumente/<int:document_id>/<filename>")
def document(reference: str, document_id: int, filename: str) -> Response:
    call = load_public_call(reference, options=())
    doc = next((d for d in call.documents if d.id == document_id), None)
    if doc is None:
        abort(404)
    response = Response(doc.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Content-SHA256"] = doc.sha256
    return response


@bp.post("/<reference>/folgen")
@login_required
def follow(reference: str) -> BaseResponse:
    call = load_public_call(reference, options=())
    require(can_follow_call(current_user, call))
    if FollowForm().validate_on_submit():
        if request.form.get("action") == "unfollow":
            unfollow_call(call, by=current_user)
            flash(_("Sie folgen diesem Aufruf nicht mehr."), "success")
        else:
            follow_call(call, by=current_user)
            flash(_("Sie folgen diesem Aufruf und erhalten E-Mails zu Änderungen, Antworten und Fristen."), "success")
        db.session.commit()
    return redirect(url_for("calls.show", reference=call.reference), code=303)


@bp.route("/<reference>/fragen/neu", methods=["GET", "POST"])
@login_required
def ask(reference: str) -> Any:
    call = load_public_call(reference, options=())
    organisations = question_organisations(current_user)
    require(bool(organisations))
    form = QuestionForm()
    form.organisation_id.choices = [SelectChoice(str(org.id), org.name) for org in organisations]
    open_now = can_ask_question(current_user, call)
    own = db.session.scalars(
        select(Question).where(Question.call_id == call.id, Question.organisation_id.in_([o.id for o in organisations]))
        .order_by(Question.id)
    ).all()
    if form.validate_on_submit():
        organisation = next(o for o in organisations if o.id == form.organisation_id.data)
        done = attempt(form, lambda: ask_question(call, organisation=organisation, text=form.text.data, by=current_user),
                       success=_("Ihre Frage ist eingegangen. Die Antwort wird für alle veröffentlicht – ohne Ihren Namen und den Ihres Trägers."),
                       redirect_to=url_for("calls.ask", reference=call.reference))
        if done:
            return done
    status = 422 if request.method == "POST" else 200
    return render_template("calls/ask.html", title=_("Frage zum Aufruf stellen"), call=call, form=form,
                           open_now=open_now, own=own, QuestionState=QuestionState), status
