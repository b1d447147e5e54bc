"""Counting modular exponentiations during one benchmark run (benchmark-only).

``e2e`` keeps no counters (it reads and writes no globals). Instead, for the length of a
``with counting() as n:`` block, this module wraps the three places where ``e2e`` (and the
layers above it) exponentiate, and restores them afterwards:

* fixed-base: :meth:`e2e.group.FixedBase.pow_raw` (window tables of g and K);
* variable-base: ``gmpy2.powmod`` wherever a module of ours holds a reference to it
  (``e2e.group._powmod``, ``e2e.batch.powmod``, …: found by identity, so a new module that
  imports it is counted too);
* multi-exponentiation: :func:`e2e.group.multiexp_raw` (and the names it is imported
  under), counted as terms and as exponent bits. A call with fewer than 6 terms is done
  with plain powmods by ``multiexp_raw`` and is counted as those powmods; the recursive
  calls of a split multi-exponentiation are part of the outer one.

:func:`calibrate` measures what one of each costs on this machine (from its least
disturbed runs), and :meth:`ExpCount.limit_s` turns a count into the time a stage would
take if it did nothing but its exponentiations (its "limit", a lower bound).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import gmpy2

from e2e import group as group_module
from e2e.group import FixedBase, Group
from e2e.rng import SystemRng

_SMALL = 6  # below this many terms multiexp_raw uses plain powmods (see e2e.group)
_PREFIXES = ("e2e", "trustees", "bulletin")


@dataclass
class ExpCount:
    """Exponentiations counted in one run."""

    fixed: int = 0  # fixed-base exponentiations (window tables)
    powmod: int = 0  # variable-base exponentiations (gmpy2.powmod)
    multiexps: int = 0  # multi-exponentiations (bucket method, 6 or more terms)
    terms: int = 0  # their terms
    term_bits: int = 0  # the sum of their exponents' lengths in bits

    def per(self, n: int) -> ExpCount:
        """This count divided by n (per ballot, say); fractions are kept."""
        return ExpCount(*(v / n for v in asdict(self).values()))  # type: ignore[arg-type]

    def limit_s(self, cost: Costs) -> float:
        """Seconds these exponentiations take at this machine's measured costs."""
        return (
            self.fixed * cost.fixed_s
            + self.powmod * cost.powmod_s
            + self.term_bits * cost.term_bit_s
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Costs:
    """The cost of one exponentiation of each kind on this machine (seconds)."""

    group: str
    fixed_s: float  # one fixed-base exponentiation, exponent < q
    powmod_s: float  # one powmod, exponent < q
    term_s: float  # one multi-exponentiation term with an exponent of q's length
    term_bit_s: float  # term_s per bit of exponent (a 64-bit batch weight costs ~1/4)
    multiexp_terms: int  # how many terms the calibrating multi-exponentiation had

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def counting() -> Iterator[ExpCount]:
    """Count the exponentiations done inside the block, in every thread of this process.

    Work done in other processes (``--jobs``) is not seen: count a serial run.
    """
    count = ExpCount()
    lock = threading.Lock()
    local = threading.local()  # depth inside a counted multi-exponentiation, per thread
    real_powmod = gmpy2.powmod
    real_multiexp = group_module.multiexp_raw
    real_pow_raw = FixedBase.pow_raw

    def powmod(b: Any, e: Any, m: Any) -> Any:
        if not getattr(local, "depth", 0):
            with lock:
                count.powmod += 1
        return real_powmod(b, e, m)

    def multiexp_raw(p: Any, bases: Any, exps: Any) -> Any:
        depth = getattr(local, "depth", 0)
        if depth or len(bases) < _SMALL:
            return real_multiexp(p, bases, exps)
        bits = sum(int(e).bit_length() for e in exps)
        with lock:
            count.multiexps += 1
            count.terms += len(bases)
            count.term_bits += bits
        local.depth = depth + 1
        try:
            return real_multiexp(p, bases, exps)
        finally:
            local.depth = depth

    def pow_raw(self: FixedBase, e: int) -> Any:
        with lock:
            count.fixed += 1
        return real_pow_raw(self, e)

    patched: list[tuple[Any, str, Any]] = []
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(_PREFIXES):
            continue
        for attr, value in list(vars(module).items()):
            if value is real_powmod:
                patched.append((module, attr, value))
                setattr(module, attr, powmod)
            elif value is real_multiexp:
                patched.append((module, attr, value))
                setattr(module, attr, multiexp_raw)
    FixedBase.pow_raw = pow_raw  # type: ignore[method-assign]
    try:
        yield count
    finally:
        FixedBase.pow_raw = real_pow_raw  # type: ignore[method-assign]
        for module, attr, value in patched:
            setattr(module, attr, value)


def _low_time(fn: Any, n: int) -> float:
    """The 10th percentile of n timings: on a shared machine, the least disturbed runs
    are the best estimate of what the operation itself costs."""
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.quantiles(samples, n=10)[0] if n >= 10 else min(samples)


def calibrate(group: Group, name: str, terms: int = 1000) -> Costs:
    """Measure one fixed-base exponentiation, one powmod and one multi-exponentiation
    term (of ``terms`` terms, the order of a verifier's shard) in this group."""
    rng = SystemRng()
    p = group.p
    x = group.g_pow(group.random_scalar(rng)).value
    exps = [int(group.random_scalar(rng)) for _ in range(64)]
    table = group.g_table
    it = iter(range(10**9))

    def fixed() -> None:
        table.pow_raw(exps[next(it) % 64])

    def powmod() -> None:
        gmpy2.powmod(x, exps[next(it) % 64], p)

    fixed_s = _low_time(fixed, 400)
    powmod_s = _low_time(powmod, 100)
    bases = [group.g_pow(group.random_scalar(rng)).value for _ in range(terms)]
    texps = [int(group.random_scalar(rng)) for _ in range(terms)]
    multi_s = _low_time(lambda: group_module.multiexp_raw(p, bases, texps), 3)
    bits = sum(e.bit_length() for e in texps)
    return Costs(name, fixed_s, powmod_s, multi_s / terms, multi_s / bits, terms)


def cheaper(a: Costs, b: Costs) -> Costs:
    """Each cost the lower of two calibrations (taken before and after some stages)."""
    return Costs(
        a.group,
        min(a.fixed_s, b.fixed_s),
        min(a.powmod_s, b.powmod_s),
        min(a.term_s, b.term_s),
        min(a.term_bit_s, b.term_bit_s),
        a.multiexp_terms,
    )
