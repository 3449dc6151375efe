"""Stakeholder consultation on draft concepts (Beteiligungsverfahren) with public responses."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.consultation import models  # noqa: F401  (register the tables)
    from portal.consultation import permissions
    from portal.consultation.models import HIDE_REASON_LABELS, RESPONSE_STATE_LABELS
    from portal.consultation.report import public_text
    from portal.audit.public import TrailSubject, register_trail_subject
    from portal.consultation.services import absolute_url, call_url, calls_shaped_by, consultation_page, open_consultations
    from portal.core.markdown import render_markdown
    from portal.consultation.views import bp

    for name in permissions.__all__:
        app.jinja_env.globals[name] = getattr(permissions, name)
    app.jinja_env.globals["calls_shaped_by"] = calls_shaped_by
    app.jinja_env.globals["call_url"] = call_url
    app.jinja_env.globals["open_consultations"] = open_consultations
    app.jinja_env.globals["render_markdown"] = render_markdown
    app.jinja_env.globals["public_text"] = public_text
    app.jinja_env.globals["absolute_url"] = absolute_url
    app.jinja_env.globals["response_state_labels"] = RESPONSE_STATE_LABELS
    app.jinja_env.globals["hide_reason_labels"] = HIDE_REASON_LABELS
    app.register_blueprint(bp)
    register_trail_subject("consultation", TrailSubject(page=consultation_page))
