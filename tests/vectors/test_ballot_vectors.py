"""The ballot and board vectors: reproduced byte for byte, and accepted by the verifiers."""

import json

import pytest

from e2e import codec
from e2e.ballot import (
    ChallengedBallot,
    EncryptedBallot,
    describe_choices,
    verify_ballot,
    verify_challenged,
)
from e2e.board import BoardKey, TreeHead, verify_tree_head
from e2e.election import Election, ElectionParameters
from e2e.manifest import Manifest
from e2e.merkle import leaf_hash, root_from_leaves, verify_inclusion
from tests.vectors.generate import BOARD_FILE, FILES, HERE, build_board, render


def _load(name):
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def _election(name):
    group = FILES[name]
    docs = _load(name)["election"]
    manifest = codec.from_document(docs["manifest"], Manifest)
    params = codec.from_document(docs["parameters"], ElectionParameters, group)
    election = Election(group, manifest, params.election_key)
    assert election.parameters() == params
    return election


def test_board_file_is_reproduced_exactly():
    assert (HERE / BOARD_FILE).read_text(encoding="utf-8") == render(build_board())


@pytest.mark.parametrize("name", sorted(FILES))
def test_vector_ballots_verify(name):
    election = _election(name)
    group = election.group
    for vector in _load(name)["ballots"]:
        ballot = codec.decode(vector["ballot"].encode(), EncryptedBallot, group)
        verify_ballot(election, ballot)
        assert ballot.confirmation_code.hex_upper() == vector["confirmation_code"]
        assert [c.contest for c in ballot.contests] == [ci for ci, _ in vector["values"]]
        cb = codec.decode(vector["challenged"].encode(), ChallengedBallot, group)
        assert cb.ballot == ballot
        verify_challenged(election, cb)
        assert describe_choices(election, cb) == vector["choices"]


def test_board_vectors_verify():
    doc = _load(BOARD_FILE)
    key = codec.from_document(doc["board_key"], BoardKey)
    leaves = [leaf_hash(e.encode()) for e in doc["entries"]]
    assert [h.hex().upper() for h in leaves] == doc["leaf_hashes"]
    roots = [bytes.fromhex(r) for r in doc["roots"]]
    for v in doc["inclusion_proofs"]:
        proof = [bytes.fromhex(h) for h in v["proof"]]
        verify_inclusion(v["index"], v["size"], leaves[v["index"]], proof, roots[v["size"] - 1])
    for raw in doc["tree_heads"]:
        head = codec.from_document(raw, TreeHead)
        verify_tree_head(key, head)
        assert bytes(head.root) == root_from_leaves(leaves[: head.size])
    receipt = doc["receipt"]
    head = codec.from_document(receipt["tree_head"], TreeHead)
    proof = [bytes.fromhex(h) for h in receipt["inclusion_proof"]]
    verify_inclusion(receipt["entry"], head.size, leaves[receipt["entry"]], proof, bytes(head.root))
