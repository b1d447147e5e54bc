"""The canonical codec: round trips, and each kind of bad input gets its specific error."""

import json
import pathlib

import gmpy2
import pytest

from e2e import codec
from e2e.board import BoardKey
from e2e.chaum_pedersen import DecryptionProof
from e2e.elgamal import Ciphertext, SecretKey, encrypt
from e2e.errors import CodecError, InvalidElement, InvalidScalar, ParseError
from e2e.group import STANDARD
from e2e.hash import H, HashValue
from e2e.manifest import (
    Manifest,
    ManifestError,
    manifest_from_canonical,
    manifest_from_json,
    with_board,
)
from e2e.range_proof import RangeProof, prove_range


@pytest.fixture
def proof_doc(group, rng, keys):
    _, pk = keys
    xi = group.random_scalar(rng)
    ct = encrypt(pk, 1, xi)
    pr = prove_range(pk, H(bytes(32), 0x20, 1), (1, 1), ct, xi, 1, 1, rng)
    return ct, pr


def test_round_trip(group, proof_doc):
    ct, pr = proof_doc
    for obj, cls in ((ct, Ciphertext), (pr, RangeProof)):
        data = codec.encode(obj)
        assert codec.decode(data, cls, group) == obj
        doc = json.loads(data)
        assert doc["format"] == "tohyo/1" and doc["type"] == cls.__name__


def test_standard_widths(standard, rng):
    from e2e.elgamal import keypair

    _, pk = keypair(standard, rng)
    ct = encrypt(pk, 0, standard.scalar(5))
    doc = json.loads(codec.encode(ct))
    assert len(doc["alpha"]) == 1024 and doc["alpha"] == doc["alpha"].upper()
    m = DecryptionProof(ct.alpha, ct.beta, standard.scalar(3))
    assert json.loads(codec.encode(m))["response"] == "0" * 63 + "3"


def _mutate(data: bytes, fn) -> bytes:
    doc = json.loads(data)
    fn(doc)
    return codec.dumps(doc)


def _set(path, value):
    def fn(doc):
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value

    return fn


def test_bad_elements(group, proof_doc):
    ct, _ = proof_doc
    data = codec.encode(ct)
    w = 2 * group.p_bytes
    non_res = next(v for v in range(2, 100) if gmpy2.jacobi(v, group.p) == -1)
    outside = int(gmpy2.powmod(7, 2 * group.q, group.p))
    for v in (0, int(group.p) - 1, non_res, outside):
        bad = _mutate(data, _set(["alpha"], format(v, "X").rjust(w, "0")))
        with pytest.raises(InvalidElement, match="alpha"):
            codec.decode(bad, Ciphertext, group)
    for v in (int(group.p), int(group.p) + 1):
        bad = _mutate(data, _set(["beta"], format(v, "X").rjust(w, "0")))
        with pytest.raises(ParseError):
            codec.decode(bad, Ciphertext, group)


def test_bad_hex(group, proof_doc):
    ct, _ = proof_doc
    data = codec.encode(ct)
    alpha = json.loads(data)["alpha"]
    for bad_value, msg in [
        (alpha[1:], "hex digits"),
        ("0" + alpha, "hex digits"),
        (alpha.lower(), "upper-case"),
        (" " + alpha[1:], "upper-case"),
        (alpha[:-1] + "G", "upper-case"),
        ("-" + alpha[1:], "upper-case"),
        (int(alpha, 16), "hex string"),
        (None, "hex string"),
    ]:
        with pytest.raises(CodecError, match=msg):
            codec.decode(_mutate(data, _set(["alpha"], bad_value)), Ciphertext, group)


def test_bad_scalars(group, proof_doc):
    _, pr = proof_doc
    data = codec.encode(pr)
    w = 2 * group.q_bytes
    for v in (int(group.q), 2 ** (4 * w) - 1):
        bad = _mutate(data, _set(["responses", 0], format(v, "X").rjust(w, "0")))
        with pytest.raises(InvalidScalar, match=r"responses\[0\]"):
            codec.decode(bad, RangeProof, group)


def test_bad_commitments_are_refused(group, proof_doc):
    _, pr = proof_doc
    data = codec.encode(pr)
    w = 2 * group.p_bytes
    non_res = next(v for v in range(2, 100) if gmpy2.jacobi(v, group.p) == -1)
    for v in (0, non_res, int(group.p)):
        bad = _mutate(data, _set(["commitments", 1, 0], format(v, "X").rjust(w, "0")))
        with pytest.raises(InvalidElement, match=r"commitments\[1\]\[0\]"):
            codec.decode(bad, RangeProof, group)


def test_structure_errors(group, proof_doc):
    ct, pr = proof_doc
    data = codec.encode(ct)
    cases = [
        (lambda d: d.pop("beta"), "missing field 'beta'"),
        (lambda d: d.update(extra=1), "unexpected field 'extra'"),
        (lambda d: d.update(format="tohyo/0"), "unsupported format"),
        (lambda d: d.pop("format"), "unsupported format"),
        (lambda d: d.update(type="RangeProof"), "expected Ciphertext"),
    ]
    for fn, msg in cases:
        with pytest.raises(CodecError, match=msg):
            codec.decode(_mutate(data, fn), Ciphertext, group)
    pdata = codec.encode(pr)
    with pytest.raises(CodecError, match="expected 2 items"):
        codec.decode(_mutate(pdata, _set(["commitments", 0], ["00"])), RangeProof, group)
    with pytest.raises(CodecError, match="expected a list"):
        codec.decode(_mutate(pdata, _set(["challenges"], "x")), RangeProof, group)


def test_not_json_and_not_canonical(group, proof_doc):
    ct, _ = proof_doc
    data = codec.encode(ct)
    for bad in (b"", b"not json", b"\xff\xfe", b"[]", b"{", b"null", b'"x"'):
        with pytest.raises(CodecError):
            codec.decode(bad, Ciphertext, group)
    doc = json.loads(data)
    spaced = json.dumps(doc, sort_keys=True).encode()  # spaces after separators
    unsorted = json.dumps(dict(reversed(list(doc.items()))), separators=(",", ":")).encode()
    for bad in (spaced, unsorted, data + b"\n", b" " + data):
        with pytest.raises(CodecError, match="canonical"):
            codec.decode(bad, Ciphertext, group)
    dup = data[:-1] + b',"alpha":"00"}'
    with pytest.raises(CodecError, match="duplicate key"):
        codec.decode(dup, Ciphertext, group)
    with pytest.raises(CodecError, match="integers"):
        codec.decode(data[:-1] + b',"x":1.5}', Ciphertext, group)
    with pytest.raises(CodecError):
        codec.decode(data.decode(), Ciphertext, group)  # str, not bytes


def test_secrets_are_never_encoded(group, rng):
    with pytest.raises(CodecError):
        codec.encode(SecretKey(group.scalar(5)))
    with pytest.raises(CodecError):
        codec.encode(group.scalar(5))


def test_batched_decode_names_the_document(group, rng, keys):
    _, pk = keys
    cts = [encrypt(pk, 0, group.random_scalar(rng)) for _ in range(10)]
    datas = [codec.encode(c) for c in cts]
    assert codec.decode_many(datas, Ciphertext, group) == cts
    outside = int(gmpy2.powmod(7, 2 * group.q, group.p))
    datas[6] = _mutate(datas[6], _set(["beta"], format(outside, "X").rjust(2 * group.p_bytes, "0")))
    with pytest.raises(InvalidElement, match=r"\[6\]Ciphertext.beta"):
        codec.decode_many(datas, Ciphertext, group)


def test_group_mismatch_width(proof_doc):
    ct, _ = proof_doc
    with pytest.raises(CodecError, match="hex digits"):
        codec.decode(codec.encode(ct), Ciphertext, STANDARD)


def test_identity_refused_as_a_key_accepted_elsewhere(group, rng):
    from e2e.election import TrusteePublicKey
    from e2e.hash import HashValue
    from trustees.ceremony import new_trustee

    _, pub = new_trustee(group, HashValue(bytes(32)), 1, 2, rng)
    data = codec.encode(pub)
    one = format(1, "X").rjust(2 * group.p_bytes, "0")
    for path in (["communication_key"], ["coefficient_commitments", 1]):
        with pytest.raises(InvalidElement, match="identity element is not a valid key"):
            codec.decode(_mutate(data, _set(path, one)), TrusteePublicKey, group)
    empty = Ciphertext(group.element(1), group.element(1))  # the tally of no ballot
    assert codec.decode(codec.encode(empty), Ciphertext, group) == empty


def test_an_omitted_optional_field_has_one_byte_form():
    """The manifest's board key (OMIT_NONE): absent, the manifest keeps the bytes (and H_B)
    it had before the field existed; present, it is encoded; null is refused."""
    text = (pathlib.Path(__file__).parents[2] / "examples" / "tsukuba-2025.json").read_text()
    m = manifest_from_json(text)
    plain = m.canonical_bytes()
    assert b'"board"' not in plain and manifest_from_canonical(plain) == m
    key = BoardKey(HashValue(bytes(range(32))))
    pinned = with_board(m, key).canonical_bytes()
    assert manifest_from_canonical(pinned).board == key
    doc = json.loads(plain)
    doc["board"] = None
    with pytest.raises(CodecError, match="leave the field out instead of null"):
        codec.from_document(doc, Manifest)
    with pytest.raises(ManifestError, match="names another board's key"):
        with_board(with_board(m, key), BoardKey(HashValue(bytes(32))))
