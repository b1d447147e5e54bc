"""The checkpoint vectors: reproduced byte for byte, and each verdict reached again from the
file alone by e2e/checkpoint.py's verify_witnessed and parse_vkey (two of the witnesses'
verifier keys have a '+' in their base64)."""

import json

import pytest

from e2e import codec
from e2e.board import BoardKey, TreeHead, verify_tree_head
from e2e.checkpoint import (
    COSIGNATURE_V1,
    ED25519,
    NoteError,
    cosigned_message,
    parse_checkpoint,
    parse_note,
    parse_vkey,
    verify_witnessed,
)
from e2e.manifest import Witnessing
from tests.vectors.generate import CHECKPOINT_FILE, HERE, build_checkpoint, render


def _load():
    return json.loads((HERE / CHECKPOINT_FILE).read_text(encoding="utf-8"))


def _witnessing(doc):
    """The manifest's witnessing (a nested object there: read as a document of its own)."""
    top = {"format": codec.FORMAT, "type": "Witnessing", **doc["witnessing"]}
    return codec.from_document(top, Witnessing)


def test_checkpoint_file_is_reproduced_exactly():
    assert (HERE / CHECKPOINT_FILE).read_text(encoding="utf-8") == render(build_checkpoint())


def test_keys_and_checkpoint_text():
    doc = _load()
    board_key = bytes(codec.from_document(doc["board_key"], BoardKey).public_key)
    w = _witnessing(doc)
    assert parse_vkey(doc["board_vkey"]) == (w.origin, ED25519, board_key)
    assert doc["board_vkey"].split("+")[1] == doc["board_key_id"]
    manifest = dict(w.keys())
    for x in doc["witnesses"]:
        name, kind, key = parse_vkey(x["vkey"])
        assert (name, kind) == (x["name"], COSIGNATURE_V1)
        assert x["vkey"].split("+")[1] == x["key_id"]
        assert (manifest.get(name) == key) == x["in_manifest"]
    head = codec.from_document(doc["tree_heads"][-1], TreeHead)
    verify_tree_head(codec.from_document(doc["board_key"], BoardKey), head)
    cp = parse_checkpoint(doc["checkpoint"])
    assert (cp.origin, cp.size, cp.root) == (w.origin, head.size, bytes(head.root))
    assert (
        cosigned_message(doc["checkpoint"], doc["cosigned_at"]).decode() == doc["cosigned_message"]
    )


def _check(note, head, w, board_key, expect):
    """The verdict again, by verify_witnessed: it passes exactly when the head is witnessed;
    short of the quorum it names how many cosigned; otherwise it raises the same error."""
    if "error" in expect and "is not the tree head of size" in expect["error"]:
        # The one check verify_witnessed leaves to its caller: the note is the receipt's head.
        verify_witnessed(note, w.origin, board_key, w.keys(), w.quorum)
        cp = parse_checkpoint(parse_note(note).text)
        assert (cp.size, cp.root.hex().upper()) != (head["size"], head["root"])
        return
    if "error" in expect:
        with pytest.raises(NoteError) as e:
            verify_witnessed(note, w.origin, board_key, w.keys(), w.quorum)
        assert str(e.value) == expect["error"]
        return
    if expect["witnessed"]:
        got = verify_witnessed(note, w.origin, board_key, w.keys(), w.quorum)
        assert list(got.witnesses) == expect["cosigners"]
        assert (got.checkpoint.size, got.checkpoint.root.hex().upper()) == (
            expect["size"],
            expect["root"],
        )
    else:
        n = len(expect["cosigners"])
        with pytest.raises(NoteError, match=f"cosigned by {n} of the {w.quorum} witnesses"):
            verify_witnessed(note, w.origin, board_key, w.keys(), w.quorum)
    assert (expect["size"], expect["root"]) == (head["size"], head["root"])


def test_every_note_gets_its_verdict():
    doc = _load()
    board_key = bytes(codec.from_document(doc["board_key"], BoardKey).public_key)
    w = _witnessing(doc)
    kinds = {"witnessed": 0, "not": 0, "error": 0}
    for case in doc["notes"]:
        expect = case["expect"]
        _check(case["note"], doc["tree_heads"][case["head"]], w, board_key, expect)
        kind = "error" if "error" in expect else "witnessed" if expect["witnessed"] else "not"
        kinds[kind] += 1
    assert all(kinds.values()), kinds
    for case in doc["receipts"]:
        receipt = case["receipt"]
        _check(receipt["checkpoint"], receipt["tree_head"], w, board_key, case["expect"])
