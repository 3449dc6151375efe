"""Operations: structured logging, readiness, admin bootstrap, backup and restore."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.ops import logging as ops_logging
    from portal.ops.cli import bp as cli_bp
    from portal.ops.views import bp

    ops_logging.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(cli_bp)
