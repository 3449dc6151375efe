"""Envelope encryption for sealed bids (EU Directive 2014/24/EU, Annex IV (b)).

Submitted bid contents are stored encrypted. Each call gets its own random
data key; the data key is stored only wrapped (encrypted) by the master key
from configuration (`BID_ENCRYPTION_KEY`), which never lives in the database.
So neither a database dump nor the database operator can read a bid, and a
master-key rotation re-wraps the small data keys instead of re-encrypting
every bid. All encryption is AES-256-GCM with associated data that binds a
ciphertext to its place (call, bid version, attachment): a ciphertext copied
into another row does not decrypt.

The domain code decides *when* unsealing is allowed (after the opening by two
officers); this module only knows how.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32
FORMAT_VERSION = b"\x01"


class SealError(Exception):
    """A sealed value could not be opened (wrong key, wrong place or altered)."""


@dataclass(frozen=True)
class MasterKey:
    """The key-encryption key from configuration, with a short public id."""

    secret: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"ibv-master-key\x00" + self.secret).hexdigest()[:16]

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        try:
            raw = base64.urlsafe_b64decode(text.strip().encode() + b"==")
        except (ValueError, TypeError) as exc:
            raise ValueError("BID_ENCRYPTION_KEY ist kein gültiger Base64-Schlüssel.") from exc
        if len(raw) != KEY_BYTES:
            raise ValueError("BID_ENCRYPTION_KEY muss genau 32 Bytes (Base64-kodiert) lang sein.")
        return cls(raw)


def generate_key_text() -> str:
    """A new master key as text for configuration (URL-safe Base64, 32 bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")


def instance_key_text(path: Path) -> str:
    """Development only: read the master key from instance/, creating it once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key_text())
    return path.read_text().strip()


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return FORMAT_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_VERSION:
        raise SealError("unknown or truncated sealed value")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag as exc:
        raise SealError("sealed value does not open with this key at this place") from exc


def _key_aad(scope: str) -> bytes:
    return b"ibv-data-key\x00" + scope.encode()


def new_wrapped_data_key(master: MasterKey, scope: str) -> bytes:
    """Create a random data key for `scope` (e.g. "call:17") and return it wrapped."""
    return _encrypt(master.secret, secrets.token_bytes(KEY_BYTES), _key_aad(scope))


def unwrap_data_key(master: MasterKey, scope: str, wrapped: bytes) -> bytes:
    return _decrypt(master.secret, wrapped, _key_aad(scope))


def rewrap_data_key(old: MasterKey, new: MasterKey, scope: str, wrapped: bytes) -> bytes:
    """Key rotation: the same data key, wrapped by the new master key."""
    return _encrypt(new.secret, unwrap_data_key(old, scope, wrapped), _key_aad(scope))


def seal(data_key: bytes, plaintext: bytes, *, place: str) -> bytes:
    """Encrypt `plaintext`, bound to `place` (e.g. "bid-version:42:answers")."""
    return _encrypt(data_key, plaintext, b"ibv-sealed\x00" + place.encode())


def unseal(data_key: bytes, blob: bytes, *, place: str) -> bytes:
    return _decrypt(data_key, blob, b"ibv-sealed\x00" + place.encode())
