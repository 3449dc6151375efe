"""`flask audit verify --full`: the chain, every stored subtree, every checkpoint.

One pass over the log in sequence order, reading plain column tuples. Each
event's canonical bytes are built once and give both its chain hash and its
Merkle leaf. The tree is recomputed bottom-up one aligned chunk of leaves at a
time (every level of the chunk in one sweep, the levels above it from an
O(log n) frontier of chunk roots) and each level is compared with the stored
subtrees through one indexed range query, so a log of millions of events is
checked in bounded memory. Checkpoint roots are folded from the recomputed
levels.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit import merkle
from portal.audit.checkpoint import CheckpointError, verify_checkpoint
from portal.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEvent, AuditSubtree
from portal.audit.services import canonical_encoder, format_time
from portal.audit.transparency import signing_identity
from portal.audit.tree import Frontier, frontier_keys
from portal.extensions import db

CHUNK_BITS = 14
CHUNK = 1 << CHUNK_BITS  # leaves per comparison batch (aligned, a power of two)


@dataclass
class FullReport:
    ok: bool
    events: int
    subtrees: int = 0
    checkpoints: int = 0
    first_bad_seq: int | None = None
    bad_checkpoint_size: int | None = None
    reason: str = ""


def _stored_level(session: Session, level: int, low: int, high: int) -> list[tuple[int, bytes]]:
    """Stored nodes (index, hash) of one level with low <= index <= high, in index order."""
    table = AuditSubtree.__table__
    rows = session.execute(
        select(table.c.index, table.c.hash)
        .where(table.c.level == level, table.c.index >= low, table.c.index <= high)
        .order_by(table.c.index)
    )
    return [(index, bytes(value)) for index, value in rows]


class _Tree:
    """Recomputes the tree chunk by chunk and compares it with `audit_subtree`."""

    def __init__(self, session: Session, chunk_bits: int, roots_wanted: set[int]) -> None:
        self.session = session
        self.chunk_bits = chunk_bits
        self.upper = Frontier()  # over chunk roots: its level l is tree level l + chunk_bits
        self.size = 0
        self.subtrees = 0
        self.bad: tuple[int, str] | None = None
        self.roots_wanted = roots_wanted
        self.roots_seen: dict[int, bytes] = {0: merkle.EMPTY_ROOT}

    def add_chunk(self, leaves: list[bytes]) -> None:
        """Leaves [size, size + len(leaves)); size is chunk-aligned, len <= chunk."""
        start, bits = self.size, self.chunk_bits
        sha = hashlib.sha256
        levels = [leaves]
        current = leaves
        while len(current) > 1:
            current = [sha(b"\x01" + a + b).digest() for a, b in zip(current[0::2], current[1::2])]
            levels.append(current)
        upper_before = {(lv + bits, ix): h for (lv, ix), h in self.upper.nodes.items()}
        extra: list[tuple[int, int, bytes]] = []
        if len(leaves) == 1 << bits:
            extra = [(lv + bits, ix, h) for lv, ix, h in self.upper.append(levels[bits][0])[1:]]
        # Compare every level; keep the mismatch that the append order reaches first.
        first: tuple[tuple[int, int], int, int, bool] | None = None
        for level, nodes in enumerate(levels):
            if nodes:
                found = self._compare(level, start >> level, nodes)
                if found is not None and (first is None or found[0] < first[0]):
                    first = found
        for level, index, value in extra:
            found = self._compare(level, index, [value])
            if found is not None and (first is None or found[0] < first[0]):
                first = found
        end = start + len(leaves)
        if first is not None:
            order, level, index, missing = first
            self.subtrees += self._count_before(start, levels, extra, order)
            seq = index * (1 << level) + 1
            what = "fehlt" if missing else "weicht ab"
            self.bad = (seq, f"Gespeicherter Teilbaum (Ebene {level}, Nr. {index}) {what}; er beginnt bei Eintrag {seq}.")
            return
        self.subtrees += sum(len(nodes) for nodes in levels) + len(extra)
        known = dict(upper_before)
        known.update(((lv, ix), h) for lv, ix, h in extra)
        for size in self.roots_wanted:
            if start < size <= end:
                self.roots_seen[size] = self._root(size, start, levels, known)
        self.size = end

    def _compare(self, level: int, low: int, nodes: list[bytes]) -> tuple[tuple[int, int], int, int, bool] | None:
        high = low + len(nodes) - 1
        stored = _stored_level(self.session, level, low, high)
        if len(stored) == len(nodes) and [value for _, value in stored] == nodes:
            return None  # one row per index (primary key), all equal
        by_index = dict(stored)
        for offset, value in enumerate(nodes):
            index = low + offset
            have = by_index.get(index)
            if have is None or not hmac.compare_digest(have, value):
                # Node (level, index) is completed by leaf (index + 1) * 2**level - 1.
                return ((index + 1) << level, level), level, index, have is None
        return None

    @staticmethod
    def _count_before(start: int, levels: list[list[bytes]], extra: list[tuple[int, int, bytes]], order: tuple[int, int]) -> int:
        """Nodes of this chunk compared up to and including the first bad one (append order)."""
        count = 0
        for level, nodes in enumerate(levels):
            low = start >> level
            count += sum(1 for index in range(low, low + len(nodes)) if ((index + 1) << level, level) <= order)
        count += sum(1 for level, index, _ in extra if ((index + 1) << level, level) <= order)
        return count

    @staticmethod
    def _root(size: int, start: int, levels: list[list[bytes]], known: dict[tuple[int, int], bytes]) -> bytes:
        pieces = []
        for level, index in frontier_keys(size):
            offset = index - (start >> level)
            if level < len(levels) and 0 <= offset < len(levels[level]) and index << level >= start:
                pieces.append(levels[level][offset])
            else:
                pieces.append(known[(level, index)])
        acc = pieces[-1]
        for piece in reversed(pieces[:-1]):
            acc = merkle.node_hash(piece, acc)
        return acc


_EVENT_COLUMNS = "seq, occurred_at, actor_id, action, subject_type, subject_id, data_json, public, prev_hash, hash"
_SQLITE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}").fullmatch


def _event_rows(session: Session, batch: int) -> Generator[Sequence[Any], None, None]:
    """All events as plain driver tuples (columns as in `_EVENT_COLUMNS`), in seq order.

    No type processing: `occurred_at` comes as the driver delivers it (see
    `_time_text_function`), `public` as 0/1 on SQLite (used through bool() only).
    On SQLite straight from the DB-API cursor, which hands rows out lazily;
    elsewhere through a streaming (server-side) result.
    """
    connection = session.connection()
    sql = f"SELECT {_EVENT_COLUMNS} FROM audit_event ORDER BY seq"
    if connection.dialect.name == "sqlite":
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(batch):
                yield rows
        finally:
            cursor.close()
    else:
        result = connection.exec_driver_sql(sql, execution_options={"yield_per": batch})
        try:
            yield from result.partitions()
        finally:
            result.close()


def _time_text_function(session: Session) -> Callable[[Any], str]:
    """Raw `occurred_at` value -> the "time" text of the canonical bytes.

    Exactly `format_time()` of what the `UTCDateTime` column returns. SQLite's
    usual text `YYYY-MM-DD HH:MM:SS.ffffff` (naive UTC) is converted by slicing,
    after `datetime.fromisoformat` has checked that it is a valid time;
    anything else goes through the column type itself.
    """
    dialect = session.get_bind().dialect
    process = AuditEvent.__table__.c.occurred_at.type.dialect_impl(dialect).result_processor(dialect, None)
    fromisoformat = datetime.fromisoformat

    def time_text(value: Any) -> str:
        if value.__class__ is str and _SQLITE_TIME(value) and value[0] != "0":  # strftime does not pad years < 1000
            fromisoformat(value)  # raises like the column type would for an impossible date
            return value[:10] + "T" + value[11:] + "Z"
        return format_time(process(value) if process is not None else value)

    return time_text


def verify_full(session: Session | None = None, batch: int = CHUNK, chunk_bits: int = CHUNK_BITS) -> FullReport:
    session = session or db.session
    checkpoints = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size)))
    tree = _Tree(session, chunk_bits, {c.size for c in checkpoints})
    chunk = 1 << chunk_bits

    time_text = _time_text_function(session)
    encode = canonical_encoder()
    loads = json.loads
    sha = hashlib.sha256
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    leaves: list[bytes] = []
    chain_bad: tuple[int, str] | None = None
    rows_in_batches = _event_rows(session, batch)
    try:
        for rows in rows_in_batches:
            for seq, occurred_at, actor_id, action, subject_type, subject_id, data_json, public, prev_hash, stored_hash in rows:
                if seq != expected_seq:
                    chain_bad = (expected_seq, f"Eintrag {expected_seq} fehlt oder steht an falscher Stelle (gefunden: {seq}).")
                    break
                if prev_hash != expected_prev:
                    chain_bad = (seq, "Verweis auf den vorherigen Eintrag stimmt nicht (prev_hash).")
                    break
                # Same document as services.canonical_bytes(), built once per event.
                canonical = encode({
                    "seq": seq,
                    "time": time_text(occurred_at),
                    "actor": actor_id,
                    "action": action,
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "data": loads(data_json),
                    "public": bool(public),
                    "prev_hash": prev_hash,
                }).encode("utf-8")
                if sha(canonical).hexdigest() != stored_hash:
                    chain_bad = (seq, "Inhalt passt nicht zur gespeicherten Prüfsumme (hash).")
                    break
                expected_prev = stored_hash
                expected_seq += 1
                checked += 1
                if tree.bad is None:
                    leaves.append(sha(b"\x00" + canonical).digest())
                    if len(leaves) == chunk:
                        tree.add_chunk(leaves)
                        leaves = []
            if chain_bad is not None:
                break
    finally:
        rows_in_batches.close()
    if chain_bad is not None:
        seq, reason = chain_bad
        return FullReport(False, checked, first_bad_seq=seq, reason=reason)
    if tree.bad is None and leaves:
        tree.add_chunk(leaves)
    subtrees = tree.subtrees
    if tree.bad is not None:
        seq, reason = tree.bad
        return FullReport(False, checked, subtrees, first_bad_seq=seq, reason=reason)
    stored_count = session.scalar(select(func.count()).select_from(AuditSubtree))
    if stored_count != subtrees:
        return FullReport(False, checked, subtrees, reason=f"Es sind {stored_count} Teilbäume gespeichert, erwartet {subtrees}.")

    identity = signing_identity()
    for number, checkpoint in enumerate(checkpoints, start=1):
        problem = None
        try:
            note = verify_checkpoint(checkpoint.text, identity.key_name, identity.public_key, identity.origin)
        except CheckpointError as exc:
            problem = f"Signatur ungültig ({exc})."
        else:
            if note.size != checkpoint.size or note.root != bytes(checkpoint.root):
                problem = "Größe oder Wurzel passen nicht zum signierten Text."
            elif checkpoint.size not in tree.roots_seen:
                problem = f"Er umfasst {checkpoint.size} Einträge, das Protokoll nur {tree.size}."
            elif not hmac.compare_digest(tree.roots_seen[checkpoint.size], note.root):
                problem = "Seine Wurzel passt nicht zu den Einträgen im Protokoll."
        if problem:
            return FullReport(
                False, checked, subtrees, number - 1, bad_checkpoint_size=checkpoint.size,
                reason=f"Prüfpunkt Nr. {number} über {checkpoint.size} Einträge: {problem}",
            )
    return FullReport(True, checked, subtrees, len(checkpoints))


__all__ = ["FullReport", "verify_full"]
