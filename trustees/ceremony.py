"""The key ceremony (ElectionGuard 2.1 §3.2.2), as pure functions over message types.

Each trustee i of n (quorum k):

1. :func:`new_trustee` draws its polynomial P_i (k coefficients a_{i,j}) and communication
   secret ζ_i, and publishes :class:`~e2e.election.TrusteePublicKey` (K_{i,j} = g^(a_{i,j}),
   κ_i = g^(ζ_i), and one compact Schnorr proof of all of them).
2. After checking every other trustee's public key, :func:`encrypt_share` sends P_i(ℓ) to each
   other trustee ℓ, encrypted to κ_ℓ (eq. 15–22):
   (α, β) = (g^ξ, κ_ℓ^ξ); k = H(H_P; 0x11, i, ℓ, κ_ℓ, α, β);
   k_1 = HMAC(k, 0x01 ∥ "share_enc_keys" ∥ 0x00 ∥ "share_encrypt" ∥ b(i,4) ∥ b(ℓ,4) ∥ 0x0100);
   C_1 = b(P_i(ℓ), 32) ⊕ k_1, and a Schnorr proof of ξ binding C_0 = α and C_1.
3. :func:`decrypt_share` checks the proof, decrypts and checks g^(P_i(ℓ)) against the
   sender's commitments (eq. 14); a bad share raises :class:`ShareError` naming the sender.
4. :func:`finish` adds the shares: z_ℓ = Σ_i P_i(ℓ) (eq. 24), the trustee's key share.

Without K̂ (difference D3) only one 32-byte share is encrypted, so the KDF asks for 256 bits
(length field 0x0100 instead of 0x0200).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from e2e.codec import BY_PROOF, public
from e2e.election import TrusteePublicKey, check_trustee_keys
from e2e.errors import TohyoError, VerificationError
from e2e.group import ElementModP, ElementModQ, Group
from e2e.hash import DOMAIN, H, H_q, HashValue
from e2e.rng import Rng
from e2e.schnorr import prove_schnorr
from e2e.threshold import polynomial_value, public_share


class ShareError(TohyoError):
    """A trustee's share or public key is bad; ``trustee`` names the culprit."""

    def __init__(self, trustee: int, message: str) -> None:
        super().__init__(f"trustee {trustee}: {message}")
        self.trustee = trustee


@public
@dataclass(frozen=True)
class NonceProof:
    """Schnorr proof of the share-encryption nonce ξ (eq. 22), with its commitment γ."""

    commitment: ElementModP = field(metadata=BY_PROOF)
    response: ElementModQ


@public
@dataclass(frozen=True)
class EncryptedShare:
    """P_sender(recipient) encrypted to the recipient's communication key."""

    sender: int
    recipient: int
    alpha: ElementModP
    data: HashValue
    proof: NonceProof


class TrusteeSecrets:
    """A trustee's secrets. Never published; stored only encrypted (trustees.keystore)."""

    __slots__ = ("index", "coefficients", "zeta", "received", "share")

    def __init__(
        self,
        index: int,
        coefficients: Sequence[ElementModQ],
        zeta: ElementModQ,
        received: Mapping[int, ElementModQ] | None = None,
        share: ElementModQ | None = None,
    ) -> None:
        self.index = index
        self.coefficients = list(coefficients)
        self.zeta = zeta
        self.received = dict(received or {})
        self.share = share

    def __repr__(self) -> str:
        return f"TrusteeSecrets(index={self.index}, <hidden>)"


def new_trustee(
    group: Group, h_p: HashValue, index: int, quorum: int, rng: Rng
) -> tuple[TrusteeSecrets, TrusteePublicKey]:
    """Step 1: draw the polynomial and communication key; publish commitments and proof."""
    if index < 1:
        raise ValueError("trustee indices start at 1")
    coefficients = [group.random_scalar(rng) for _ in range(quorum)]
    zeta = group.random_scalar(rng)
    proof = prove_schnorr(group, h_p, index, [*coefficients, zeta], rng)
    public_key = TrusteePublicKey(
        index=index,
        coefficient_commitments=tuple(group.g_pow(a) for a in coefficients),
        communication_key=group.g_pow(zeta),
        proof=proof,
    )
    return TrusteeSecrets(index, coefficients, zeta), public_key


def check_public_keys(
    group: Group, h_p: HashValue, n: int, k: int, publics: Sequence[TrusteePublicKey]
) -> dict[int, TrusteePublicKey]:
    """Check that there is one valid public key for each trustee 1..n; index them."""
    try:
        return check_trustee_keys(group, h_p, n, k, publics)
    except VerificationError as e:
        trustee = int(e.where.split()[-1]) if e.where and e.where.startswith("trustee ") else 0
        raise ShareError(trustee, e.reason) from None


def _share_key(
    h_p: HashValue,
    sender: int,
    recipient: int,
    kappa: ElementModP,
    alpha: ElementModP,
    beta: ElementModP,
) -> bytes:
    k = H(h_p, DOMAIN["share_key"], sender, recipient, kappa, alpha, beta)
    label, context = b"share_enc_keys", b"share_encrypt"
    info = b"\x01" + label + b"\x00" + context
    info += sender.to_bytes(4, "big") + recipient.to_bytes(4, "big") + b"\x01\x00"
    return hmac.new(k, info, hashlib.sha256).digest()


def _nonce_challenge(
    group: Group, h_p: HashValue, share: EncryptedShare | tuple, gamma: ElementModP
) -> ElementModQ:
    sender, recipient, alpha, data = share
    return H_q(group, h_p, DOMAIN["share_encryption_proof"], sender, recipient, gamma, alpha, data)


def encrypt_share(
    group: Group,
    h_p: HashValue,
    secrets_: TrusteeSecrets,
    recipient: TrusteePublicKey,
    rng: Rng,
) -> EncryptedShare:
    """Step 2: encrypt P_i(ℓ) for trustee ℓ."""
    i, ell = secrets_.index, recipient.index
    if i == ell:
        raise ValueError("a trustee keeps its own share")
    value = polynomial_value(group, secrets_.coefficients, ell)
    xi = group.random_scalar(rng)
    alpha = group.g_pow(xi)
    beta = recipient.communication_key**xi
    k1 = _share_key(h_p, i, ell, recipient.communication_key, alpha, beta)
    data = HashValue(
        bytes(x ^ y for x, y in zip(value.to_bytes().rjust(32, b"\0"), k1, strict=True))
    )
    u = group.random_scalar(rng)
    gamma = group.g_pow(u)
    c = _nonce_challenge(group, h_p, (i, ell, alpha, data), gamma)
    return EncryptedShare(i, ell, alpha, data, NonceProof(gamma, u - c * xi))


def decrypt_share(
    group: Group,
    h_p: HashValue,
    secrets_: TrusteeSecrets,
    share: EncryptedShare,
    sender: TrusteePublicKey,
) -> ElementModQ:
    """Step 3: check and decrypt a share sent to this trustee; ShareError names the sender."""
    i, ell = share.sender, share.recipient
    if ell != secrets_.index or i != sender.index or i == ell:
        raise ShareError(i, "share is not addressed to this trustee")
    gamma = share.proof.commitment
    c = _nonce_challenge(group, h_p, (i, ell, share.alpha, share.data), gamma)
    if group.g_pow(share.proof.response) * (share.alpha**c) != gamma:
        raise ShareError(i, "share encryption proof does not verify")
    beta = share.alpha**secrets_.zeta
    kappa = group.g_pow(secrets_.zeta)
    k1 = _share_key(h_p, i, ell, kappa, share.alpha, beta)
    raw = int.from_bytes(bytes(x ^ y for x, y in zip(share.data, k1, strict=True)), "big")
    if raw >= group.q:
        raise ShareError(i, "share does not decrypt to a scalar")
    value = group.scalar(raw)
    if group.g_pow(value) != public_share(group, [sender.coefficient_commitments], ell):
        raise ShareError(i, "share does not match the sender's published commitments")
    return value


def finish(
    group: Group, secrets_: TrusteeSecrets, received: Mapping[int, ElementModQ], n: int
) -> ElementModQ:
    """Step 4: z_ℓ = Σ_i P_i(ℓ) once a share from every other trustee has been checked."""
    missing = sorted(set(range(1, n + 1)) - {secrets_.index} - set(received))
    if missing:
        raise ShareError(missing[0], "share missing")
    own = polynomial_value(group, secrets_.coefficients, secrets_.index)
    z = own
    for v in received.values():
        z = z + v
    secrets_.received = dict(received)
    secrets_.share = z
    return z


def run_ceremony(
    group: Group, h_p: HashValue, n: int, k: int, rng: Rng
) -> tuple[list[TrusteeSecrets], list[TrusteePublicKey]]:
    """The whole ceremony in one process (demo and tests); each step as the trustees do it."""
    pairs = [new_trustee(group, h_p, i, k, rng) for i in range(1, n + 1)]
    secrets_list = [s for s, _ in pairs]
    publics = [p for _, p in pairs]
    by_index = check_public_keys(group, h_p, n, k, publics)
    outbox = [
        encrypt_share(group, h_p, s, by_index[ell], rng)
        for s in secrets_list
        for ell in by_index
        if ell != s.index
    ]
    for s in secrets_list:
        received = {
            sh.sender: decrypt_share(group, h_p, s, sh, by_index[sh.sender])
            for sh in outbox
            if sh.recipient == s.index
        }
        finish(group, s, received, n)
    return secrets_list, publics
