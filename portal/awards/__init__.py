"""Awards: decision per lot (four eyes), information letters and standstill, objections,
the public award notice, the procurement record, and letters on cancellation.

Officer pages under /verwaltung/vergabe (blueprint `awards_admin`), bidder
letters and objections under /mitteilungen (`awards`), public notices under
/vergaben (`awards_public`). The move to "awarded" is made by the clock:
`flask calls sweep` runs `services.finalise_due_awards`.
"""
from __future__ import annotations

from typing import Any

from flask import Flask


def award_notice_for(call: Any) -> Any:
    """The call's published award notice (for the call page), or None."""
    from portal.awards.services import notice_for

    return notice_for(call) if call.state.value == "awarded" else None


def _on_call_state_changed(call: Any, **kwargs: Any) -> None:
    from portal.awards.services import on_call_state_changed

    on_call_state_changed(call, **kwargs)


def init_app(app: Flask) -> None:
    from portal.awards import admin, council, models, ocds, permissions, public, views  # noqa: F401  (register the tables)
    from portal.awards.letters import as_decimal, iso_date, parse_time
    from portal.calls.feeds import register_feed_entries
    from portal.calls.services import call_state_changed

    app.register_blueprint(admin.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(public.bp)
    call_state_changed.connect(_on_call_state_changed, weak=False)
    register_feed_entries(public.notice_entries)
    ocds.register()
    council.register()
    for name in permissions.__all__:
        app.jinja_env.globals[name] = getattr(permissions, name)
    app.jinja_env.globals["award_notice_for"] = award_notice_for
    app.jinja_env.filters["letter_time"] = parse_time
    app.jinja_env.filters["as_decimal"] = as_decimal
    app.jinja_env.filters["iso_date"] = iso_date
