"""Administrator view of the full audit log (internal events included)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from portal.accounts.permissions import is_admin
from portal.audit.actions import AuditAction
from portal.audit.labels import action_label
from portal.audit.log_query import LogFilter, export_log, filtered_events
from portal.extensions import db

bp = Blueprint("audit_admin", __name__, url_prefix="/verwaltung/protokoll")
PAGE_SIZE = 100


class LogFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form; the export POST has its own token

    start = DateField(_l("Von (Datum)"), validators=[Optional()])
    end = DateField(_l("Bis (Datum)"), validators=[Optional()])
    actor = StringField(_l("Handelnde Person (Kontonummer, Name oder E-Mail)"), validators=[Optional(), Length(max=200)])
    action = SelectField(_l("Aktion"), validators=[Optional()])
    subject_type = StringField(_l("Gegenstand: Art"), validators=[Optional(), Length(max=40)])
    subject_id = StringField(_l("Gegenstand: Nummer"), validators=[Optional(), Length(max=64)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _("alle"))] + [(a.value, f"{action_label(a.value)} ({a.value})") for a in AuditAction]

    def to_filter(self) -> LogFilter:
        return LogFilter(
            start=self.start.data,
            end=self.end.data,
            actor=self.actor.data or None,
            action=self.action.data or None,
            subject_type=self.subject_type.data or None,
            subject_id=self.subject_id.data or None,
        )


def _require_admin() -> None:
    if not is_admin(current_user):
        abort(403)


def _form(source: Any) -> LogFilterForm:
    return LogFilterForm(formdata=source, meta={"csrf": False})


@bp.get("/")
@login_required
def index() -> str:
    _require_admin()
    form = _form(request.args)
    page = request.args.get("seite", "1")
    page_number = int(page) if page.isdigit() and int(page) > 0 else 1
    rows: list[Any] = []
    if form.validate():
        stmt = filtered_events(form.to_filter()).limit(PAGE_SIZE + 1).offset((page_number - 1) * PAGE_SIZE)
        rows = list(db.session.execute(stmt))
    return render_template(
        "audit/admin_log.html",
        title=_("Audit-Protokoll"),
        form=form,
        rows=rows[:PAGE_SIZE],
        has_more=len(rows) > PAGE_SIZE,
        page=page_number,
    )


@bp.post("/export")
@login_required
def export() -> Any:
    _require_admin()
    form = _form(request.form)
    fmt = request.form.get("format")
    if fmt not in {"csv", "json"} or not form.validate():
        abort(400)
    body = export_log(form.to_filter(), fmt, by=current_user)
    db.session.commit()
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename=audit-protokoll.{fmt}"},
    )
