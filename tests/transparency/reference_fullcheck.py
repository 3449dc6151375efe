"""The previous, straightforward `verify_full` (one frontier append per leaf,
per-node dictionary lookups), kept as the reference the optimised
`portal.audit.fullcheck` must agree with report for report.

Original docstring: `flask audit verify --full`: the chain, every stored subtree, every checkpoint.

One pass over the log in sequence order. The tree is rebuilt with only its
O(log n) frontier in memory and compared with the stored subtrees chunk by
chunk, so a log of millions of events is checked in bounded memory.
"""
from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit import merkle
from portal.audit.checkpoint import CheckpointError, verify_checkpoint
from portal.audit.models import AuditCheckpoint, AuditEvent, AuditSubtree
from portal.audit.services import ChainReport, canonical_bytes, verify_events
from portal.audit.transparency import signing_identity
from portal.audit.tree import Frontier
from portal.extensions import db

CHUNK = 1 << 14  # leaves per comparison batch (aligned, a power of two)


@dataclass
class FullReport:
    ok: bool
    events: int
    subtrees: int = 0
    checkpoints: int = 0
    first_bad_seq: int | None = None
    bad_checkpoint_size: int | None = None
    reason: str = ""


def _stored_nodes(session: Session, first: int, last: int) -> dict[tuple[int, int], bytes]:
    """Stored nodes completed by appending leaves first..last-1 (one query per level)."""
    table = AuditSubtree.__table__
    found: dict[tuple[int, int], bytes] = {}
    level = 0
    while (1 << level) <= last:
        # Node (level, i) is completed by leaf (i + 1) * 2**level - 1.
        low = -(-(first + 1) // (1 << level)) - 1
        high = last // (1 << level) - 1
        if high >= low:
            rows = session.execute(
                select(table.c.index, table.c.hash).where(
                    table.c.level == level, table.c.index >= low, table.c.index <= high
                )
            )
            found.update(((level, index), bytes(value)) for index, value in rows)
        level += 1
    return found


def verify_full(session: Session | None = None, batch: int = 5000) -> FullReport:
    session = session or db.session
    checkpoints = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size)))
    roots_wanted = {c.size: c for c in checkpoints}
    roots_seen: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    frontier = Frontier()
    computed: dict[tuple[int, int], bytes] = {}
    bad: list[tuple[int, str]] = []
    subtrees = 0

    def compare_chunk(first: int, last: int) -> None:
        nonlocal subtrees
        stored = _stored_nodes(session, first, last)
        for key, value in computed.items():
            subtrees += 1
            if not hmac.compare_digest(stored.get(key, b""), value):
                level, index = key
                seq = index * (1 << level) + 1
                what = "fehlt" if key not in stored else "weicht ab"
                bad.append((seq, f"Gespeicherter Teilbaum (Ebene {level}, Nr. {index}) {what}; er beginnt bei Eintrag {seq}."))
                return
        computed.clear()

    def leaves(rows: Iterator[Any]) -> Iterator[Any]:
        for row in rows:
            yield row
            if bad:
                continue
            for level, index, value in frontier.append(merkle.leaf_hash(canonical_bytes(row))):
                computed[(level, index)] = value
            if frontier.size in roots_wanted:
                roots_seen[frontier.size] = frontier.root()
            if frontier.size % CHUNK == 0:
                compare_chunk(frontier.size - CHUNK, frontier.size)

    result = session.execute(
        select(AuditEvent.__table__).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    )
    try:
        chain: ChainReport = verify_events(leaves(iter(result)))
    finally:
        result.close()
    if not chain.ok:
        return FullReport(False, chain.checked, first_bad_seq=chain.first_bad_seq, reason=chain.reason)
    if not bad and computed:
        compare_chunk(frontier.size - frontier.size % CHUNK, frontier.size)
    if bad:
        seq, reason = bad[0]
        return FullReport(False, chain.checked, subtrees, first_bad_seq=seq, reason=reason)
    stored_count = session.scalar(select(func.count()).select_from(AuditSubtree))
    if stored_count != subtrees:
        return FullReport(False, chain.checked, subtrees, reason=f"Es sind {stored_count} Teilbäume gespeichert, erwartet {subtrees}.")

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
            elif checkpoint.size not in roots_seen:
                problem = f"Er umfasst {checkpoint.size} Einträge, das Protokoll nur {frontier.size}."
            elif not hmac.compare_digest(roots_seen[checkpoint.size], note.root):
                problem = "Seine Wurzel passt nicht zu den Einträgen im Protokoll."
        if problem:
            return FullReport(
                False, chain.checked, subtrees, number - 1, bad_checkpoint_size=checkpoint.size,
                reason=f"Prüfpunkt Nr. {number} über {checkpoint.size} Einträge: {problem}",
            )
    return FullReport(True, chain.checked, subtrees, len(checkpoints))


__all__ = ["FullReport", "verify_full"]
