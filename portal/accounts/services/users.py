"""Sign-in, passwords, e-mail addresses, preferences, roles and deactivation."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.models import Role, User, UserRole
from portal.accounts.passwords import hash_password, needs_rehash, verify_password
from portal.accounts.services.common import absolute_url, require_good_password
from portal.accounts.tokens import INVALID, fingerprint, make_token, read_token
from portal.audit.actions import AuditAction
from portal.audit.models import AuditEvent
from portal.audit.services import format_time, record
from portal.core.errors import Refused
from portal.core.time import now
from portal.extensions import db
from portal.mail.models import OutgoingMail
from portal.mail.services import queue_mail

WRONG_CREDENTIALS = _l("E-Mail-Adresse oder Passwort ist nicht richtig.")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def _bump_sessions(user: User) -> None:
    """End every session and remember-me cookie of `user` (see load_user)."""
    user.session_version = (user.session_version or 1) + 1


# ---------------------------------------------------------------------------
# Sign-in
# ---------------------------------------------------------------------------


class SignInOutcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignInOutcome
    user: User | None = None


def attempt_sign_in(email: str, password: str) -> SignInResult:
    """Check e-mail and password; record a failure.

    Unknown address, wrong password and deactivated account look the same
    to the visitor (no user enumeration) and take the same time. Only with
    the right password does the visitor learn that the address still needs
    confirming; a fresh link is sent then.
    """
    user = find_user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        reason = "unknown_account" if user is None else ("inactive" if ok else "password")
        record(AuditAction.USER_SIGN_IN_FAILED, subject=user, data={"reason": reason})
        return SignInResult(SignInOutcome.WRONG)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.email_verified_at is None:
        record(AuditAction.USER_SIGN_IN_FAILED, subject=user, data={"reason": "email_unverified"})
        send_email_verification(user)
        return SignInResult(SignInOutcome.UNVERIFIED, user)
    return SignInResult(SignInOutcome.OK, user)


def complete_sign_in(user: User, *, second_factor: str) -> None:
    """Record a finished sign-in (`second_factor`: none, totp, recovery, demo)."""
    user.last_sign_in_at = now()
    record(AuditAction.USER_SIGNED_IN, actor=user, subject=user, data={"second_factor": second_factor})


def confirm_identity(user: User, password: str, code: str | None = None) -> bool:
    """Re-authentication before sensitive changes: password and, if set up, a code."""
    from portal.accounts.services.twofactor import check_second_factor

    ok = verify_password(user.password_hash, password)
    if ok and user.has_totp:
        ok = check_second_factor(user, code or "", record_failure=False) is not None
    if not ok:
        record(AuditAction.USER_SIGN_IN_FAILED, actor=user, subject=user, data={"reason": "reauthentication"})
    return ok


def sign_out(user: User) -> None:
    """End this user's sessions on the server, not only the cookie in this browser."""
    _bump_sessions(user)
    record(AuditAction.USER_SIGNED_OUT, actor=user, subject=user)


# ---------------------------------------------------------------------------
# Passwords
# ---------------------------------------------------------------------------


def change_password(user: User, new_password: str, *, by: User) -> None:
    """Set a new password and end every other session of the user."""
    require_good_password(new_password, email=user.email, field="new_password")
    user.password_hash = hash_password(new_password)
    _bump_sessions(user)
    record(AuditAction.USER_PASSWORD_CHANGED, actor=by, subject=user)


def request_password_reset(email: str) -> None:
    """Send a reset link if the address belongs to an active account; otherwise nothing.

    The visitor sees the same answer either way (no user enumeration).
    """
    user = find_user_by_email(email)
    if user is None or not user.active:
        return
    token = make_token("reset", u=user.id, h=fingerprint(user.password_hash))
    queue_mail(
        user.email,
        _l("Passwort zurücksetzen"),
        "accounts/password_reset",
        locale=user.locale,
        user=user,
        link=absolute_url("accounts.reset_password", token=token),
        minutes=current_app.config["RESET_TOKEN_MINUTES"],
    )
    record(AuditAction.USER_PASSWORD_RESET_REQUESTED, subject=user)


def user_for_reset(token: str) -> User:
    payload = read_token("reset", token, max_age=timedelta(minutes=current_app.config["RESET_TOKEN_MINUTES"]))
    user = db.session.get(User, payload.get("u"))
    # A used link no longer matches: the password (and its hash) changed.
    if user is None or not user.active or payload.get("h") != fingerprint(user.password_hash):
        raise Refused(INVALID)
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link. The user still signs in afterwards,
    with the second factor if they have one: the reset never bypasses it."""
    user = user_for_reset(token)
    require_good_password(new_password, email=user.email)
    user.password_hash = hash_password(new_password)
    if user.email_verified_at is None:  # following the link proved the address
        user.email_verified_at = now()
    _bump_sessions(user)
    record(AuditAction.USER_PASSWORD_RESET, subject=user)
    return user


# ---------------------------------------------------------------------------
# E-mail addresses
# ---------------------------------------------------------------------------


def send_email_verification(user: User) -> None:
    token = make_token("verify", u=user.id, e=fingerprint(normalise_email(user.email)))
    queue_mail(
        user.email,
        _l("Bitte bestätigen Sie Ihre E-Mail-Adresse"),
        "accounts/verify_email",
        locale=user.locale,
        user=user,
        link=absolute_url("accounts.verify_email", token=token),
        hours=current_app.config["EMAIL_TOKEN_HOURS"],
    )


def verify_email(token: str) -> User:
    payload = read_token("verify", token, max_age=timedelta(hours=current_app.config["EMAIL_TOKEN_HOURS"]))
    user = db.session.get(User, payload.get("u"))
    if user is None or user.email_verified_at is not None or payload.get("e") != fingerprint(normalise_email(user.email)):
        raise Refused(INVALID)
    user.email_verified_at = now()
    record(AuditAction.USER_EMAIL_VERIFIED, actor=user, subject=user)
    return user


def request_email_change(user: User, new_email: str) -> None:
    """Send a confirmation link to the new address.

    If another account already uses the address, nothing is sent and the
    answer looks the same, so the form cannot be used to probe addresses.
    """
    new_email = normalise_email(new_email)
    if new_email == normalise_email(user.email):
        raise Refused(_l("Das ist bereits Ihre E-Mail-Adresse."), field="email")
    if find_user_by_email(new_email) is not None:
        return
    token = make_token("email", u=user.id, old=fingerprint(normalise_email(user.email)), new=new_email)
    queue_mail(
        new_email,
        _l("Neue E-Mail-Adresse bestätigen"),
        "accounts/email_change",
        locale=user.locale,
        user=user,
        link=absolute_url("accounts.confirm_email_change", token=token),
        hours=current_app.config["EMAIL_TOKEN_HOURS"],
    )


def confirm_email_change(token: str, *, by: User) -> None:
    payload = read_token("email", token, max_age=timedelta(hours=current_app.config["EMAIL_TOKEN_HOURS"]))
    if payload.get("u") != by.id or payload.get("old") != fingerprint(normalise_email(by.email)):
        raise Refused(INVALID)
    new_email = str(payload.get("new", ""))
    if find_user_by_email(new_email) is not None:
        raise Refused(_l("Diese E-Mail-Adresse kann nicht verwendet werden."))
    old_email = by.email
    by.email = new_email
    by.email_verified_at = now()
    record(AuditAction.USER_EMAIL_CHANGED, actor=by, subject=by, data={"old": old_email, "new": new_email})
    queue_mail(
        old_email,
        _l("Ihre E-Mail-Adresse wurde geändert"),
        "accounts/email_changed",
        locale=by.locale,
        user=by,
        new_email=new_email,
    )


# ---------------------------------------------------------------------------
# Preferences and personal data
# ---------------------------------------------------------------------------


def update_preferences(user: User, *, locale: str, notify_by_email: bool) -> None:
    if locale not in current_app.config["LANGUAGES"]:
        raise Refused(_l("Diese Sprache wird nicht angeboten."), field="locale")
    user.locale = locale
    user.notify_by_email = notify_by_email
    record(
        AuditAction.USER_PREFERENCES_CHANGED,
        actor=user,
        subject=user,
        data={"locale": locale, "notify_by_email": notify_by_email},
    )


def _iso(moment: Any) -> str | None:
    return format_time(moment) if moment is not None else None


def export_personal_data(user: User) -> dict[str, Any]:
    """Everything the portal holds about `user` as JSON-ready data (GDPR Art. 15/20)."""
    events = db.session.scalars(
        select(AuditEvent)
        .where((AuditEvent.actor_id == user.id) | ((AuditEvent.subject_type == "user") & (AuditEvent.subject_id == str(user.id))))
        .order_by(AuditEvent.seq)
    ).all()
    mails = db.session.scalars(
        select(OutgoingMail).where(func.lower(OutgoingMail.to_address) == normalise_email(user.email)).order_by(OutgoingMail.id)
    ).all()
    record(AuditAction.USER_DATA_EXPORTED, actor=user, subject=user)
    return {
        "account": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "active": user.active,
            "locale": user.locale,
            "notify_by_email": user.notify_by_email,
            "created_at": _iso(user.created_at),
            "email_verified_at": _iso(user.email_verified_at),
            "last_sign_in_at": _iso(user.last_sign_in_at),
            "two_factor_enabled_at": _iso(user.totp_enabled_at),
            "unused_recovery_codes": user.unused_recovery_codes,
            "roles": sorted(r.value for r in user.role_set),
        },
        "organisations": [
            {
                "id": m.organisation.id,
                "name": m.organisation.name,
                "joined_at": _iso(m.joined_at),
                "left_at": _iso(m.left_at),
            }
            for m in user.memberships
        ],
        "audit_events": [
            {"seq": e.seq, "time": _iso(e.occurred_at), "action": e.action, "as_actor": e.actor_id == user.id}
            for e in events
        ],
        "emails": [
            {"time": _iso(m.created_at), "subject": m.subject, "status": m.status.value} for m in mails
        ],
        "note": "Passwort, TOTP-Geheimnis und Wiederherstellungscodes werden nur als Prüfwerte gespeichert und nicht exportiert.",
    }


# ---------------------------------------------------------------------------
# Administration: roles and deactivation
# ---------------------------------------------------------------------------


def change_roles(user: User, roles: set[Role], *, by: User) -> None:
    """Replace the user's roles; their sessions end so the new roles (and a
    two-factor requirement that comes with them) apply from the next request."""
    before = user.role_set
    if user.id == by.id and Role.ADMIN in before and Role.ADMIN not in roles:
        raise Refused(_l("Sie können sich die Administrationsrolle nicht selbst entziehen."), field="roles")
    if before == frozenset(roles):
        return
    user.roles = [UserRole(role=r) for r in sorted(roles)]
    _bump_sessions(user)
    record(
        AuditAction.USER_ROLES_CHANGED,
        actor=by,
        subject=user,
        data={"before": sorted(r.value for r in before), "after": sorted(r.value for r in roles)},
    )


def set_user_active(user: User, active: bool, *, by: User) -> None:
    """Deactivate (ending every session at once) or reactivate an account."""
    if user.id == by.id and not active:
        raise Refused(_l("Sie können Ihr eigenes Konto nicht deaktivieren."))
    if user.active == active:
        return
    user.active = active
    _bump_sessions(user)
    record(AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED, actor=by, subject=user)
