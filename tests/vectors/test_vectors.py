"""The vector files pin hashes, ciphertexts and proofs; they must still verify and match."""

import json

import pytest

from e2e import codec
from e2e.chaum_pedersen import DecryptionProof, verify_decryption
from e2e.elgamal import Ciphertext, PublicKey
from e2e.range_proof import RangeProof, verify_range
from e2e.schnorr import SchnorrProof, verify_schnorr
from tests.vectors.generate import FILES, HERE, build, render


@pytest.mark.parametrize("name", sorted(FILES))
def test_files_are_reproduced_exactly(name):
    assert (HERE / name).read_text(encoding="utf-8") == render(build(name, FILES[name]))


@pytest.mark.parametrize("name", sorted(FILES))
def test_vectors_verify_from_the_file_alone(name):
    group = FILES[name]
    doc = json.loads((HERE / name).read_text(encoding="utf-8"))
    assert int(doc["parameters"]["p"], 16) == group.p
    key = PublicKey(group.element(int(doc["public_key"], 16)))
    for rp in doc["range_proofs"]:
        ct = codec.from_document(rp["ciphertext"], Ciphertext, group)
        proof = codec.from_document(rp["proof"], RangeProof, group)
        h_i = bytes.fromhex(rp["h_i"])
        verify_range(key, h_i, tuple(rp["indices"]), ct, proof, rp["limit"])
    s = doc["schnorr"]
    publics = [group.element(int(x, 16)) for x in s["publics"]]
    verify_schnorr(
        bytes.fromhex(s["h_p"]),
        s["index"],
        publics,
        codec.from_document(s["proof"], SchnorrProof, group),
    )
    d = doc["decryption"]
    ct = codec.from_document(d["ciphertext"], Ciphertext, group)
    m = group.element(int(d["m"], 16))
    proof = codec.from_document(d["proof"], DecryptionProof, group)
    verify_decryption(bytes.fromhex(d["h_e"]), tuple(d["indices"]), key, ct, m, proof)
    assert ct.beta / m == key.pow(d["value"])
