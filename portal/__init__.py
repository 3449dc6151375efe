"""IBV-Portal: transparent expression-of-interest procedures and consultations.

`create_app(config)` builds the Flask application. Domain packages add
themselves in `_register_domains`; nothing else in this file needs to change
when a domain is added.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from config import CONFIGS, Config, ProductionConfig

PACKAGE_DIR = Path(__file__).resolve().parent


class ConfigurationError(RuntimeError):
    """The configuration is not safe to start with (production checks)."""


def _load_config(config: Any) -> Any:
    if config is None:
        config = os.environ.get("PORTAL_CONFIG", "development")
    if isinstance(config, str):
        config = CONFIGS[config]
    if isinstance(config, type):
        config = config()
    return config


def _translation_directories() -> str:
    """Every domain keeps its own English catalogue in portal/translations/<domain>/."""
    root = PACKAGE_DIR / "translations"
    dirs = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    return ";".join(str(p) for p in dirs) or str(root)


def create_app(config: Any = None, **overrides: Any) -> Flask:
    cfg = _load_config(config)
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(Path(os.environ.get("PORTAL_INSTANCE_DIR", PACKAGE_DIR.parent / "instance"))),
    )
    app.config.from_object(cfg)
    app.config.update(overrides)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = _translation_directories()

    if isinstance(cfg, ProductionConfig):
        problems = cfg.check()
        if app.config.get("DEMO_ALLOWED") or app.debug:
            problems.append("Debug-Modus oder Demodaten sind in Produktion nicht erlaubt.")
        if problems:
            raise ConfigurationError("Produktionskonfiguration unvollständig: " + " ".join(problems))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        raise ConfigurationError("Keine Datenbank konfiguriert (DATABASE_URL).")

    from portal.core import caching, database, i18n, security, errors, templating

    database.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    caching.init_app(app)
    _register_domains(app)
    return app


def _register_domains(app: Flask) -> None:
    from portal.accounts import init_app as init_accounts
    from portal.audit import init_app as init_audit
    from portal.awards import init_app as init_awards
    from portal.consultation import init_app as init_consultation
    from portal.bids import init_app as init_bids
    from portal.calls import init_app as init_calls
    from portal.core.views import bp as core_bp
    from portal.demo import init_app as init_demo
    from portal.mail import init_app as init_mail
    from portal.observer import init_app as init_observer
    from portal.ops import init_app as init_ops
    from portal.review import init_app as init_review
    from portal.public import init_app as init_public

    app.register_blueprint(core_bp)
    init_audit(app)
    init_accounts(app)
    init_mail(app)
    init_ops(app)
    init_consultation(app)
    init_calls(app)
    init_bids(app)
    init_review(app)
    init_awards(app)
    init_public(app)
    init_observer(app)
    init_demo(app)


__all__ = ["create_app", "Config", "ConfigurationError"]
