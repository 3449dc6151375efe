"""Accounts, roles, organisations and sign-in."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from portal.extensions import db, login_manager


def load_user(user_id: str):  # type: ignore[no-untyped-def]
    """Load the signed-in user, refusing stale sessions.

    The session stores `<id>:<session_version>`. Logging out, changing the
    password or deactivating the account bumps the version on the server, so
    every older session (on any device, any app server) ends at once.
    """
    from portal.accounts.models import User

    try:
        raw_id, raw_version = user_id.split(":", 1)
        user = db.session.get(User, int(raw_id))
        version = int(raw_version)
    except (ValueError, TypeError):
        return None
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def init_app(app: Flask) -> None:
    from portal.accounts import gate, models  # noqa: F401  (register the tables)
    from portal.accounts import permissions
    from portal.accounts.limits import limiter

    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Bitte melden Sie sich an, um diese Seite zu sehen.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    limiter.init_app(app)
    gate.init_app(app)
    from portal.accounts.forms import ROLE_LABELS, STATUS_LABELS

    app.jinja_env.globals.update(role_labels=ROLE_LABELS, status_labels=STATUS_LABELS)
    for name in permissions.__all__:
        app.jinja_env.globals[name] = getattr(permissions, name)
    try:
        from portal.accounts.views import bp
    except ImportError:
        return
    app.register_blueprint(bp)
