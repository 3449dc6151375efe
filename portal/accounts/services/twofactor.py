"""Enrolling, checking and removing the second factor (TOTP + recovery codes)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.accounts import totp
from portal.accounts.models import RecoveryCode, User
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.core.errors import Refused
from portal.core.time import now

WRONG_CODE = _l("Der Code ist nicht richtig oder wurde schon verwendet. Bitte geben Sie den aktuellen Code aus Ihrer App ein.")


def enable_totp(user: User, secret: str, code: str) -> list[str]:
    """Turn on TOTP with `secret` once `code` proves the app has it.

    Replaces an earlier secret and all recovery codes. Returns the ten new
    recovery codes in clear text: shown once, stored only hashed.
    """
    step = totp.matching_step(secret, code, after=None)
    if step is None:
        raise Refused(WRONG_CODE, field="code")
    renewed = user.has_totp
    user.totp_secret = secret
    user.totp_enabled_at = now()
    user.totp_last_step = step
    codes = totp.new_recovery_codes()
    user.recovery_codes = [RecoveryCode(code_hash=totp.hash_recovery_code(c)) for c in codes]
    record(AuditAction.USER_TOTP_ENROLLED, actor=user, subject=user, data={"renewed": renewed})
    return codes


def check_second_factor(user: User, code: str, *, record_failure: bool = True) -> str | None:
    """Accept a TOTP code (once per time step) or an unused recovery code.

    Returns "totp" or "recovery", or None (recording the failure).
    """
    if user.has_totp and user.totp_secret:
        step = totp.matching_step(user.totp_secret, code, after=user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            return "totp"
        wanted = totp.hash_recovery_code(code)
        for recovery in user.recovery_codes:
            if recovery.used_at is None and recovery.code_hash == wanted:
                recovery.used_at = now()
                record(
                    AuditAction.USER_RECOVERY_CODE_USED,
                    actor=user,
                    subject=user,
                    data={"remaining": user.unused_recovery_codes},
                )
                return "recovery"
    if record_failure:
        record(AuditAction.USER_SIGN_IN_FAILED, actor=user, subject=user, data={"reason": "second_factor"})
    return None


def disable_totp(user: User, *, by: User) -> None:
    if user.needs_two_factor:
        raise Refused(_l("Für Ihre Rolle ist die Zwei-Faktor-Anmeldung vorgeschrieben und kann nicht abgeschaltet werden."))
    if not user.has_totp:
        return
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = []
    record(AuditAction.USER_TOTP_DISABLED, actor=by, subject=user)
