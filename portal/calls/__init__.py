"""Calls for expression of interest: lots, criteria, documents, amendments, questions.

Public pages live under /aufrufe (blueprint `calls`), officer pages under
/verwaltung/aufrufe (blueprint `calls_admin`). `flask calls sweep` (cron,
every few minutes) persists closed submissions and sends deadline reminders.
"""
from __future__ import annotations

import click
from flask import Blueprint, Flask

cli = Blueprint("calls_cli", __name__, cli_group="calls")


@cli.cli.command("sweep")
def sweep_command() -> None:
    """Close calls whose deadline passed, send the 48/24-hour reminders, finalise awards after the standstill."""
    from portal.calls.notifications import send_deadline_reminders
    from portal.calls.services import close_due_calls
    from portal.extensions import db

    from flask_babel import force_locale

    with force_locale("de"):
        closed = close_due_calls()
        reminders = send_deadline_reminders()
        db.session.commit()
        finalised = finalise_awards()
    click.echo(f"{len(closed)} Aufruf(e) geschlossen, {reminders} Erinnerung(en) eingereiht, {finalised} Vergabe(n) bekannt gemacht.")


def finalise_awards() -> int:
    """Each call whose standstill ended becomes 'awarded' in its own transaction (portal.awards)."""
    from portal.awards.services import finalise_due_awards
    from portal.extensions import db

    finalised = finalise_due_awards()
    db.session.commit()
    return len(finalised)


def init_app(app: Flask) -> None:
    from portal.calls import admin, models, permissions, views  # noqa: F401
    from portal.calls.amendments import change_label, display_value
    from portal.calls.state import STATE_LABELS, effective_state, state_group, time_left_in_words
    from portal.core.markdown import render_markdown
    from portal.core.pdf import human_size

    from portal.calls import trail

    trail.register()
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(cli)
    for name in permissions.__all__:
        app.jinja_env.globals[name] = getattr(permissions, name)
    app.jinja_env.globals.update(
        effective_state=effective_state, call_state_group=state_group, call_state_labels=STATE_LABELS,
        time_left_in_words=time_left_in_words, amendment_value=display_value, amendment_change_label=change_label, current_open_calls=current_open_calls,
    )
    app.jinja_env.filters.setdefault("filesize", human_size)
    app.jinja_env.filters.setdefault("markdown", render_markdown)


def current_open_calls() -> list:  # type: ignore[type-arg]
    """Open calls for the start page, soonest deadline first (one query)."""
    from sqlalchemy import select

    from portal.calls.models import Call, CallState
    from portal.core.time import now
    from portal.extensions import db

    stmt = select(Call).where(Call.state == CallState.PUBLISHED, Call.submission_deadline > now())
    return list(db.session.scalars(stmt.order_by(Call.submission_deadline)))
