"""Session keys shared by sign-in, the two-factor gate and the test harness."""
from __future__ import annotations

from flask import session
from flask_login import login_user

from portal.accounts.models import User
from portal.core.time import now

#: Set once the user passed the second factor in this session.
TWO_FACTOR_PASSED = "tfa_ok"
#: When this session began and when it was last used (idle timeout, absolute lifetime).
SESSION_STARTED = "auth_at"
SESSION_SEEN = "seen_at"


def start_session(user: User, *, two_factor_passed: bool, remember: bool = False) -> None:
    """Begin a fresh session for `user` (the old session's data is dropped).

    Clearing the session before logging in renews it, so an identifier an
    attacker planted before sign-in is worthless afterwards (no fixation).
    """
    keep_lang = session.get("lang")
    session.clear()
    if keep_lang:
        session["lang"] = keep_lang
    login_user(user, remember=remember, fresh=True)
    session[TWO_FACTOR_PASSED] = bool(two_factor_passed)
    session[SESSION_STARTED] = session[SESSION_SEEN] = int(now().timestamp())
