"""Site-wide routes: start page, health check, language switch, legal pages."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session
from flask_babel import gettext as _
from sqlalchemy import text
from werkzeug.wrappers import Response

from portal.core.templating import safe_next
from portal.extensions import db

bp = Blueprint("core", __name__)


@bp.get("/")
def index() -> str:
    return render_template("core/index.html")


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Liveness and database reachability for load balancers and monitoring."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means: not ready
        db.session.rollback()
        current_app.logger.exception("health check: database unreachable")
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200


@bp.get("/sprache/<lang>")
def set_language(lang: str) -> Response:
    """Switch the UI language and return to the page the visitor was on."""
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.args.get("next")))


@bp.get("/barrierefreiheit")
def accessibility() -> str:
    return render_template("core/accessibility.html", title=_("Erklärung zur Barrierefreiheit"))


@bp.get("/datenschutz")
def privacy() -> str:
    return render_template("core/privacy.html", title=_("Datenschutzerklärung"))


@bp.get("/impressum")
def imprint() -> str:
    return render_template("core/imprint.html", title=_("Impressum"))
