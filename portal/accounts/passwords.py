"""Password hashing with argon2id (argon2-cffi)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

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
