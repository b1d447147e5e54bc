"""Disjunctive Chaum-Pedersen range proofs (ElectionGuard 2.1 §3.3.7, §3.3.8).

Proves that a ciphertext (α, β) = (g^ξ, K^(ξ+ℓ)) encrypts some ℓ in {0, …, R} without
revealing ℓ. Used with R = 1 for every selection (eq. 39–61) and with R = L for the
aggregate of a contest, its selection limit (eq. 62).

Differences from the spec's wire format (docs/protocol.md, D1): the proof carries its
commitments (a_j, b_j) as well as the challenges c_j and responses v_j, so that many proofs
can be checked in one batch (:mod:`e2e.batch`). The challenge is still the strong
Fiat-Shamir hash of the domain byte 0x24, the identifier hash H_I, the indices, the
ciphertext and every commitment, and the verifier recomputes it:

    c = H_q(H_I; 0x24, ind_c, [ind_o,] α, β, a_0, b_0, …, a_R, b_R),   c = Σ c_j,
    a_j = g^(v_j) · α^(c_j),   b_j = K^(w_j) · β^(c_j),   w_j = v_j − j·c_j.

The prover computes every commitment with fixed-base tables only: for j ≠ ℓ,
a_j = g^(u_j) and b_j = K^(u_j + (ℓ−j)·c_j) (eq. 58), and v_j = u_j − c_j·ξ (eq. 61).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from e2e.batch import Claim, RangeEquations, verify_claims_one_by_one
from e2e.codec import BY_PROOF, public
from e2e.elgamal import Ciphertext, PublicKey
from e2e.errors import InvalidProof
from e2e.group import ElementModP, ElementModQ
from e2e.hash import DOMAIN, H_q, HashValue
from e2e.rng import Rng


@public
@dataclass(frozen=True)
class RangeProof:
    """Commitments (a_j, b_j), challenges c_j and responses v_j for j = 0..R."""

    commitments: tuple[tuple[ElementModP, ElementModP], ...] = field(metadata=BY_PROOF)
    challenges: tuple[ElementModQ, ...]
    responses: tuple[ElementModQ, ...]

    @property
    def limit(self) -> int:
        return len(self.commitments) - 1


def range_challenge(
    h_i: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    commitments: Sequence[tuple[ElementModP, ElementModP]],
) -> ElementModQ:
    """c = H_q(H_I; 0x24, indices, α, β, a_0, b_0, …, a_R, b_R) (eq. 59 / eq. 62)."""
    flat = [x for pair in commitments for x in pair]
    return H_q(ct.alpha.group, h_i, DOMAIN["range_proof"], *indices, ct.alpha, ct.beta, *flat)


def prove_range(
    key: PublicKey,
    h_i: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    nonce: ElementModQ,
    value: int,
    limit: int,
    rng: Rng,
) -> RangeProof:
    """Prove that ct = (g^nonce, K^(nonce+value)) encrypts value ∈ [0, limit].

    ``indices`` is (ind_c, ind_o) for a selection and (ind_c,) for a contest limit.
    Fresh u_j and simulated c_j (j ≠ value) are drawn from ``rng`` for every proof.
    """
    group = key.group
    us = [group.random_scalar(rng) for _ in range(limit + 1)]
    fake = [group.random_scalar(rng) for _ in range(limit + 1)]
    return prove_range_with(key, h_i, indices, ct, nonce, value, limit, us, fake)


def prove_range_with(
    key: PublicKey,
    h_i: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    nonce: ElementModQ,
    value: int,
    limit: int,
    us: Sequence[ElementModQ],
    fake_challenges: Sequence[ElementModQ],
) -> RangeProof:
    """The deterministic core of :func:`prove_range`, for test vectors: given u_j and the
    simulated challenges c_j (the entry at j = value is ignored)."""
    if not 0 <= value <= limit:
        raise ValueError("value outside the range it is to be proven in")
    group = key.group
    commitments = []
    for j in range(limit + 1):
        if j == value:
            commitments.append((group.g_pow(us[j]), key.pow(us[j])))
        else:
            t_j = us[j] + fake_challenges[j] * (value - j)
            commitments.append((group.g_pow(us[j]), key.pow(t_j)))
    c = range_challenge(h_i, indices, ct, commitments)
    c_l = c
    for j in range(limit + 1):
        if j != value:
            c_l = c_l - fake_challenges[j]
    challenges = tuple(c_l if j == value else fake_challenges[j] for j in range(limit + 1))
    responses = tuple(u - c_j * nonce for u, c_j in zip(us, challenges, strict=True))
    return RangeProof(tuple(commitments), challenges, responses)


def range_claim(
    key: PublicKey,
    h_i: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    proof: RangeProof,
    limit: int,
    where: str,
    parts: Sequence[Ciphertext] | None = None,
) -> Claim:
    """Check the cheap parts (shape, challenge hash) and return the equations to batch.

    ``parts``: when ct is the product of these ciphertexts (a contest aggregate), the
    equations use the parts as bases, so in a batch their exponents merge with those of
    the selection proofs and the aggregate costs no extra terms.
    Raises InvalidProof naming ``where`` if the shape or the challenge is wrong.
    """
    what = "range proof" if len(indices) == 2 else "selection-limit proof"
    n = limit + 1
    commitments, challenges, responses = proof.commitments, proof.challenges, proof.responses
    if not (len(commitments) == len(challenges) == len(responses) == n):
        raise InvalidProof(f"{what}: expected {n} commitments, challenges, responses", where)
    group = key.group
    c = range_challenge(h_i, indices, ct, commitments)
    cs = [int(c_j.value) for c_j in challenges]
    if group.scalar_from_int(sum(cs)) != c:
        raise InvalidProof(f"{what}: challenges do not add up to the hash challenge", where)
    if parts is None:
        alphas: tuple = (ct.alpha.value,)
        betas: tuple = (ct.beta.value,)
    else:
        alphas = tuple([pt.alpha.value for pt in parts])
        betas = tuple([pt.beta.value for pt in parts])
    vs = tuple([int(v_j.value) for v_j in responses])
    packed = RangeEquations(
        group.g_table,
        key.table,
        tuple([a_j.value for a_j, _ in commitments]),
        tuple([b_j.value for _, b_j in commitments]),
        vs,
        tuple([v - j * c_j for j, (v, c_j) in enumerate(zip(vs, cs, strict=True))]),
        tuple(cs),
        alphas,
        betas,
    )
    return Claim(where, what, packed=packed)


def verify_range(
    key: PublicKey,
    h_i: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    proof: RangeProof,
    limit: int,
    where: str = "range proof",
) -> None:
    """Verify one range proof on its own; raises InvalidProof on failure."""
    claim = range_claim(key, h_i, indices, ct, proof, limit, where)
    verify_claims_one_by_one(key.group, [claim])
