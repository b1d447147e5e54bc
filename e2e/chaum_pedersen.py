"""Chaum-Pedersen proofs of correct decryption (ElectionGuard 2.1 §3.6.3–§3.6.5).

Statement: for a ciphertext (A, B), M = A^s where K = g^s. With commitments (a, b) =
(g^u, A^u), challenge

    c = H_q(H_E; 0x31, ind_c, ind_o, A, B, a, b, M)          (eq. 90)

and response v = u − c·s, a verifier checks a = g^v·K^c and b = A^v·M^c (Verification 10).

With a quorum U of trustees the secret s is never assembled: trustee i holds z_i = P(i),
publishes M_i = A^(z_i) and (a_i, b_i) = (g^(u_i), A^(u_i)) (after first committing to them
with d_i, eq. 88), the commitments and partial decryptions are combined with the Lagrange
coefficients w_i (eq. 85–86, 89), and each trustee answers c_i = c·w_i with
v_i = u_i − c_i·z_i (eq. 91–93). Each v_i can be checked against the trustee's public key
share g^(P(i)) (eq. 94–95), which names a trustee that answered wrongly.

The proof carries its commitments (a, b) (DESIGN.md, difference 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from e2e.batch import Claim, Equation, verify_claims_one_by_one
from e2e.codec import BY_PROOF, public
from e2e.elgamal import Ciphertext, PublicKey, SecretKey
from e2e.group import ElementModP, ElementModQ, Group
from e2e.hash import DOMAIN, H, H_q, HashValue
from e2e.rng import Rng


@public
@dataclass(frozen=True)
class DecryptionProof:
    """Commitments (a, b) and response v of a proof that M = A^s for K = g^s."""

    commitment_a: ElementModP = field(metadata=BY_PROOF)
    commitment_b: ElementModP = field(metadata=BY_PROOF)
    response: ElementModQ


def decryption_challenge(
    h_e: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    a: ElementModP,
    b: ElementModP,
    m: ElementModP,
) -> ElementModQ:
    """c = H_q(H_E; 0x31, ind_c, ind_o, A, B, a, b, M) (eq. 90)."""
    return H_q(m.group, h_e, DOMAIN["decryption_proof"], *indices, ct.alpha, ct.beta, a, b, m)


def prove_decryption(
    h_e: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    secret: SecretKey,
    rng: Rng,
) -> tuple[ElementModP, DecryptionProof]:
    """Single-key decryption: returns M = A^s and its proof (tests, single authority)."""
    return prove_decryption_with(h_e, indices, ct, secret, ct.alpha.group.random_scalar(rng))


def prove_decryption_with(
    h_e: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    secret: SecretKey,
    u: ElementModQ,
) -> tuple[ElementModP, DecryptionProof]:
    """The deterministic core of :func:`prove_decryption` (for test vectors)."""
    group = ct.alpha.group
    m = ct.alpha**secret.s
    a, b = group.g_pow(u), ct.alpha**u
    c = decryption_challenge(h_e, indices, ct, a, b, m)
    return m, DecryptionProof(a, b, u - c * secret.s)


def decryption_claim(
    h_e: HashValue,
    indices: Sequence[int],
    key: PublicKey,
    ct: Ciphertext,
    m: ElementModP,
    proof: DecryptionProof,
    where: str,
) -> Claim:
    """Recompute the challenge and return the two equations of Verification 10."""
    group = key.group
    c = int(decryption_challenge(h_e, indices, ct, proof.commitment_a, proof.commitment_b, m))
    v = int(proof.response)
    eqs = [
        Equation(proof.commitment_a.value, ((key.table, c), (group.g_table, v)), ()),
        Equation(proof.commitment_b.value, (), ((ct.alpha.value, v), (m.value, c))),
    ]
    return Claim(where, "decryption proof", eqs)


def verify_decryption(
    h_e: HashValue,
    indices: Sequence[int],
    key: PublicKey,
    ct: Ciphertext,
    m: ElementModP,
    proof: DecryptionProof,
    where: str = "decryption",
) -> None:
    """Verify that M = A^s for the key K = g^s; raises InvalidProof naming ``where``."""
    verify_claims_one_by_one(key.group, [decryption_claim(h_e, indices, key, ct, m, proof, where)])


# --- the threshold (multi-trustee) form --------------------------------------------------


def lagrange_coefficient(group: Group, i: int, available: Sequence[int]) -> ElementModQ:
    """w_i = ∏_{ℓ ∈ U∖{i}} ℓ/(ℓ − i) mod q (eq. 85)."""
    if i not in available:
        raise ValueError(f"trustee {i} is not among the available trustees")
    num = group.scalar_from_int(1)
    den = group.scalar_from_int(1)
    for ell in available:
        if ell != i:
            num = num * ell
            den = den * (ell - i)
    return num * den.inverse()


def commitment_hash(
    h_e: HashValue,
    indices: Sequence[int],
    i: int,
    ct: Ciphertext,
    a_i: ElementModP,
    b_i: ElementModP,
    m_i: ElementModP,
    available: Sequence[int],
) -> HashValue:
    """d_i = H(H_E; 0x30, ind_c, ind_o, i, A, B, a_i, b_i, M_i, #U, U…) (eq. 88); U ascending."""
    u = sorted(available)
    return H(
        h_e,
        DOMAIN["decryption_commitment"],
        *indices,
        i,
        ct.alpha,
        ct.beta,
        a_i,
        b_i,
        m_i,
        len(u),
        *u,
    )


def share_response(
    u_i: ElementModQ, challenge: ElementModQ, w_i: ElementModQ, z_i: ElementModQ
) -> ElementModQ:
    """v_i = u_i − (c·w_i)·z_i (eq. 91–92)."""
    return u_i - challenge * w_i * z_i


def verify_share_response(
    share_key: ElementModP,
    ct: Ciphertext,
    m_i: ElementModP,
    a_i: ElementModP,
    b_i: ElementModP,
    c_i: ElementModQ,
    v_i: ElementModQ,
    where: str,
) -> None:
    """Check a_i = g^(v_i)·(g^(P(i)))^(c_i) and b_i = A^(v_i)·M_i^(c_i) (eq. 94–95)."""
    group = share_key.group
    eqs = [
        Equation(a_i.value, ((group.g_table, int(v_i)),), ((share_key.value, int(c_i)),)),
        Equation(b_i.value, (), ((ct.alpha.value, int(v_i)), (m_i.value, int(c_i)))),
    ]
    verify_claims_one_by_one(group, [Claim(where, "partial decryption proof", eqs)])


def combine_partials(
    group: Group, partials: dict[int, ElementModP]
) -> tuple[ElementModP, dict[int, ElementModQ]]:
    """M = ∏ M_i^(w_i) over the available trustees (eq. 86); returns M and the w_i."""
    available = sorted(partials)
    ws = {i: lagrange_coefficient(group, i, available) for i in available}
    m = group.multiexp((partials[i], ws[i]) for i in available)
    return m, ws


def random_commitment(
    group: Group, ct: Ciphertext, rng: Rng
) -> tuple[ElementModQ, ElementModP, ElementModP]:
    """A trustee's (u_i, a_i, b_i) = (u_i, g^(u_i), A^(u_i)) (eq. 87)."""
    u = group.random_scalar(rng)
    return u, group.g_pow(u), ct.alpha**u
