"""Configuration classes for IBV-Portal.

`create_app()` picks one of these by the environment variable `PORTAL_CONFIG`
(`development`, the default, `testing` or `production`). Every setting can be
overridden from the environment; secrets are never written into this file.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", BASE_DIR / "instance"))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(filename: str, nbytes: int = 48) -> str:
    """Read a development secret from instance/, creating it on first use.

    Development must work without any setup, but no secret may live in the
    repository: the first run generates one and keeps it for later runs.
    """
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    DEMO_ALLOWED = False

    DISTRICT_NAME = os.environ.get("DISTRICT_NAME", "Kreis Siegen-Wittgenstein")
    PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000")

    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15000)

    # A bidder may write for hours: the CSRF token lives as long as the session.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_ENABLED = True

    SESSION_COOKIE_NAME = "ibv_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Upload limit for one request; per-file and per-bid limits are checked
    # by the services with a message that says which limit was hit.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)

    LANGUAGES = ("de", "en")
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"

    # Rendered public pages kept per worker for anonymous visitors (portal/core/caching.py); 0 switches it off.
    PAGE_CACHE_MB = float(os.environ.get("PAGE_CACHE_MB", "16"))

    HSTS = False
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    LOG_REQUESTS = _env_bool("LOG_REQUESTS", False)

    # Outgoing mail (see portal/mail/services.py). "smtp" or "console".
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "noreply@ibv-portal.example")
    MAIL_SENDER_NAME = os.environ.get("MAIL_SENDER_NAME", "IBV-Portal")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)
    MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 5)
    MAIL_DEV_BROWSER = False

    # Sign-in and sessions (see docs/configuration.md, "Accounts").
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 30)
    SESSION_MAX_HOURS = _env_int("SESSION_MAX_HOURS", 12)
    REAUTH_MINUTES = _env_int("REAUTH_MINUTES", 10)
    EMAIL_TOKEN_HOURS = _env_int("EMAIL_TOKEN_HOURS", 48)
    RESET_TOKEN_MINUTES = _env_int("RESET_TOKEN_MINUTES", 60)
    INVITATION_DAYS = _env_int("INVITATION_DAYS", 7)
    # Throttling (Flask-Limiter): in memory by default, shared via Redis when set.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "ibv")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_PER_ACCOUNT = os.environ.get("RATELIMIT_PER_ACCOUNT", "10 per minute")
    RATELIMIT_PER_IP = os.environ.get("RATELIMIT_PER_IP", "30 per minute")
    # Demo accounts may sign in without TOTP; honoured only with DEMO_ALLOWED
    # outside production (see portal.accounts.gate.totp_relaxed_for).
    DEMO_RELAX_TOTP = False

    # Signed checkpoints of the audit log (docs/transparency.md). Key name and
    # origin default to the host of PORTAL_BASE_URL; once published, never change them.
    AUDIT_SIGNING_KEY_PATH: str | None = os.environ.get("AUDIT_SIGNING_KEY_PATH")
    AUDIT_KEY_NAME: str | None = os.environ.get("AUDIT_KEY_NAME")
    AUDIT_LOG_ORIGIN: str | None = os.environ.get("AUDIT_LOG_ORIGIN")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = _env_bool("FLASK_DEBUG", False)
    DEMO_ALLOWED = True
    # Mails go to the console and stay browsable at /dev/mail.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_DEV_BROWSER = True
    DEMO_RELAX_TOTP = _env_bool("DEMO_RELAX_TOTP", True)

    def __init__(self) -> None:
        from portal.core.sealing import instance_key_text

        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _instance_secret("secret_key")
        self.BID_ENCRYPTION_KEY = os.environ.get("BID_ENCRYPTION_KEY") or instance_key_text(
            INSTANCE_DIR / "bid_encryption_key"
        )
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or (
            f"sqlite:///{INSTANCE_DIR / 'portal.sqlite3'}"
        )
        self.AUDIT_SIGNING_KEY_PATH = os.environ.get("AUDIT_SIGNING_KEY_PATH") or str(
            INSTANCE_DIR / "audit_signing_key.pem"
        )


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    DEMO_ALLOWED = True
    SECRET_KEY = "testing-only-not-secret"
    BID_ENCRYPTION_KEY = "dGVzdGluZy1vbmx5LWJpZC1rZXktMzItYnl0ZXMhISE"
    # Tests post forms directly; CSRF itself is tested with it switched on.
    WTF_CSRF_ENABLED = False
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    # Tests that read mail start a real SMTP server (fixture `smtp_server`);
    # elsewhere nothing listens on port 1 and sending fails fast, as it may.
    MAIL_BACKEND = "smtp"
    MAIL_PORT = 1
    MAIL_TIMEOUT = 2


class ProductionConfig(Config):
    ENV_NAME = "production"
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    LOG_REQUESTS = _env_bool("LOG_REQUESTS", True)
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
        self.BID_ENCRYPTION_KEY = os.environ.get("BID_ENCRYPTION_KEY")
        self.AUDIT_SIGNING_KEY_PATH = os.environ.get("AUDIT_SIGNING_KEY_PATH")

    def check(self) -> list[str]:
        """Return the reasons this configuration must not start (empty if fine)."""
        problems = []
        if not self.SECRET_KEY or len(self.SECRET_KEY) < 32:
            problems.append("SECRET_KEY fehlt oder ist kürzer als 32 Zeichen.")
        if not self.SQLALCHEMY_DATABASE_URI:
            problems.append("DATABASE_URL fehlt.")
        if not self.BID_ENCRYPTION_KEY:
            problems.append("BID_ENCRYPTION_KEY fehlt (Hauptschlüssel für versiegelte Bewerbungen).")
        else:
            from portal.core.sealing import MasterKey

            try:
                MasterKey.from_text(self.BID_ENCRYPTION_KEY)
            except ValueError as exc:
                problems.append(str(exc))
        if _env_bool("FLASK_DEBUG") or self.DEBUG:
            problems.append("Debug-Modus ist in Produktion nicht erlaubt.")
        if self.DEMO_ALLOWED:
            problems.append("Demodaten sind in Produktion nicht erlaubt.")
        if not self.AUDIT_SIGNING_KEY_PATH or not Path(self.AUDIT_SIGNING_KEY_PATH).is_file():
            problems.append("AUDIT_SIGNING_KEY_PATH fehlt oder nennt keine Schlüsseldatei (Ed25519, PEM).")
        return problems


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
