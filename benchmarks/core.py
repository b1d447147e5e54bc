"""Micro-benchmarks of the cryptographic core: ``tohyo bench core``.

Prints, for the chosen group on this machine: one powmod, one fixed-base exponentiation,
one multi-exponentiation term, one encryption with its 0/1 range proof, and the
verification of N range proofs one by one and in one batch (with and without parsing the
published bytes, which includes the batched subgroup check).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import gmpy2

from e2e import codec
from e2e.batch import verify_claims
from e2e.elgamal import Ciphertext, encrypt, keypair
from e2e.group import Group, multiexp_raw
from e2e.hash import HashValue
from e2e.range_proof import RangeProof, prove_range, range_claim, verify_range
from e2e.rng import SystemRng


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _row(name: str, samples: list[float], per: int = 1) -> dict[str, Any]:
    med = statistics.median(samples) / per
    spread = (max(samples) - min(samples)) / per
    return {"stage": name, "median_ms": med * 1e3, "spread_ms": spread * 1e3, "per": per}


def run_core(group: Group, proofs: int = 1000, repeat: int = 5) -> list[dict[str, Any]]:
    """Measure the core operations; returns rows of median and spread in milliseconds."""
    rng = SystemRng()
    p = group.p
    x = group.g_pow(group.random_scalar(rng)).value
    e = int(group.random_scalar(rng))
    rows = []
    rows.append(_row("powmod (256-bit exponent)", _time(lambda: gmpy2.powmod(x, e, p), 200)))
    rows.append(_row("built-in pow (256-bit exponent)", _time(lambda: pow(int(x), e, int(p)), 20)))
    # What parsing pays per element beside the exponentiations: the Jacobi symbol (the order-2
    # part a batched membership test cannot see, e2e.group) and one multiplication mod p.
    y = group.g_pow(group.random_scalar(rng)).value
    rows.append(_row("Jacobi symbol (x/p)", _time(lambda: gmpy2.jacobi(x, p), 500)))
    rows.append(_row("multiply mod p (x * y % p)", _time(lambda: x * y % p, 500)))
    table = group.g_table
    rows.append(_row("fixed-base g^e (window table)", _time(lambda: table.pow_raw(e), 500)))
    bases = [group.g_pow(group.random_scalar(rng)).value for _ in range(1000)]
    exps = [int(group.random_scalar(rng)) for _ in range(1000)]
    rows.append(
        _row(
            "multi-exp, per 256-bit term (1000)",
            _time(lambda: multiexp_raw(p, bases, exps), 3),
            1000,
        )
    )
    _, key = keypair(group, rng)
    h_i = HashValue(bytes(32))

    def enc_one() -> tuple[Any, RangeProof]:
        xi = group.random_scalar(rng)
        ct = encrypt(key, 1, xi)
        return ct, prove_range(key, h_i, (1, 1), ct, xi, 1, 1, rng)

    rows.append(_row("encrypt + 0/1 range proof", _time(enc_one, 200)))
    items = [enc_one() for _ in range(proofs)]
    rows.append(
        _row(
            f"verify {proofs} range proofs one by one, per proof",
            _time(lambda: [verify_range(key, h_i, (1, 1), c, pr, 1) for c, pr in items], 1),
            proofs,
        )
    )

    def batched() -> None:
        claims = [
            range_claim(key, h_i, (1, 1), c, pr, 1, str(i)) for i, (c, pr) in enumerate(items)
        ]
        verify_claims(group, claims, rng)

    rows.append(
        _row(f"verify {proofs} range proofs batched, per proof", _time(batched, repeat), proofs)
    )
    blobs_c = [codec.encode(c) for c, _ in items]
    blobs_p = [codec.encode(pr) for _, pr in items]

    def parse_and_batch() -> None:
        # Parse every published byte string (one batched subgroup check), then verify.
        cts = codec.decode_many(blobs_c, Ciphertext, group, rng)
        prs = codec.decode_many(blobs_p, RangeProof, group, rng)
        claims = [
            range_claim(key, h_i, (1, 1), c, pr, 1, str(i))
            for i, (c, pr) in enumerate(zip(cts, prs, strict=True))
        ]
        verify_claims(group, claims, rng)

    rows.append(
        _row(f"parse bytes + verify {proofs} batched, per proof", _time(parse_and_batch, 3), proofs)
    )
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["stage"]) for r in rows)
    lines = [f"{'stage'.ljust(width)}  {'median ms':>10}  {'spread ms':>10}"]
    for r in rows:
        lines.append(f"{r['stage'].ljust(width)}  {r['median_ms']:10.3f}  {r['spread_ms']:10.3f}")
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    """What a figure was measured on: CPU, cores, Python, gmpy2 and GMP versions."""
    import os
    import platform

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "gmpy2": gmpy2.version(),
        "gmp": gmpy2.mp_version(),
    }
