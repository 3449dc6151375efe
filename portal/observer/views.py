"""The council view: dashboard and status report (PDF), read-only."""
from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.i18n import current_language
from portal.core.pdfgen import render_pdf
from portal.core.permissions import require
from portal.observer.permissions import can_view_council_dashboard
from portal.observer.status import build_status

bp = Blueprint("observer", __name__, url_prefix="/kreistag")


@bp.get("/")
@login_required
def dashboard() -> str:
    require(can_view_council_dashboard(current_user))
    return render_template("observer/dashboard.html", title=_("Verfahren und Beteiligungen im Überblick"),
                           status=build_status(current_user))


@bp.get("/statusbericht.pdf")
@login_required
def report_pdf() -> Response:
    require(can_view_council_dashboard(current_user))
    status = build_status(current_user)
    title = _("Statusbericht für den Kreistag")
    lang = current_language()
    html = render_template("observer/report_pdf.html", title=title, status=status, lang=lang)
    response = Response(render_pdf(html, title=title, lang=lang), mimetype="application/pdf")
    stamp = status.generated_at.strftime("%Y-%m-%d")
    response.headers["Content-Disposition"] = f'attachment; filename="statusbericht-{stamp}.pdf"'
    return response
