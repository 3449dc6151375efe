"""Officer pages: prepare drafts, publish, amend, cancel, documents, answer questions.

Views load, authorise, validate, call one service, commit and redirect. A
change to a published call that arrives anyway (a stale tab, a crafted POST)
is refused by `services.ensure_draft`, which records the attempt; the
handler below keeps that record and explains the refusal.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from portal.calls import services
from portal.calls.amendments import amendable_fields, amend_call
from portal.calls.forms import (
    AnswerForm,
    CallForm,
    CriterionForm,
    DocumentForm,
    LotForm,
    MergeForm,
    ReasonForm,
    ReplaceDocumentForm,
    amendment_changes,
    amendment_field_name,
    amendment_form,
    lot_choices,
)
from wtforms.fields.choices import SelectChoice
from portal.calls.models import Call, CallState, Criterion, CriterionKind, Document, Lot, Question, QuestionState
from portal.calls.permissions import can_amend_call, can_answer_questions, can_cancel_call, can_edit_call, can_manage_calls
from portal.calls.questions import merge_question, publish_answer, reword_question
from portal.calls.services import CallFrozen
from portal.consultation.services import all_consultations as consultation_choices
from portal.core.actions import attempt
from portal.core.errors import Refused
from portal.core.permissions import require
from portal.extensions import db

bp = Blueprint("calls_admin", __name__, url_prefix="/verwaltung/aufrufe")


@bp.before_request
@login_required
def _officers_only() -> None:
    require(can_manage_calls(current_user))


@bp.errorhandler(CallFrozen)
def _frozen(exc: CallFrozen) -> Response:
    db.session.commit()  # keep the audit record of the refused attempt
    flash(exc.message, "error")
    call_id = (request.view_args or {}).get("call_id")
    return redirect(url_for("calls_admin.show", call_id=call_id) if call_id else url_for("calls_admin.index"), code=303)


def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    return call


def _attempt(form: Any, action: Callable[[], Any], **kwargs: Any) -> Response | None:
    """`attempt`, but a `CallFrozen` goes to `_frozen`, which keeps the audit record of the attempt."""
    return attempt(form, action, reraise=(CallFrozen,), **kwargs)


def _draft_guard(call: Call, what: str) -> Response | None:
    """GET on a draft-only page of a published call: explain; POST: let the service refuse and record."""
    if request.method == "POST":
        services.ensure_draft(call, by=current_user, what=what)
    elif not can_edit_call(current_user, call):
        flash(_("Der Aufruf ist veröffentlicht. Änderungen sind nur über eine Änderungsbekanntmachung möglich."), "error")
        return redirect(url_for("calls_admin.show", call_id=call.id), code=303)
    return None


def _form_page(template: str, status_post: bool = True, **context: Any) -> tuple[str, int]:
    status = 422 if request.method == "POST" and status_post else 200
    return render_template(template, **context), status


@bp.get("/")
def index() -> str:
    calls = db.session.scalars(select(Call).order_by(Call.created_at.desc(), Call.id.desc())).all()
    return render_template("calls/admin/index.html", title=_("Aufrufe verwalten"), calls=calls)


@bp.route("/neu", methods=["GET", "POST"])
def create() -> Any:
    form = CallForm()
    form.set_consultations(consultation_choices())
    if form.validate_on_submit() and (done := _attempt(
            form, lambda: services.create_call(by=current_user, **form.values()),
            success=_("Der Entwurf wurde angelegt. Legen Sie nun Lose, Kriterien und Dokumente an."),
            redirect_to=lambda call: url_for("calls_admin.show", call_id=call.id))):
        return done
    return _form_page("calls/admin/call_form.html", title=_("Neuer Aufruf"), form=form, call=None)


@bp.get("/<int:call_id>")
def show(call_id: int) -> str:
    call = db.session.scalar(select(Call).where(Call.id == call_id).options(
        selectinload(Call.lots), selectinload(Call.criteria), selectinload(Call.documents),
        selectinload(Call.amendments), selectinload(Call.questions)))
    if call is None:
        abort(404)
    checklist = services.publication_checklist(call) if call.state == CallState.DRAFT else []
    return render_template("calls/admin/show.html", title=call.title, call=call, checklist=checklist,
                           publish_form=ReasonForm(), weight_total=services.weight_total)


@bp.route("/<int:call_id>/bearbeiten", methods=["GET", "POST"])
def edit(call_id: int) -> Any:
    call = _call(call_id)
    if (guard := _draft_guard(call, "call")) is not None:
        return guard
    form = CallForm(obj=call)
    form.set_consultations(consultation_choices())
    if request.method == "GET":
        form.fill_from(call)
    if form.validate_on_submit() and (done := _attempt(
            form, lambda: services.update_call(call, by=current_user, **form.values()),
            success=_("Die Angaben wurden gespeichert."), redirect_to=url_for("calls_admin.show", call_id=call.id))):
        return done
    return _form_page("calls/admin/call_form.html", title=_("Aufruf bearbeiten"), form=form, call=call)


@bp.route("/<int:call_id>/lose/neu", methods=["GET", "POST"])
@bp.route("/<int:call_id>/lose/<int:lot_id>", methods=["GET", "POST"])
def lot(call_id: int, lot_id: int | None = None) -> Any:
    call = _call(call_id)
    if (guard := _draft_guard(call, "lot")) is not None:
        return guard
    existing = db.session.get(Lot, lot_id) if lot_id else None
    if lot_id and (existing is None or existing.call_id != call.id):
        abort(404)
    form = LotForm(obj=existing)
    if request.method == "GET" and existing is not None:
        form.municipalities.data = "\n".join(existing.municipalities)
    elif request.method == "GET":
        form.number.data = max((lot.number for lot in call.lots), default=0) + 1
    if form.validate_on_submit():
        if existing is None:
            action: Callable[[], Any] = lambda: services.add_lot(call, by=current_user, **form.values())
        else:
            action = lambda: services.update_lot(existing, by=current_user, **form.values())
        if done := _attempt(form, action, success=_("Das Los wurde gespeichert."),
                            redirect_to=url_for("calls_admin.show", call_id=call.id) + "#lose"):
            return done
    title = _("Los bearbeiten") if existing else _("Neues Los")
    return _form_page("calls/admin/lot_form.html", title=title, form=form, call=call, lot=existing)


@bp.post("/<int:call_id>/lose/<int:lot_id>/loeschen")
def delete_lot(call_id: int, lot_id: int) -> Response:
    call = _call(call_id)
    services.ensure_draft(call, by=current_user, what="lot")
    existing = db.session.get(Lot, lot_id)
    if existing is None or existing.call_id != call.id:
        abort(404)
    services.delete_lot(existing, by=current_user)
    db.session.commit()
    flash(_("Das Los wurde gelöscht."), "success")
    return redirect(url_for("calls_admin.show", call_id=call.id) + "#lose", code=303)


@bp.route("/<int:call_id>/kriterien/neu", methods=["GET", "POST"])
@bp.route("/<int:call_id>/kriterien/<int:criterion_id>", methods=["GET", "POST"])
def criterion(call_id: int, criterion_id: int | None = None) -> Any:
    call = _call(call_id)
    if (guard := _draft_guard(call, "criterion")) is not None:
        return guard
    existing = db.session.get(Criterion, criterion_id) if criterion_id else None
    if criterion_id and (existing is None or existing.call_id != call.id):
        abort(404)
    form = CriterionForm(obj=existing)
    form.set_lots(call)
    if request.method == "GET" and existing is not None:
        form.lot_id.data = str(existing.lot_id or "")
        form.kind.data = existing.kind.value
    if form.validate_on_submit():
        if existing is None:
            action: Callable[[], Any] = lambda: services.add_criterion(call, by=current_user, **form.values())
        else:
            action = lambda: services.update_criterion(existing, by=current_user, **form.values())
        if done := _attempt(form, action, success=_("Das Kriterium wurde gespeichert."),
                            redirect_to=url_for("calls_admin.show", call_id=call.id) + "#kriterien"):
            return done
    scope = int(form.lot_id.data) if form.lot_id.data else None
    others = [c for c in services.criterion_set(call, scope) if c is not existing and c.kind == CriterionKind.SCORED]
    title = _("Kriterium bearbeiten") if existing else _("Neues Kriterium")
    return _form_page("calls/admin/criterion_form.html", title=title, form=form, call=call, criterion=existing,
                      others_total=services.weight_total(others), others=others)


@bp.post("/<int:call_id>/kriterien/<int:criterion_id>/loeschen")
def delete_criterion(call_id: int, criterion_id: int) -> Response:
    call = _call(call_id)
    services.ensure_draft(call, by=current_user, what="criterion")
    existing = db.session.get(Criterion, criterion_id)
    if existing is None or existing.call_id != call.id:
        abort(404)
    services.delete_criterion(existing, by=current_user)
    db.session.commit()
    flash(_("Das Kriterium wurde gelöscht."), "success")
    return redirect(url_for("calls_admin.show", call_id=call.id) + "#kriterien", code=303)


@bp.route("/<int:call_id>/dokumente/neu", methods=["GET", "POST"])
def add_document(call_id: int) -> Any:
    call = _call(call_id)
    form = DocumentForm()
    form.lot_id.choices = lot_choices(call, _("den ganzen Aufruf"))
    if form.validate_on_submit():
        upload = form.file.data
        lot = next((x for x in call.lots if str(x.id) == form.lot_id.data), None)
        if done := _attempt(form, lambda: services.add_document(call, title=form.title.data, filename=upload.filename or "",
                                                                data=upload.read(), lot=lot, by=current_user),
                            success=_("Das Dokument wurde hinzugefügt."),
                            redirect_to=url_for("calls_admin.show", call_id=call.id) + "#dokumente"):
            return done
    return _form_page("calls/admin/document_form.html", title=_("Dokument hinzufügen"), form=form, call=call, document=None)


@bp.route("/<int:call_id>/dokumente/<int:document_id>/ersetzen", methods=["GET", "POST"])
def replace_document(call_id: int, document_id: int) -> Any:
    call = _call(call_id)
    old = db.session.get(Document, document_id)
    if old is None or old.call_id != call.id:
        abort(404)
    form = ReplaceDocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        if done := _attempt(form, lambda: services.replace_document(old, filename=upload.filename or "", data=upload.read(), by=current_user),
                            success=_("Die neue Fassung wurde hochgeladen; die alte bleibt als ersetzt sichtbar."),
                            redirect_to=url_for("calls_admin.show", call_id=call.id) + "#dokumente"):
            return done
    return _form_page("calls/admin/document_form.html", title=_("Dokument ersetzen"), form=form, call=call, document=old)


@bp.post("/<int:call_id>/veroeffentlichen")
def publish(call_id: int) -> Response:
    call = _call(call_id)
    services.ensure_draft(call, by=current_user, what="publish")
    back = url_for("calls_admin.show", call_id=call_id)
    return _attempt(None, lambda: services.publish_call(call, by=current_user),
                    success=_("Der Aufruf ist veröffentlicht."), redirect_to=back) or redirect(back, code=303)


@bp.route("/<int:call_id>/aenderung", methods=["GET", "POST"])
def amend(call_id: int) -> Any:
    call = _call(call_id)
    if not can_amend_call(current_user, call):
        flash(_("Nur ein veröffentlichter Aufruf vor Ablauf der Frist kann geändert werden."), "error")
        return redirect(url_for("calls_admin.show", call_id=call.id), code=303)
    fields = amendable_fields(call)
    form = amendment_form(fields)
    if form.validate_on_submit():
        changes = amendment_changes(form, fields)

        def publish_amendment() -> Any:
            try:
                return amend_call(call, changes=changes, reason=form.reason.data, by=current_user)
            except Refused as exc:
                # The service names the changed thing ("lot.3.title"); the form calls its field differently.
                if exc.field and exc.field.startswith(("call.", "lot.", "criterion.")):
                    exc.field = amendment_field_name(exc.field)
                raise

        if done := _attempt(form, publish_amendment, success=_("Die Änderungsbekanntmachung ist veröffentlicht."),
                            redirect_to=url_for("calls_admin.show", call_id=call.id)):
            return done
    from portal.calls import bidding

    return _form_page("calls/admin/amend.html", title=_("Änderungsbekanntmachung"), form=form, call=call, fields=fields,
                      field_name=amendment_field_name, bids_exist=bidding.has_submitted_bids(call))


@bp.route("/<int:call_id>/aufheben", methods=["GET", "POST"])
def cancel(call_id: int) -> Any:
    call = _call(call_id)
    require(can_cancel_call(current_user, call))
    form = ReasonForm()
    if form.validate_on_submit() and (done := _attempt(
            form, lambda: services.cancel_call(call, reason=form.reason.data, by=current_user),
            success=_("Der Aufruf ist aufgehoben."), redirect_to=url_for("calls_admin.show", call_id=call.id))):
        return done
    return _form_page("calls/admin/cancel.html", title=_("Aufruf aufheben"), form=form, call=call)


@bp.get("/<int:call_id>/fragen")
def questions(call_id: int) -> str:
    call = _call(call_id)
    require(can_answer_questions(current_user, call))
    question_forms = {}
    for question in call.questions:
        if question.state == QuestionState.OPEN:
            answer = AnswerForm(prefix=f"q{question.id}", data={"public_text": question.public_text})
            merge = MergeForm(prefix=f"m{question.id}")
            merge.into.choices = [SelectChoice(str(q.id), _("Frage vom %(when)s", when=q.asked_at.strftime("%d.%m.%Y")) + f" (#{q.id})")
                                  for q in call.questions if q.id != question.id and q.state != QuestionState.MERGED]
            question_forms[question.id] = (answer, merge)
    return render_template("calls/admin/questions.html", title=_("Bieterfragen"), call=call, question_forms=question_forms, QuestionState=QuestionState)


def _question(call: Call, question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.call_id != call.id:
        abort(404)
    return question


@bp.post("/<int:call_id>/fragen/<int:question_id>")
def answer(call_id: int, question_id: int) -> Any:
    call = _call(call_id)
    require(can_answer_questions(current_user, call))
    question = _question(call, question_id)
    form = AnswerForm(prefix=f"q{question.id}")
    publishing = request.form.get("action") == "publish"
    if form.validate_on_submit():
        if publishing:
            action: Callable[[], Any] = lambda: publish_answer(question, answer=form.answer.data, public_text=form.public_text.data, by=current_user)
        else:
            action = lambda: reword_question(question, public_text=form.public_text.data, by=current_user)
        if done := _attempt(form, action,
                            success=_("Antwort veröffentlicht.") if publishing else _("Die veröffentlichte Fassung wurde gespeichert."),
                            redirect_to=url_for("calls_admin.questions", call_id=call.id)):
            return done
    return _form_page("calls/admin/answer.html", title=_("Frage beantworten"), form=form, call=call, question=question)


@bp.post("/<int:call_id>/fragen/<int:question_id>/zusammenfuehren")
def merge(call_id: int, question_id: int) -> Response:
    call = _call(call_id)
    require(can_answer_questions(current_user, call))
    question = _question(call, question_id)
    form = MergeForm(prefix=f"m{question.id}")
    form.into.choices = [SelectChoice(str(q.id)) for q in call.questions]
    back = url_for("calls_admin.questions", call_id=call.id)
    if form.validate_on_submit() and (done := _attempt(
            None, lambda: merge_question(question, into=_question(call, form.into.data), by=current_user),
            success=_("Die Frage wurde als doppelt markiert und wird mit der gewählten Frage beantwortet."), redirect_to=back)):
        return done
    return redirect(back, code=303)
