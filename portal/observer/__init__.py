"""Council view (Kreistag): a read-only status of every procedure and consultation.

Pages under /kreistag (blueprint `observer`) for the observer role (and
officers, who prepare council meetings): state, timeline, next deadline,
number of bids per lot after the deadline, figures that other domains
provide (`portal.observer.figures`), consultation reports, and the same
status as a PDF report. Never bid contents, scores or bidder names.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.observer import permissions, views

    app.register_blueprint(views.bp)
    for name in permissions.__all__:
        app.jinja_env.globals[name] = getattr(permissions, name)
