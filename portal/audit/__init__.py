"""The tamper-evident audit log: `record()` and `flask audit verify`."""
from flask import Flask


def init_app(app: Flask) -> None:
    from portal.audit import models  # noqa: F401  (register the table)
    from portal.audit.cli import bp

    app.register_blueprint(bp)
