"""The accounts blueprint: sign-in, registration, account page, administration."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from portal.accounts.views import account, admin, auth, organisations  # noqa: E402,F401
