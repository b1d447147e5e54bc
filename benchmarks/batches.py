"""``tohyo bench batch``: the board's verification of a batch of submissions, per ballot,
as the batch grows.

The board verifies the submissions waiting at the same moment in one batch
(bulletin/batcher.py): every proof and every element's subgroup membership in one
multi-exponentiation, whose bucket sums are shared by all its terms. Its cost per ballot
therefore depends on how many ballots a batch holds, which depends on the load (about
one batch per process per round trip of the pipeline). This measures exactly what the
board runs (:func:`bulletin.batcher.verify_each` on parsed submissions, CPU time of this
thread), for each batch size, against the exponentiation limit ``tohyo bench`` reports.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from bulletin.batcher import verify_each
from e2e import codec
from e2e.ballot import EncryptedBallot, ballot_claims, encrypt_ballot
from e2e.election import Election, base_hash
from e2e.group import Group
from e2e.manifest import Manifest
from e2e.rng import SystemRng
from trustees.ceremony import run_ceremony

CHOICES = {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": []}


def run_batches(
    group: Group, manifest: Manifest, sizes: tuple[int, ...], ballots: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """CPU milliseconds per ballot of verifying batches of each size (parsing excluded:
    the board parses each submission in its own request thread); and, first, that
    parsing and the claims' construction per ballot, in one thread."""
    rng = SystemRng()
    manifest = replace(manifest, trustees=3, quorum=2)
    h_p, _ = base_hash(group, manifest)
    _, publics = run_ceremony(group, h_p, 3, 2, rng)
    election = Election(group, manifest, group.product(t.key for t in publics))
    n = ballots or max(sizes)
    docs = [codec.to_document(encrypt_ballot(election, CHOICES, rng)[0]) for _ in range(n)]
    parsed = []
    parse_s = claims_s = 0.0
    for doc in docs:
        t = time.thread_time()
        ballot, members = codec.from_document_deferred(doc, EncryptedBallot, group)
        t1 = time.thread_time()
        claims = ballot_claims(election, ballot)
        claims_s += time.thread_time() - t1
        parse_s += t1 - t
        parsed.append((claims, members))
    # What each request does in its own thread before the batch: the strict decode with
    # every element's range and Jacobi symbol, then the proofs' challenges.
    steps = [
        {"step": "parse", "cpu_ms_per_ballot": parse_s * 1e3 / n},
        {"step": "claims", "cpu_ms_per_ballot": claims_s * 1e3 / n},
    ]
    rows: list[dict[str, Any]] = []
    for size in sizes:
        chunks = [parsed[i : i + size] for i in range(0, n - size + 1, size)] or [parsed[:size]]
        t = time.thread_time()
        done = 0
        for chunk in chunks:
            errors = verify_each(group, [c for c, _ in chunk], [m for _, m in chunk])
            if any(e is not None for e in errors):
                raise RuntimeError("a valid ballot failed verification")
            done += len(chunk)
        rows.append(
            {
                "batch_size": size,
                "batches": len(chunks),
                "cpu_ms_per_ballot": (time.thread_time() - t) * 1e3 / done,
            }
        )
    return steps, rows
