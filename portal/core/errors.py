"""Error pages and the exceptions services raise to refuse an action.

Services raise `Refused` with a German sentence that says why ("Die Frist ist
am 05.08.2022 um 12:00:00 Uhr abgelaufen."); views show it next to the field
it concerns (`field`) or at the top of the page. Error pages use the normal
layout and never show a stack trace.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from portal.extensions import db, login_manager


class Refused(Exception):
    """A business rule refuses the action; `message` tells the user why."""

    def __init__(self, message: Any, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotPermitted(Refused):
    """The acting user may not do this; views answer 403 (or 404)."""


def show_refusal(form: Any, refusal: Refused) -> None:
    """Put a service's refusal next to the field it names, else above the form.

    A refusal with `problems` (field name → message, e.g. the review's
    `InvalidEntries`) puts each message next to its own field. The form keeps
    everything the user typed; the caller rolls back.
    """
    problems = getattr(refusal, "problems", None)
    if problems:
        for name, message in problems.items():
            show_refusal(form, Refused(message, field=name))
        return
    field = getattr(form, refusal.field, None) if refusal.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, refusal.message]
    else:
        form.form_errors.append(refusal.message)


ERROR_TEXTS = {
    400: (_l("Ungültige Anfrage"), _l("Die Anfrage konnte nicht verarbeitet werden. Bitte prüfen Sie Ihre Eingaben.")),
    403: (_l("Zugriff verweigert"), _l("Sie haben keine Berechtigung für diese Seite oder Aktion.")),
    404: (_l("Seite nicht gefunden"), _l("Die angeforderte Seite gibt es nicht (mehr). Bitte prüfen Sie die Adresse.")),
    405: (_l("Methode nicht erlaubt"), _l("Diese Aktion ist auf dieser Seite nicht möglich.")),
    413: (_l("Datei zu groß"), _l("Die gesendeten Daten sind zu groß. Erlaubt sind höchstens %(limit)s pro Übertragung.")),
    429: (_l("Zu viele Anfragen"), _l("Sie haben zu viele Anfragen in kurzer Zeit gesendet. Bitte warten Sie einen Moment und versuchen Sie es dann erneut.")),
    500: (_l("Interner Fehler"), _l("Es ist ein unerwarteter Fehler aufgetreten. Ihre Daten wurden nicht verändert. Bitte versuchen Sie es später erneut.")),
    503: (_l("Dienst vorübergehend nicht verfügbar"), _l("Das Portal ist vorübergehend nicht erreichbar. Ihre Daten wurden nicht verändert. Bitte versuchen Sie es in einigen Minuten erneut.")),
}

# Form fields whose values are never echoed back into a page.
SECRET_FIELDS = ("password", "passwort", "token", "code", "csrf_token", "secret")


def _megabytes(n: int | None) -> str:
    if not n:
        return "?"
    return f"{n / (1024 * 1024):.0f} MB"


def render_error(code: int, **extra: Any) -> tuple[str, int]:
    title, text = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    message = str(text) % extra if extra else str(text)
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        code = exc.code or 500
        if code == 413:
            return render_error(413, limit=_megabytes(app.config.get("MAX_CONTENT_LENGTH")))
        body, status = render_error(code if code in ERROR_TEXTS else 400)
        headers = {}
        if exc.response is not None and exc.response.headers.get("Retry-After"):
            headers["Retry-After"] = exc.response.headers["Retry-After"]
        elif getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        return body, status, headers

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        # The session (and with it the token) expired or the form came from
        # elsewhere. Keep what the user typed: offer to send it again with a
        # fresh token instead of throwing the input away.
        kept = [
            (key, value)
            for key, value in request.form.items(multi=True)
            if not any(secret in key.lower() for secret in SECRET_FIELDS)
        ]
        return (
            render_template(
                "errors/csrf.html",
                kept=kept,
                action=request.path,
                lost_files=bool(request.files),
                token=generate_csrf(),
                title=_("Sicherheitsprüfung fehlgeschlagen"),
            ),
            400,
        )

    @app.errorhandler(500)
    def _internal_error(exc: Exception) -> Any:
        return render_error(500)

    def _database_unavailable(exc: Exception) -> Any:
        """The database went away (or its pool is exhausted): 503, nothing written.

        The request's transaction was never committed, so the database keeps
        nothing of it. The page is rendered without asking the database again
        (the visitor is shown as signed out on this one page only).
        """
        app.logger.error("Datenbank nicht erreichbar: %s", type(exc).__name__, exc_info=exc)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; dropping the session is enough
            pass
        db.session.remove()
        g._login_user = login_manager.anonymous_user()
        body, status = render_error(503)
        return body, status, {"Retry-After": "30"}

    for kind in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(kind, _database_unavailable)
