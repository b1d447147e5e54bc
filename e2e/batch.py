"""Batch verification of proof equations by a random linear combination.

Every proof in tohyo reduces to equations of the form

    X = f_1^e_1 · f_2^e_2 · … · B_1^d_1 · B_2^d_2 · …

where X is a commitment published with the proof (docs/protocol.md, D1), the f are
fixed bases with window tables (g, K) and the B are other group elements (ciphertexts,
coefficient commitments, partial decryptions). A batch of N equations is checked at once
by drawing independent random 64-bit weights ρ_k and testing

    ∏_k X_k^ρ_k · ∏_B B^(−Σ_k ρ_k d_{k,B}) = ∏_f f^(Σ_k ρ_k e_{k,f})

with one multi-exponentiation on the left and one fixed-base exponentiation per fixed base
on the right. Exponents of the same base B in different equations are merged first, so a
ciphertext used by its selection proof and by its contest-limit proof costs one term.

Soundness: all B and f are in the order-q subgroup (checked when parsed), and every X is
checked to be a quadratic residue, so each equation's error term δ_k = X_k^(-1)·(right side)
lies in the group of quadratic residues, of order q·r' with q and r' = r/2 both large
primes. If some δ_k ≠ 1, the combination is 1 with probability at most 2^-63 over the ρ_k
(Bellare–Garay–Rabin small-exponent test). If the batch fails, :func:`verify_claims`
checks each claim on its own and names the first bad one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from gmpy2 import mpz, powmod

from e2e.errors import InvalidProof
from e2e.group import FixedBase, Group, multiexp_raw
from e2e.rng import Rng, SystemRng


class Equation(NamedTuple):
    """lhs = ∏ fixed[i].base^fixed_exp[i] · ∏ term_base^term_exp (all mod p).

    A named tuple rather than a frozen dataclass: a ballot makes 48 of them, and tuple
    construction is several times cheaper.
    """

    lhs: mpz
    fixed: tuple[tuple[FixedBase, int], ...]
    terms: tuple[tuple[mpz, int], ...]

    def holds(self, group: Group) -> bool:
        """Check this one equation directly."""
        p = group.p
        r = mpz(1)
        for fb, e in self.fixed:
            r = r * fb.pow_raw(e % group.q) % p
        for b, e in self.terms:
            r = r * powmod(b, e % group.q, p) % p
        return r == self.lhs


@dataclass
class Claim:
    """The equations of one proof, with the name of the object it belongs to."""

    where: str
    what: str
    equations: list[Equation] = field(default_factory=list)


class Batch:
    """Accumulates equations and checks them all with one multi-exponentiation."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self._lhs: list[mpz] = []
        self._weights: list[int] = []
        self._fixed: dict[int, tuple[FixedBase, int]] = {}
        self._terms: dict[mpz, int] = {}
        self._pending: list[Equation] = []
        self._members: list[mpz] = []
        self._rng: Rng = SystemRng()

    def __len__(self) -> int:
        return len(self._lhs) + len(self._pending)

    def add(self, eq: Equation, rng: Rng) -> None:
        self._pending.append(eq)
        self._rng = rng

    def add_members(self, values: Sequence[mpz], rng: Rng) -> None:
        """Also test that these values (already range- and Jacobi-checked) are in the
        order-q subgroup, inside the same multi-exponentiation.

        Each such B gets q·e_B (e_B random, 64 bits) added to its exponent. If some B has a
        component of order r' (the only other possibility for a quadratic residue), that
        component is raised to q·e_B, which for fixed other choices hits the one value the
        equation needs with probability at most 2^-64; if all are members, q·e_B changes
        nothing. This saves a separate membership test (docs/protocol.md §5).
        """
        self._members.extend(values)
        self._rng = rng

    def _absorb(self) -> None:
        """Give every pending equation its random weight (all drawn at once) and merge it."""
        eqs, self._pending = self._pending, []
        if not eqs:
            return
        # One draw for all weights: 64 random bits each, forced odd (never zero).
        pool = self._rng.randbits(64 * len(eqs))
        mask = (1 << 64) - 1
        terms = self._terms
        for k, eq in enumerate(eqs):
            rho = ((pool >> (64 * k)) & mask) | 1
            self._lhs.append(eq.lhs)
            self._weights.append(rho)
            for fb, e in eq.fixed:
                key = id(fb)
                prev = self._fixed.get(key)
                self._fixed[key] = (fb, (prev[1] if prev else 0) + rho * e)
            for base, e in eq.terms:
                terms[base] = terms.get(base, 0) + rho * e

    def holds(self) -> bool:
        self._absorb()
        g = self.group
        p, q = g.p, g.q
        if not self._lhs and not self._members:
            return True
        bases = list(self._lhs)
        exps: list[int] = list(self._weights)
        extra: dict[mpz, int] = {}
        if self._members:
            pool = self._rng.randbits(64 * len(self._members))
            mask = (1 << 64) - 1
            for k, m in enumerate(self._members):
                extra[m] = extra.get(m, 0) + q * (((pool >> (64 * k)) & mask) | 1)
        for b, e in self._terms.items():
            bases.append(b)
            exps.append((-e) % q + extra.pop(b, 0))
        for b, e in extra.items():  # members that appear in no equation
            bases.append(b)
            exps.append(e)
        left = multiexp_raw(p, bases, exps)
        right = mpz(1)
        for fb, e in self._fixed.values():
            right = right * fb.pow_raw(e % q) % p
        return left == right


def verify_claims(group: Group, claims: Sequence[Claim], rng: Rng | None = None) -> None:
    """Check all claims in one batch; on failure find and raise for the first bad claim."""
    rng = rng or SystemRng()
    batch = Batch(group)
    for claim in claims:
        for eq in claim.equations:
            batch.add(eq, rng)
    if batch.holds():
        return
    verify_claims_one_by_one(group, claims)
    # Unreachable unless the batch test itself erred; never accept in that case.
    raise InvalidProof("batch verification failed but no single proof failed")


def verify_claims_one_by_one(group: Group, claims: Sequence[Claim]) -> None:
    """Check each claim's equations directly; raise InvalidProof naming the first bad one."""
    for claim in claims:
        for eq in claim.equations:
            if not eq.holds(group):
                raise InvalidProof(f"{claim.what}: proof equation does not hold", claim.where)
