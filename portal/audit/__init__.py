"""The tamper-evident audit log: `record()`, the Merkle tree, signed checkpoints,
the public transparency endpoints and the administrators' log view."""
from flask import Flask


def init_app(app: Flask) -> None:
    from portal.audit import models  # noqa: F401  (register the tables)
    from portal.audit import transparency
    from portal.audit.admin import bp as admin_bp
    from portal.audit.cli import bp
    from portal.audit.labels import action_label
    from portal.audit.views import bp as public_bp

    app.register_blueprint(bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(admin_bp)
    transparency.init_app(app)
    app.jinja_env.globals["audit_action_label"] = action_label
