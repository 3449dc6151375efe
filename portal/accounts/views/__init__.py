"""The accounts blueprint: sign-in, registration, account page, administration."""
from __future__ import annotations

from flask import Blueprint
from flask_wtf import FlaskForm

from portal.core.errors import show_refusal as put_refusal_on_form, Refused
from portal.extensions import db

bp = Blueprint("accounts", __name__)


def show_refusal(form: FlaskForm, refusal: Refused) -> None:
    """Put a service's refusal next to its field (or above the form) and roll back."""
    db.session.rollback()
    put_refusal_on_form(form, refusal)


from portal.accounts.views import account, admin, auth, organisations  # noqa: E402,F401
