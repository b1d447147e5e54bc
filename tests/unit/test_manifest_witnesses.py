"""The manifest's witnesses (docs/protocol.md §8.4): every bad field refused by name, and a
manifest without them keeps its bytes (and so its H_B)."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from e2e.board import BoardKey
from e2e.checkpoint import COSIGNATURE_V1, NoteError, parse_note, parse_vkey, vkey
from e2e.hash import HashValue
from e2e.manifest import (
    ManifestError,
    Witnessing,
    WitnessKey,
    manifest_from_canonical,
    manifest_from_json,
    with_board,
    with_witnesses,
)
from watch.witness import public_bytes

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "tsukuba-2025.json"


def raw() -> bytes:
    return public_bytes(Ed25519PrivateKey.generate())


def base():
    m = manifest_from_json(EXAMPLE.read_text(encoding="utf-8"))
    return with_board(m, BoardKey(HashValue(raw())))


def two(quorum: int = 2, origin: str = "city.example/vote") -> Witnessing:
    return Witnessing(
        origin,
        quorum,
        (WitnessKey("a.example/w", HashValue(raw())), WitnessKey("b.example/w", HashValue(raw()))),
    )


def test_a_manifest_names_its_witnesses_and_they_are_in_its_bytes():
    m = base()
    w = with_witnesses(m, two())
    assert manifest_from_canonical(w.canonical_bytes()) == w
    assert b'"witnessing"' in w.canonical_bytes()
    assert b"witnessing" not in m.canonical_bytes()  # absent: the old bytes, the old H_B


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda w, m: dataclasses.replace(w, origin="has space"), "witnessing.origin"),
        (lambda w, m: dataclasses.replace(w, origin="a+b"), "witnessing.origin"),
        (lambda w, m: dataclasses.replace(w, origin="{json"), "witnessing.origin"),
        (lambda w, m: dataclasses.replace(w, quorum=0), "witnessing.quorum"),
        (lambda w, m: dataclasses.replace(w, quorum=3), "witnessing.quorum"),
        (lambda w, m: dataclasses.replace(w, witnesses=()), "witnessing.witnesses"),
        (
            lambda w, m: dataclasses.replace(w, witnesses=(w.witnesses[0], w.witnesses[0])),
            "witnessing.witnesses[1]",
        ),
        (
            lambda w, m: dataclasses.replace(
                w, quorum=1, witnesses=(WitnessKey("bad name", w.witnesses[0].public_key),)
            ),
            "witnessing.witnesses[0].name",
        ),
        (
            lambda w, m: dataclasses.replace(
                w, quorum=1, witnesses=(WitnessKey("b.example/w", m.board.public_key),)
            ),
            "witnessing.witnesses[0]",
        ),
        (
            lambda w, m: dataclasses.replace(
                w, quorum=1, witnesses=(WitnessKey(w.origin, w.witnesses[0].public_key),)
            ),
            "witnessing.witnesses[0].name",
        ),
    ],
)
def test_every_bad_witnessing_field_is_named(change, field):
    m = base()
    with pytest.raises(ManifestError) as e:
        with_witnesses(m, change(two(), m))
    assert e.value.field == field


def test_witnesses_in_an_uploaded_manifest_before_the_board_is_named():
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    key = raw()
    doc["witnessing"] = {
        "origin": "city.example/vote",
        "quorum": 1,
        "witnesses": [{"name": "a.example/w", "public_key": key.hex().upper()}],
    }
    m = manifest_from_json(json.dumps(doc))  # the web flow names the board afterwards
    assert m.board is None and m.witnessing is not None
    # ...and a board with a witness's key is refused when it is named.
    with pytest.raises(ManifestError, match="cannot witness itself"):
        with_board(m, BoardKey(HashValue(key)))


def test_verifier_keys_with_plus_signs_in_their_base64():
    for _ in range(40):  # about half of all keys have a '+' in their base64
        pub = raw()
        name, kind, got = parse_vkey(vkey("w.example/w", COSIGNATURE_V1, pub))
        assert (name, kind, got) == ("w.example/w", COSIGNATURE_V1, pub)
    text = vkey("w.example/w", COSIGNATURE_V1, raw())
    name, hexid, data = text.split("+", 2)
    with pytest.raises(NoteError, match="id does not match"):
        parse_vkey(f"{name}+00000000+{data}")
    with pytest.raises(NoteError):
        parse_vkey("no-separators")


def test_a_lone_surrogate_is_a_malformed_note_not_a_crash():
    with pytest.raises(NoteError, match="not UTF-8"):
        parse_note("city.example/vote\n1\n\ud800\n\n\u2014 x y\n")
