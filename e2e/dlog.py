"""Discrete logarithms of small exponents: find t with y = b^t, 0 <= t <= bound.

Shanks' baby-step giant-step (ElectionGuard 2.1 §3.6.2, footnote 12): a table of
m ≈ sqrt(bound) baby steps built once per base, then at most bound/m multiplications per
query. With the default bound of 10^7 that is about 3,200 of each, a few milliseconds.
"""

from __future__ import annotations

from math import isqrt

import gmpy2
from gmpy2 import mpz

from e2e.errors import DecryptionError
from e2e.group import ElementModP


class DiscreteLog:
    """Solves y = base^t for 0 <= t <= bound; build once per base (e.g. per election key)."""

    def __init__(self, base: ElementModP, bound: int = 10**7) -> None:
        if bound < 1:
            raise ValueError("bound must be positive")
        self.base = base
        self.bound = bound
        p = base.group.p
        m = isqrt(bound) + 1
        self._m = m
        baby: dict[mpz, int] = {}
        x = mpz(1)
        for j in range(m):
            baby.setdefault(x, j)
            x = x * base.value % p
        self._baby = baby
        # x is now base^m; a giant step multiplies by base^(-m).
        self._giant = gmpy2.invert(x, p)

    def solve(self, y: ElementModP) -> int:
        """The exponent t, or DecryptionError if none in [0, bound] exists."""
        if y.group != self.base.group:
            raise TypeError("element of another group")
        p = y.group.p
        cur = y.value
        baby = self._baby
        for i in range(self.bound // self._m + 1):
            j = baby.get(cur)
            if j is not None:
                t = i * self._m + j
                if t <= self.bound:
                    return t
                break
            cur = cur * self._giant % p
        raise DecryptionError(f"no discrete logarithm in [0, {self.bound}]")
