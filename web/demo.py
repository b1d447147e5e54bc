"""``tohyo demo``: a small end-to-end run of the cryptographic core with one key.

Until the election pipeline lands, the demo encrypts a handful of 0/1 votes with range
proofs, verifies the proofs in one batch, multiplies the ciphertexts, decrypts only the
total with a Chaum-Pedersen proof, and checks that the total equals what was cast.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from e2e.batch import verify_claims
from e2e.chaum_pedersen import prove_decryption, verify_decryption
from e2e.dlog import DiscreteLog
from e2e.elgamal import add, encrypt, keypair
from e2e.group import Group
from e2e.hash import H, HashValue, parameter_base_hash
from e2e.range_proof import prove_range, range_claim
from e2e.rng import DeterministicRng, Rng, SystemRng


def core_demo(group: Group, seed: str | None, echo: Callable[[str], None]) -> int:
    """Run the demo; returns the decrypted total (equal to the votes cast, or it raises)."""
    rng: Rng = DeterministicRng(seed) if seed is not None else SystemRng()
    t0 = time.perf_counter()
    h_p = parameter_base_hash(group, 1, 1)
    h_e = H(h_p, 0x14, b"demo")
    h_i = HashValue(H(h_e, 0x20, b"demo ballot"))
    secret, key = keypair(group, rng)
    echo(f"group: {group.name}")
    echo(f"H_P = {h_p.hex_upper()}")
    votes = [1, 0, 1, 1, 0, 1, 0]
    ballots = []
    for i, v in enumerate(votes, start=1):
        xi = group.random_scalar(rng)
        ct = encrypt(key, v, xi)
        proof = prove_range(key, h_i, (1, i), ct, xi, v, 1, rng)
        ballots.append((ct, proof))
        echo(f"voter {i}: encrypted a vote with its 0/1 range proof (alpha {ct.alpha!r})")
    claims = [
        range_claim(key, h_i, (1, i), ct, pr, 1, f"voter {i}")
        for i, (ct, pr) in enumerate(ballots, start=1)
    ]
    verify_claims(group, claims, rng)
    echo(f"verified {len(claims)} range proofs in one batch")
    total_ct = add((ct for ct, _ in ballots), group)
    m, proof = prove_decryption(h_e, (1, 1), total_ct, secret, rng)
    verify_decryption(h_e, (1, 1), key, total_ct, m, proof, "total")
    total = DiscreteLog(key.element, 10**4).solve(total_ct.beta / m)
    echo("decrypted only the product of the ciphertexts, with a verified decryption proof")
    echo(f"total = {total} (cast: {sum(votes)}); elapsed {time.perf_counter() - t0:.2f} s")
    if total != sum(votes):
        raise SystemExit("demo failed: the decrypted total differs from the votes cast")
    return total
