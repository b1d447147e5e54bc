"""The Merkle tree of the bulletin board's append-only log (RFC 9162, CT 2.0, §2.1).

Every accepted board entry is a leaf; its leaf hash is SHA-256(0x00 ∥ entry bytes) and an
interior node is SHA-256(0x01 ∥ left ∥ right) (§2.1.1). The different first byte keeps a
leaf from ever being passed off as an interior node (second-preimage attacks on the tree).

* :func:`root_from_leaves` is MTH of §2.1.1 written as the RFC writes it: the plain
  reference, O(n), for tests and small logs.
* :class:`MerkleFrontier` is the incremental tree the board keeps: only the roots of the
  perfect subtrees (one per 1-bit of the size, largest first) — the "frontier" of
  Crosby-Wallach, the "compact range" of Trillian. An append costs one leaf plus, amortized,
  one node hash (at most log2 n), and the root is a fold of at most log2 n hashes.
* :func:`inclusion_proof` is PATH of §2.1.3.1 and :func:`consistency_proof` is PROOF /
  SUBPROOF of §2.1.4.1. They read the stored tree through ``get_node(level, index)``, the
  hash of the perfect subtree over leaves ``[index·2^level, (index+1)·2^level)`` (level 0:
  the leaf hashes). A log stores exactly those nodes as they complete; the right-edge
  subtrees that the RFC's recursion also needs are not stored (they change with every
  append) and are folded here from perfect ones. :func:`inclusion_proof_nodes` and
  :func:`consistency_proof_nodes` list the nodes a proof needs, so a database can fetch
  them in one query.
* :func:`verify_inclusion` (§2.1.3.2) and :func:`verify_consistency` (§2.1.4.2) follow the
  RFC's algorithms step by step. Like every verifier in tohyo they return ``None`` or raise
  (:class:`LogProofError`); they never return ``False``.

The module is pure: no I/O, no clock, no randomness, no global state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Final

from e2e.errors import VerificationError

#: Size in bytes of every hash in the tree (SHA-256).
HASH_SIZE: Final[int] = 32

#: MTH({}) = SHA-256() — the root of the empty tree (§2.1.1).
EMPTY_ROOT: Final[bytes] = hashlib.sha256(b"").digest()

#: (level, index) of a perfect subtree: leaves [index·2^level, (index+1)·2^level).
NodeId = tuple[int, int]

#: Reads the stored hash of the perfect subtree (level, index); see the module docstring.
NodeGetter = Callable[[int, int], bytes]


class LogProofError(VerificationError):
    """An inclusion or consistency proof of the log does not verify."""


# --- hashing (§2.1.1) --------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 ∥ d): the hash of one log entry (§2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ∥ left ∥ right): an interior node over two subtree roots (§2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): the RFC's split k.

    Not the midpoint: splitting anywhere else gives a different, non-interoperable tree.
    """
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of §2.1.1 from the leaf hashes, by the RFC's recursion (the reference)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_from_leaves(leaf_hashes[:k]), root_from_leaves(leaf_hashes[k:]))


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Root of a tree whose perfect subtrees, largest first, have the roots ``hashes``.

    MTH splits a size-n tree at the top 1-bit of n, so the leftmost perfect subtree is the
    left child and the rest is the right child, recursively: fold from the right.
    """
    r = hashes[-1]
    for h in reversed(hashes[:-1]):
        r = node_hash(h, r)
    return r


# --- the incremental tree -----------------------------------------------------------------


class MerkleFrontier:
    """An append-only Merkle tree that keeps only its frontier (O(log n) hashes).

    The frontier is the list of (height, root) of the perfect subtrees that make up the
    tree, largest (leftmost) first; their heights are the 1-bits of the size. Appending a
    leaf adds a height-0 subtree and merges equal heights from the right, like a binary
    counter's carries; the whole tree is never recomputed.
    """

    __slots__ = ("_nodes", "_size")

    def __init__(self) -> None:
        self._nodes: list[tuple[int, bytes]] = []
        self._size = 0

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Add a leaf (its :func:`leaf_hash`) at index :attr:`size`.

        One node hash per trailing 1-bit of the old size: amortized one, at most log2 n.
        """
        _check_hash(leaf_hash, "leaf hash", ValueError)
        height, cur = 0, leaf_hash
        nodes = self._nodes
        while nodes and nodes[-1][0] == height:
            cur = node_hash(nodes.pop()[1], cur)
            height += 1
        nodes.append((height, cur))
        self._size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far (:data:`EMPTY_ROOT` for none)."""
        if not self._nodes:
            return EMPTY_ROOT
        return _fold([h for _, h in self._nodes])

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """The perfect subtrees' roots, largest first (their heights follow from size)."""
        return tuple(h for _, h in self._nodes)

    def to_list(self) -> list[tuple[int, bytes]]:
        """Plain data for storage: the (height, hash) pairs, largest subtree first."""
        return list(self._nodes)

    @classmethod
    def from_list(cls, items: Sequence[Sequence[object]]) -> MerkleFrontier:
        """Rebuild from :meth:`to_list` output (pairs may be tuples or lists).

        Raises ``ValueError`` unless heights are non-negative ints, strictly decreasing
        (the binary digits of the size, each at most once) and hashes are 32 bytes.
        """
        tree = cls()
        previous: int | None = None
        for item in items:
            if len(item) != 2:
                raise ValueError("a frontier item is a (height, hash) pair")
            height, h = item
            # bool is an int; a True height is a corrupted record, not height 1.
            if not isinstance(height, int) or isinstance(height, bool) or height < 0:
                raise ValueError(f"bad frontier height {height!r}")
            if previous is not None and height >= previous:
                raise ValueError("frontier heights must be strictly decreasing")
            h = _check_hash(h, "frontier hash", ValueError)
            tree._nodes.append((height, h))
            tree._size += 1 << height
            previous = height
        return tree

    @classmethod
    def from_frontier(cls, size: int, hashes: Sequence[bytes]) -> MerkleFrontier:
        """Rebuild from the size and the subtree roots alone (largest first).

        Raises ``ValueError`` if the number of hashes is not the number of 1-bits of size.
        """
        if size < 0:
            raise ValueError("negative tree size")
        heights = [i for i in range(size.bit_length() - 1, -1, -1) if size >> i & 1]
        if len(heights) != len(hashes):
            raise ValueError(f"a tree of size {size} has {len(heights)} frontier hashes")
        return cls.from_list(list(zip(heights, hashes, strict=True)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MerkleFrontier):
            return NotImplemented
        return self._nodes == other._nodes

    def __repr__(self) -> str:
        return f"MerkleFrontier(size={self._size}, root={self.root().hex()})"


# --- proofs (§2.1.3.1, §2.1.4.1) ----------------------------------------------------------


def _range_nodes(start: int, end: int) -> list[NodeId]:
    """The perfect subtrees, largest first, that make up the leaves [start, end).

    In the RFC's recursion every range starts at a multiple of a power of two at least as
    large as its length, so these pieces are aligned and their fold is MTH(D[start:end]).
    """
    nodes: list[NodeId] = []
    pos = start
    for level in range((end - start).bit_length() - 1, -1, -1):
        if (end - start) >> level & 1:
            nodes.append((level, pos >> level))
            pos += 1 << level
    return nodes


def inclusion_proof_nodes(leaf_index: int, tree_size: int) -> list[list[NodeId]]:
    """For each element of PATH(leaf_index, D[tree_size]), the nodes it is folded from.

    Raises ``ValueError`` unless 0 <= leaf_index < tree_size.
    """
    if not 0 <= leaf_index < tree_size:
        raise ValueError(f"no leaf {leaf_index} in a tree of size {tree_size}")
    # PATH(m, D[a:b]) = PATH(m, D[a:a+k]) : MTH(D[a+k:b])  if m < a+k
    #                 = PATH(m, D[a+k:b]) : MTH(D[a:a+k])  otherwise
    # Walked top-down, so the siblings come out root-first; the proof is leaf-first.
    siblings: list[list[NodeId]] = []
    start, end = 0, tree_size
    while end - start > 1:
        mid = start + _split(end - start)
        if leaf_index < mid:
            siblings.append(_range_nodes(mid, end))
            end = mid
        else:
            siblings.append(_range_nodes(start, mid))
            start = mid
    siblings.reverse()
    return siblings


def consistency_proof_nodes(old_size: int, new_size: int) -> list[list[NodeId]]:
    """For each element of PROOF(old_size, D[new_size]), the nodes it is folded from.

    Empty when old_size is 0 or equal to new_size (nothing to prove; see
    :func:`verify_consistency`). Raises ``ValueError`` unless 0 <= old_size <= new_size.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    # SUBPROOF(m, D[a:b], flag):
    #   m == b: [] if flag (the verifier knows the old root) else [MTH(D[a:b])]
    #   m <= a+k: SUBPROOF(m, D[a:a+k], flag) : MTH(D[a+k:b])
    #   m >  a+k: SUBPROOF(m, D[a+k:b], false) : MTH(D[a:a+k])
    proof: list[list[NodeId]] = []
    start, end, known = 0, new_size, True
    while old_size != end:
        mid = start + _split(end - start)
        if old_size <= mid:
            proof.append(_range_nodes(mid, end))
            end = mid
        else:
            proof.append(_range_nodes(start, mid))
            start, known = mid, False
    if not known:
        proof.append(_range_nodes(start, end))
    proof.reverse()
    return proof


def _resolve(plan: list[list[NodeId]], get_node: NodeGetter) -> list[bytes]:
    return [_fold([get_node(level, index) for level, index in nodes]) for nodes in plan]


def inclusion_proof(leaf_index: int, tree_size: int, get_node: NodeGetter) -> list[bytes]:
    """PATH(leaf_index, D[tree_size]) of §2.1.3.1, leaf side first.

    ``get_node(level, index)`` returns the hash of the perfect subtree over leaves
    [index·2^level, (index+1)·2^level) of the log (level 0: the leaf hashes); it is only
    asked for nodes inside the first ``tree_size`` leaves. Raises ``ValueError`` unless
    0 <= leaf_index < tree_size.
    """
    return _resolve(inclusion_proof_nodes(leaf_index, tree_size), get_node)


def consistency_proof(old_size: int, new_size: int, get_node: NodeGetter) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of §2.1.4.1; ``get_node`` as in :func:`inclusion_proof`.

    Empty if old_size is 0 or equal to new_size. Raises ``ValueError`` unless
    0 <= old_size <= new_size.
    """
    return _resolve(consistency_proof_nodes(old_size, new_size), get_node)


def _node_getter(leaf_hashes: Sequence[bytes]) -> NodeGetter:
    def get_node(level: int, index: int) -> bytes:
        return root_from_leaves(leaf_hashes[index << level : (index + 1) << level])

    return get_node


def inclusion_proof_from_leaves(leaf_index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """:func:`inclusion_proof` in the tree of all of ``leaf_hashes`` (tests, small logs)."""
    return inclusion_proof(leaf_index, len(leaf_hashes), _node_getter(leaf_hashes))


def consistency_proof_from_leaves(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """:func:`consistency_proof` from the first ``old_size`` leaves to all ``leaf_hashes``."""
    return consistency_proof(old_size, len(leaf_hashes), _node_getter(leaf_hashes))


# --- verification (§2.1.3.2, §2.1.4.2) ----------------------------------------------------


def _check_hash(h: object, what: str, error: Callable[[str], Exception]) -> bytes:
    # A short or long "hash" can never equal a real one, but refusing it early gives a
    # clear message instead of an unexplained mismatch.
    if not isinstance(h, bytes) or len(h) != HASH_SIZE:
        raise error(f"{what} is not {HASH_SIZE} bytes")
    return h


def verify_inclusion(
    leaf_index: int,
    tree_size: int,
    leaf_hash: bytes,
    proof: Sequence[bytes],
    root: bytes,
) -> None:
    """Check that ``leaf_hash`` is leaf ``leaf_index`` of the tree (``tree_size``, ``root``).

    §2.1.3.2, step by step. Returns ``None`` or raises :class:`LogProofError` — on an index
    outside the tree (so also on size 0), a proof of the wrong length, or any hash mismatch.
    """
    where = f"inclusion of leaf {leaf_index} in tree of size {tree_size}"

    def fail(message: str) -> LogProofError:
        return LogProofError(message, where)

    # Step 1: leaf_index >= tree_size fails (and so does an empty tree).
    if leaf_index < 0 or tree_size < 0 or leaf_index >= tree_size:
        raise fail("leaf index outside the tree")
    _check_hash(leaf_hash, "leaf hash", fail)
    _check_hash(root, "root", fail)
    for i, p in enumerate(proof):
        _check_hash(p, f"proof[{i}]", fail)
    # The RFC's loop already rejects a path of the wrong length (via sn); checking it up
    # front names the problem instead of reporting a root mismatch.
    expected = len(inclusion_proof_nodes(leaf_index, tree_size))
    if len(proof) != expected:
        raise fail(f"proof has {len(proof)} hashes, expected {expected}")
    # Steps 2-3.
    fn, sn = leaf_index, tree_size - 1
    r = leaf_hash
    # Step 4.
    for p in proof:
        if sn == 0:  # 4a
            raise fail("proof is too long")
        if fn & 1 or fn == sn:  # 4b: p is a left sibling
            r = node_hash(p, r)
            if not fn & 1:
                # fn is the last node of its level with no right sibling: climb until it
                # is a right child (or the root of the left edge).
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:  # p is a right sibling
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise fail("proof is too short")
    if r != root:
        raise fail("proof does not lead to the root")


def verify_consistency(
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check that the tree (``second``, ``second_root``) extends (``first``, ``first_root``).

    §2.1.4.2, step by step, for 0 < first < second. The cases the RFC leaves out:
    first == second needs an empty proof and equal roots; first == 0 needs an empty proof
    and ``first_root`` == :data:`EMPTY_ROOT` (every tree extends the empty one). Returns
    ``None`` or raises :class:`LogProofError`, also when first > second or a size is
    negative.
    """
    where = f"consistency of tree size {first} with tree size {second}"

    def fail(message: str) -> LogProofError:
        return LogProofError(message, where)

    if first < 0 or second < 0:
        raise fail("negative tree size")
    if first > second:
        raise fail("the first tree is larger than the second")
    _check_hash(first_root, "first root", fail)
    _check_hash(second_root, "second root", fail)
    for i, p in enumerate(proof):
        _check_hash(p, f"proof[{i}]", fail)
    if first == second:
        if proof:
            raise fail("equal sizes need an empty proof")
        if first_root != second_root:
            raise fail("equal sizes but different roots")
        if first == 0 and first_root != EMPTY_ROOT:
            raise fail("the empty tree's root is not SHA-256()")
        return
    if first == 0:
        if proof:
            raise fail("a proof from the empty tree must be empty")
        if first_root != EMPTY_ROOT:
            raise fail("the empty tree's root is not SHA-256()")
        return
    expected = len(consistency_proof_nodes(first, second))
    # Step 1 (an empty path fails) is covered: expected >= 1 when 0 < first < second.
    if len(proof) != expected:
        raise fail(f"proof has {len(proof)} hashes, expected {expected}")
    path = list(proof)
    # Step 2: when the old tree is a perfect subtree of the new one, its root is a node of
    # the new tree the proof leaves out; the verifier supplies it.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # Step 3.
    fn, sn = first - 1, second - 1
    # Step 4: skip the levels where the old tree's last node is a right child already
    # covered by path[0].
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:  # 6a
            raise fail("proof is too long")
        if fn & 1 or fn == sn:  # 6b: c is a left sibling, in both trees
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:  # c is a right sibling, only in the new tree
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise fail("proof is too short")
    if fr != first_root:
        raise fail("proof does not lead to the first root")
    if sr != second_root:
        raise fail("proof does not lead to the second root")
