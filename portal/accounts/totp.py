"""Time-based one-time passwords (RFC 6238) with single use per time step.

Codes are checked against `portal.core.time.now()` with one step of clock
drift either way. A code is accepted only for a step later than the last
accepted one (`User.totp_last_step`), so an observed code cannot be replayed.
"""
from __future__ import annotations

import base64
import hashlib
import io
import secrets

import pyotp
import qrcode
import qrcode.image.svg

from portal.core.time import now

STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32()


def current_step() -> int:
    return int(now().timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, *, after: int | None) -> int | None:
    """The time step whose code equals `code`, if it is later than `after`."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = current_step()
    for candidate in (step - 1, step, step + 1):
        if after is not None and candidate <= after:
            continue
        if secrets.compare_digest(totp.at(candidate * STEP_SECONDS), code):
            return candidate
    return None


def provisioning_uri(secret: str, *, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data URI, made on the server (no external service)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def new_recovery_codes() -> list[str]:
    """Ten codes like `k7mq-x2pf-9trw` (about 70 bits each)."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def hash_recovery_code(code: str) -> str:
    # The codes are long random strings, so a fast hash cannot be brute-forced.
    normalised = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()
