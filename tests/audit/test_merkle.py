"""RFC 9162 Merkle tree: hand-computed answers, pymerkle cross-checks, rejected forgeries."""

from __future__ import annotations

import hashlib
import random

import pytest
from pymerkle import InmemoryTree

from portal.audit import merkle
from portal.audit.merkle import (
    EMPTY_ROOT,
    InMemoryStore,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    mth,
    node_hash,
    nodes_completed_by_append,
    range_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)


def H0(data: bytes) -> bytes:
    """Leaf hash written out from RFC 9162 §2.1.1, independent of the module."""
    return hashlib.sha256(b"\x00" + data).digest()


def H1(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def store_of(leaves: list[bytes]) -> InMemoryStore:
    store = InMemoryStore()
    store.extend(leaves)
    return store


# The seven-leaf tree of RFC 9162 §2.1.5 with the RFC's node names.
DATA = [f"d{i}".encode() for i in range(7)]
a, b, c, d, e, f, j = (H0(x) for x in DATA)
g = H1(a, b)
h = H1(c, d)
i = H1(e, f)
k = H1(g, h)
l = H1(i, j)
ROOT7 = H1(k, l)
LEAVES7 = [a, b, c, d, e, f, j]


def test_hash_primitives_follow_rfc() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_empty_tree() -> None:
    assert root_hash(InMemoryStore(), 0) == EMPTY_ROOT
    assert mth([]) == EMPTY_ROOT


def test_small_trees_by_hand() -> None:
    assert root_hash(store_of([a]), 1) == a
    assert root_hash(store_of([a, b]), 2) == H1(a, b)
    assert root_hash(store_of([a, b, c]), 3) == H1(H1(a, b), c)
    store = store_of(LEAVES7)
    assert root_hash(store, 7) == ROOT7
    assert root_hash(store, 5) == H1(k, e)
    assert root_hash(store, 6) == H1(k, i)
    assert [mth(LEAVES7[:n]) for n in range(8)] == [root_hash(store, n) for n in range(8)]


def test_known_roots_of_certificate_transparency_vectors() -> None:
    """Leaf data and roots as published with the RFC 6962 reference implementation."""
    data = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    store = store_of([leaf_hash(bytes.fromhex(x)) for x in data])
    assert [root_hash(store, n).hex() for n in range(1, 9)] == roots


def test_inclusion_proofs_by_hand() -> None:
    store = store_of(LEAVES7)
    # RFC 9162 §2.1.5 examples.
    assert inclusion_proof(store, 0, 7) == [b, h, l]
    assert inclusion_proof(store, 3, 7) == [c, g, l]
    assert inclusion_proof(store, 4, 7) == [f, j, k]
    assert inclusion_proof(store, 6, 7) == [i, k]
    # Smaller trees inside the same store.
    assert inclusion_proof(store, 0, 1) == []
    assert inclusion_proof(store, 0, 3) == [b, c]
    assert inclusion_proof(store, 2, 3) == [g]
    assert inclusion_proof(store, 4, 5) == [k]
    for n in range(1, 8):
        root = root_hash(store, n)
        for index in range(n):
            assert verify_inclusion(LEAVES7[index], index, n, inclusion_proof(store, index, n), root)


def test_consistency_proofs_by_hand() -> None:
    store = store_of(LEAVES7)
    # RFC 9162 §2.1.5 examples.
    assert consistency_proof(store, 3, 7) == [c, d, g, l]
    assert consistency_proof(store, 4, 7) == [l]
    assert consistency_proof(store, 6, 7) == [i, j, k]
    assert consistency_proof(store, 1, 2) == [b]
    assert consistency_proof(store, 2, 3) == [c]
    assert consistency_proof(store, 7, 7) == []
    assert consistency_proof(store, 0, 7) == []
    assert verify_consistency(3, 7, H1(g, c), ROOT7, [c, d, g, l])
    assert verify_consistency(4, 7, k, ROOT7, [l])
    assert verify_consistency(7, 7, ROOT7, ROOT7, [])
    assert verify_consistency(0, 7, EMPTY_ROOT, ROOT7, [])


def test_nodes_completed_by_append_lists_new_perfect_subtrees() -> None:
    store = store_of([a, b, c])
    lookups: list[tuple[int, int]] = []

    def get(level: int, index: int) -> bytes:
        lookups.append((level, index))
        return store.get(level, index)

    assert nodes_completed_by_append(get, 3, d) == [(0, 3, d), (1, 1, h), (2, 0, k)]
    assert lookups == [(0, 2), (1, 0)]
    lookups.clear()
    assert nodes_completed_by_append(get, 4, e) == [(0, 4, e)]
    assert lookups == []
    with pytest.raises(ValueError):
        nodes_completed_by_append(get, 0, b"short")


def test_store_holds_only_perfect_subtrees() -> None:
    store = store_of(LEAVES7)
    assert store.get(1, 0) == g and store.get(2, 0) == k and store.get(1, 2) == i
    with pytest.raises(KeyError):
        store.get(2, 1)  # leaves 4..7 are not complete yet
    with pytest.raises(ValueError):
        store.put(0, 0, b)  # stored nodes never change


def test_range_hash_of_rfc_subranges_and_rejection_of_others() -> None:
    store = store_of(LEAVES7)
    assert range_hash(store, 4, 7) == l
    assert range_hash(store, 2, 4) == h
    assert range_hash(store, 6, 7) == j
    assert range_hash(store, 3, 3) == EMPTY_ROOT
    for start, end in [(1, 3), (3, 7), (2, 7), (5, 3)]:
        with pytest.raises(ValueError):
            range_hash(store, start, end)


class CountingStore:
    """Store without get_many, to check the lookup bound and the single-get fallback."""

    def __init__(self, inner: InMemoryStore) -> None:
        self.inner = inner
        self.calls = 0

    def get(self, level: int, index: int) -> bytes:
        self.calls += 1
        return self.inner.get(level, index)


def test_lookups_stay_logarithmic() -> None:
    n = 1000
    inner = store_of([H0(str(x).encode()) for x in range(n)])
    store = CountingStore(inner)
    rng = random.Random(7)
    for _ in range(200):
        size = rng.randint(2, n)
        index = rng.randrange(size)
        old = rng.randint(1, size)
        bound = 2 * size.bit_length() + 2
        store.calls = 0
        root_hash(store, size)
        assert store.calls <= bound
        store.calls = 0
        inclusion_proof(store, index, size)
        assert store.calls <= bound
        store.calls = 0
        consistency_proof(store, old, size)
        assert store.calls <= bound


def test_proof_arguments_out_of_range_are_refused() -> None:
    store = store_of(LEAVES7)
    for index, size in [(-1, 3), (3, 3), (0, 0)]:
        with pytest.raises(ValueError):
            inclusion_proof(store, index, size)
    for old, new in [(-1, 3), (4, 3)]:
        with pytest.raises(ValueError):
            consistency_proof(store, old, new)
    with pytest.raises(KeyError):
        root_hash(store, 8)


# --- cross-check against the independent pymerkle implementation ---------------


def pymerkle_consistency_as_rfc(proof) -> list[bytes]:
    """Rewrite a pymerkle consistency proof into the RFC 9162 PROOF list.

    pymerkle lists its base hash first and, when the old size equals a left
    subtree, descends into the right subtree instead of stopping; both encode the
    same ranges, so the RFC list is recovered by folding that right-hand descent.
    """
    path, subset = list(proof.path), list(proof.subset)
    if subset[0] == 1:
        return path[1:] if not any(subset[1:]) else path
    j_ = subset.index(1)
    acc = path[0]
    for sibling in path[1:j_]:
        acc = H1(acc, sibling)
    head = [path[j_]] if any(subset[j_ + 1 :]) else []
    return head + [acc] + path[j_ + 1 :]


@pytest.fixture(scope="module")
def trees() -> tuple[InmemoryTree, InMemoryStore, list[bytes]]:
    tree = InmemoryTree()
    store = InMemoryStore()
    leaves = []
    for x in range(300):
        data = f"Ereignis {x}".encode()
        tree.append_entry(data)
        leaves.append(leaf_hash(data))
        store.append(leaves[-1])
    return tree, store, leaves


def test_roots_agree_with_pymerkle_for_every_size(trees) -> None:
    tree, store, leaves = trees
    for size in range(1, 301):
        assert root_hash(store, size) == tree.get_root(size)
        assert tree.get_leaf(size) == leaves[size - 1]
    assert mth(leaves) == tree.get_root(300)


def _sample(rng: random.Random, size: int, count: int) -> list[int]:
    everything = list(range(size))
    if size <= count:
        return everything
    return sorted({0, size - 1, *rng.sample(everything, count)})


def test_inclusion_proofs_agree_with_pymerkle(trees) -> None:
    tree, store, leaves = trees
    rng = random.Random(2024)
    for size in range(1, 301):
        root = tree.get_root(size)
        for index in _sample(rng, size, 12):
            ours = inclusion_proof(store, index, size)
            theirs = tree.prove_inclusion(index + 1, size)
            assert theirs.path[0] == leaves[index]
            assert ours == theirs.path[1:], (index, size)
            assert verify_inclusion(leaves[index], index, size, ours, root)


def test_consistency_proofs_agree_with_pymerkle(trees) -> None:
    tree, store, _ = trees
    rng = random.Random(9162)
    for new in range(1, 301):
        new_root = tree.get_root(new)
        for old0 in _sample(rng, new, 12):
            old = old0 + 1
            ours = consistency_proof(store, old, new)
            assert ours == pymerkle_consistency_as_rfc(tree.prove_consistency(old, new)), (old, new)
            assert verify_consistency(old, new, tree.get_root(old), new_root, ours)


def test_all_pairs_verify_for_small_trees(trees) -> None:
    tree, store, _ = trees
    for new in range(1, 65):
        for old in range(new + 1):
            proof = consistency_proof(store, old, new)
            assert verify_consistency(old, new, root_hash(store, old), tree.get_root(new), proof)


# --- forgeries must fail ---------------------------------------------------------


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_tampered_inclusion_proofs_are_rejected(trees) -> None:
    _, store, leaves = trees
    for size in [1, 2, 3, 5, 7, 8, 13, 64, 100]:
        root = root_hash(store, size)
        for index in range(size):
            proof = inclusion_proof(store, index, size)
            leaf = leaves[index]
            assert verify_inclusion(leaf, index, size, proof, root)
            assert not verify_inclusion(_flip(leaf), index, size, proof, root)
            assert not verify_inclusion(leaf, index, size, proof, _flip(root))
            for n in range(len(proof)):
                bad = proof[:n] + [_flip(proof[n])] + proof[n + 1 :]
                assert not verify_inclusion(leaf, index, size, bad, root)
            assert not verify_inclusion(leaf, index, size, proof + [root], root)
            if proof:
                assert not verify_inclusion(leaf, index, size, proof[:-1], root)
            if size > 1:
                other = (index + 1) % size
                assert not verify_inclusion(leaf, other, size, proof, root)
            # A path is only bound to its size through the signed (size, root) pair.
            bigger = root_hash(store, size + 1)
            assert not verify_inclusion(leaf, index, size + 1, proof, bigger)
            assert not verify_inclusion(leaf, size, size, proof, root)
            assert not verify_inclusion(leaf, -1, size, proof, root)
            if proof:
                assert not verify_inclusion(leaf, index, size, [p[:31] for p in proof], root)


def test_wrong_size_inclusion_is_rejected(trees) -> None:
    _, store, leaves = trees
    proof = inclusion_proof(store, 5, 10)
    for size in range(6, 30):
        if size != 10:
            assert not verify_inclusion(leaves[5], 5, size, proof, root_hash(store, size))


def test_tampered_consistency_proofs_are_rejected(trees) -> None:
    store = trees[1]
    for new in [2, 3, 5, 7, 8, 9, 16, 31, 100]:
        new_root = root_hash(store, new)
        for old in range(1, new):
            old_root = root_hash(store, old)
            proof = consistency_proof(store, old, new)
            assert verify_consistency(old, new, old_root, new_root, proof)
            assert not verify_consistency(old, new, _flip(old_root), new_root, proof)
            assert not verify_consistency(old, new, old_root, _flip(new_root), proof)
            assert not verify_consistency(new, old, new_root, old_root, proof)
            assert not verify_consistency(old, new, old_root, new_root, [])
            assert not verify_consistency(old, new, old_root, new_root, proof + [new_root])
            assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
            for n in range(len(proof)):
                bad = proof[:n] + [_flip(proof[n])] + proof[n + 1 :]
                assert not verify_consistency(old, new, old_root, new_root, bad)
            if old + 1 < new:
                assert not verify_consistency(old + 1, new, root_hash(store, old + 1), new_root, proof)
            if old > 1:
                assert not verify_consistency(old - 1, new, root_hash(store, old - 1), new_root, proof)
            assert not verify_consistency(old, new + 1, old_root, root_hash(store, new + 1), proof)
        assert not verify_consistency(new, new, root_hash(store, new - 1), new_root, [])
        assert not verify_consistency(new, new, new_root, new_root, [new_root])
        assert not verify_consistency(0, new, new_root, new_root, [])


def test_rewritten_history_is_not_consistent() -> None:
    """The property the public log exists for: changing an old entry is detectable."""
    honest = store_of([H0(b"e%d" % x) for x in range(20)])
    forged_leaves = [H0(b"e%d" % x) for x in range(20)]
    forged_leaves[3] = H0(b"something else")
    forged = store_of(forged_leaves + [H0(b"e20")])
    old_root = root_hash(honest, 12)
    for new in range(12, 22):
        assert not verify_consistency(12, new, old_root, root_hash(forged, new), consistency_proof(forged, 12, new))


def test_module_exports() -> None:
    for name in merkle.__all__:
        assert hasattr(merkle, name)
