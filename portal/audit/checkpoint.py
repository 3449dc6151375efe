"""Signed tree heads in the C2SP ``tlog-checkpoint`` / ``signed-note`` format.

Why this format: it is what the Go transparency-log ecosystem (sumdb, Sigstore,
witnesses) already reads, it is plain text a journalist can archive, and anybody
can re-check it with an Ed25519 implementation of a few dozen lines (see
``tools/verify_log.py``).

A checkpoint note looks like::

    <origin>\\n
    <tree size, decimal>\\n
    <root hash, standard base64>\\n
    [extension lines\\n ...]
    \\n
    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\\n

The signature covers the body (everything before the blank line, including its last
newline) as UTF-8.  Key id = SHA-256(name || 0x0A || 0x01 || public key)[:4].
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "ALG_ED25519",
    "SIG_PREFIX",
    "Checkpoint",
    "CheckpointError",
    "NoteSignature",
    "checkpoint_body",
    "key_id",
    "load_or_create_key",
    "parse_checkpoint",
    "parse_verifier_key",
    "public_key_bytes",
    "sign_checkpoint",
    "verifier_key",
    "verify_checkpoint",
]

SIG_PREFIX = "\u2014 "  # EM DASH + space starts every signature line
ALG_ED25519 = 0x01
MAX_SIGNATURES = 100  # the signed-note spec lets verifiers refuse more
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A checkpoint is malformed or its signature does not verify."""


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note; unknown signers are kept but never trusted."""

    key_name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint: what the log claims its state is, and who signed that."""

    origin: str
    size: int
    root: bytes
    signatures: tuple[NoteSignature, ...] = ()
    extensions: tuple[str, ...] = ()
    body: str = field(default="", repr=False)


def _check_key_name(key_name: str) -> None:
    """Key names end at the first space or '+', so such names could not round-trip."""
    if not key_name or any(c.isspace() or c == "+" for c in key_name):
        raise CheckpointError(f"invalid key name {key_name!r}: empty, whitespace or '+'")


def public_key_bytes(public_key: Ed25519PublicKey | bytes) -> bytes:
    """Raw 32-byte Ed25519 public key from either representation."""
    if isinstance(public_key, Ed25519PublicKey):
        return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = bytes(public_key)
    if len(raw) != 32:
        raise CheckpointError("an Ed25519 public key has 32 bytes")
    return raw


def key_id(key_name: str, public_key: Ed25519PublicKey | bytes) -> bytes:
    """4-byte key id that lets a verifier pick its signature line without trying all."""
    _check_key_name(key_name)
    raw = public_key_bytes(public_key)
    return hashlib.sha256(key_name.encode() + b"\n" + bytes([ALG_ED25519]) + raw).digest()[:4]


def verifier_key(key_name: str, public_key: Ed25519PublicKey | bytes) -> str:
    """Note verifier key ``<name>+<hex id>+<base64(0x01 || key)>`` for publishing."""
    raw = public_key_bytes(public_key)
    encoded = base64.b64encode(bytes([ALG_ED25519]) + raw).decode()
    return f"{key_name}+{key_id(key_name, raw).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """Split and check a verifier key; returns ``(key_name, raw public key)``."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("a verifier key has the form name+hexid+base64key")
    name, hex_id, encoded = parts
    _check_key_name(name)
    try:
        blob = base64.b64decode(encoded, validate=True)
        wanted_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError("verifier key is not properly encoded") from exc
    if len(blob) != 33 or blob[0] != ALG_ED25519:
        raise CheckpointError("verifier key is not an Ed25519 key")
    raw = blob[1:]
    if len(hex_id) != 8 or key_id(name, raw) != wanted_id:
        raise CheckpointError("verifier key id does not match its name and key")
    return name, raw


def checkpoint_body(origin: str, size: int, root: bytes, extensions: tuple[str, ...] = ()) -> str:
    """The signed text of a checkpoint; validates what the spec forbids."""
    if not origin or "\n" in origin or origin != origin.strip():
        raise CheckpointError("origin must be one non-empty line without surrounding spaces")
    if not isinstance(size, int) or size < 0:
        raise CheckpointError("tree size must be a non-negative integer")
    if len(root) != 32:
        raise CheckpointError("root hash must be 32 bytes")
    for line in extensions:
        if not line or "\n" in line:
            raise CheckpointError("extension lines must be non-empty single lines")
    lines = [origin, str(size), base64.b64encode(root).decode(), *extensions]
    body = "".join(line + "\n" for line in lines)
    _check_note_text(body)
    return body


def _check_note_text(text: str) -> None:
    """Signed notes forbid control characters other than newline."""
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in text):
        raise CheckpointError("note contains control characters")


def sign_checkpoint(
    origin: str,
    size: int,
    root: bytes,
    private_key: Ed25519PrivateKey,
    key_name: str,
    extensions: tuple[str, ...] = (),
) -> str:
    """Return the complete signed checkpoint note (body, blank line, one signature)."""
    body = checkpoint_body(origin, size, root, extensions)
    signature = private_key.sign(body.encode("utf-8"))
    kid = key_id(key_name, private_key.public_key())
    line = f"{SIG_PREFIX}{key_name} {base64.b64encode(kid + signature).decode()}\n"
    return f"{body}\n{line}"


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Parse a signed checkpoint without checking signatures (see verify_checkpoint)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError("checkpoint is not valid UTF-8") from exc
    _check_note_text(text)
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise CheckpointError("a signed note needs a body, a blank line and signature lines")
    body = text[: split + 1]
    sig_lines = text[split + 2 :].split("\n")[:-1]
    if not sig_lines:
        raise CheckpointError("the note carries no signature")
    if len(sig_lines) > MAX_SIGNATURES:
        raise CheckpointError("the note carries too many signatures")
    signatures = tuple(_parse_signature_line(line) for line in sig_lines)

    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise CheckpointError("a checkpoint body has origin, size and root hash lines")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin is empty")
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError("tree size is not a plain decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("root hash is not standard base64") from exc
    if len(root) != 32 or base64.b64encode(root).decode() != root_text:
        raise CheckpointError("root hash is not 32 bytes in canonical base64")
    if any(not line for line in extensions):
        raise CheckpointError("empty extension line in checkpoint body")
    return Checkpoint(origin, int(size_text), root, signatures, tuple(extensions), body)


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIG_PREFIX):
        raise CheckpointError("signature lines must start with an em dash and a space")
    parts = line[len(SIG_PREFIX) :].split(" ")
    if len(parts) != 2:
        raise CheckpointError("malformed signature line")
    name, encoded = parts
    _check_key_name(name)
    try:
        blob = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("signature is not standard base64") from exc
    if len(blob) < 5:
        raise CheckpointError("signature too short")
    return NoteSignature(name, blob[:4], blob[4:])


def verify_checkpoint(
    text: str | bytes,
    key_name: str,
    public_key: Ed25519PublicKey | bytes,
    origin: str | None = None,
) -> Checkpoint:
    """Parse ``text`` and require a valid signature by the given key; raise otherwise.

    Signatures by other keys (e.g. future witnesses) are ignored, as the signed-note
    spec requires.  ``origin``, if given, must match so one log's checkpoint cannot be
    presented as another's.
    """
    checkpoint = parse_checkpoint(text)
    raw = public_key_bytes(public_key)
    kid = key_id(key_name, raw)
    candidates = [s for s in checkpoint.signatures if s.key_name == key_name and s.key_id == kid]
    if not candidates:
        raise CheckpointError(f"checkpoint is not signed by key {key_name!r} ({kid.hex()})")
    verifier = Ed25519PublicKey.from_public_bytes(raw)
    message = checkpoint.body.encode("utf-8")
    for candidate in candidates:
        try:
            verifier.verify(candidate.signature, message)
        except InvalidSignature:
            continue
        break
    else:
        raise CheckpointError(f"signature by key {key_name!r} does not verify")
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint


def load_or_create_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load the log's signing key (PEM PKCS#8), creating it owner-readable-only if absent.

    The file appears atomically (hard link of a finished temp file), so two workers
    starting at once cannot end up signing with different keys or read a half-written
    file: the loser of the race loads the winner's key.
    """
    target = Path(path)
    if not target.exists():
        _create_key_file(target)
    key = serialization.load_pem_private_key(target.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{target} does not hold an Ed25519 private key")
    return key


def _create_key_file(target: Path) -> None:
    """Write a fresh key to a private temp file, then link it into place atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, target)
        except FileExistsError:
            pass  # another process won the race; its complete key is used
    finally:
        temp.unlink(missing_ok=True)
