"""Consultation pages: public list and detail, commenting, moderation, evaluation, report."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from portal.accounts.models import User
from portal.audit.public import public_trail
from portal.consultation import permissions as perm
from portal.consultation import services
from portal.consultation.forms import (
    CommentForm,
    ConsultationForm,
    DocumentForm,
    EditCommentForm,
    HideForm,
    ResponseForm,
    UnhideForm,
    VersionForm,
)
from portal.consultation.models import (
    AuthorKind,
    Comment,
    Consultation,
    ConsultationDocument,
    ConsultationState,
    ResponseState,
)
from portal.consultation.report import build_report, report_csv, report_pdf
from portal.consultation.sections import compare_versions
from portal.calls.trail import site_state
from portal.core.actions import attempt
from portal.core.caching import Validator, conditional
from portal.core.errors import Refused
from portal.core.i18n import current_language
from portal.core.permissions import require
from portal.extensions import db

bp = Blueprint("consultation", __name__, url_prefix="/beteiligung")

LIST_FILTERS = {
    "offen": {ConsultationState.OPEN},
    "beendet": {ConsultationState.CLOSED},
    "abgewogen": {ConsultationState.EVALUATED, ConsultationState.REPORT_PUBLISHED},
}


#: Everything a page with the comment list touches, loaded in a fixed number of queries.
COMMENT_OPTIONS = (
    selectinload(Consultation.comments).options(
        selectinload(Comment.replies), selectinload(Comment.response), joinedload(Comment.parent),
        joinedload(Comment.section), joinedload(Comment.organisation),
        joinedload(Comment.author).selectinload(User.memberships),
    ),
)


def _load(consultation_id: int, options: tuple[Any, ...] = ()) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id, options=options)
    if consultation is None or not perm.can_view_consultation(current_user, consultation):
        abort(404)
    return consultation


def _load_comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or not perm.can_view_consultation(current_user, comment.consultation):
        abort(404)
    return comment




def _upload(form_field: Any) -> tuple[str, bytes] | None:
    storage = form_field.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return storage.filename, storage.read()


# --------------------------------------------------------------------------
# Public pages
# --------------------------------------------------------------------------


@bp.get("/")
def index() -> str:
    chosen = request.args.get("status", "")
    states = LIST_FILTERS.get(chosen)
    stmt = select(Consultation).order_by(Consultation.opens_at.desc())
    if perm.can_manage_consultations(current_user):
        visible = set(ConsultationState)
    else:
        visible = set(ConsultationState) - {ConsultationState.DRAFT}
    stmt = stmt.where(Consultation.state.in_(states or visible))
    consultations = db.session.scalars(stmt).all()
    return render_template(
        "consultation/index.html", consultations=consultations, chosen=chosen,
        filters=LIST_FILTERS, title=_("Beteiligungsverfahren"),
    )


def _comment_tree(consultation: Consultation, response_filter: ResponseState | None) -> dict[str | None, list[Comment]]:
    """Top-level comments per section number (None: whole draft), filtered by published response state."""
    tree: dict[str | None, list[Comment]] = {}
    for comment in consultation.comments:
        if comment.parent_id is not None:
            continue
        if response_filter is not None and not (
            consultation.responses_public and comment.response is not None
            and comment.is_visible and comment.response.state == response_filter
        ):
            continue
        tree.setdefault(comment.section_number, []).append(comment)
    return tree


def page_validator(consultation_id: int) -> Validator | None:
    """The public page's validator: the site's state, the consultation's phase by the clock, the filters."""
    row = db.session.execute(
        select(Consultation.state, Consultation.opens_at, Consultation.closes_at).where(Consultation.id == consultation_id)
    ).one_or_none()
    if row is None:
        return None
    state = site_state()
    return Validator(("consultation", consultation_id, str(row.state), perm.period_phase(row), request.full_path,
                      *state.parts), state.modified)


@bp.get("/<int:consultation_id>")
@conditional(page_validator)
def show(consultation_id: int) -> str:
    consultation = _load(consultation_id, COMMENT_OPTIONS)
    try:
        response_filter = ResponseState(request.args["antwort"]) if request.args.get("antwort") else None
    except ValueError:
        response_filter = None
    counts: dict[str | None, int] = {}
    for comment in consultation.comments:
        counts[comment.section_number] = counts.get(comment.section_number, 0) + 1
    return render_template(
        "consultation/show.html", consultation=consultation, title=consultation.title,
        tree=_comment_tree(consultation, response_filter), counts=counts,
        response_filter=response_filter, response_states=list(ResponseState),
        phase=perm.period_phase(consultation), options=perm.comment_options(current_user, consultation),
        calls=services.calls_shaped_by(consultation), login_url=_login_url(),
        trail=public_trail("consultation", consultation.id) if consultation.is_public else None,
    )


def _login_url() -> str | None:
    """The sign-in page, once the accounts domain provides it."""
    from flask import current_app

    if "accounts.login" not in current_app.view_functions:
        return None
    return url_for("accounts.login", next=request.full_path if request.query_string else request.path)


@bp.get("/<int:consultation_id>/fassung/<int:number>")
def version(consultation_id: int, number: int) -> str:
    consultation = _load(consultation_id, COMMENT_OPTIONS)
    versions = {v.number: v for v in consultation.versions}
    current = versions.get(number)
    if current is None:
        abort(404)
    previous = versions.get(number - 1)
    changes = compare_versions(previous.sections, current.sections) if previous else []
    caused: dict[str, list[Comment]] = {}
    if consultation.responses_public:
        for comment in consultation.comments:
            if comment.response is not None and comment.is_visible and comment.response.changed_section:
                caused.setdefault(comment.response.changed_section, []).append(comment)
    return render_template(
        "consultation/version.html", consultation=consultation, version=current, previous=previous,
        changes=changes, caused=caused, view=request.args.get("ansicht", "inline"),
        title=_("Fassung %(n)s: %(title)s", n=number, title=consultation.title),
    )


@bp.get("/<int:consultation_id>/dokument/<int:document_id>")
def document(consultation_id: int, document_id: int) -> Response:
    consultation = _load(consultation_id)
    doc = db.session.get(ConsultationDocument, document_id)
    if doc is None or doc.consultation_id != consultation.id:
        abort(404)
    return _pdf_response(doc.data, doc.filename)


@bp.get("/stellungnahme/<int:comment_id>/anlage")
def attachment(comment_id: int) -> Response:
    comment = _load_comment(comment_id)
    if comment.attachment_name is None or not (comment.is_visible or perm.is_officer(current_user)):
        abort(404)
    return _pdf_response(comment.attachment_data or b"", comment.attachment_name)


def _pdf_response(data: bytes, filename: str, *, inline: bool = False) -> Response:
    from urllib.parse import quote

    disposition = "inline" if inline else "attachment"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    return response


# --------------------------------------------------------------------------
# Comments
# --------------------------------------------------------------------------


def _author_choices(options: list[tuple[AuthorKind, Any]]) -> list[SelectChoice]:
    choices = []
    for kind, organisation in options:
        if kind == AuthorKind.ORGANISATION:
            choices.append(SelectChoice(f"org-{organisation.id}", _("für %(name)s", name=organisation.name)))
        elif kind == AuthorKind.COUNCIL_GROUP:
            choices.append(SelectChoice("council", _("für meine Kreistagsfraktion")))
        else:
            choices.append(SelectChoice("person", _("als Einzelperson")))
    return choices


@bp.route("/<int:consultation_id>/stellungnehmen", methods=["GET", "POST"])
@login_required
def comment(consultation_id: int) -> Any:
    consultation = _load(consultation_id)
    parent = None
    if request.values.get("antwort_auf"):
        parent = db.session.get(Comment, request.values.get("antwort_auf", type=int) or 0)
        if parent is None or parent.consultation_id != consultation.id:
            abort(404)
    options = perm.comment_options(current_user, consultation)
    form = CommentForm()
    form.section.choices = [SelectChoice("", _("Gesamter Entwurf"))] + [
        SelectChoice(s.number, f"{s.number} {s.title}") for s in consultation.first_version.sections
    ]
    form.author.choices = _author_choices(options)
    if request.method == "GET":
        form.section.data = request.args.get("abschnitt", "")
        if len(form.author.choices) == 1:
            form.author.data = form.author.choices[0].value
    if form.validate_on_submit():

        def post() -> Comment:
            organisation, group = _identity(form, options)
            return services.post_comment(
                consultation, by=current_user, body=form.body.data or "",
                section_number=None if parent else (form.section.data or None), parent=parent,
                organisation=organisation, council_group=group, show_name=form.show_name.data,
                attachment=_upload(form.attachment),
            )

        if done := attempt(
            form, post, code=302,
            success=_("Ihre Stellungnahme ist veröffentlicht. Sie können sie 15 Minuten lang ändern und bis zum Ende der Frist zurückziehen."),
            redirect_to=lambda created: url_for("consultation.show", consultation_id=consultation.id, _anchor=created.anchor),
        ):
            return done
    status = 200 if request.method == "GET" or not form.errors and not form.form_errors else 422
    return render_template(
        "consultation/comment_form.html", consultation=consultation, form=form, parent=parent,
        options=options, phase=perm.period_phase(consultation),
        title=_("Antwort auf eine Stellungnahme") if parent else _("Stellungnahme abgeben"),
    ), status


def _identity(form: CommentForm, options: list[tuple[AuthorKind, Any]]) -> tuple[Any, str | None]:
    """Turn the chosen radio value into (organisation, council group) for the service."""
    from portal.accounts.models import Organisation

    value = form.author.data or ""
    if value.startswith("org-"):
        organisation = db.session.get(Organisation, int(value[4:]) if value[4:].isdigit() else 0)
        if organisation is None:
            raise Refused(_("Diese Organisation gibt es nicht."), field="author")
        return organisation, None
    if value == "council":
        return None, form.council_group.data or ""
    if value == "person":
        return None, None
    if not options:
        raise Refused(_("Sie dürfen in diesem Verfahren keine Stellungnahme abgeben."), field="author")
    raise Refused(_("Bitte wählen Sie aus, für wen Sie Stellung nehmen."), field="author")


@bp.route("/stellungnahme/<int:comment_id>/bearbeiten", methods=["GET", "POST"])
@login_required
def edit_comment(comment_id: int) -> Any:
    comment = _load_comment(comment_id)
    require(comment.author_id == current_user.id)
    form = EditCommentForm(body=comment.body) if request.method == "GET" else EditCommentForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.edit_comment(comment, by=current_user, body=form.body.data or ""), code=302,
        success=_("Ihre Änderung ist gespeichert."),
        redirect_to=url_for("consultation.show", consultation_id=comment.consultation_id, _anchor=comment.anchor),
    )):
        return done
    return render_template(
        "consultation/edit_comment.html", comment=comment, form=form, title=_("Stellungnahme ändern"),
    ), (200 if request.method == "GET" else 422)


@bp.post("/stellungnahme/<int:comment_id>/zurueckziehen")
@login_required
def withdraw_comment(comment_id: int) -> Any:
    comment = _load_comment(comment_id)
    require(comment.author_id == current_user.id)
    back = url_for("consultation.show", consultation_id=comment.consultation_id, _anchor=comment.anchor)
    return attempt(
        None, lambda: services.withdraw_comment(comment, by=current_user), code=302, redirect_to=back,
        success=_("Ihre Stellungnahme wurde zurückgezogen. Sie bleibt als „zurückgezogen“ sichtbar."),
    ) or redirect(back)


@bp.route("/stellungnahme/<int:comment_id>/ausblenden", methods=["GET", "POST"])
@login_required
def hide_comment(comment_id: int) -> Any:
    comment = _load_comment(comment_id)
    require(perm.can_manage_consultations(current_user))
    form = HideForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.hide_comment(comment, by=current_user, reason=form.reason.data, note=form.note.data or ""),
        code=302, success=_("Die Stellungnahme ist ausgeblendet; der Grund wird an ihrer Stelle angezeigt."),
        redirect_to=url_for("consultation.show", consultation_id=comment.consultation_id, _anchor=comment.anchor),
    )):
        return done
    return render_template(
        "consultation/hide.html", comment=comment, form=form, title=_("Stellungnahme ausblenden"),
    ), (200 if request.method == "GET" else 422)


@bp.route("/stellungnahme/<int:comment_id>/einblenden", methods=["GET", "POST"])
@login_required
def unhide_comment(comment_id: int) -> Any:
    comment = _load_comment(comment_id)
    require(perm.can_manage_consultations(current_user))
    form = UnhideForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.unhide_comment(comment, by=current_user, reason=form.reason.data or ""),
        code=302, success=_("Die Stellungnahme ist wieder eingeblendet; die Verfasserin oder der Verfasser wird benachrichtigt."),
        redirect_to=url_for("consultation.show", consultation_id=comment.consultation_id, _anchor=comment.anchor),
    )):
        return done
    return render_template(
        "consultation/unhide.html", comment=comment, form=form, title=_("Stellungnahme wieder einblenden"),
    ), (200 if request.method == "GET" else 422)


# --------------------------------------------------------------------------
# Officers: create, edit, open, evaluate, revise
# --------------------------------------------------------------------------


def _settings(form: ConsultationForm) -> dict[str, Any]:
    return dict(
        title=form.title.data or "", summary=form.summary.data or "", source=form.source.data or "",
        opens_at=form.opens_at.utc, closes_at=form.closes_at.utc,
        allow_organisations=form.allow_organisations.data, allow_council_groups=form.allow_council_groups.data,
        allow_public=form.allow_public.data,
    )


@bp.route("/neu", methods=["GET", "POST"])
@login_required
def create() -> Any:
    require(perm.can_manage_consultations(current_user))
    form = ConsultationForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.create_consultation(by=current_user, **_settings(form)), code=302,
        success=_("Das Beteiligungsverfahren ist angelegt. Prüfen Sie die Abschnitte und öffnen Sie es dann."),
        redirect_to=lambda consultation: url_for("consultation.manage", consultation_id=consultation.id),
    )):
        return done
    return render_template("consultation/edit.html", form=form, consultation=None,
                           title=_("Neues Beteiligungsverfahren")), (200 if request.method == "GET" else 422)


@bp.route("/<int:consultation_id>/bearbeiten", methods=["GET", "POST"])
@login_required
def edit(consultation_id: int) -> Any:
    consultation = _load(consultation_id)
    require(perm.can_manage_consultations(current_user))
    if request.method == "GET":
        from portal.core.time import to_berlin

        form = ConsultationForm(
            title=consultation.title, summary=consultation.summary, source=consultation.first_version.source,
            opens_at=to_berlin(consultation.opens_at).replace(tzinfo=None),
            closes_at=to_berlin(consultation.closes_at).replace(tzinfo=None),
            allow_organisations=consultation.allow_organisations,
            allow_council_groups=consultation.allow_council_groups, allow_public=consultation.allow_public,
        )
    else:
        form = ConsultationForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.update_draft(consultation, by=current_user, **_settings(form)), code=302,
        success=_("Änderungen gespeichert."), redirect_to=url_for("consultation.manage", consultation_id=consultation.id),
    )):
        return done
    return render_template("consultation/edit.html", form=form, consultation=consultation,
                           title=_("Beteiligungsverfahren bearbeiten")), (200 if request.method == "GET" else 422)


@bp.route("/<int:consultation_id>/verwalten", methods=["GET", "POST"])
@login_required
def manage(consultation_id: int) -> Any:
    """The officer's overview: state steps, documents, responses still missing."""
    consultation = _load(consultation_id, COMMENT_OPTIONS)
    require(perm.can_manage_consultations(current_user))
    form = DocumentForm()
    if request.method == "POST" and form.validate_on_submit():
        upload = _upload(form.document)

        def attach() -> Any:
            if upload is None:
                raise Refused(_("Bitte wählen Sie eine PDF-Datei aus."), field="document")
            return services.add_document(consultation, by=current_user, filename=upload[0], data=upload[1])

        if done := attempt(form, attach, code=302, success=_("Das Dokument ist angefügt."),
                           redirect_to=url_for("consultation.manage", consultation_id=consultation.id)):
            return done
    return render_template(
        "consultation/manage.html", consultation=consultation, form=form,
        unanswered=services.unanswered_comments(consultation), phase=perm.period_phase(consultation),
        title=_("Verwalten: %(title)s", title=consultation.title),
    ), (200 if request.method == "GET" else 422)


@bp.post("/<int:consultation_id>/status")
@login_required
def change_state(consultation_id: int) -> Any:
    consultation = _load(consultation_id)
    require(perm.can_manage_consultations(current_user))
    try:
        target = ConsultationState(request.form.get("ziel", ""))
    except ValueError:
        abort(400)
    back = url_for("consultation.manage", consultation_id=consultation.id)
    return attempt(
        None, lambda: services.set_consultation_state(consultation, target, by=current_user), code=302,
        success=_("Neuer Stand: %(state)s.", state=target.label), redirect_to=back,
    ) or redirect(back)


@bp.route("/stellungnahme/<int:comment_id>/abwaegung", methods=["GET", "POST"])
@login_required
def respond(comment_id: int) -> Any:
    comment = _load_comment(comment_id)
    consultation = comment.consultation
    require(perm.can_respond(current_user, consultation))
    existing = comment.response
    if request.method == "GET" and existing is not None:
        form = ResponseForm(state=existing.state.value, reason=existing.reason, changed_section=existing.changed_section or "")
    else:
        form = ResponseForm()
    form.changed_section.choices = [SelectChoice("", _("keiner"))] + [
        SelectChoice(s.number, f"{s.number} {s.title}") for s in consultation.current_version.sections
    ]
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.save_response(comment, by=current_user, state=form.state.data, reason=form.reason.data or "",
                                             changed_section=form.changed_section.data),
        code=302, success=_("Die Antwort ist als Entwurf gespeichert; sie wird mit der Abwägung veröffentlicht."),
        redirect_to=url_for("consultation.manage", consultation_id=consultation.id, _anchor=comment.anchor),
    )):
        return done
    return render_template("consultation/respond.html", comment=comment, consultation=consultation, form=form,
                           title=_("Abwägung zu Stellungnahme Nr. %(n)s", n=comment.id)), (200 if request.method == "GET" else 422)


@bp.route("/<int:consultation_id>/neue-fassung", methods=["GET", "POST"])
@login_required
def new_version(consultation_id: int) -> Any:
    consultation = _load(consultation_id)
    require(perm.can_manage_consultations(current_user))
    form = VersionForm() if request.method == "POST" else VersionForm(source=consultation.current_version.source)
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.publish_version(consultation, by=current_user, source=form.source.data or "",
                                               note=form.note.data or ""),
        code=302, success=_("Die überarbeitete Fassung ist veröffentlicht."),
        redirect_to=lambda created: url_for("consultation.version", consultation_id=consultation.id, number=created.number),
    )):
        return done
    return render_template("consultation/new_version.html", consultation=consultation, form=form,
                           title=_("Überarbeitete Fassung veröffentlichen")), (200 if request.method == "GET" else 422)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def _report_for(consultation_id: int) -> Any:
    consultation = _load(consultation_id, COMMENT_OPTIONS)
    require(perm.can_view_report(current_user, consultation), hide=True)
    return build_report(consultation)


@bp.get("/<int:consultation_id>/bericht")
def report(consultation_id: int) -> str:
    data = _report_for(consultation_id)
    return render_template("consultation/report.html", report=data,
                           title=_("Beteiligungsbericht: %(title)s", title=data.consultation.title))


@bp.get("/<int:consultation_id>/bericht.pdf")
def report_as_pdf(consultation_id: int) -> Response:
    data = _report_for(consultation_id)
    return _pdf_response(report_pdf(data, lang=current_language()), f"beteiligungsbericht-{consultation_id}.pdf", inline=True)


@bp.get("/<int:consultation_id>/bericht.csv")
def report_as_csv(consultation_id: int) -> Response:
    data = _report_for(consultation_id)
    response = Response(report_csv(data), mimetype="text/csv", content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename=beteiligungsbericht-{consultation_id}.csv"
    return response
