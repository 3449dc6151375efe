"""The accounts blueprint: sign-in, registration, account page, administration."""
from __future__ import annotations

from flask import Blueprint
from flask_wtf import FlaskForm

from portal.core.errors import Refused
from portal.extensions import db

bp = Blueprint("accounts", __name__)


def show_refusal(form: FlaskForm, refusal: Refused) -> None:
    """Put a service's refusal next to its field (or above the form) and roll back."""
    db.session.rollback()
    field = getattr(form, refusal.field, None) if refusal.field else None
    if field is not None:
        field.errors = [*field.errors, refusal.message]
    else:
        form.form_errors.append(refusal.message)


from portal.accounts.views import account, admin, auth, organisations  # noqa: E402,F401
