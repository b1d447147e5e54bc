"""Threshold arithmetic (ElectionGuard 2.1 §3.2.2 eq. 14, §3.6.4 eq. 85–86).

Shares z_i = P(i) of the implicit secret s = P(0) are never combined; only the partial
decryptions M_i = A^(z_i) are, with Lagrange coefficients of the available trustees U.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from e2e.group import ElementModP, ElementModQ, Group


def lagrange_coefficient(group: Group, i: int, available: Sequence[int]) -> ElementModQ:
    """w_i = ∏_{ℓ ∈ U∖{i}} ℓ/(ℓ − i) mod q (eq. 85)."""
    if i not in available:
        raise ValueError(f"trustee {i} is not among the available trustees")
    if len(set(available)) != len(available) or any(a < 1 for a in available):
        raise ValueError("available trustees must be distinct positive indices")
    num = group.scalar_from_int(1)
    den = group.scalar_from_int(1)
    for ell in available:
        if ell != i:
            num = num * ell
            den = den * (ell - i)
    return num * den.inverse()


def public_share(group: Group, commitments: Sequence[Sequence[ElementModP]], i: int) -> ElementModP:
    """X_i = g^(P(i)) = ∏_j ∏_m K_{j,m}^(i^m), from every trustee's commitments (eq. 14)."""
    pairs = []
    for ks in commitments:
        power = 1
        for k_jm in ks:
            pairs.append((k_jm, power % int(group.q)))
            power *= i
    return group.multiexp(pairs)


def polynomial_value(group: Group, coefficients: Sequence[ElementModQ], x: int) -> ElementModQ:
    """P(x) = Σ a_j x^j mod q (Horner)."""
    acc = group.scalar_from_int(0)
    for a in reversed(coefficients):
        acc = acc * x + a
    return acc


def combine_partials(group: Group, partials: Mapping[int, ElementModP]) -> ElementModP:
    """M = ∏ M_i^(w_i) over the available trustees (eq. 86)."""
    available = sorted(partials)
    return group.multiexp(
        (partials[i], lagrange_coefficient(group, i, available)) for i in available
    )
