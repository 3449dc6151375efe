"""Officer pages (under /verwaltung/vergabe): ranking, proposal and approval per lot,
the policy, letters with their delivery, objections, and the procurement record."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from portal.awards import ranking, services
from portal.awards.forms import AnswerForm, ApprovalForm, PolicyForm, ProposalForm, ReturnForm
from portal.awards.models import AwardDecision, InformationLetter, LetterDelivery, Objection
from portal.awards.permissions import can_manage_awards, can_view_procurement_record
from portal.awards.record import build_record
from portal.calls.models import Call, CallState
from portal.core.actions import attempt
from portal.core.pdfgen import render_pdf
from portal.core.permissions import require
from portal.extensions import db

bp = Blueprint("awards_admin", __name__, url_prefix="/verwaltung/vergabe")

LISTED_STATES = (CallState.OPENED, CallState.IN_REVIEW, CallState.DECIDED, CallState.STANDSTILL, CallState.AWARDED,
                 CallState.CANCELLED)


@bp.before_request
@login_required
def _officers_only() -> None:
    # Officers without the second factor in this session never get here: the accounts gate sends them to it.
    require(can_manage_awards(current_user))


def _call(reference: str) -> Call:
    call = db.session.scalar(select(Call).where(Call.reference == reference).options(selectinload(Call.lots)))
    if call is None or not can_manage_awards(current_user, call):
        abort(404)
    return call


@bp.get("/")
def index() -> str:
    calls = db.session.scalars(select(Call).where(Call.state.in_(LISTED_STATES)).order_by(Call.submission_deadline.desc())).all()
    return render_template("awards/admin/index.html", title=_("Vergabe"), calls=calls)


def _lot_rows(call: Call, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    in_force = services.current_decisions(call)
    pending = services.pending_proposals(call)
    rows = []
    for lot in call.lots:
        snap = ranking.snapshot(ranking.live_ranking(lot))
        proposal = overrides.get(f"proposal-{lot.id}") or ProposalForm(prefix=f"lot{lot.id}")
        proposal.winners.choices = [SelectChoice(str(e["bid_id"]), f"{e['rank']}. {e['organisation_name']} ({e['total']})")
                                    for e in ranking.eligible(snap)]
        decision = pending.get(lot.id)
        rows.append({
            "lot": lot, "ranking": snap, "decidable": not snap["gaps"] and snap["final"], "in_force": in_force.get(lot.id),
            "pending": decision, "proposal": proposal,
            "approve": ApprovalForm(prefix=f"approve{decision.id}") if decision else None,
            "give_back": (overrides.get(f"return-{decision.id}") or ReturnForm(prefix=f"return{decision.id}")) if decision else None,
        })
    return rows


def _page(call: Call, status: int = 200, **overrides: Any) -> tuple[str, int]:
    policy = services.policy_for(call)
    policy_form = overrides.get("policy") or PolicyForm(prefix="policy", data={
        "several_winners": policy.several_winners, "publish_other_bids": policy.publish_other_bids})
    objections = services.objections_of(call)
    answer_forms = {o.id: overrides.get(f"answer-{o.id}") or AnswerForm(prefix=f"answer{o.id}") for o in objections}
    letters = db.session.scalars(select(InformationLetter).where(InformationLetter.call_id == call.id)
                                 .options(selectinload(InformationLetter.deliveries).selectinload(LetterDelivery.mail),
                                          selectinload(InformationLetter.organisation))
                                 .order_by(InformationLetter.id.desc())).all()
    return render_template(
        "awards/admin/call.html", title=_("Vergabe: %(ref)s", ref=call.reference), call=call, rows=_lot_rows(call, overrides),
        policy_form=policy_form, objections=objections, answer_forms=answer_forms, letters=letters,
        award_round=services.current_round(call), blockers=services.finalisation_blockers(call),
        notice=services.notice_for(call), errors=overrides.get("errors", []),
    ), status


@bp.get("/<reference>")
def show(reference: str) -> tuple[str, int]:
    return _page(_call(reference))


@bp.post("/<reference>/lose/<int:number>/vorschlag")
def propose(reference: str, number: int) -> Any:
    call = _call(reference)
    lot = next((lot for lot in call.lots if lot.number == number), None)
    if lot is None:
        abort(404)
    form = ProposalForm(prefix=f"lot{lot.id}")
    form.winners.choices = []
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.propose_award(
            lot, by=current_user, no_award=form.outcome.data == "no_award",
            winner_bid_ids=form.winners.data if form.outcome.data == "choice" else None,
            deviation_reason=form.deviation_reason.data, no_award_reason=form.no_award_reason.data,
            revision_reason=form.revision_reason.data,
        ),
        success=_("Der Vorschlag für Los %(n)s ist gespeichert. Eine zweite Person der Vergabestelle muss ihn "
                  "freigeben.", n=lot.number),
        redirect_to=url_for("awards_admin.show", reference=call.reference),
    )):
        return done
    return _page(call, 422, **{f"proposal-{lot.id}": form})


def _decision(call: Call, decision_id: int) -> AwardDecision:
    decision = db.session.get(AwardDecision, decision_id)
    if decision is None or decision.call_id != call.id:
        abort(404)
    return decision


@bp.post("/<reference>/entscheidungen/<int:decision_id>/freigabe")
def approve(reference: str, decision_id: int) -> Any:
    call = _call(reference)
    decision = _decision(call, decision_id)
    form = ApprovalForm(prefix=f"approve{decision.id}")
    if not form.validate_on_submit():
        return _page(call, 422, errors=[_("Die Anfrage war ungültig. Bitte versuchen Sie es erneut.")])
    if done := attempt(form, lambda: services.approve_award(decision, by=current_user),
                       success=_("Die Vergabe ist freigegeben."),
                       redirect_to=url_for("awards_admin.show", reference=call.reference)):
        return done
    # The approval form has no fields: the refusal stands in its form errors, shown at the top of the page.
    return _page(call, 409, errors=form.form_errors)


@bp.post("/<reference>/entscheidungen/<int:decision_id>/rueckgabe")
def give_back(reference: str, decision_id: int) -> Any:
    call = _call(reference)
    decision = _decision(call, decision_id)
    form = ReturnForm(prefix=f"return{decision.id}")
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.return_proposal(decision, reason=form.reason.data, by=current_user),
        success=_("Der Vorschlag wurde zurückgegeben."), redirect_to=url_for("awards_admin.show", reference=call.reference),
    )):
        return done
    return _page(call, 422, **{f"return-{decision.id}": form})


@bp.post("/<reference>/einstellungen")
def policy(reference: str) -> Any:
    call = _call(reference)
    form = PolicyForm(prefix="policy")
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.set_policy(call, several_winners=form.several_winners.data,
                                          publish_other_bids=form.publish_other_bids.data, by=current_user),
        success=_("Die Einstellungen zur Vergabe sind gespeichert."),
        redirect_to=url_for("awards_admin.show", reference=call.reference),
    )):
        return done
    return _page(call, 422, policy=form)


@bp.post("/<reference>/ruegen/<int:objection_id>/antwort")
def answer(reference: str, objection_id: int) -> Any:
    call = _call(reference)
    objection = db.session.get(Objection, objection_id)
    if objection is None or objection.call_id != call.id:
        abort(404)
    form = AnswerForm(prefix=f"answer{objection.id}")
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.answer_objection(objection, upheld=form.verdict.data == "upheld", answer=form.answer.data,
                                                by=current_user),
        success=_("Die Antwort auf die Rüge ist gespeichert und an den Träger versandt."),
        redirect_to=url_for("awards_admin.show", reference=call.reference),
    )):
        return done
    return _page(call, 422, **{f"answer-{objection.id}": form})


def _record(reference: str) -> Any:
    call = db.session.scalar(select(Call).where(Call.reference == reference))
    if call is None or not can_view_procurement_record(current_user, call):
        abort(404)
    return build_record(call)


@bp.get("/<reference>/vergabevermerk")
def record_view(reference: str) -> str:
    procurement_record = _record(reference)
    return render_template("awards/admin/record.html", title=_("Vergabevermerk %(ref)s", ref=reference), r=procurement_record)


@bp.get("/<reference>/vergabevermerk.pdf")
def record_pdf(reference: str) -> Response:
    procurement_record = _record(reference)
    from flask_babel import force_locale

    with force_locale("de"):
        html = render_template("awards/admin/record_pdf.html", r=procurement_record, title=f"Vergabevermerk {reference}")
    pdf = render_pdf(html, title=f"Vergabevermerk {reference}")
    response = Response(pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment", filename=f"Vergabevermerk-{reference}.pdf")
    return response

