"""The log's Merkle tree against RFC 9162 §2.1 (and the CT reference vectors)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from e2e import merkle
from e2e.errors import VerificationError
from e2e.merkle import (
    EMPTY_ROOT,
    LogProofError,
    MerkleFrontier,
    consistency_proof,
    consistency_proof_from_leaves,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_from_leaves,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(80)]
MAX_PROOF_SIZE = 40
OTHER = hashlib.sha256(b"some other hash").digest()


def flip(h: bytes, bit: int = 3) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


# --- the RFC's definitions, written out independently of e2e.merkle ----------------------


def _k(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(d):
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + rfc_mth(d[:k]) + rfc_mth(d[k:])).digest()


def rfc_path(m, d):
    """PATH(m, D[n]) of §2.1.3.1."""
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return rfc_path(m, d[:k]) + [rfc_mth(d[k:])]
    return rfc_path(m - k, d[k:]) + [rfc_mth(d[:k])]


def rfc_subproof(m, d, b):
    """SUBPROOF(m, D[n], b) of §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [rfc_mth(d)]
    k = _k(n)
    if m <= k:
        return rfc_subproof(m, d[:k], b) + [rfc_mth(d[k:])]
    return rfc_subproof(m - k, d[k:], False) + [rfc_mth(d[:k])]


def stored_nodes(leaves: Sequence[bytes]) -> dict[tuple[int, int], bytes]:
    """Every complete perfect subtree (level, index) of a log: what a board stores."""
    nodes = {(0, i): h for i, h in enumerate(leaves)}
    level = 0
    while True:
        count = len(leaves) >> (level + 1)
        if count == 0:
            return nodes
        for i in range(count):
            nodes[(level + 1, i)] = node_hash(nodes[(level, 2 * i)], nodes[(level, 2 * i + 1)])
        level += 1


NODES = stored_nodes(LEAVES)


def strict_getter(tree_size: int, asked: list | None = None) -> Callable[[int, int], bytes]:
    """A get_node that refuses anything but a stored node inside the first tree_size leaves."""

    def get_node(level: int, index: int) -> bytes:
        assert level >= 0 and index >= 0
        assert (index + 1) << level <= tree_size, (level, index, tree_size)
        if asked is not None:
            asked.append((level, index))
        return NODES[(level, index)]

    return get_node


# --- hashing and the root -----------------------------------------------------------------


def test_hashes_are_rfc_9162_2_1_1() -> None:
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = LEAVES[0], LEAVES[1]
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root_from_leaves([]) == EMPTY_ROOT
    assert root_from_leaves([a]) == a


def test_split_is_the_largest_power_of_two_below_n() -> None:
    # Midpoint splitting would agree for powers of two and silently differ elsewhere.
    for n in range(0, 70):
        assert root_from_leaves(LEAVES[:n]) == rfc_mth(LEAVES[:n])
    five = LEAVES[:5]
    expected = node_hash(
        node_hash(node_hash(five[0], five[1]), node_hash(five[2], five[3])), five[4]
    )
    assert root_from_leaves(five) == expected


def test_incremental_root_equals_reference_for_every_size() -> None:
    tree = MerkleFrontier()
    assert tree.size == 0 and tree.root() == EMPTY_ROOT and tree.to_list() == []
    for n in range(1, 71):
        tree.append(LEAVES[n - 1])
        assert tree.size == n
        assert tree.root() == root_from_leaves(LEAVES[:n]), n
        # One perfect subtree per 1-bit of the size, largest first.
        heights = [h for h, _ in tree.to_list()]
        assert heights == [b for b in range(n.bit_length() - 1, -1, -1) if n >> b & 1]
        for height, h in tree.to_list():
            start = sum(1 << x for x in heights if x > height)
            assert h == root_from_leaves(LEAVES[start : start + (1 << height)])


def test_append_never_recomputes_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = merkle.node_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting)
    tree = MerkleFrontier()
    worst = 0
    for n in range(1, 1025):
        before = calls
        tree.append(leaf_hash(n.to_bytes(4, "big")))
        worst = max(worst, calls - before)
        # n appends make exactly n - popcount(n) merges: amortized fewer than one each.
        assert calls == n - n.bit_count()
    assert worst == 10  # log2(1024): the carry chain, never the whole tree
    calls = 0
    tree.append(LEAVES[0])  # size 1025 = 2^10 + 1
    calls = 0
    tree.root()
    assert calls == 1  # popcount(size) - 1 hashes


@pytest.mark.parametrize("cut", [0, 1, 2, 3, 7, 8, 13, 32, 33, 50, 63, 64, 70])
def test_to_list_round_trip_then_keep_appending(cut: int) -> None:
    tree = MerkleFrontier()
    for h in LEAVES[:cut]:
        tree.append(h)
    stored = tree.to_list()
    # Plain data: (int, bytes) pairs, which a database can hold (e.g. as JSON with hex).
    assert all(type(a) is int and type(b) is bytes for a, b in stored)
    as_json_like = [[height, h.hex()] for height, h in stored]
    back = MerkleFrontier.from_list([(height, bytes.fromhex(x)) for height, x in as_json_like])
    also = MerkleFrontier.from_list([list(item) for item in stored])
    by_hashes = MerkleFrontier.from_frontier(cut, tree.frontier)
    for restored in (back, also, by_hashes):
        assert restored == tree and restored.size == cut and restored.root() == tree.root()
        for n in range(cut + 1, 71):
            restored.append(LEAVES[n - 1])
            assert restored.root() == root_from_leaves(LEAVES[:n])
    assert MerkleFrontier.from_list(stored) == tree  # the input list is not consumed


def test_from_list_rejects_corrupt_data() -> None:
    h = LEAVES[0]
    for bad in (
        [(0, h), (0, h)],  # equal heights: two subtrees would have merged
        [(0, h), (1, h)],  # increasing
        [(-1, h)],
        [(True, h)],
        [("1", h)],
        [(1, h[:31])],
        [(1, h.hex())],
        [(1,)],
        [(2, h, h)],
    ):
        with pytest.raises(ValueError):
            MerkleFrontier.from_list(bad)
    with pytest.raises(ValueError):
        MerkleFrontier.from_frontier(3, [h])
    with pytest.raises(ValueError):
        MerkleFrontier.from_frontier(-1, [])
    with pytest.raises(ValueError):
        MerkleFrontier().append(b"short")


# --- the Certificate Transparency reference vectors --------------------------------------
# From transparency-dev/merkle (testonly/constants.go, proof/verify_test.go), the vectors
# the CT Go and C++ implementations share.

CT_LEAVES = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    bytes.fromhex(x)
    for x in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
_H = {
    "6e34": "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a2": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "bc1a": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "b086": "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "fac5": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f08": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca85": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37e": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
}
CT_INCLUSION = [  # (leaf index, tree size, proof)
    (0, 8, ["96a2", "5f08", "6b47"]),
    (5, 8, ["bc1a", "ca85", "d37e"]),
    (2, 3, ["fac5"]),
    (1, 5, ["6e34", "5f08", "bc1a"]),
]
CT_CONSISTENCY = [  # (first, second, proof)
    (1, 8, ["96a2", "5f08", "6b47"]),
    (6, 8, ["0ebc", "ca85", "d37e"]),
    (2, 5, ["5f08", "bc1a"]),
    (6, 7, ["0ebc", "b086", "d37e"]),
]


def test_ct_reference_roots() -> None:
    hashes = [leaf_hash(d) for d in CT_LEAVES]
    tree = MerkleFrontier()
    for n in range(9):
        assert root_from_leaves(hashes[:n]) == CT_ROOTS[n]
        assert tree.root() == CT_ROOTS[n]
        if n < 8:
            tree.append(hashes[n])


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_ct_reference_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    hashes = [leaf_hash(d) for d in CT_LEAVES]
    expected = [bytes.fromhex(_H[p]) for p in proof]
    assert inclusion_proof_from_leaves(index, hashes[:size]) == expected
    verify_inclusion(index, size, hashes[index], expected, CT_ROOTS[size])


@pytest.mark.parametrize(("first", "second", "proof"), CT_CONSISTENCY)
def test_ct_reference_consistency_proofs(first: int, second: int, proof: list[str]) -> None:
    hashes = [leaf_hash(d) for d in CT_LEAVES]
    expected = [bytes.fromhex(_H[p]) for p in proof]
    assert consistency_proof_from_leaves(first, hashes[:second]) == expected
    verify_consistency(first, second, CT_ROOTS[first], CT_ROOTS[second], expected)


# --- inclusion proofs (§2.1.3) ------------------------------------------------------------


def _rejects_inclusion(index: int, size: int, leaf: bytes, proof: list, root: bytes) -> None:
    with pytest.raises(LogProofError):
        verify_inclusion(index, size, leaf, proof, root)


def test_inclusion_proofs_for_every_index_and_size() -> None:
    for n in range(1, MAX_PROOF_SIZE + 1):
        leaves = LEAVES[:n]
        root = root_from_leaves(leaves)
        for i in range(n):
            asked: list = []
            proof = inclusion_proof(i, n, strict_getter(n, asked))
            assert proof == rfc_path(i, leaves), (i, n)
            assert proof == inclusion_proof_from_leaves(i, leaves)
            assert sorted(asked) == sorted(
                {node for item in inclusion_proof_nodes(i, n) for node in item}
            )
            verify_inclusion(i, n, leaves[i], proof, root)

            # The leaf, the index.
            _rejects_inclusion(i, n, flip(leaves[i]), proof, root)
            _rejects_inclusion(i, n, root if n > 1 else OTHER, proof, root)
            for j in {i - 1, i + 1, i ^ 1, i ^ 2, n - 1 - i, n, n + 5, -1}:
                if j != i:
                    _rejects_inclusion(j, n, leaves[i], proof, root)
            # The size. The root does not commit to the size, so a proof for size n can
            # also fit size n±1 when the verifier's walk is the same (RFC 9162 verifiers
            # take the size from the signed tree head); it fails whenever the length
            # differs, and a doubled or halved size always fails (as in CT's own tests).
            for m in {n * 2, n // 2, 0}:
                if m != n:
                    _rejects_inclusion(i, m, leaves[i], proof, root)
            for m in (n - 1, n + 1):
                if m > i and len(inclusion_proof_nodes(i, m)) != len(proof):
                    _rejects_inclusion(i, m, leaves[i], proof, root)
            # The root.
            _rejects_inclusion(i, n, leaves[i], proof, flip(root))
            _rejects_inclusion(i, n, leaves[i], proof, EMPTY_ROOT)
            # Each element; one added, removed, inserted; garbage.
            for k in range(len(proof)):
                bad = list(proof)
                bad[k] = flip(bad[k])
                _rejects_inclusion(i, n, leaves[i], bad, root)
                _rejects_inclusion(i, n, leaves[i], proof[:k] + proof[k + 1 :], root)
                _rejects_inclusion(i, n, leaves[i], proof[:k] + [OTHER] + proof[k:], root)
                bad[k] = proof[k][:31]
                _rejects_inclusion(i, n, leaves[i], bad, root)
            for extra in (root, OTHER, leaves[i], b""):
                _rejects_inclusion(i, n, leaves[i], proof + [extra], root)
                _rejects_inclusion(i, n, leaves[i], [extra] + proof, root)


def test_inclusion_edge_cases() -> None:
    h = LEAVES[0]
    verify_inclusion(0, 1, h, [], h)  # one leaf: the leaf is the root, the path is empty
    for index, size in ((0, 0), (1, 0), (1, 1), (2, 1), (-1, 1), (0, -1)):
        _rejects_inclusion(index, size, h, [], h)
        _rejects_inclusion(index, size, h, [], EMPTY_ROOT)
    _rejects_inclusion(0, 1, h, [], OTHER)
    _rejects_inclusion(0, 1, b"", [], h)
    _rejects_inclusion(0, 1, h, [], b"")
    _rejects_inclusion(0, 1, h.hex(), [], h)  # type: ignore[arg-type]
    with pytest.raises(LogProofError) as info:
        verify_inclusion(3, 7, h, [], h)
    assert isinstance(info.value, VerificationError)
    assert info.value.where == "inclusion of leaf 3 in tree of size 7"
    for index, size in ((0, 0), (3, 3), (-1, 2)):
        with pytest.raises(ValueError):
            inclusion_proof(index, size, strict_getter(size))


# --- consistency proofs (§2.1.4) ----------------------------------------------------------


def _rejects_consistency(m: int, n: int, r1: bytes, r2: bytes, proof: list) -> None:
    with pytest.raises(LogProofError):
        verify_consistency(m, n, r1, r2, proof)


def test_consistency_proofs_for_every_pair_of_sizes() -> None:
    roots = [root_from_leaves(LEAVES[:n]) for n in range(MAX_PROOF_SIZE + 2)]
    for n in range(1, MAX_PROOF_SIZE + 1):
        leaves = LEAVES[:n]
        r2 = roots[n]
        for m in range(1, n + 1):
            r1 = roots[m]
            asked: list = []
            proof = consistency_proof(m, n, strict_getter(n, asked))
            assert proof == (rfc_subproof(m, leaves, True) if m < n else []), (m, n)
            assert proof == consistency_proof_from_leaves(m, leaves)
            assert sorted(asked) == sorted(
                {node for item in consistency_proof_nodes(m, n) for node in item}
            )
            verify_consistency(m, n, r1, r2, proof)

            if m == n:
                _rejects_consistency(m, n, r1, flip(r2), [])
                _rejects_consistency(m, n, flip(r1), r2, [])
                _rejects_consistency(m, n, r1, r2, [r1])
                _rejects_consistency(m, n, r1, r2, [OTHER])
                _rejects_consistency(m + 1, n, r1, r2, [])
                continue
            # The roots.
            _rejects_consistency(m, n, flip(r1), r2, proof)
            _rejects_consistency(m, n, r1, flip(r2), proof)
            _rejects_consistency(m, n, r2, r1, proof)
            _rejects_consistency(m, n, r1, r1, proof)
            _rejects_consistency(m, n, r1, b"WrongRoot", proof)
            # The old size, and the new size (same caveat as for inclusion proofs).
            for m2 in {m - 1, m + 1, m ^ 1, m ^ 2, 0, n + 1}:
                if m2 != m:
                    _rejects_consistency(m2, n, r1, r2, proof)
            for n2 in {n * 2, n // 2, m - 1}:
                if n2 != n:
                    _rejects_consistency(m, n2, r1, r2, proof)
            for n2 in (n - 1, n + 1):
                if n2 >= m and (n2 == m or len(consistency_proof_nodes(m, n2)) != len(proof)):
                    _rejects_consistency(m, n2, r1, r2, proof)
            # Each element; one added, removed, inserted; garbage; empty.
            _rejects_consistency(m, n, r1, r2, [])
            for k in range(len(proof)):
                bad = list(proof)
                bad[k] = flip(bad[k], 4)
                _rejects_consistency(m, n, r1, r2, bad)
                _rejects_consistency(m, n, r1, r2, proof[:k] + proof[k + 1 :])
                _rejects_consistency(m, n, r1, r2, proof[:k] + [OTHER] + proof[k:])
                bad[k] = b""
                _rejects_consistency(m, n, r1, r2, bad)
            for extra in (r1, r2, OTHER, proof[0], b""):
                _rejects_consistency(m, n, r1, r2, proof + [extra])
                _rejects_consistency(m, n, r1, r2, [extra] + proof)


def test_consistency_edge_cases() -> None:
    r3 = root_from_leaves(LEAVES[:3])
    # From the empty tree: nothing to prove, but the old root must be the empty root.
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 3, EMPTY_ROOT, r3, [])
    assert consistency_proof(0, 3, strict_getter(3)) == []
    _rejects_consistency(0, 3, r3, r3, [])
    _rejects_consistency(0, 3, EMPTY_ROOT, r3, [EMPTY_ROOT])
    _rejects_consistency(0, 0, r3, r3, [])
    _rejects_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    # Time travel and negative sizes.
    _rejects_consistency(3, 2, r3, r3, [])
    _rejects_consistency(1, 0, LEAVES[0], EMPTY_ROOT, [])
    _rejects_consistency(-1, 3, EMPTY_ROOT, r3, [])
    with pytest.raises(LogProofError) as info:
        verify_consistency(2, 3, r3, r3, [])
    assert isinstance(info.value, VerificationError)
    assert info.value.where == "consistency of tree size 2 with tree size 3"
    for m, n in ((3, 2), (-1, 2)):
        with pytest.raises(ValueError):
            consistency_proof(m, n, strict_getter(max(n, 0)))


# --- property: random logs, random proofs -------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    data=st.lists(st.binary(max_size=8), min_size=1, max_size=300),
    picks=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)),
)
def test_random_logs_and_proofs_verify(data: list[bytes], picks: tuple[int, int, int]) -> None:
    hashes = [leaf_hash(d) for d in data]
    n = len(hashes)
    tree = MerkleFrontier()
    roots = [tree.root()]
    for h in hashes:
        tree.append(h)
        roots.append(tree.root())
    assert tree.root() == root_from_leaves(hashes)

    nodes = stored_nodes(hashes)

    def get_node(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    index = picks[0] % n
    size = index + 1 + picks[1] % (n - index)  # any tree that contains the leaf
    proof = inclusion_proof(index, size, get_node)
    verify_inclusion(index, size, hashes[index], proof, roots[size])
    _rejects_inclusion(index, size, hashes[index], proof, flip(roots[size]))

    first = picks[2] % (size + 1)
    proof = consistency_proof(first, size, get_node)
    verify_consistency(first, size, roots[first], roots[size], proof)
    if 0 < first < size:
        _rejects_consistency(first, size, roots[first], flip(roots[size]), proof)
