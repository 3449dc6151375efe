"""Officer and chair pages under /verwaltung/aufrufe/<reference>/begutachtung.

Overview per call and lot, the panel, eligibility, consolidation with mean,
median and spread, closing, the ranking with the drawing of lots, and the
CSV export of all scores (anonymised per reviewer on request).
"""
from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.accounts.models import Role, User, UserRole
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.bids.models import Bid
from portal.bids.transactions import commit_with_retry
from portal.calls.models import Call, Lot
from portal.core.actions import attempt
from portal.core.errors import NotPermitted, Refused
from portal.core.permissions import require
from portal.extensions import db
from portal.review import queries, services
from portal.review.forms import (
    ChairForm,
    ConfirmForm,
    EmptyForm,
    PanelForm,
    consolidation_form_class,
    draw_form_class,
    eligibility_form_class,
)
from portal.review.models import PanelRole, ReviewAssignment, Score
from portal.review.permissions import (
    can_consolidate,
    can_export_scores,
    can_manage_panel,
    can_record_draw,
    can_see_scores,
    can_view_ranking,
    can_view_review_details,
    can_view_review_overview,
    chair_of,
    has_conflict,
    is_chair,
    lot_is_closed,
)
from portal.review.ranking import rank_lot, unresolved_ties
from portal.review.views import attempt_or_403, bid_form_page, entries_from, refuse, require_bid, score_sheet

bp = Blueprint("review_admin", __name__, url_prefix="/verwaltung/aufrufe/<reference>/begutachtung")


def load_call(reference: str) -> Call:
    call = db.session.scalar(select(Call).where(Call.reference == reference))
    if call is None:
        abort(404)
    return call


def load_lot(reference: str, number: int) -> Lot:
    call = load_call(reference)
    lot = next((lot for lot in call.lots if lot.number == number), None)
    if lot is None:
        abort(404)
    return lot


def load_lot_bid(lot: Lot, bid_id: int) -> Bid:
    bid = db.session.get(Bid, bid_id)
    if bid is None or bid.lot_id != lot.id:
        abort(404)
    return bid


# --------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------


def lot_overview(lot: Lot) -> dict[str, Any]:
    """Figures (for everybody who may see the overview) and details (officers, chair) of one lot."""
    bids = queries.counting_bids(lot)
    reviewers = queries.lot_reviewers(lot)
    declarations = queries.lot_declarations(lot)
    decisions = queries.lot_eligibility(lot)
    eligibility = queries.eligibility_criteria(lot)
    consolidated = queries.lot_consolidated(lot)
    scored = queries.scored_criteria(lot)
    chair = chair_of(lot.call)
    people = [(a.user, a.submitted_at) for a in reviewers] + ([(chair.user, None)] if chair else [])
    conflicts = [d for d in declarations.values() if d.conflict]
    return {
        "lot": lot,
        "bids": bids,
        "reviewers": reviewers,
        "submitted": sum(1 for a in reviewers if a.submitted_at is not None),
        "declared": sum(1 for user, _at in people for b in bids if (user.id, b.organisation_id) in declarations),
        "declarations_due": len(people) * len(bids),
        "conflicts": conflicts,
        "declarations": declarations,
        "people": people,
        "eligibility_done": sum(1 for b in bids if all((b.id, c.id) in decisions for c in eligibility)),
        "excluded": sum(1 for b in bids if any((b.id, c.id) in decisions and not decisions[(b.id, c.id)].met
                                               for c in eligibility)),
        "consolidated": sum(1 for b in bids if scored and all((b.id, c.id) in consolidated for c in scored)),
        "closed": lot_is_closed(lot),
    }


@bp.get("")
@login_required
def overview(reference: str) -> str:
    call = load_call(reference)
    require(can_view_review_overview(current_user, call))
    details = can_view_review_details(current_user, call)
    lots = [lot_overview(lot) for lot in call.lots]
    gaps = {lot.id: rank_lot(lot).gaps for lot in call.lots} if details else {}
    return render_template("review/overview.html", call=call, lots=lots, details=details, gaps=gaps,
                           chair=chair_of(call), title=_("Begutachtung: %(title)s", title=call.title))


# --------------------------------------------------------------------------
# Panel (officers)
# --------------------------------------------------------------------------


def _staff(*roles: Role) -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole).where(UserRole.role.in_(roles), User.active.is_(True)).distinct().order_by(User.name)
    ))


def _panel_forms(call: Call, assign: PanelForm | None = None, chair: ChairForm | None = None) -> dict[str, Any]:
    assign = assign or PanelForm(prefix="assign")
    chair = chair or ChairForm(prefix="chair")
    assign.lot.choices = [SelectChoice(str(lot.id), _("Los %(number)s: %(title)s", number=lot.number, title=lot.title))
                          for lot in call.lots]
    assign.user_id.choices = [SelectChoice(str(u.id), u.name) for u in _staff(Role.REVIEWER)]
    chair.user_id.choices = [SelectChoice(str(u.id), u.name) for u in _staff(Role.REVIEWER, Role.OFFICER)]
    panel = {lot.id: queries.lot_reviewers(lot) for lot in call.lots}
    started = {lot.id: queries.scoring_started(lot) for lot in call.lots}
    return {"call": call, "assign_form": assign, "chair_form": chair, "remove_form": EmptyForm(), "panel": panel,
            "started": started, "chair": chair_of(call), "title": _("Gutachtergremium: %(title)s", title=call.title)}


@bp.get("/gremium")
@login_required
def panel(reference: str) -> str:
    call = load_call(reference)
    require(can_manage_panel(current_user, call))
    return render_template("review/panel.html", **_panel_forms(call))


@bp.post("/gremium/gutachter")
@login_required
def assign(reference: str) -> Any:
    call = load_call(reference)
    require(can_manage_panel(current_user, call))
    form = PanelForm(prefix="assign")
    context = _panel_forms(call, assign=form)
    if form.validate_on_submit():
        lot = next((lot for lot in call.lots if lot.id == form.lot.data), None)
        user = db.session.get(User, form.user_id.data)
        if lot is None or user is None:
            abort(404)
        if done := attempt(form, lambda: services.assign_reviewer(lot, user, by=current_user),
                           success=_("%(name)s ist für Los %(number)s beauftragt.", name=user.name, number=lot.number),
                           redirect_to=url_for("review_admin.panel", reference=reference), code=302,
                           commit=commit_with_retry):
            return done
    return render_template("review/panel.html", **context), 422


@bp.post("/gremium/<int:assignment_id>/entfernen")
@login_required
def remove(reference: str, assignment_id: int) -> Any:
    call = load_call(reference)
    require(can_manage_panel(current_user, call))
    assignment = db.session.get(ReviewAssignment, assignment_id)
    if assignment is None or assignment.call_id != call.id or assignment.role != PanelRole.REVIEWER:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    # A refusal stands above the panel's "assign" form (which this request leaves empty).
    assign_form = PanelForm(prefix="assign")
    if done := attempt(assign_form, lambda: services.remove_reviewer(assignment, by=current_user),
                       success=_("%(name)s ist nicht mehr beauftragt.", name=assignment.user.name),
                       redirect_to=url_for("review_admin.panel", reference=reference), code=302,
                       commit=commit_with_retry):
        return done
    return render_template("review/panel.html", **_panel_forms(call, assign=assign_form)), 409


@bp.post("/gremium/vorsitz")
@login_required
def name_chair(reference: str) -> Any:
    call = load_call(reference)
    require(can_manage_panel(current_user, call))
    form = ChairForm(prefix="chair")
    context = _panel_forms(call, chair=form)
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data)
        if user is None:
            abort(404)
        if done := attempt(form, lambda: services.name_chair(call, user, by=current_user),
                           success=_("%(name)s hat den Vorsitz.", name=user.name),
                           redirect_to=url_for("review_admin.panel", reference=reference), code=302,
                           commit=commit_with_retry):
            return done
    return render_template("review/panel.html", **context), 422


# --------------------------------------------------------------------------
# Eligibility (chair)
# --------------------------------------------------------------------------


@bp.route("/lose/<int:number>/eignung/<int:bid_id>", methods=["GET", "POST"])
@login_required
def eligibility(reference: str, number: int, bid_id: int) -> Any:
    lot = load_lot(reference, number)
    bid = load_lot_bid(lot, bid_id)
    require(is_chair(current_user, lot.call))
    require_bid(bid)
    criteria = queries.eligibility_criteria(lot)
    form = eligibility_form_class(criteria)()
    decisions = queries.lot_eligibility(lot)
    if request.method == "GET":
        for criterion in criteria:
            decision = decisions.get((bid.id, criterion.id))
            if decision is not None:
                form[f"met_{criterion.id}"].data = "met" if decision.met else "not_met"
                form[f"reason_{criterion.id}"].data = decision.reason

    def work() -> None:
        problems: dict[str, Any] = {}
        for criterion in criteria:
            try:
                with db.session.begin_nested():
                    services.decide_eligibility(bid, criterion, met=form[f"met_{criterion.id}"].data == "met",
                                                reason=form[f"reason_{criterion.id}"].data or "", by=current_user)
            except NotPermitted:
                raise
            except Refused as exc:
                problems[exc.field or f"met_{criterion.id}"] = exc.message
        if problems:
            raise services.InvalidEntries(problems)

    return bid_form_page(
        bid, form, work, done=_("Die Eignung von %(org)s ist festgestellt.", org=bid.organisation.name),
        next_url=url_for("review_admin.overview", reference=reference), template="review/eligibility.html",
        title=_("Eignung: %(org)s", org=bid.organisation.name))


# --------------------------------------------------------------------------
# Consolidation (chair)
# --------------------------------------------------------------------------


@bp.get("/lose/<int:number>/konsolidierung")
@login_required
def consolidation(reference: str, number: int) -> str:
    lot = load_lot(reference, number)
    require(can_consolidate(current_user, lot))
    return _render_consolidation(lot)


def _render_consolidation(lot: Lot, *, close_form: ConfirmForm | None = None, status: int = 200) -> Any:
    return render_template(
        "review/consolidation.html", lot=lot, call=lot.call, sheet=score_sheet(lot),
        blockers=services.consolidation_blockers(lot), closed=lot_is_closed(lot),
        close_form=close_form or ConfirmForm(prefix="close"), format_decimal=services.format_decimal,
        gaps=rank_lot(lot).gaps,
        title=_("Konsolidierung Los %(number)s: %(title)s", number=lot.number, title=lot.title),
    ), status


@bp.route("/lose/<int:number>/konsolidierung/<int:bid_id>", methods=["GET", "POST"])
@login_required
def consolidate(reference: str, number: int, bid_id: int) -> Any:
    lot = load_lot(reference, number)
    bid = load_lot_bid(lot, bid_id)
    require(can_consolidate(current_user, lot))
    if has_conflict(current_user, bid):
        refuse("scores", bid, {"bid": bid.id, "lot": lot.id, "reason": "conflict"})
    criteria = queries.scored_criteria(lot)
    form = consolidation_form_class(lot.call, criteria)()
    existing = queries.lot_consolidated(lot)
    status = 200
    if request.method == "GET":
        for criterion in criteria:
            fixed = existing.get((bid.id, criterion.id))
            if fixed is not None:
                form[f"points_{criterion.id}"].data = str(fixed.points)
                form[f"reason_{criterion.id}"].data = fixed.reason
    elif form.validate_on_submit():
        if done := attempt_or_403(
            form, lambda: services.consolidate_bid(bid, entries_from(form, criteria, "reason"), by=current_user),
            success=_("Die konsolidierte Bewertung von %(org)s ist gespeichert.", org=bid.organisation.name),
            redirect_to=url_for("review_admin.consolidation", reference=reference, number=number), code=302,
            commit=commit_with_retry,
        ):
            return done
        status = 422
    else:
        status = 422
    [row] = [r for r in score_sheet(lot) if r["bid"].id == bid.id]
    return render_template("review/consolidate.html", lot=lot, call=lot.call, bid=bid, row=row, form=form,
                           closed=lot_is_closed(lot), blockers=services.consolidation_blockers(lot),
                           format_decimal=services.format_decimal,
                           title=_("Konsolidierung: %(org)s", org=bid.organisation.name)), status


@bp.post("/lose/<int:number>/abschliessen")
@login_required
def close(reference: str, number: int) -> Any:
    lot = load_lot(reference, number)
    require(can_consolidate(current_user, lot))
    form = ConfirmForm(prefix="close")
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.close_consolidation(lot, by=current_user),
        success=_("Die Konsolidierung für Los %(number)s ist abgeschlossen.", number=lot.number),
        redirect_to=url_for("review_admin.ranking", reference=reference, number=number), code=302,
        commit=commit_with_retry,
    )):
        return done
    return _render_consolidation(lot, close_form=form, status=422)


# --------------------------------------------------------------------------
# Ranking and drawing of lots
# --------------------------------------------------------------------------


def _draw_forms(lot: Lot) -> list[tuple[list[Bid], Any]]:
    if not can_record_draw(current_user, lot):
        return []
    forms = []
    ties = unresolved_ties(lot)
    # The tied bids of every group in one query, not one per bid.
    loaded = {bid.id: bid for bid in queries.counting_bids(lot)} if ties else {}
    for index, group in enumerate(ties):
        bids = [loaded[bid_id] for bid_id in group]
        form = draw_form_class(len(bids))(prefix=f"draw{index}")
        for i in range(1, len(bids) + 1):
            form[f"place_{i}"].choices = [SelectChoice(str(b.id), b.organisation.name) for b in bids]
        forms.append((bids, form))
    return forms


def _render_ranking(lot: Lot, *, draw_forms: list[Any] | None = None, status: int = 200) -> Any:
    return render_template(
        "review/ranking.html", lot=lot, call=lot.call, ranking=rank_lot(lot),
        decidable=services.lot_is_decidable(lot), draw_forms=draw_forms if draw_forms is not None else _draw_forms(lot),
        title=_("Rangfolge Los %(number)s: %(title)s", number=lot.number, title=lot.title),
    ), status


@bp.get("/lose/<int:number>/rangfolge")
@login_required
def ranking(reference: str, number: int) -> Any:
    lot = load_lot(reference, number)
    if not can_view_ranking(current_user, lot):
        refuse("ranking", lot, {"lot": lot.id, "call": lot.call_id})
    return _render_ranking(lot)


@bp.post("/lose/<int:number>/losentscheid/<int:index>")
@login_required
def draw(reference: str, number: int, index: int) -> Any:
    lot = load_lot(reference, number)
    require(can_record_draw(current_user, lot))
    forms = _draw_forms(lot)
    if index >= len(forms):
        abort(404)
    bids, form = forms[index]
    if form.validate_on_submit():
        order = [form[f"place_{i}"].data for i in range(1, len(bids) + 1)]

        def record_draw() -> None:
            try:
                services.record_draw(lot, order, by=current_user, witness=form.witness.data or "")
            except Refused as exc:
                if exc.field == "order":  # the order as a whole: shown at its first place
                    exc.field = "place_1"
                raise

        if done := attempt(form, record_draw, success=_("Der Losentscheid ist festgehalten."),
                           redirect_to=url_for("review_admin.ranking", reference=reference, number=number), code=302,
                           commit=commit_with_retry):
            return done
    return _render_ranking(lot, draw_forms=forms, status=422)


# --------------------------------------------------------------------------
# CSV export
# --------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A text cell that a spreadsheet never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def scores_csv(call: Call, *, anonymise: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Aufruf"), _("Los"), _("Träger"), _("Kriterium"), _("Gewicht"), _("Bewertet von"),
                     _("Punkte"), _("Begründung"), _("Stand")])
    for lot in call.lots:
        if not can_see_scores(current_user, lot):
            continue
        aliases: dict[int, str] = {}
        for assignment in queries.lot_reviewers(lot):
            aliases[assignment.user_id] = (_("Gutachter:in %(n)s", n=len(aliases) + 1) if anonymise
                                           else assignment.user.name)
        submitted = {a.user_id for a in queries.lot_reviewers(lot) if a.submitted_at is not None}
        criteria = queries.scored_criteria(lot)
        consolidated = queries.lot_consolidated(lot)
        scores: dict[tuple[int, int], list[Score]] = {}
        for score in queries.lot_scores(lot):
            scores.setdefault((score.bid_id, score.criterion_id), []).append(score)
        for bid in queries.counting_bids(lot):
            if has_conflict(current_user, bid):
                continue
            for criterion in criteria:
                for score in scores.get((bid.id, criterion.id), []):
                    writer.writerow([_cell(v) for v in (
                        call.reference, lot.number, bid.organisation.name, criterion.code, criterion.weight,
                        aliases.get(score.reviewer_id, score.reviewer.name), score.points, score.justification,
                        _("abgeschlossen") if score.reviewer_id in submitted else _("Entwurf"))])
                fixed = consolidated.get((bid.id, criterion.id))
                if fixed is not None:
                    writer.writerow([_cell(v) for v in (
                        call.reference, lot.number, bid.organisation.name, criterion.code, criterion.weight,
                        _("Konsolidiert (Vorsitz)"), fixed.points, fixed.reason,
                        _("abgeschlossen") if lot_is_closed(lot) else _("Entwurf"))])
    return "\ufeff" + out.getvalue()


@bp.get("/bewertungen.csv")
@login_required
def export(reference: str) -> Response:
    call = load_call(reference)
    require(can_export_scores(current_user, call))
    anonymise = request.args.get("anonym") == "1"
    body = scores_csv(call, anonymise=anonymise)
    record(AuditAction.SCORES_EXPORTED, actor=current_user, subject=call,
           data={"call": call.reference, "anonymised": anonymise})
    db.session.commit()
    response = Response(body, mimetype="text/csv")
    suffix = "-anonym" if anonymise else ""
    response.headers.set("Content-Disposition", "attachment", filename=f"Bewertungen-{call.reference}{suffix}.csv")
    response.headers["Cache-Control"] = "no-store"
    return response
