"""The canonical serialisation of what a bidder submits, and receipt numbers.

The digest on a receipt is the SHA-256 of exactly these bytes, and the same
bytes are what is sealed in the database. After the opening anyone entitled
to read the version can recompute the digest from the decrypted document and
compare it with the receipt the bidder holds. The rules (sorted keys, no
insignificant whitespace, UTF-8, texts in Unicode NFC with "\\n" line ends)
make the serialisation independent of the browser and the platform.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import unicodedata
from typing import Any

FORMAT = "ibv-bid/1"
#: No 0/O or 1/I: receipt numbers are read out on the phone.
_RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def normalise_text(value: str | None) -> str:
    """NFC, Unix line ends, no trailing whitespace at the end of the text."""
    text = unicodedata.normalize("NFC", value or "")
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def canonical_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def submission_document(
    *,
    call_reference: str,
    lot_number: int,
    organisation: str,
    version: int,
    answers: list[dict[str, Any]],
    declarations: list[dict[str, Any]],
    contact: dict[str, str],
    attachments: list[dict[str, Any]],
) -> dict[str, Any]:
    """Everything submitted: answers, declarations, contact and attachment hashes.

    The submission time is not part of the document; it is stamped on the
    receipt next to the digest.
    """
    return {
        "format": FORMAT,
        "kind": "submission",
        "call": call_reference,
        "lot": lot_number,
        "organisation": organisation,
        "version": version,
        "answers": [
            {"criterion": a["criterion"], "text": normalise_text(a["text"])} for a in answers
        ],
        "declarations": [
            {"criterion": d["criterion"], "confirmed": bool(d["confirmed"])} for d in declarations
        ],
        "contact": {k: normalise_text(v) for k, v in sorted(contact.items())},
        "attachments": [
            {
                "title": normalise_text(a["title"]),
                "filename": a["filename"],
                "sha256": a["sha256"],
                "size": int(a["size"]),
                "criterion": a.get("criterion"),
            }
            for a in attachments
        ],
    }


def withdrawal_document(
    *, call_reference: str, lot_number: int, organisation: str, version: int, withdrawn_digest: str | None
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": "withdrawal",
        "call": call_reference,
        "lot": lot_number,
        "organisation": organisation,
        "version": version,
        "withdraws": withdrawn_digest,
    }


def new_receipt_number() -> str:
    """A random, unguessable receipt number like EB-7K3M-Q9TX-2WRC.

    Random rather than sequential: a number must not tell a bidder how many
    other bids exist.
    """
    groups = ["".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(4)) for _ in range(3)]
    return "EB-" + "-".join(groups)
