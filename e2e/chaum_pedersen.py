"""Chaum-Pedersen proofs of correct decryption (ElectionGuard 2.1 §3.6.3–§3.6.5).

Statement: for a ciphertext (A, B) and a key X = g^x, the value M equals A^x. With
commitments (a, b) = (g^u, A^u), challenge c and response v = u − c·x, a verifier checks

    a = g^v · X^c   and   b = A^v · M^c          (Verification 10)

Two forms of the challenge:

* one key (X = K, the election key; tests and single-authority use), as EG eq. 90:
  c = H_q(H_E; 0x31, ind_c, ind_o, A, B, a, b, M);
* one trustee's partial decryption M_i = A^(z_i) under its public share X_i = g^(P(i))
  (tohyo difference D4, docs/protocol.md): c_i = H_q(H_E; 0x34, ind_c, ind_o, i, A, B,
  X_i, a_i, b_i, M_i). Each available trustee proves its own partial decryption
  non-interactively, so trustees on separate machines need one round, and the verifier
  names a trustee whose partial decryption is wrong.

The proof carries its commitments (a, b) (difference D1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from e2e.batch import Claim, Equation, verify_claims_one_by_one
from e2e.codec import BY_PROOF, public
from e2e.elgamal import Ciphertext, PublicKey, SecretKey
from e2e.group import ElementModP, ElementModQ, FixedBase
from e2e.hash import DOMAIN, H_q, HashValue
from e2e.rng import Rng


@public
@dataclass(frozen=True)
class DecryptionProof:
    """Commitments (a, b) and response v of a proof that M = A^x for X = g^x."""

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
    trustee: tuple[int, ElementModP] | None = None,
) -> ElementModQ:
    """EG eq. 90, or for trustee (i, X_i) the partial-decryption form (0x34)."""
    group = m.group
    if trustee is None:
        return H_q(group, h_e, DOMAIN["decryption_proof"], *indices, ct.alpha, ct.beta, a, b, m)
    i, x_i = trustee
    return H_q(
        group,
        h_e,
        DOMAIN["partial_decryption_proof"],
        *indices,
        i,
        ct.alpha,
        ct.beta,
        x_i,
        a,
        b,
        m,
    )


def prove_decryption(
    h_e: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    secret: SecretKey,
    rng: Rng,
    trustee: tuple[int, ElementModP] | None = None,
) -> tuple[ElementModP, DecryptionProof]:
    """Return M = A^x and its proof; ``trustee`` = (i, g^x) for a partial decryption."""
    u = ct.alpha.group.random_scalar(rng)
    return prove_decryption_with(h_e, indices, ct, secret, u, trustee)


def prove_decryption_with(
    h_e: HashValue,
    indices: Sequence[int],
    ct: Ciphertext,
    secret: SecretKey,
    u: ElementModQ,
    trustee: tuple[int, ElementModP] | None = None,
) -> tuple[ElementModP, DecryptionProof]:
    """The deterministic core of :func:`prove_decryption` (for test vectors)."""
    group = ct.alpha.group
    m = ct.alpha**secret.s
    a, b = group.g_pow(u), ct.alpha**u
    c = decryption_challenge(h_e, indices, ct, a, b, m, trustee)
    return m, DecryptionProof(a, b, u - c * secret.s)


def decryption_claim(
    h_e: HashValue,
    indices: Sequence[int],
    key: ElementModP | FixedBase | PublicKey,
    ct: Ciphertext,
    m: ElementModP,
    proof: DecryptionProof,
    where: str,
    trustee: int | None = None,
) -> Claim:
    """Recompute the challenge and return the two equations of Verification 10.

    ``key`` is the election key K (a PublicKey or its table) or, with ``trustee`` = i, the trustee's
    public share X_i = g^(P(i)).
    """
    group = m.group
    if isinstance(key, PublicKey):
        key = key.table
    x = key.base if isinstance(key, FixedBase) else key
    t = None if trustee is None else (trustee, x)
    c = int(decryption_challenge(h_e, indices, ct, proof.commitment_a, proof.commitment_b, m, t))
    v = int(proof.response)
    key_term: tuple = ((key, c),) if isinstance(key, FixedBase) else ()
    var_term: tuple = () if isinstance(key, FixedBase) else ((key.value, c),)
    eqs = [
        Equation(proof.commitment_a.value, ((group.g_table, v), *key_term), var_term),
        Equation(proof.commitment_b.value, (), ((ct.alpha.value, v), (m.value, c))),
    ]
    what = "decryption proof" if trustee is None else "partial decryption proof"
    return Claim(where, what, eqs)


def verify_decryption(
    h_e: HashValue,
    indices: Sequence[int],
    key: ElementModP | FixedBase | PublicKey,
    ct: Ciphertext,
    m: ElementModP,
    proof: DecryptionProof,
    where: str = "decryption",
    trustee: int | None = None,
) -> None:
    """Verify that M = A^x for the key X = g^x; raises InvalidProof naming ``where``."""
    claim = decryption_claim(h_e, indices, key, ct, m, proof, where, trustee)
    verify_claims_one_by_one(m.group, [claim])
