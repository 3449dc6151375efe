"""Language selection and locale-aware formatting.

German is the source language of every UI string; the English catalogues
translate from German. A visitor's explicit choice (language switch) wins,
then the signed-in user's preference, then German.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app, has_request_context, session
from flask_babel import format_datetime, format_decimal, get_locale
from flask_login import current_user

from portal.core.time import to_berlin
from portal.extensions import babel


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, demo, e-mails rendered by cron: German
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False):
        preferred = getattr(current_user, "locale", None)
        if preferred in languages:
            return preferred
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    return str(get_locale() or "de")


def datetime_berlin(moment: datetime | None, *, seconds: bool = False) -> str:
    """Format an aware UTC time as Europe/Berlin wall-clock time with zone name.

    Example (de): "05.08.2022, 12:00 Uhr (MESZ)"; with seconds "12:00:00 Uhr".
    """
    if moment is None:
        return ""
    local = to_berlin(moment)
    zone = local.tzname() or ""
    if current_language() == "de":
        zone = {"CEST": "MESZ", "CET": "MEZ"}.get(zone, zone)
        fmt = "dd.MM.yyyy, HH:mm:ss" if seconds else "dd.MM.yyyy, HH:mm"
        return f"{format_datetime(local, fmt, rebase=False)} Uhr ({zone})"
    fmt = "d MMM yyyy, HH:mm:ss" if seconds else "d MMM yyyy, HH:mm"
    return f"{format_datetime(local, fmt, rebase=False)} ({zone})"


def date_berlin(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = to_berlin(moment)
    fmt = "dd.MM.yyyy" if current_language() == "de" else "d MMM yyyy"
    return format_datetime(local, fmt, rebase=False)


def number(value: int | float | Decimal | None, digits: int | None = None) -> str:
    if value is None:
        return ""
    if digits is None:
        return format_decimal(value)
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(value, format=pattern)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["datetime_berlin"] = datetime_berlin
    app.jinja_env.filters["date_berlin"] = date_berlin
    app.jinja_env.filters["number"] = number
    app.jinja_env.globals["current_language"] = current_language
