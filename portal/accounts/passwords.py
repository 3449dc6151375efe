"""Password hashing with argon2id (argon2-cffi)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

_DEFAULT = PasswordHasher()  # argon2id with the library's current recommended parameters
# Tests hash hundreds of passwords; the cheap parameters apply only with TESTING.
_TESTING = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("TESTING"):
        return _TESTING
    return _DEFAULT


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check so timing does not reveal accounts.
        hasher().hash(password)
        return False
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


# ---------------------------------------------------------------------------
# Password policy (NIST SP 800-63B): length, not composition; no common ones
# ---------------------------------------------------------------------------

MIN_LENGTH = 12
MAX_LENGTH = 256
_COMMON_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, email: str = "") -> LazyString | None:
    """Why `password` is not acceptable (a German sentence), or None."""
    if len(password) < MIN_LENGTH:
        return _l("Das Passwort muss mindestens %(n)s Zeichen lang sein.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Das Passwort darf höchstens %(n)s Zeichen lang sein.", n=MAX_LENGTH)
    lowered = password.strip().lower()
    if lowered in common_passwords() or (email and lowered == email.strip().lower()):
        return _l(
            "Dieses Passwort ist zu verbreitet und leicht zu erraten. Bitte wählen Sie ein anderes, "
            "zum Beispiel einen Satz aus mehreren Wörtern."
        )
    return None
