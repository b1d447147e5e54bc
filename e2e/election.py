"""Election parameters, trustee public keys and the joint key (ElectionGuard 2.1 §3.1–3.2).

H_P = H(ver; 0x00, p, q, g, n, k)                      (eq. 4)
H_B = H(H_P; 0x01, manifest)                           (eq. 5, the canonical manifest bytes)
K   = ∏_i K_{i,0}                                      (eq. 25)
H_E = H(H_B; 0x14, K)                                  (eq. 30 without K̂: difference D3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from e2e.batch import Claim
from e2e.codec import KEY, public
from e2e.elgamal import PublicKey
from e2e.errors import VerificationError
from e2e.group import GROUPS, ElementModP, Group
from e2e.hash import DOMAIN, H, HashValue, parameter_base_hash
from e2e.manifest import Manifest
from e2e.schnorr import SchnorrProof, schnorr_claim


@public
@dataclass(frozen=True)
class TrusteePublicKey:
    """What trustee i publishes in the key ceremony: K_{i,0..k-1}, κ_i and the proof."""

    index: int
    coefficient_commitments: tuple[ElementModP, ...] = field(metadata=KEY)
    communication_key: ElementModP = field(metadata=KEY)
    proof: SchnorrProof

    @property
    def key(self) -> ElementModP:
        """K_i = K_{i,0}, the trustee's share of the joint key."""
        return self.coefficient_commitments[0]


@public
@dataclass(frozen=True)
class ElectionParameters:
    """The published parameters of one election (record file parameters.json)."""

    group: str
    p: str
    q: str
    r: str
    g: str
    trustees: int
    quorum: int
    parameter_base_hash: HashValue
    base_hash: HashValue
    election_key: ElementModP = field(metadata=KEY)
    extended_base_hash: HashValue


def group_constants(group: Group) -> dict[str, str]:
    return {k: format(int(getattr(group, k)), "X") for k in ("p", "q", "r", "g")}


def group_name(group: Group) -> str:
    for name, g in GROUPS.items():
        if g == group:
            return name
    raise ValueError("unknown group")


def base_hash(group: Group, manifest: Manifest) -> tuple[HashValue, HashValue]:
    """(H_P, H_B) for this manifest."""
    h_p = parameter_base_hash(group, manifest.trustees, manifest.quorum)
    return h_p, H(h_p, DOMAIN["base_hash"], manifest.canonical_bytes().decode("utf-8"))


def extended_base_hash(h_b: HashValue, key: ElementModP) -> HashValue:
    """H_E = H(H_B; 0x14, K)."""
    return H(h_b, DOMAIN["extended_base_hash"], key)


def joint_key(group: Group, publics: Sequence[TrusteePublicKey]) -> ElementModP:
    """K = ∏ K_i (eq. 25)."""
    return group.product(t.key for t in publics)


def trustee_key_claim(
    h_p: HashValue, k: int, trustee: TrusteePublicKey, where: str | None = None
) -> Claim:
    """Shape checks and the equations of trustee i's Schnorr proof (Verification 2)."""
    where = where or f"trustee {trustee.index}"
    if len(trustee.coefficient_commitments) != k:
        raise VerificationError(f"expected {k} coefficient commitments", where)
    publics = [*trustee.coefficient_commitments, trustee.communication_key]
    return schnorr_claim(h_p, trustee.index, publics, trustee.proof, where)


class Election:
    """Everything a ballot or a verifier needs, derived once per election.

    Builds the fixed-base table of the election key on creation.
    """

    def __init__(self, group: Group, manifest: Manifest, key: ElementModP) -> None:
        self.group = group
        self.manifest = manifest
        self.h_p, self.h_b = base_hash(group, manifest)
        self.key = PublicKey(key)
        self.h_e = extended_base_hash(self.h_b, key)

    def parameters(self) -> ElectionParameters:
        return ElectionParameters(
            group=group_name(self.group),
            **group_constants(self.group),
            trustees=self.manifest.trustees,
            quorum=self.manifest.quorum,
            parameter_base_hash=self.h_p,
            base_hash=self.h_b,
            election_key=self.key.element,
            extended_base_hash=self.h_e,
        )


def check_trustee_keys(
    group: Group, h_p: HashValue, n: int, k: int, publics: Sequence[TrusteePublicKey]
) -> dict[int, TrusteePublicKey]:
    """One valid public key for each trustee 1..n (Verification 2); indexed by trustee.

    Raises VerificationError naming the trustee.
    """
    from e2e.batch import verify_claims

    by_index: dict[int, TrusteePublicKey] = {}
    for t in publics:
        where = f"trustee {t.index}"
        if not 1 <= t.index <= n:
            raise VerificationError(f"index outside 1..{n}", where)
        if t.index in by_index:
            raise VerificationError("two public keys for the same trustee", where)
        by_index[t.index] = t
    missing = sorted(set(range(1, n + 1)) - by_index.keys())
    if missing:
        raise VerificationError("public key missing", f"trustee {missing[0]}")
    verify_claims(group, [trustee_key_claim(h_p, k, t) for t in by_index.values()])
    return dict(sorted(by_index.items()))
