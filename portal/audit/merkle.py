"""RFC 9162 §2.1 Merkle tree for the public audit log, independent of any database.

Why this design: the log only ever grows, so every *perfect aligned subtree* (a node
``(level, index)`` covering leaves ``[index * 2**level, (index + 1) * 2**level)``) is
final as soon as its last leaf is appended.  Storing exactly those nodes (about two
per leaf) lets every root, inclusion proof and consistency proof be assembled from
O(log n) stored hashes, without ever rehashing the log.  Level 0 holds the leaf
hashes themselves.

Hashing (RFC 9162 §2.1.1):
    leaf_hash(d)    = SHA-256(0x00 || d)
    node_hash(l, r) = SHA-256(0x01 || l || r)
    MTH({})         = SHA-256("")
and a tree of n > 1 leaves splits at k, the largest power of two strictly below n.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "BatchSubtreeStore",
    "InMemoryStore",
    "Node",
    "SubtreeStore",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "mth",
    "node_hash",
    "nodes_completed_by_append",
    "range_hash",
    "root_from_inclusion",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int, bytes]
"""``(level, index, hash)`` of one perfect aligned subtree."""


def leaf_hash(data: bytes) -> bytes:
    """Hash a log entry; the 0x00 prefix keeps leaves distinct from inner nodes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two children; the 0x01 prefix prevents second-preimage tricks."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2), the RFC split point."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaf_hashes: Sequence[bytes]) -> bytes:
    """Reference Merkle Tree Hash over *leaf hashes*, straight from the RFC recursion.

    Deliberately naive (it rehashes everything) so tests and full audits have an
    implementation that shares nothing with the store-based code below.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(mth(leaf_hashes[:k]), mth(leaf_hashes[k:]))


@runtime_checkable
class SubtreeStore(Protocol):
    """Read access to stored perfect subtrees; a missing node raises ``KeyError``."""

    def get(self, level: int, index: int) -> bytes:
        """Return the hash of perfect subtree ``(level, index)``."""
        ...


@runtime_checkable
class BatchSubtreeStore(SubtreeStore, Protocol):
    """A store that can answer several lookups at once (one SQL query instead of many)."""

    def get_many(self, keys: Sequence[tuple[int, int]]) -> Sequence[bytes]:
        """Return the hashes for ``keys`` in the same order; ``KeyError`` if any is missing."""
        ...


class InMemoryStore:
    """Dictionary-backed store, for tests, the CLI and rebuilding a tree in memory."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def get(self, level: int, index: int) -> bytes:
        """Return the stored hash, raising ``KeyError`` if the subtree is not complete."""
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise KeyError(f"no stored subtree at level {level}, index {index}") from None

    def get_many(self, keys: Sequence[tuple[int, int]]) -> list[bytes]:
        """Batch form of :meth:`get`."""
        return [self.get(level, index) for level, index in keys]

    def put(self, level: int, index: int, value: bytes) -> None:
        """Store one node; nodes are immutable, so a differing rewrite is an error."""
        key = (level, index)
        old = self._nodes.get(key)
        if old is not None and old != value:
            raise ValueError(f"subtree {key} already stored with a different hash")
        self._nodes[key] = value

    def append(self, leaf: bytes) -> int:
        """Append one *leaf hash*; return its 0-based leaf index."""
        index = self._size
        for level, idx, value in nodes_completed_by_append(self.get, index, leaf):
            self.put(level, idx, value)
        self._size = index + 1
        return index

    def extend(self, leaves: Iterable[bytes]) -> int:
        """Append several leaf hashes; return the new size."""
        for leaf in leaves:
            self.append(leaf)
        return self._size


def nodes_completed_by_append(
    store_get: Callable[[int, int], bytes], leaf_index: int, leaf: bytes
) -> list[Node]:
    """Perfect subtrees that become complete when leaf ``leaf_index`` is appended.

    Returns the leaf itself plus one parent per trailing 1-bit of ``leaf_index``; each
    parent needs the stored left sibling, so this costs O(log n) lookups at worst and
    O(1) amortised.  The caller persists all returned nodes in the same transaction
    that stores the leaf.
    """
    if leaf_index < 0:
        raise ValueError("leaf_index must be non-negative")
    _check_hash(leaf)
    nodes: list[Node] = [(0, leaf_index, leaf)]
    level, index, current = 0, leaf_index, leaf
    while index & 1:
        current = node_hash(store_get(level, index - 1), current)
        level += 1
        index >>= 1
        nodes.append((level, index, current))
    return nodes


def _check_hash(value: bytes) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_SIZE:
        raise ValueError("a hash must be 32 bytes")


def _pieces(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose ``[start, end)`` into aligned perfect subtrees, largest first.

    Every range that appears in the RFC recursion has this shape, and its MTH is the
    right-to-left fold of these pieces.  Other ranges are rejected rather than
    silently hashed differently.
    """
    if not 0 <= start < end:
        raise ValueError(f"invalid leaf range [{start}, {end})")
    pieces: list[tuple[int, int]] = []
    pos = start
    width = end - start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            if pos & ((1 << level) - 1):
                raise ValueError(f"leaf range [{start}, {end}) is not an RFC 9162 subtree")
            pieces.append((level, pos >> level))
            pos += 1 << level
    return pieces


def _fetch(store: SubtreeStore, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Look up distinct keys, in one batch when the store supports it."""
    unique = list(dict.fromkeys(keys))
    get_many = getattr(store, "get_many", None)
    if callable(get_many):
        values = list(get_many(unique))
        if len(values) != len(unique):
            raise KeyError("store returned a different number of subtrees than requested")
    else:
        values = [store.get(level, index) for level, index in unique]
    for value in values:
        _check_hash(value)
    return dict(zip(unique, values))


def _ranges_hashes(store: SubtreeStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """MTH of each range, fetching all needed perfect subtrees at once."""
    decomposed = [_pieces(start, end) for start, end in ranges]
    found = _fetch(store, (key for pieces in decomposed for key in pieces))
    out: list[bytes] = []
    for pieces in decomposed:
        acc = found[pieces[-1]]
        for key in reversed(pieces[:-1]):
            acc = node_hash(found[key], acc)
        out.append(acc)
    return out


def range_hash(store: SubtreeStore, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)`` for ranges occurring in the RFC recursion."""
    if start == end and start >= 0:
        return EMPTY_ROOT
    return _ranges_hashes(store, [(start, end)])[0]


def root_hash(store: SubtreeStore, size: int) -> bytes:
    """Root of the tree made of the first ``size`` leaves (any historical size)."""
    if size < 0:
        raise ValueError("size must be non-negative")
    return range_hash(store, 0, size)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes form PATH(index, D[size]), bottom-up as the RFC lists them."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def inclusion_proof(store: SubtreeStore, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 audit path for the leaf at 0-based ``index`` in tree ``size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not inside a tree of size {size}")
    return _ranges_hashes(store, _inclusion_ranges(index, size))


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes form PROOF(old, D[new]) (RFC 9162 §2.1.4.1)."""
    ranges: list[tuple[int, int]] = []
    start, m, n = 0, old, new
    complete_subtree = True  # the RFC's flag b: old tree is the subtree itself
    while m != n:
        k = _split(n)
        if m <= k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            n -= k
            complete_subtree = False
    if not complete_subtree:
        ranges.append((start, start + n))
    ranges.reverse()
    return ranges


def consistency_proof(store: SubtreeStore, old: int, new: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 proof that tree ``old`` is a prefix of tree ``new``.

    Empty when ``old == new`` or ``old == 0`` (nothing to prove).
    """
    if not 0 <= old <= new:
        raise ValueError(f"cannot prove consistency from size {old} to size {new}")
    if old == 0 or old == new:
        return []
    return _ranges_hashes(store, _consistency_ranges(old, new))


def _valid_path(proof: Sequence[bytes]) -> bool:
    return all(isinstance(p, (bytes, bytearray)) and len(p) == HASH_SIZE for p in proof)


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """Root implied by an audit path (RFC 9162 §2.1.3.2), or ``None`` if malformed."""
    if not (0 <= index < size) or not _valid_path([leaf, *proof]):
        return None
    fn, sn = index, size - 1
    r = bytes(leaf)
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True iff ``proof`` shows leaf hash ``leaf`` at 0-based ``index`` of tree (size, root)."""
    computed = root_from_inclusion(leaf, index, size, proof)
    return computed is not None and hmac.compare_digest(computed, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff ``proof`` shows tree (old_size, old_root) is a prefix of (new_size, new_root).

    Follows RFC 9162 §2.1.4.2; equal sizes need an empty proof and equal roots, and
    the empty tree is a prefix of everything.
    """
    if not 0 <= old_size <= new_size or not _valid_path(proof):
        return False
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        return False
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, EMPTY_ROOT)
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
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
