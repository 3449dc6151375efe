"""C2SP signed-note checkpoints: exact format, key ids, signatures, rejected forgeries."""

from __future__ import annotations

import base64
import hashlib
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    key_id,
    load_or_create_key,
    parse_checkpoint,
    parse_verifier_key,
    public_key_bytes,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
)

EM_DASH = "\u2014"
ORIGIN = "ibv.kreis-beispiel.de/audit"
KEY_NAME = "ibv.kreis-beispiel.de/audit"
ROOT = hashlib.sha256(b"root").digest()
# RFC 8032 §7.1 test 1 secret key, so signatures (deterministic in Ed25519) are fixed.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


@pytest.fixture()
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(SEED)


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return public_key_bytes(private.public_key())


def test_note_format_is_exact(key: Ed25519PrivateKey) -> None:
    text = sign_checkpoint(ORIGIN, 42, ROOT, key, KEY_NAME)
    body = f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"
    signature = key.sign(body.encode())
    kid = hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + raw_public(key)).digest()[:4]
    expected = f"{body}\n{EM_DASH} {KEY_NAME} {base64.b64encode(kid + signature).decode()}\n"
    assert text == expected
    assert text.encode().count("\u2014 ".encode()) == 1
    assert text.count("\n\n") == 1 and text.endswith("\n")


def test_extension_lines_are_signed_and_parsed(key: Ed25519PrivateKey) -> None:
    text = sign_checkpoint(ORIGIN, 7, ROOT, key, KEY_NAME, extensions=("Zeit 2025-01-01T00:00:00Z",))
    assert text.startswith(f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\nZeit 2025-01-01T00:00:00Z\n\n")
    checkpoint = verify_checkpoint(text, KEY_NAME, raw_public(key))
    assert checkpoint.extensions == ("Zeit 2025-01-01T00:00:00Z",)


def test_key_id_and_vkey_match_the_go_note_documentation() -> None:
    """The example key and signed note from golang.org/x/mod/sumdb/note."""
    skey_blob = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
    private = Ed25519PrivateKey.from_private_bytes(skey_blob[1:])
    assert key_id("PeterNeumann", private.public_key()).hex() == "c74f20a3"
    vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    assert verifier_key("PeterNeumann", private.public_key()) == vkey
    assert parse_verifier_key(vkey) == ("PeterNeumann", raw_public(private))
    message = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    blob = base64.b64encode(key_id("PeterNeumann", private.public_key()) + private.sign(message.encode())).decode()
    assert blob == "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="


def test_key_id_is_computed_from_name_and_key(key: Ed25519PrivateKey) -> None:
    raw = raw_public(key)
    assert key_id(KEY_NAME, raw) == hashlib.sha256(KEY_NAME.encode() + b"\x0a\x01" + raw).digest()[:4]
    assert key_id(KEY_NAME, raw) != key_id(KEY_NAME + "x", raw)
    for bad in ["", "a b", "a+b", "tab\tname"]:
        with pytest.raises(CheckpointError):
            key_id(bad, raw)


def test_verifier_key_round_trip_with_plus_in_base64() -> None:
    for _ in range(40):
        private = Ed25519PrivateKey.generate()
        vkey = verifier_key(KEY_NAME, private.public_key())
        name, hex_id, encoded = vkey.split("+", 2)
        assert name == KEY_NAME and len(hex_id) == 8
        assert base64.b64decode(encoded) == b"\x01" + raw_public(private)
        assert parse_verifier_key(vkey) == (KEY_NAME, raw_public(private))
    good = verifier_key(KEY_NAME, Ed25519PrivateKey.from_private_bytes(SEED).public_key())
    name, hex_id, encoded = good.split("+", 2)
    for bad in [f"{name}+00000000+{encoded}", f"{name}+{hex_id}", f"{name}+{hex_id}+AAAA", f"x+{hex_id}+{encoded}"]:
        with pytest.raises(CheckpointError):
            parse_verifier_key(bad)


def test_parse_and_verify(key: Ed25519PrivateKey) -> None:
    text = sign_checkpoint(ORIGIN, 1234, ROOT, key, KEY_NAME)
    parsed = parse_checkpoint(text)
    assert (parsed.origin, parsed.size, parsed.root) == (ORIGIN, 1234, ROOT)
    assert len(parsed.signatures) == 1
    assert parsed.signatures[0].key_name == KEY_NAME
    assert parsed.signatures[0].key_id == key_id(KEY_NAME, key.public_key())
    verified = verify_checkpoint(text, KEY_NAME, raw_public(key), origin=ORIGIN)
    assert isinstance(verified, Checkpoint) and verified.size == 1234
    assert verify_checkpoint(text.encode(), KEY_NAME, key.public_key()).root == ROOT


def test_empty_tree_checkpoint(key: Ed25519PrivateKey) -> None:
    empty = hashlib.sha256(b"").digest()
    text = sign_checkpoint(ORIGIN, 0, empty, key, KEY_NAME)
    assert verify_checkpoint(text, KEY_NAME, raw_public(key)).size == 0


def test_other_signers_are_ignored(key: Ed25519PrivateKey) -> None:
    witness = Ed25519PrivateKey.generate()
    text = sign_checkpoint(ORIGIN, 5, ROOT, key, KEY_NAME)
    body = text[: text.index("\n\n") + 1]
    cosig = base64.b64encode(key_id("zeuge.example", witness.public_key()) + witness.sign(body.encode())).decode()
    both = f"{body}\n{EM_DASH} zeuge.example {cosig}\n" + text[len(body) + 1 :]
    assert len(parse_checkpoint(both).signatures) == 2
    assert verify_checkpoint(both, KEY_NAME, raw_public(key)).size == 5
    assert verify_checkpoint(both, "zeuge.example", raw_public(witness)).size == 5


def _replace_body(text: str, old: str, new: str) -> str:
    body, sigs = text.split("\n\n", 1)
    return body.replace(old, new, 1) + "\n\n" + sigs


def test_tampered_body_is_rejected(key: Ed25519PrivateKey) -> None:
    text = sign_checkpoint(ORIGIN, 1234, ROOT, key, KEY_NAME)
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    for forged in [
        _replace_body(text, "\n1234\n", "\n1235\n"),
        _replace_body(text, base64.b64encode(ROOT).decode(), other_root),
        _replace_body(text, ORIGIN, ORIGIN + "2"),
        _replace_body(text, base64.b64encode(ROOT).decode(), base64.b64encode(ROOT).decode() + "\nextra"),
    ]:
        assert forged != text
        with pytest.raises(CheckpointError):
            verify_checkpoint(forged, KEY_NAME, raw_public(key))


def test_wrong_key_or_name_is_rejected(key: Ed25519PrivateKey) -> None:
    text = sign_checkpoint(ORIGIN, 3, ROOT, key, KEY_NAME)
    other = Ed25519PrivateKey.generate()
    with pytest.raises(CheckpointError, match="not signed by key"):
        verify_checkpoint(text, KEY_NAME, raw_public(other))
    with pytest.raises(CheckpointError):
        verify_checkpoint(text, "anderer.name", raw_public(key))
    with pytest.raises(CheckpointError, match="origin"):
        verify_checkpoint(text, KEY_NAME, raw_public(key), origin="anderes.log")
    # Right key id but a signature by somebody else.
    body = text[: text.index("\n\n") + 1]
    blob = base64.b64encode(key_id(KEY_NAME, key.public_key()) + other.sign(body.encode())).decode()
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(f"{body}\n{EM_DASH} {KEY_NAME} {blob}\n", KEY_NAME, raw_public(key))


def test_malformed_notes_are_rejected(key: Ed25519PrivateKey) -> None:
    text = sign_checkpoint(ORIGIN, 12, ROOT, key, KEY_NAME)
    root_b64 = base64.b64encode(ROOT).decode()
    malformed = [
        text.replace("\n\n", "\n"),  # no blank line
        text.rstrip("\n"),  # no final newline
        text.replace(EM_DASH, "-"),  # ASCII dash instead of em dash
        text.replace("\n", "\r\n"),  # control characters
        text.split("\n\n")[0] + "\n\n",  # no signature
        _replace_body(text, "\n12\n", "\n012\n"),  # leading zero
        _replace_body(text, "\n12\n", "\n+12\n"),
        _replace_body(text, root_b64, root_b64.rstrip("=")),  # not canonical base64
        _replace_body(text, root_b64, base64.b64encode(ROOT[:31]).decode()),
        _replace_body(text, ORIGIN + "\n", ""),  # only two body lines
    ]
    for bad in malformed:
        with pytest.raises(CheckpointError):
            parse_checkpoint(bad)


def test_signing_refuses_invalid_input(key: Ed25519PrivateKey) -> None:
    for args in [("", 1, ROOT), ("a\nb", 1, ROOT), (ORIGIN, -1, ROOT), (ORIGIN, 1, ROOT[:5])]:
        with pytest.raises(CheckpointError):
            sign_checkpoint(*args, key, KEY_NAME)
    with pytest.raises(CheckpointError):
        sign_checkpoint(ORIGIN, 1, ROOT, key, "bad name")
    with pytest.raises(CheckpointError):
        sign_checkpoint(ORIGIN, 1, ROOT, key, KEY_NAME, extensions=("",))


def test_load_or_create_key(tmp_path) -> None:
    path = tmp_path / "keys" / "audit-signing.pem"
    created = load_or_create_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert raw_public(load_or_create_key(path)) == raw_public(created)
    assert [p.name for p in path.parent.iterdir()] == ["audit-signing.pem"]


def test_load_or_create_key_refuses_other_key_types(tmp_path) -> None:
    path = tmp_path / "ec.pem"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    with pytest.raises(CheckpointError):
        load_or_create_key(path)
