"""A few real-size round trips on the 4096-bit standard group."""

import pytest

from e2e import codec
from e2e.batch import verify_claims
from e2e.chaum_pedersen import prove_decryption, verify_decryption
from e2e.dlog import DiscreteLog
from e2e.elgamal import Ciphertext, add, encrypt, keypair
from e2e.errors import InvalidProof
from e2e.hash import H
from e2e.range_proof import RangeProof, prove_range, range_claim

pytestmark = pytest.mark.standard


def test_encrypt_prove_batch_verify_decrypt(standard, rng):
    g = standard
    sk, pk = keypair(g, rng)
    h_i = H(bytes(32), 0x20, 7)
    h_e = H(bytes(32), 0x14, 7)
    votes = [1, 0, 1, 1]
    cts, claims, proofs = [], [], []
    for i, v in enumerate(votes, start=1):
        xi = g.random_scalar(rng)
        ct = encrypt(pk, v, xi)
        proof = prove_range(pk, h_i, (1, i), ct, xi, v, 1, rng)
        # through the published bytes, as a verifier sees them
        ct = codec.decode(codec.encode(ct), Ciphertext, g)
        proof = codec.decode(codec.encode(proof), RangeProof, g)
        cts.append(ct)
        proofs.append(proof)
        claims.append(range_claim(pk, h_i, (1, i), ct, proof, 1, f"voter {i}"))
    verify_claims(g, claims, rng)
    total = add(cts, g)
    m, dp = prove_decryption(h_e, (1, 1), total, sk, rng)
    verify_decryption(h_e, (1, 1), pk, total, m, dp)
    assert DiscreteLog(pk.element, 100).solve(total.beta / m) == 3
    # a proof moved to another voter's ciphertext is caught and named
    moved = codec.decode(codec.encode(proofs[3]), RangeProof, g)
    with pytest.raises(InvalidProof) as e:
        bad = list(claims)
        bad[1] = range_claim(pk, h_i, (1, 2), cts[1], moved, 1, "voter 2")
        verify_claims(g, bad, rng)
    assert e.value.where == "voter 2"
