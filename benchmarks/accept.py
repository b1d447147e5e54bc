"""``tohyo bench accept``: a board's acceptance in one process, without HTTP, for several
numbers of submitting threads: CPU per ballot, ballots per second and the batches the
pipeline formed.

Under a closed-loop load (every thread submits its next ballot when the last is answered)
the batches a process can form are bounded by its threads, and a batch's verification
costs less per ballot the more it holds (``tohyo bench batch``). The batch sizes are
reported as a histogram, not only a mean: the pipeline once alternated batches of one with
batches of all the others, whose mean looked fine while a batch of one costs about 1.6
times as much per ballot as one of sixteen (bulletin/batcher.py).
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from benchmarks.batches import CHOICES
from benchmarks.stages import _Boards
from bulletin.board import new_signing_key
from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.election import Election, base_hash
from e2e.group import Group
from e2e.manifest import Manifest, with_board
from e2e.rng import SystemRng
from trustees.ceremony import run_ceremony


def _timed(fn: Any, body: bytes) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn(body)
    return time.perf_counter() - t, out


def run_accept(
    group: Group,
    manifest: Manifest,
    threads: tuple[int, ...],
    ballots: int = 400,
    gather: float | None = None,
) -> list[dict[str, Any]]:
    """One fresh in-process board per thread count; the same ballots for each. ``gather``:
    the pipeline's wait for announced submissions (0: none, as before it existed; None:
    the board's own)."""
    rng = SystemRng()
    work = tempfile.mkdtemp(prefix="tohyo-accept-")
    try:
        key = new_signing_key(os.path.join(work, "board.key"))
        m = with_board(replace(manifest, trustees=3, quorum=2), key)
        h_p, _ = base_hash(group, m)
        _, publics = run_ceremony(group, h_p, 3, 2, rng)
        election = Election(group, m, group.product(t.key for t in publics))
        bodies = [
            json.dumps(
                {
                    "ballot": codec.to_document(encrypt_ballot(election, CHOICES, rng)[0]),
                    "auth": {"token": f"t{i}"},
                }
            ).encode()
            for i in range(ballots)
        ]
        boards = _Boards(work, election, publics, ballots)
        rows = []
        old = sys.getswitchinterval()
        for n in threads:
            board = boards.new()
            sizes: collections.Counter[int] = collections.Counter()
            board.pipeline.observe = lambda size, sizes=sizes: sizes.update([size])
            if gather is not None:
                board.pipeline.gather = gather
            sys.setswitchinterval(0.0005)  # as `tohyo serve` sets it
            try:
                cpu, t = time.process_time(), time.perf_counter()
                with ThreadPoolExecutor(n) as pool:
                    timed = list(
                        pool.map(lambda body, board=board: _timed(board.submit, body), bodies)
                    )
                cpu, wall = time.process_time() - cpu, time.perf_counter() - t
            finally:
                sys.setswitchinterval(old)
            lat = sorted(dt for dt, _ in timed)
            batches = sum(sizes.values())
            rows.append(
                {
                    "threads": n,
                    "gather_s": board.pipeline.gather,
                    "ballots": ballots,
                    "cpu_ms_per_ballot": cpu * 1e3 / ballots,
                    "ballots_per_second": ballots / wall,
                    "p50_ms": statistics.median(lat) * 1e3,
                    "p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1e3,
                    "mean_batch_size": ballots / batches,
                    # the batch a ballot was in, on average: a batch of one among large ones
                    # shows here, where the plain mean hides it
                    "ballot_weighted_batch_size": sum(k * k * v for k, v in sizes.items())
                    / ballots,
                    "batch_sizes": {str(k): v for k, v in sorted(sizes.items())},
                }
            )
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the boards' databases and key
