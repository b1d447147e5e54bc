"""Schnorr proofs of knowledge for the key ceremony (ElectionGuard 2.1 §3.2.2, eq. 10–11).

Trustee i proves knowledge of its polynomial coefficients a_{i,j} (K_{i,j} = g^(a_{i,j}),
0 <= j < k) and of its communication secret ζ_i (κ_i = g^(ζ_i)) in one compact proof:

    h_{i,j} = g^(u_{i,j}),   c_i = H_q(H_P; 0x10, "pk_vote", i, K_{i,0..k-1}, κ_i, h_{i,0..k}),
    v_{i,j} = u_{i,j} − c_i·a_{i,j}   (and v_{i,k} = u_{i,k} − c_i·ζ_i).

Verification: h_{i,j} = g^(v_{i,j}) · K_{i,j}^(c_i) with K_{i,k} := κ_i. The proof carries
the commitments h (docs/protocol.md, D1); the challenge is recomputed from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from e2e.batch import Claim, Equation, verify_claims_one_by_one
from e2e.codec import BY_PROOF, public
from e2e.errors import InvalidProof
from e2e.group import ElementModP, ElementModQ, Group
from e2e.hash import DOMAIN, H_q, HashValue
from e2e.rng import Rng

LABEL_VOTE = b"pk_vote"


@public
@dataclass(frozen=True)
class SchnorrProof:
    """Commitments h_0..h_k and responses v_0..v_k of a compact Schnorr proof."""

    commitments: tuple[ElementModP, ...] = field(metadata=BY_PROOF)
    responses: tuple[ElementModQ, ...]


def schnorr_challenge(
    h_p: HashValue,
    index: int,
    publics: Sequence[ElementModP],
    commitments: Sequence[ElementModP],
    label: bytes = LABEL_VOTE,
) -> ElementModQ:
    """c_i = H_q(H_P; 0x10, label, i, K_{i,0..k-1}, κ_i, h_{i,0..k}) (eq. 11)."""
    group = publics[0].group
    return H_q(group, h_p, DOMAIN["schnorr_coefficients"], label, index, *publics, *commitments)


def prove_schnorr(
    group: Group,
    h_p: HashValue,
    index: int,
    secrets_: Sequence[ElementModQ],
    rng: Rng,
    label: bytes = LABEL_VOTE,
) -> SchnorrProof:
    """Prove knowledge of every secret x_j behind the public values g^(x_j), in order.

    Fresh nonces u_j come from ``rng`` on every call: a nonce used twice would reveal x_j.
    """
    us = [group.random_scalar(rng) for _ in secrets_]
    return prove_schnorr_with(group, h_p, index, secrets_, us, label)


def prove_schnorr_with(
    group: Group,
    h_p: HashValue,
    index: int,
    secrets_: Sequence[ElementModQ],
    us: Sequence[ElementModQ],
    label: bytes = LABEL_VOTE,
) -> SchnorrProof:
    """The deterministic core of :func:`prove_schnorr` (for test vectors)."""
    publics = [group.g_pow(x) for x in secrets_]
    hs = tuple(group.g_pow(u) for u in us)
    c = schnorr_challenge(h_p, index, publics, hs, label)
    return SchnorrProof(hs, tuple(u - c * x for u, x in zip(us, secrets_, strict=True)))


def schnorr_claim(
    h_p: HashValue,
    index: int,
    publics: Sequence[ElementModP],
    proof: SchnorrProof,
    where: str,
    label: bytes = LABEL_VOTE,
) -> Claim:
    """Check the shape and return the equations h_j = g^(v_j)·X_j^c to batch."""
    if not publics:
        raise InvalidProof("Schnorr proof: no public values", where)
    if not len(proof.commitments) == len(proof.responses) == len(publics):
        raise InvalidProof("Schnorr proof: wrong number of commitments or responses", where)
    group = publics[0].group
    c = int(schnorr_challenge(h_p, index, publics, proof.commitments, label))
    g_table = group.g_table
    eqs = [
        Equation(h.value, ((g_table, int(v)),), ((x.value, c),))
        for h, v, x in zip(proof.commitments, proof.responses, publics, strict=True)
    ]
    return Claim(where, "Schnorr proof of knowledge", eqs)


def verify_schnorr(
    h_p: HashValue,
    index: int,
    publics: Sequence[ElementModP],
    proof: SchnorrProof,
    where: str = "Schnorr proof",
    label: bytes = LABEL_VOTE,
) -> None:
    """Verify one compact Schnorr proof; raises InvalidProof naming ``where``."""
    claim = schnorr_claim(h_p, index, publics, proof, where, label)
    verify_claims_one_by_one(publics[0].group, [claim])
