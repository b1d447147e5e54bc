"""``tohyo bench scale``: verification time and peak memory per ballot as the record grows.

For each size the record is made once with :func:`benchmarks.record.generate` (kept in
``--work`` for the next run) and verified in a fresh process (``tohyo verify`` as an
observer runs it), so that the figures are those of a cold verifier: wall time, CPU of the
coordinator (the one process that reads the record) and of the workers, and the peak
resident memory of each (``getrusage``: the coordinator's own, and the largest worker's).
With ``--dask`` the same on a Dask ``LocalCluster`` of as many single-threaded worker
processes.

The projection to larger elections rests on what this measures and on three assumptions,
printed with it: the workers' work is the same per ballot at any size (shards are a fixed
size); the coordinator's serial work per ballot (reading and checking the log, merging
the shards' summaries) is the same; and the coordinator's memory grows by the per-ballot
slope measured between the smallest and the largest size.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

# Run in a fresh interpreter for each measurement (a cold verifier, clean peaks).
_RUNNER = r"""
import json, resource, sys, time
from e2e.cli import run_verify
path, jobs, dask = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
workers_rss = []
if dask == "local":
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster:
        t0 = time.perf_counter()
        report = run_verify(path, jobs, lambda s: None, show_progress=False,
                            dask=cluster.scheduler_address)
        wall = time.perf_counter() - t0
        with Client(cluster.scheduler_address) as c:
            got = c.run(lambda: __import__("resource").getrusage(0).ru_maxrss)
            times = c.run(lambda: sum(__import__("resource").getrusage(0)[:2]))
        workers_rss = list(got.values())
        worker_cpu = sum(times.values())
else:
    report = run_verify(path, jobs, lambda s: None, show_progress=False)
    wall = time.perf_counter() - t0
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_rss = [ch.ru_maxrss] if jobs > 1 else []
    worker_cpu = ch.ru_utime + ch.ru_stime
me = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "ballots": report.ballots, "challenged": report.challenged, "wall_s": wall,
    "coordinator_cpu_s": me.ru_utime + me.ru_stime, "workers_cpu_s": worker_cpu,
    "coordinator_peak_mb": me.ru_maxrss / 1024,
    "worker_peak_mb": max(workers_rss) / 1024 if workers_rss else None,
}))
"""


def verify_measured(path: pathlib.Path, jobs: int, dask: bool = False) -> dict[str, Any]:
    """Verify the record in a fresh process; its figures (raises if it does not verify)."""
    r = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path), str(jobs), "local" if dask else "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise RuntimeError(f"verification of {path} failed: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def ensure_record(work: pathlib.Path, voters: int, group: str, jobs: int) -> pathlib.Path:
    """The record of ``voters`` voters in ``work`` (made once; a stamp marks it complete)."""
    from benchmarks.record import generate
    from sim.demo import EXAMPLE, load_manifest

    path = work / f"record-{group}-{voters}"
    stamp = path / ".complete"
    if not stamp.exists():
        generate(path, voters, load_manifest(EXAMPLE), group, jobs)
        stamp.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"), encoding="utf-8")
    return path


def run_scale(
    sizes: Sequence[int],
    work: pathlib.Path,
    group: str,
    jobs: int,
    dask: bool,
    note: Callable[[str], None] = lambda s: None,
) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        note(f"{n} voters: making the record (kept in {work})")
        t0 = time.perf_counter()
        path = ensure_record(work, n, group, jobs)
        made = time.perf_counter() - t0
        for mode in ("processes", "dask") if dask else ("processes",):
            note(f"{n} voters: verifying ({mode}, {jobs} workers)")
            m = verify_measured(path, jobs, mode == "dask")
            m.update(
                voters=n,
                mode=mode,
                jobs=jobs,
                record_mb=sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6,
                made_s=made,
            )
            rows.append(m)
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    head = (
        f"{'ballots':>8}  {'mode':<9}  {'record MB':>9}  {'wall s':>8}  "
        f"{'ms/ballot/core':>14}  {'coord ms/b':>10}  {'coord MB':>8}  {'worker MB':>9}"
    )
    out = [head, "-" * len(head)]
    for r in rows:
        b = max(r["ballots"], 1)
        per_core = r["wall_s"] * r["jobs"] / b * 1e3
        worker = f"{r['worker_peak_mb']:.0f}" if r["worker_peak_mb"] else "-"
        out.append(
            f"{r['ballots']:>8}  {r['mode']:<9}  {r['record_mb']:>9.0f}  {r['wall_s']:>8.1f}  "
            f"{per_core:>14.2f}  {r['coordinator_cpu_s'] / b * 1e3:>10.2f}  "
            f"{r['coordinator_peak_mb']:>8.0f}  {worker:>9}"
        )
    return out


def projection(
    rows: list[dict[str, Any]], targets: Sequence[int], cores: Sequence[int]
) -> list[str]:
    """Time and coordinator memory for larger elections, from the largest measured run
    (processes) and the memory slope between the smallest and the largest."""
    local = sorted((r for r in rows if r["mode"] == "processes"), key=lambda r: r["ballots"])
    if not local:
        return []
    big, small = local[-1], local[0]
    b = max(big["ballots"], 1)
    work = big["workers_cpu_s"] / b if big["jobs"] > 1 else big["coordinator_cpu_s"] / b
    serial = big["coordinator_cpu_s"] / b if big["jobs"] > 1 else 0.0
    span = big["ballots"] - small["ballots"]
    slope = (big["coordinator_peak_mb"] - small["coordinator_peak_mb"]) / span if span > 0 else 0.0
    out = [
        "projection (assumptions: the workers' CPU per ballot and the coordinator's serial "
        "CPU per ballot stay as measured at the largest size; the coordinator's memory grows "
        "by the measured slope; the disk or network delivers the record at least as fast "
        "as it is verified):",
        f"  measured at {big['ballots']} ballots: workers {work * 1e3:.2f} ms CPU per ballot, "
        f"coordinator {serial * 1e3:.2f} ms per ballot (serial), "
        f"coordinator memory {slope * 1e6 / 1024:.2f} kB per ballot beyond "
        f"{small['coordinator_peak_mb']:.0f} MB",
    ]
    for n in targets:
        mem = small["coordinator_peak_mb"] + slope * (n - small["ballots"])
        parts = []
        for c in cores:
            t = max(n * work / c, n * serial)
            parts.append(f"{c} cores {_human(t)}")
        bound = n * serial
        out.append(
            f"  {n:>11,} ballots: "
            + ", ".join(parts)
            + f"; never under {_human(bound)} (the coordinator alone); "
            + f"coordinator memory ~{mem / 1024:.1f} GB"
        )
    return out


def _human(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def plot(rows: list[dict[str, Any]], out_dir: pathlib.Path) -> list[pathlib.Path]:
    from benchmarks.report import pyplot

    plt = pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for mode in sorted({r["mode"] for r in rows}):
        rs = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["ballots"])
        xs = [r["ballots"] for r in rs]
        ax1.plot(xs, [r["wall_s"] * r["jobs"] / r["ballots"] * 1e3 for r in rs], "o-", label=mode)
        ax2.plot(xs, [r["coordinator_peak_mb"] for r in rs], "o-", label=f"{mode}: coordinator")
        if any(r["worker_peak_mb"] for r in rs):
            ax2.plot(xs, [r["worker_peak_mb"] or 0 for r in rs], "s--", label=f"{mode}: worker")
    ax1.set(xscale="log", xlabel="ballots", ylabel="ms per ballot per core", title="time")
    ax2.set(xscale="log", xlabel="ballots", ylabel="peak resident MB", title="memory")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = out_dir / "scale.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


def default_work() -> pathlib.Path:
    return pathlib.Path(os.environ.get("TOHYO_BENCH_WORK", "bench-records"))
