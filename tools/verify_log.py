#!/usr/bin/env python3
"""Independent verifier for the public audit log of an IBV-Portal.

For council groups, journalists and anybody else who wants to check, without
trusting the district's server, that the audit log only ever grows and that no
earlier entry was changed, removed or reordered.  Needs nothing but Python 3.11+:
no third-party packages, no code from the portal (Ed25519 and the Merkle tree are
re-implemented below from RFC 8032 and RFC 9162).

Usage::

    python verify_log.py https://portal.example [--state-dir DIR] [--events]
                         [--seq N ...] [--vkey VKEY | --key-file FILE] [--lang en]

Exit status: 0 everything holds; 1 a check failed (the first bad sequence number or
the inconsistent checkpoint is named); 2 usage error, network error or an answer
the script cannot understand.

What is checked
---------------
1. The signing key: pinned with ``--vkey``/``--key-file``, otherwise the key stored
   by an earlier run, otherwise (first run) the key the portal announces is trusted
   and stored (trust on first use).  Compare it once with the key the district
   publishes elsewhere (official gazette, council papers).
2. The latest checkpoint is validly signed by that key.
3. Every checkpoint stored by earlier runs (in ``--state-dir``, default
   ``~/.ibv-verify/<host>/``) and every checkpoint in the portal's own history is
   validly signed and consistent with the latest one (RFC 9162 consistency proofs):
   the newer log extends the older one without changing it.
4. With ``--events``: all event hashes are downloaded and the root is recomputed; every
   public event's published content must hash to its leaf and its displayed fields
   must equal the signed content.
5. Inclusion proofs for a random sample of events (always the first and the last),
   or for the events given with ``--seq``.
The latest checkpoint is stored only if everything held.

Server contract (the portal implements exactly this)
-----------------------------------------------------
All hashes are SHA-256.  Sequence numbers start at 1; the Merkle leaf index of
event ``seq`` is ``seq - 1``.  Leaf hash = SHA-256(0x00 || canonical bytes),
inner node = SHA-256(0x01 || left || right) (RFC 9162 §2.1).

``GET {base}/transparency/checkpoint`` -> ``text/plain; charset=utf-8``: the latest
    signed checkpoint, C2SP tlog-checkpoint in a C2SP signed note::

        <origin>\\n<tree size>\\n<base64 root>\\n[extension lines\\n]\\n
        — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\\n

    The signature line starts with U+2014 EM DASH and one space.  Key id =
    SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]; the signature
    covers the UTF-8 body up to and including its last newline.
``GET {base}/transparency/checkpoints`` -> JSON, oldest first::

        {"checkpoints": [{"size": int, "root": base64, "issued_at": ISO 8601,
                          "text": signed note}, ...]}

``GET {base}/transparency/key`` -> JSON::

        {"key_name": str, "public_key": base64 of 32 bytes,
         "vkey": "<name>+<8 hex key id>+<base64(0x01 || public key)>"}

``GET {base}/transparency/proof/inclusion?seq=N&size=M`` -> JSON::

        {"seq": N, "leaf_index": N-1, "tree_size": M, "leaf_hash": hex,
         "proof": [hex, ...]}            (RFC 9162 §2.1.3.1 PATH, bottom-up)

``GET {base}/transparency/proof/consistency?old=M&new=N`` -> JSON::

        {"old": M, "new": N, "proof": [hex, ...]}   (RFC 9162 §2.1.4.1 PROOF;
                                                    empty if M == N)

``GET {base}/transparency/events?from=A&to=B`` -> JSON, events A..B inclusive in
    ascending order (the server may return fewer; then ``next`` is the following
    sequence number; ``next`` is null when no later event exists)::

        {"events": [{"seq": int, "time": str, "leaf_hash": hex, "public": true,
                     "action": str, "subject_type": str|null,
                     "subject_id": str|null, "data": object,
                     "canonical": base64 of the exact canonical bytes}, ...
                    {"seq": int, "time": str, "leaf_hash": hex, "public": false},
                    ...],
         "next": int|null}

    The canonical bytes of an event are a UTF-8 JSON object that contains at least
    the keys ``seq``, ``time``, ``action``, ``subject_type``, ``subject_id`` and
    ``data`` with exactly the values listed for the public event (other keys such
    as ``actor`` or ``prev_hash`` may be present; if ``public`` is present it must
    be ``true``).

Error answers use HTTP status codes >= 400.

Offline use: instead of a URL, pass a directory that mirrors the URLs above:
``DIR/transparency/checkpoint``, ``DIR/transparency/checkpoints``,
``DIR/transparency/key``, and for requests with parameters one file per request
named by its parameters in the order listed above, e.g.
``DIR/transparency/proof/inclusion/seq=3,size=7``,
``DIR/transparency/proof/consistency/old=5,new=7``,
``DIR/transparency/events/from=1,to=7`` (event pages are requested from 1 in steps
of ``--page-size`` up to the checkpoint size).  Without ``--seq`` the offline mode
checks every inclusion proof file present for the latest size.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import json
import os
import random
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOOL_VERSION = "1"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
EVENT_FIELDS = ("seq", "time", "action", "subject_type", "subject_id", "data")

# ---------------------------------------------------------------------------
# Ed25519 signature verification (RFC 8032 §5.1), verification only.
# Points use extended homogeneous coordinates (X, Y, Z, T) with x = X/Z,
# y = Y/Z and x*y = T/Z, as in RFC 8032 §5.1.4.
# ---------------------------------------------------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

_Point = tuple[int, int, int, int]
_NEUTRAL: _Point = (0, 1, 1, 0)


def _point_add(p: _Point, q: _Point) -> _Point:
    """Complete twisted-Edwards addition (also correct for doubling)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _scalar_mult(scalar: int, point: _Point) -> _Point:
    """Double-and-add; timing leaks do not matter when only public data is verified."""
    result = _NEUTRAL
    while scalar:
        if scalar & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        scalar >>= 1
    return result


def _point_equal(p: _Point, q: _Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


def _decode_point(data: bytes) -> _Point | None:
    """RFC 8032 §5.1.3 point decoding; None for anything that is not a curve point."""
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    vxx = v * x * x % _P
    if vxx == (-u) % _P and vxx != u:
        x = x * _SQRT_M1 % _P
    elif vxx != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


def _base_point() -> _Point:
    """B = (x, 4/5) with even x (RFC 8032 §5.1), found by decoding y = 4/5."""
    point = _decode_point((4 * pow(5, _P - 2, _P) % _P).to_bytes(32, "little"))
    if point is None:
        raise RuntimeError("Ed25519 base point does not decode")
    return point


_BASE = _base_point()


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 §5.1.7: check [8][S]B == [8]R + [8][k]A for k = SHA-512(R || A || M)."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a_point = _decode_point(public_key)
    r_point = _decode_point(signature[:32])
    if a_point is None or r_point is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % _L
    left = _scalar_mult(8 * s, _BASE)
    right = _scalar_mult(8, _point_add(r_point, _scalar_mult(k, a_point)))
    return _point_equal(left, right)


# ---------------------------------------------------------------------------
# Merkle tree (RFC 9162 §2.1), written independently of the portal's code.
# ---------------------------------------------------------------------------

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """Leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Inner node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeBuilder:
    """Rebuilds the tree from leaf hashes, keeping every perfect subtree.

    Keeping them makes the root of every earlier size available in O(log n), which
    is what locating the first bad event needs.
    """

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        index = self.size
        self.levels[0].append(leaf)
        level, current = 0, leaf
        while index & 1:
            current = node_hash(self.levels[level][index - 1], current)
            level += 1
            index >>= 1
            if len(self.levels) == level:
                self.levels.append([])
            self.levels[level].append(current)

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (default: all)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError("size outside the rebuilt tree")
        if size == 0:
            return EMPTY_ROOT
        parts: list[bytes] = []
        offset = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                parts.append(self.levels[level][offset >> level])
                offset += 1 << level
        result = parts[-1]
        for part in reversed(parts[:-1]):
            result = node_hash(part, result)
        return result


def mth(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash over a list of leaf hashes."""
    builder = TreeBuilder()
    for leaf in leaf_hashes:
        builder.append(leaf)
    return builder.root()


def _all_hashes(values: Sequence[bytes]) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` put ``leaf`` at ``index`` of the tree (size, root)?"""
    if not 0 <= index < size or not _all_hashes([leaf, root, *proof]):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is tree (old_size, old_root) a prefix of (new_size, new_root)?"""
    if not 0 <= old_size <= new_size or not _all_hashes([old_root, new_root, *proof]):
        return False
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, EMPTY_ROOT)
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)


# ---------------------------------------------------------------------------
# Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint).
# ---------------------------------------------------------------------------

SIG_PREFIX = "\u2014 "


class NoteError(ValueError):
    """A checkpoint or key is malformed or does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    text: str


def note_key_id(key_name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x01 || key)[:4], as the signed-note spec defines."""
    return hashlib.sha256(key_name.encode("utf-8") + b"\n\x01" + public_key).digest()[:4]


def make_vkey(key_name: str, public_key: bytes) -> str:
    encoded = base64.b64encode(b"\x01" + public_key).decode()
    return f"{key_name}+{note_key_id(key_name, public_key).hex()}+{encoded}"


def parse_vkey(vkey: str) -> tuple[str, bytes]:
    """Return (key name, 32-byte Ed25519 key) from ``name+hexid+base64``."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
        raise NoteError("vkey must look like name+hexid+base64key")
    name, hex_id, encoded = parts
    try:
        blob = base64.b64decode(encoded, validate=True)
        wanted = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("vkey is not properly encoded") from exc
    if len(blob) != 33 or blob[0] != 1:
        raise NoteError("vkey is not an Ed25519 key")
    if len(wanted) != 4 or note_key_id(name, blob[1:]) != wanted:
        raise NoteError("vkey id does not match name and key")
    return name, blob[1:]


def verify_note_checkpoint(text: str, key_name: str, public_key: bytes) -> Checkpoint:
    """Check the note signature by the given key and parse the checkpoint body."""
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in text):
        raise NoteError("control characters in note")
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise NoteError("not a signed note")
    body = text[: split + 1]
    wanted_id = note_key_id(key_name, public_key)
    verified = False
    for line in text[split + 2 :].split("\n")[:-1]:
        if not line.startswith(SIG_PREFIX):
            raise NoteError("malformed signature line")
        name, _, encoded = line[len(SIG_PREFIX) :].partition(" ")
        if name != key_name:
            continue
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise NoteError("signature is not base64") from exc
        if blob[:4] == wanted_id and ed25519_verify(public_key, body.encode("utf-8"), blob[4:]):
            verified = True
    if not verified:
        raise NoteError("no valid signature by the trusted key")
    lines = body.split("\n")[:-1]
    if len(lines) < 3 or not lines[0]:
        raise NoteError("checkpoint body needs origin, size and root")
    size_text, root_text = lines[1], lines[2]
    if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError("checkpoint size is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise NoteError("checkpoint root is not base64") from exc
    if len(root) != HASH_SIZE:
        raise NoteError("checkpoint root is not 32 bytes")
    return Checkpoint(lines[0], int(size_text), root, text)


# ---------------------------------------------------------------------------
# Messages (German by default, English with --lang en).
# ---------------------------------------------------------------------------

MESSAGES: dict[str, dict[str, str]] = {
    "de": {
        "title": "IBV-Portal – unabhängige Prüfung des öffentlichen Protokolls",
        "source": "Quelle: {source}",
        "ok": "[OK]     ",
        "fail": "[FEHLER] ",
        "info": "[INFO]   ",
        "key_tofu": "Signaturschlüssel zum ersten Mal gesehen: {vkey}. Er wird nach erfolgreicher "
        "Prüfung gespeichert. Bitte einmal mit dem vom Kreis anderweitig veröffentlichten Schlüssel vergleichen.",
        "key_known": "Signaturschlüssel stimmt mit dem bei früheren Läufen gespeicherten überein: {vkey}",
        "key_pinned": "Signaturschlüssel stimmt mit dem vorgegebenen überein: {vkey}",
        "key_changed": "Das Portal verwendet einen anderen Signaturschlüssel ({server}) als erwartet ({trusted}).",
        "key_selfcontradict": "Die Schlüsselangabe des Portals ist widersprüchlich: vkey passt nicht zu Name und Schlüssel.",
        "sig_ok": "Aktueller Prüfpunkt ist gültig signiert: {size} Einträge, Wurzel {root}.",
        "sig_bad": "Der aktuelle Prüfpunkt ist nicht gültig signiert ({reason}).",
        "origin_changed": "Der Prüfpunkt gehört zu einem anderen Protokoll ({got}) als bisher ({want}).",
        "stored_none": "Noch keine Prüfpunkte aus früheren Läufen gespeichert (erster Lauf).",
        "stored_ok": "Konsistent mit {count} Prüfpunkt(en) aus früheren Läufen: "
        "nichts, was damals im Protokoll stand, wurde verändert.",
        "where_stored": "bei einem früheren Lauf gespeichert am {date}",
        "where_history": "Nr. {n} der Prüfpunkt-Historie des Portals",
        "inconsistent": "Prüfpunkt mit {size} Einträgen (Wurzel {root}, {where}) ist NICHT konsistent "
        "mit dem aktuellen Prüfpunkt: das Protokoll wurde nachträglich verändert.",
        "shrunk": "Prüfpunkt mit {size} Einträgen ({where}) ist größer als der aktuelle mit {current}: "
        "das Protokoll ist geschrumpft.",
        "history_ok": "Alle {count} Prüfpunkte der Historie des Portals sind gültig signiert und konsistent "
        "mit dem aktuellen.",
        "history_none": "Das Portal führt noch keine Prüfpunkt-Historie.",
        "history_bad_sig": "Prüfpunkt Nr. {n} der Historie ist nicht gültig signiert ({reason}).",
        "history_mismatch": "Prüfpunkt Nr. {n} der Historie: Größe oder Wurzel passen nicht zum signierten Text.",
        "history_order": "Die Prüfpunkt-Historie ist nicht aufsteigend sortiert (bei Nr. {n}).",
        "events_ok": "{count} Ereignisse geladen; die daraus neu berechnete Wurzel stimmt mit dem "
        "Prüfpunkt überein. Bei allen {public} öffentlichen Ereignissen passt der Inhalt zum Hash.",
        "event_order": "Ereignisliste: erwartet wurde Nr. {want}, geliefert Nr. {got}.",
        "event_missing": "Ereignis Nr. {seq} fehlt in der Ereignisliste (der Prüfpunkt umfasst {size} Einträge).",
        "event_bad_hash": "Ereignis Nr. {seq}: der veröffentlichte Inhalt passt nicht zum Hash im Protokoll.",
        "event_bad_canonical": "Ereignis Nr. {seq}: der signierte Inhalt ist kein JSON-Objekt mit allen Pflichtfeldern.",
        "event_bad_fields": "Ereignis Nr. {seq}: die angezeigten Angaben ({fields}) weichen vom signierten Inhalt ab.",
        "event_not_in_tree": "Ereignis Nr. {seq} gehört nicht zum signierten Baum: die neu berechnete Wurzel weicht ab.",
        "incl_ok": "Einschlussnachweise gültig für Ereignis(se) Nr. {seqs}.",
        "incl_none": "Keine Einschlussnachweise zu prüfen.",
        "incl_bad": "Ereignis Nr. {seq}: der Einschlussnachweis ist ungültig.",
        "incl_leaf_mismatch": "Ereignis Nr. {seq}: der Hash im Nachweis weicht vom Hash in der Ereignisliste ab.",
        "empty_log": "Das Protokoll ist noch leer.",
        "seq_range": "Ereignis Nr. {seq} liegt außerhalb des Protokolls (1 bis {size}).",
        "result_ok": "Ergebnis: Alles in Ordnung. Der Prüfpunkt ({size} Einträge) wurde gespeichert in {path}.",
        "result_bad": "Ergebnis: NICHT in Ordnung (siehe [FEHLER] oben).",
        "result_error": "Prüfung nicht möglich: {reason}",
        "net_error": "Abruf von {what} fehlgeschlagen: {reason}",
        "bad_answer": "Unverständliche Antwort auf {what}: {reason}",
        "bad_state": "Gespeicherter Zustand in {path} ist unlesbar: {reason}",
        "bad_key_arg": "Vorgegebener Schlüssel ist ungültig: {reason}",
    },
    "en": {
        "title": "IBV-Portal – independent check of the public audit log",
        "source": "Source: {source}",
        "ok": "[OK]   ",
        "fail": "[FAIL] ",
        "info": "[INFO] ",
        "key_tofu": "Signing key seen for the first time: {vkey}. It will be stored once every check "
        "holds. Please compare it once with the key the district publishes elsewhere.",
        "key_known": "Signing key matches the one stored by earlier runs: {vkey}",
        "key_pinned": "Signing key matches the pinned key: {vkey}",
        "key_changed": "The portal uses a different signing key ({server}) than expected ({trusted}).",
        "key_selfcontradict": "The portal's key announcement contradicts itself: vkey does not match name and key.",
        "sig_ok": "Latest checkpoint is validly signed: {size} entries, root {root}.",
        "sig_bad": "The latest checkpoint is not validly signed ({reason}).",
        "origin_changed": "The checkpoint belongs to a different log ({got}) than before ({want}).",
        "stored_none": "No checkpoints stored by earlier runs yet (first run).",
        "stored_ok": "Consistent with {count} checkpoint(s) from earlier runs: nothing that was in the "
        "log then has been changed.",
        "where_stored": "stored by an earlier run on {date}",
        "where_history": "no. {n} of the portal's checkpoint history",
        "inconsistent": "Checkpoint with {size} entries (root {root}, {where}) is NOT consistent with the "
        "latest checkpoint: the log has been rewritten.",
        "shrunk": "Checkpoint with {size} entries ({where}) is larger than the latest one with {current}: "
        "the log has shrunk.",
        "history_ok": "All {count} checkpoints of the portal's history are validly signed and consistent "
        "with the latest one.",
        "history_none": "The portal has no checkpoint history yet.",
        "history_bad_sig": "Checkpoint no. {n} of the history is not validly signed ({reason}).",
        "history_mismatch": "Checkpoint no. {n} of the history: size or root differ from the signed text.",
        "history_order": "The checkpoint history is not in ascending order (at no. {n}).",
        "events_ok": "{count} events downloaded; the root recomputed from them matches the checkpoint. "
        "For all {public} public events the content matches the hash.",
        "event_order": "Event list: expected no. {want}, got no. {got}.",
        "event_missing": "Event no. {seq} is missing from the event list (the checkpoint covers {size} entries).",
        "event_bad_hash": "Event no. {seq}: the published content does not match the hash in the log.",
        "event_bad_canonical": "Event no. {seq}: the signed content is not a JSON object with all required fields.",
        "event_bad_fields": "Event no. {seq}: the displayed fields ({fields}) differ from the signed content.",
        "event_not_in_tree": "Event no. {seq} does not belong to the signed tree: the recomputed root differs.",
        "incl_ok": "Inclusion proofs valid for event(s) no. {seqs}.",
        "incl_none": "No inclusion proofs to check.",
        "incl_bad": "Event no. {seq}: the inclusion proof is invalid.",
        "incl_leaf_mismatch": "Event no. {seq}: the hash in the proof differs from the hash in the event list.",
        "empty_log": "The log is still empty.",
        "seq_range": "Event no. {seq} is outside the log (1 to {size}).",
        "result_ok": "Result: everything holds. The checkpoint ({size} entries) was stored in {path}.",
        "result_bad": "Result: NOT in order (see [FAIL] above).",
        "result_error": "Check not possible: {reason}",
        "net_error": "Fetching {what} failed: {reason}",
        "bad_answer": "Unintelligible answer to {what}: {reason}",
        "bad_state": "Stored state in {path} is unreadable: {reason}",
        "bad_key_arg": "The given key is invalid: {reason}",
    },
}


class CheckFailed(Exception):
    """A verification failed: the log or the portal is not trustworthy (exit 1)."""


class CannotCheck(Exception):
    """Usage, network or format problem: nothing could be concluded (exit 2)."""


class Reporter:
    """Prints progress lines in the chosen language."""

    def __init__(self, lang: str, out: Any = None) -> None:
        self.lang = lang if lang in MESSAGES else "de"
        self.out = out if out is not None else sys.stdout

    def text(self, key: str, **values: Any) -> str:
        return MESSAGES[self.lang][key].format(**values)

    def line(self, kind: str, key: str, **values: Any) -> str:
        message = self.text(key, **values)
        prefix = MESSAGES[self.lang][kind] if kind else ""
        print(prefix + message, file=self.out)
        return message

    def ok(self, key: str, **values: Any) -> None:
        self.line("ok", key, **values)

    def info(self, key: str, **values: Any) -> None:
        self.line("info", key, **values)

    def failed(self, key: str, **values: Any) -> CheckFailed:
        """Print a failure line and return the exception to raise."""
        return CheckFailed(self.line("fail", key, **values))

    def cannot(self, key: str, **values: Any) -> CannotCheck:
        return CannotCheck(self.text(key, **values))


# ---------------------------------------------------------------------------
# Fetching: over HTTP(S) or from a directory mirroring the URLs.
# ---------------------------------------------------------------------------


class Source:
    """Where the transparency data comes from."""

    def __init__(self, location: str, reporter: Reporter, timeout: float = 30.0) -> None:
        self.reporter = reporter
        self.timeout = timeout
        parsed = urllib.parse.urlparse(location)
        if parsed.scheme in ("http", "https") and parsed.netloc:
            self.base = location.rstrip("/")
            self.directory: Path | None = None
            self.label = parsed.netloc.replace(":", "_")
        elif parsed.scheme == "file" or Path(location).is_dir():
            path = Path(urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else location)
            if not path.is_dir():
                raise CannotCheck(f"{location}: not a directory")
            self.base = str(path.resolve())
            self.directory = path.resolve()
            self.label = "local-" + (self.directory.name or "root")
        else:
            raise CannotCheck(f"{location}: neither an http(s) URL nor a directory")

    def describe(self) -> str:
        return self.base

    def fetch(self, path: str, params: Sequence[tuple[str, int]] = ()) -> bytes:
        what = path + ("?" + urllib.parse.urlencode(list(params)) if params else "")
        if self.directory is not None:
            file = self.directory / path
            if params:
                file = file / ",".join(f"{k}={v}" for k, v in params)
            try:
                return file.read_bytes()
            except OSError as exc:
                raise self.reporter.cannot("net_error", what=what, reason=exc.strerror or str(exc)) from exc
        url = f"{self.base}/{what}"
        request = urllib.request.Request(url, headers={"User-Agent": f"ibv-verify/{TOOL_VERSION}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data: bytes = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise self.reporter.cannot("net_error", what=url, reason=f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise self.reporter.cannot("net_error", what=url, reason=reason) from exc
        if len(data) > MAX_RESPONSE_BYTES:
            raise self.reporter.cannot("bad_answer", what=url, reason="too large")
        return data

    def fetch_json(self, path: str, params: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
        data = self.fetch(path, params)
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise self.reporter.cannot("bad_answer", what=path, reason="no JSON") from exc
        if not isinstance(value, dict):
            raise self.reporter.cannot("bad_answer", what=path, reason="not a JSON object")
        return value

    def local_inclusion_seqs(self, size: int) -> list[int] | None:
        """Offline mode: sequence numbers whose inclusion proof files exist."""
        if self.directory is None:
            return None
        folder = self.directory / "transparency/proof/inclusion"
        found = []
        for file in folder.glob(f"seq=*,size={size}"):
            text = file.name.split(",")[0][4:]
            if text.isdigit():
                found.append(int(text))
        return sorted(found)


def _field(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str, reporter: Reporter) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise reporter.cannot("bad_answer", what=what, reason=f"field {name!r}")
    return value


def _hex_list(values: Any, what: str, reporter: Reporter) -> list[bytes]:
    if not isinstance(values, list):
        raise reporter.cannot("bad_answer", what=what, reason="proof is not a list")
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise reporter.cannot("bad_answer", what=what, reason="proof is not hex") from exc


def _hex_hash(value: Any, what: str, reporter: Reporter) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError) as exc:
        raise reporter.cannot("bad_answer", what=what, reason="hash is not hex") from exc
    if len(raw) != HASH_SIZE:
        raise reporter.cannot("bad_answer", what=what, reason="hash is not 32 bytes")
    return raw


def _b64(root: bytes) -> str:
    return base64.b64encode(root).decode()


# ---------------------------------------------------------------------------
# Local state: trusted key, origin and the checkpoints verified by earlier runs.
# ---------------------------------------------------------------------------


class State:
    """``state.json`` in the state directory; written only after a fully successful run."""

    def __init__(self, directory: Path, reporter: Reporter) -> None:
        self.directory = directory
        self.path = directory / "state.json"
        self.data: dict[str, Any] = {"origin": None, "key": None, "checkpoints": []}
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(loaded, dict) or not isinstance(loaded.get("checkpoints", []), list):
                    raise TypeError("unexpected structure")
            except (OSError, ValueError, TypeError) as exc:
                raise reporter.cannot("bad_state", path=self.path, reason=exc) from exc
            self.data.update(loaded)

    @property
    def checkpoints(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.data["checkpoints"]
        return entries

    def remember(self, key_name: str, public_key: bytes, checkpoint: Checkpoint) -> None:
        self.data["origin"] = checkpoint.origin
        self.data["key"] = {
            "key_name": key_name,
            "public_key": _b64(public_key),
            "vkey": make_vkey(key_name, public_key),
        }
        root = _b64(checkpoint.root)
        if not any(c.get("size") == checkpoint.size and c.get("root") == root for c in self.checkpoints):
            self.checkpoints.append(
                {
                    "size": checkpoint.size,
                    "root": root,
                    "text": checkpoint.text,
                    "verified_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                }
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps(self.data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temp, self.path)


# ---------------------------------------------------------------------------
# The checks.
# ---------------------------------------------------------------------------


class Verifier:
    def __init__(self, source: Source, state: State, reporter: Reporter, args: argparse.Namespace) -> None:
        self.source = source
        self.state = state
        self.r = reporter
        self.args = args
        self.consistency_cache: dict[int, list[bytes]] = {}
        self.builder: TreeBuilder | None = None
        self.public_seen = 0

    # -- key --------------------------------------------------------------
    def trusted_key(self) -> tuple[str, bytes]:
        """Decide which key to trust and check the portal announces that one."""
        answer = self.source.fetch_json("transparency/key")
        name = _field(answer, "key_name", str, "transparency/key", self.r)
        try:
            server_key = base64.b64decode(_field(answer, "public_key", str, "transparency/key", self.r), validate=True)
        except binascii.Error as exc:
            raise self.r.cannot("bad_answer", what="transparency/key", reason="public_key") from exc
        if len(server_key) != 32:
            raise self.r.cannot("bad_answer", what="transparency/key", reason="public_key length")
        server_vkey = make_vkey(name, server_key)
        if answer.get("vkey") != server_vkey:
            raise self.r.failed("key_selfcontradict")

        pinned = self.pinned_key()
        stored = self.state.data.get("key")
        if pinned is not None:
            trusted, how = pinned, "key_pinned"
        elif isinstance(stored, dict) and stored.get("vkey"):
            try:
                trusted, how = parse_vkey(stored["vkey"]), "key_known"
            except NoteError as exc:
                raise self.r.cannot("bad_state", path=self.state.path, reason=exc) from exc
        else:
            trusted, how = (name, server_key), "key_tofu"
        trusted_vkey = make_vkey(*trusted)
        if trusted_vkey != server_vkey:
            raise self.r.failed("key_changed", server=server_vkey, trusted=trusted_vkey)
        if how == "key_tofu":
            self.r.info(how, vkey=trusted_vkey)
        else:
            self.r.ok(how, vkey=trusted_vkey)
        return trusted

    def pinned_key(self) -> tuple[str, bytes] | None:
        text = self.args.vkey
        if self.args.key_file:
            try:
                content = Path(self.args.key_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise self.r.cannot("bad_key_arg", reason=exc) from exc
            if content.startswith("{"):
                try:
                    content = json.loads(content)["vkey"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise self.r.cannot("bad_key_arg", reason="no vkey in JSON") from exc
            text = content
        if not text:
            return None
        try:
            return parse_vkey(text)
        except NoteError as exc:
            raise self.r.cannot("bad_key_arg", reason=exc) from exc

    # -- checkpoints ------------------------------------------------------
    def latest(self, key: tuple[str, bytes]) -> Checkpoint:
        raw = self.source.fetch("transparency/checkpoint")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.r.cannot("bad_answer", what="transparency/checkpoint", reason="not UTF-8") from exc
        try:
            checkpoint = verify_note_checkpoint(text, *key)
        except NoteError as exc:
            raise self.r.failed("sig_bad", reason=exc) from exc
        want = self.state.data.get("origin")
        if want and checkpoint.origin != want:
            raise self.r.failed("origin_changed", got=checkpoint.origin, want=want)
        self.r.ok("sig_ok", size=checkpoint.size, root=_b64(checkpoint.root))
        return checkpoint

    def consistency(self, old: int, new: int) -> list[bytes]:
        if old not in self.consistency_cache:
            what = "transparency/proof/consistency"
            answer = self.source.fetch_json(what, [("old", old), ("new", new)])
            if answer.get("old") != old or answer.get("new") != new:
                raise self.r.cannot("bad_answer", what=what, reason="sizes differ from the request")
            self.consistency_cache[old] = _hex_list(answer.get("proof"), what, self.r)
        return self.consistency_cache[old]

    def check_against(self, size: int, root: bytes, latest: Checkpoint, where: str) -> None:
        """Require that the checkpoint (size, root) is a prefix of ``latest``."""
        if size > latest.size:
            raise self.r.failed("shrunk", size=size, where=where, current=latest.size)
        proof = [] if size in (0, latest.size) else self.consistency(size, latest.size)
        if not verify_consistency(size, latest.size, root, latest.root, proof):
            raise self.r.failed("inconsistent", size=size, root=_b64(root), where=where)

    def stored(self, latest: Checkpoint) -> None:
        entries = self.state.checkpoints
        if not entries:
            self.r.info("stored_none")
            return
        for entry in entries:
            try:
                size = int(entry["size"])
                root = base64.b64decode(entry["root"], validate=True)
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                raise self.r.cannot("bad_state", path=self.state.path, reason=exc) from exc
            where = self.r.text("where_stored", date=entry.get("verified_at", "?"))
            self.check_against(size, root, latest, where)
        self.r.ok("stored_ok", count=len(entries))

    def history(self, latest: Checkpoint, key: tuple[str, bytes]) -> None:
        what = "transparency/checkpoints"
        entries = self.source.fetch_json(what).get("checkpoints")
        if not isinstance(entries, list):
            raise self.r.cannot("bad_answer", what=what, reason="field 'checkpoints'")
        if not entries:
            self.r.info("history_none")
            return
        previous = -1
        for n, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict):
                raise self.r.cannot("bad_answer", what=what, reason=f"entry {n}")
            text = _field(entry, "text", str, what, self.r)
            try:
                checkpoint = verify_note_checkpoint(text, *key)
            except NoteError as exc:
                raise self.r.failed("history_bad_sig", n=n, reason=exc) from exc
            if (
                entry.get("size") != checkpoint.size
                or entry.get("root") != _b64(checkpoint.root)
                or checkpoint.origin != latest.origin
            ):
                raise self.r.failed("history_mismatch", n=n)
            if checkpoint.size < previous:
                raise self.r.failed("history_order", n=n)
            previous = checkpoint.size
            self.check_against(checkpoint.size, checkpoint.root, latest, self.r.text("where_history", n=n))
        self.r.ok("history_ok", count=len(entries))

    # -- events -----------------------------------------------------------
    def check_event(self, event: Any, expected_seq: int, what: str) -> bytes:
        """Validate one listed event; return its leaf hash."""
        if not isinstance(event, dict):
            raise self.r.cannot("bad_answer", what=what, reason="event is not an object")
        seq = _field(event, "seq", int, what, self.r)
        if seq != expected_seq:
            raise self.r.failed("event_order", want=expected_seq, got=seq)
        leaf = _hex_hash(event.get("leaf_hash"), what, self.r)
        if event.get("public") is not True:
            return leaf
        try:
            canonical = base64.b64decode(_field(event, "canonical", str, what, self.r), validate=True)
        except binascii.Error as exc:
            raise self.r.failed("event_bad_hash", seq=seq) from exc
        if not hmac.compare_digest(leaf_hash(canonical), leaf):
            raise self.r.failed("event_bad_hash", seq=seq)
        try:
            signed = json.loads(canonical.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            signed = None
        if not isinstance(signed, dict) or any(name not in signed for name in EVENT_FIELDS):
            raise self.r.failed("event_bad_canonical", seq=seq)
        differing = [name for name in EVENT_FIELDS if name not in event or event[name] != signed[name]]
        if signed.get("public", True) is not True:
            differing.append("public")
        if differing:
            raise self.r.failed("event_bad_fields", seq=seq, fields=", ".join(differing))
        self.public_seen += 1
        return leaf

    def events(self, latest: Checkpoint) -> None:
        what = "transparency/events"
        builder = TreeBuilder()
        next_seq = 1
        while next_seq <= latest.size:
            start = next_seq
            to = min(start + self.args.page_size - 1, latest.size)
            answer = self.source.fetch_json(what, [("from", start), ("to", to)])
            listed = answer.get("events")
            if not isinstance(listed, list):
                raise self.r.cannot("bad_answer", what=what, reason="field 'events'")
            for event in listed:
                if next_seq > to:
                    break
                builder.append(self.check_event(event, next_seq, what))
                next_seq += 1
            # "next" only tells whether more events exist; the position is ours.
            if next_seq <= latest.size and (next_seq == start or answer.get("next") is None):
                raise self.r.failed("event_missing", seq=next_seq, size=latest.size)
        if not hmac.compare_digest(builder.root(), latest.root):
            raise self.r.failed("event_not_in_tree", seq=self.first_bad_leaf(builder, latest))
        self.builder = builder
        self.r.ok("events_ok", count=builder.size, public=self.public_seen)

    def first_bad_leaf(self, builder: TreeBuilder, latest: Checkpoint) -> int:
        """Binary search for the shortest downloaded prefix the signed tree does not extend.

        A prefix of good leaves is always provably consistent with the signed root;
        once a wrong leaf is included no valid consistency proof can exist, so the
        predicate is monotone and O(log n) proofs locate the first bad event.
        """
        good, bad = 0, latest.size
        while bad - good > 1:
            middle = (good + bad) // 2
            proof = self.consistency(middle, latest.size)
            if verify_consistency(middle, latest.size, builder.root(middle), latest.root, proof):
                good = middle
            else:
                bad = middle
        return bad

    # -- inclusion --------------------------------------------------------
    def sample(self, size: int) -> list[int]:
        if self.args.seq:
            for seq in self.args.seq:
                if not 1 <= seq <= size:
                    raise self.r.cannot("seq_range", seq=seq, size=size)
            return sorted(set(self.args.seq))
        local = self.source.local_inclusion_seqs(size)
        if local is not None:
            return local
        chooser = random.SystemRandom()
        picked = {1, size}
        picked.update(chooser.randint(1, size) for _ in range(self.args.samples))
        return sorted(picked)

    def inclusion(self, latest: Checkpoint) -> None:
        seqs = self.sample(latest.size)
        if not seqs:
            self.r.info("incl_none")
            return
        what = "transparency/proof/inclusion"
        for seq in seqs:
            answer = self.source.fetch_json(what, [("seq", seq), ("size", latest.size)])
            if answer.get("seq") != seq or answer.get("leaf_index") != seq - 1 or answer.get("tree_size") != latest.size:
                raise self.r.cannot("bad_answer", what=what, reason="fields differ from the request")
            leaf = _hex_hash(answer.get("leaf_hash"), what, self.r)
            proof = _hex_list(answer.get("proof"), what, self.r)
            if not verify_inclusion(leaf, seq - 1, latest.size, proof, latest.root):
                raise self.r.failed("incl_bad", seq=seq)
            if self.builder is not None:
                listed = self.builder.levels[0][seq - 1]
            else:
                page = self.source.fetch_json("transparency/events", [("from", seq), ("to", seq)])
                events = page.get("events")
                if not isinstance(events, list) or not events:
                    raise self.r.failed("event_missing", seq=seq, size=latest.size)
                listed = self.check_event(events[0], seq, "transparency/events")
            if not hmac.compare_digest(listed, leaf):
                raise self.r.failed("incl_leaf_mismatch", seq=seq)
        self.r.ok("incl_ok", seqs=", ".join(str(s) for s in seqs))

    # -- everything -------------------------------------------------------
    def run(self) -> Checkpoint:
        key = self.trusted_key()
        latest = self.latest(key)
        self.stored(latest)
        self.history(latest, key)
        if latest.size == 0:
            self.r.info("empty_log")
        else:
            if self.args.events:
                self.events(latest)
            self.inclusion(latest)
        self.state.remember(key[0], key[1], latest)
        return latest


def default_state_dir(label: str) -> Path:
    return Path.home() / ".ibv-verify" / label


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify_log.py",
        description="Prüft das öffentliche, signierte Protokoll eines IBV-Portals "
        "(checks the public signed audit log of an IBV-Portal).",
    )
    parser.add_argument("portal", help="Portal-Adresse, z. B. https://portal.example, oder ein Verzeichnis")
    parser.add_argument("--state-dir", help="Ablage für Schlüssel und geprüfte Prüfpunkte "
                        "(Standard: ~/.ibv-verify/<host>/)")
    parser.add_argument("--events", action="store_true", help="alle Ereignisse laden und die Wurzel neu berechnen")
    parser.add_argument("--seq", type=int, action="append", help="Einschlussnachweis für diese Nummer prüfen (mehrfach möglich)")
    parser.add_argument("--samples", type=int, default=6, help="Zahl zufälliger Stichproben (Standard 6)")
    parser.add_argument("--vkey", help="erwarteter Prüfschlüssel name+id+schlüssel")
    parser.add_argument("--key-file", help="Datei mit dem erwarteten Prüfschlüssel (vkey oder key-JSON)")
    parser.add_argument("--page-size", type=int, default=1000, help="Ereignisse pro Abruf (Standard 1000)")
    parser.add_argument("--timeout", type=float, default=30.0, help="Zeitlimit je Abruf in Sekunden")
    parser.add_argument("--lang", choices=sorted(MESSAGES), default="de", help="Sprache der Ausgabe (de, en)")
    return parser


def main(argv: Sequence[str] | None = None, out: Any = None) -> int:
    """Run the verifier; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    reporter = Reporter(args.lang, out)
    if args.page_size < 1 or args.samples < 0:
        print(reporter.text("result_error", reason="--page-size >= 1, --samples >= 0"), file=reporter.out)
        return 2
    print(reporter.text("title"), file=reporter.out)
    try:
        source = Source(args.portal, reporter, args.timeout)
        print(reporter.text("source", source=source.describe()), file=reporter.out)
        state_dir = Path(args.state_dir).expanduser() if args.state_dir else default_state_dir(source.label)
        state = State(state_dir, reporter)
        latest = Verifier(source, state, reporter, args).run()
    except CheckFailed:
        print(reporter.text("result_bad"), file=reporter.out)
        return 1
    except CannotCheck as exc:
        print(reporter.text("result_error", reason=exc), file=reporter.out)
        return 2
    except OSError as exc:
        print(reporter.text("result_error", reason=exc), file=reporter.out)
        return 2
    print(reporter.text("result_ok", size=latest.size, path=state.path), file=reporter.out)
    return 0


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    sys.exit(main())
