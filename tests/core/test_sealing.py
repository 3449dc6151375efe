"""Envelope encryption of sealed bids."""
from __future__ import annotations

import pytest

from portal.core.sealing import (
    MasterKey,
    SealError,
    generate_key_text,
    instance_key_text,
    new_wrapped_data_key,
    rewrap_data_key,
    seal,
    unseal,
    unwrap_data_key,
)


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.from_text(generate_key_text())


def test_round_trip_through_a_wrapped_call_key(master: MasterKey) -> None:
    wrapped = new_wrapped_data_key(master, "call:1")
    key = unwrap_data_key(master, "call:1", wrapped)
    blob = seal(key, "Unser Fachkonzept …".encode(), place="bid-version:7:answers")
    assert b"Fachkonzept" not in blob
    assert unseal(key, blob, place="bid-version:7:answers").decode() == "Unser Fachkonzept …"


def test_ciphertext_is_bound_to_its_place(master: MasterKey) -> None:
    key = unwrap_data_key(master, "call:1", new_wrapped_data_key(master, "call:1"))
    blob = seal(key, b"secret", place="bid-version:7:answers")
    with pytest.raises(SealError):
        unseal(key, blob, place="bid-version:8:answers")


def test_wrapped_key_is_bound_to_its_call_and_master(master: MasterKey) -> None:
    wrapped = new_wrapped_data_key(master, "call:1")
    with pytest.raises(SealError):
        unwrap_data_key(master, "call:2", wrapped)
    other = MasterKey.from_text(generate_key_text())
    with pytest.raises(SealError):
        unwrap_data_key(other, "call:1", wrapped)


def test_altered_ciphertext_is_detected(master: MasterKey) -> None:
    key = unwrap_data_key(master, "call:1", new_wrapped_data_key(master, "call:1"))
    blob = bytearray(seal(key, b"secret", place="p"))
    blob[-1] ^= 1
    with pytest.raises(SealError):
        unseal(key, bytes(blob), place="p")
    with pytest.raises(SealError):
        unseal(key, b"\x01short", place="p")


def test_rotation_rewraps_the_same_data_key(master: MasterKey) -> None:
    new_master = MasterKey.from_text(generate_key_text())
    wrapped = new_wrapped_data_key(master, "call:5")
    key = unwrap_data_key(master, "call:5", wrapped)
    rewrapped = rewrap_data_key(master, new_master, "call:5", wrapped)
    assert unwrap_data_key(new_master, "call:5", rewrapped) == key
    assert master.key_id != new_master.key_id


def test_master_key_validation_messages_are_german() -> None:
    with pytest.raises(ValueError, match="32 Bytes"):
        MasterKey.from_text("c2hvcnQ")


def test_development_key_is_created_once_with_private_permissions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bid_encryption_key"
    first = instance_key_text(path)
    assert instance_key_text(path) == first
    assert oct(path.stat().st_mode)[-3:] == "600"
    MasterKey.from_text(first)
