"""Review (Begutachtung): conflict declarations, eligibility, independent scoring, consolidation, ranking.

Reviewer pages live under /begutachtung (blueprint `review`), the officer's
and chair's pages under /verwaltung/aufrufe/<reference>/begutachtung
(blueprint `review_admin`). REVIEW_JUSTIFICATION_MIN_CHARS (default 30)
sets the minimum length of a written justification.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.review import admin, council, models, permissions, views  # noqa: F401  (register the tables)
    from portal.review.services import DEFAULT_JUSTIFICATION_MIN_CHARS

    app.config.setdefault("REVIEW_JUSTIFICATION_MIN_CHARS", DEFAULT_JUSTIFICATION_MIN_CHARS)
    from portal.review.labels import register
    from portal.review.services import format_decimal

    register()
    council.register()

    app.jinja_env.filters.setdefault("decimal_de", format_decimal)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    for name in permissions.__all__:
        app.jinja_env.globals[name] = getattr(permissions, name)
