"""``tohyo verify RECORD``: the independent verifier; needs only the record and ``e2e``."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, NoReturn

import click

from e2e.election import Election
from e2e.errors import ParseError, TohyoError
from e2e.group import GROUPS, release_gil
from e2e.manifest import manifest_from_canonical
from e2e.record import read_record
from e2e.verify import SHARD, Report, ShardSummary, verify_record, verify_shard


def fail(message: str) -> NoReturn:
    """One line on stderr and exit code 2: unusable input, never a stack trace."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command so tohyo's own errors (and OS errors, bad values) end in
    :func:`fail`. Shared by every layer's command group."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (TohyoError, OSError, ValueError) as e:
            fail(str(e))

    return wrapper


_WORKER: Election | None = None


def _init_worker(group: str, manifest: bytes, key_hex: str) -> None:
    """Each worker process builds the election context (and its tables) once."""
    global _WORKER
    release_gil()
    g = GROUPS[group]
    _WORKER = Election(g, manifest_from_canonical(manifest), g.element(int(key_hex, 16)))


def _work(shard: list[bytes]) -> ShardSummary:
    assert _WORKER is not None
    return verify_shard(_WORKER, shard)


def process_map(jobs: int, manifest: bytes):  # noqa: ANN201 (returns a MapShards)
    """A shard mapper that verifies shards in ``jobs`` processes, in order."""

    def run(election: Election, shards: list[list[bytes]]) -> Iterator[ShardSummary]:
        from e2e.election import group_name

        args = (group_name(election.group), manifest, election.key.element.hex())
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=args) as pool:
            yield from pool.map(_work, shards)

    return run


def run_verify(path: str, jobs: int, echo=click.echo, show_progress: bool | None = None) -> Report:  # noqa: ANN001
    """Read and verify a record; prints progress on a terminal. Raises on failure."""
    files = read_record(path)
    total = len(files.ballots) + sum(
        1 for e in files.board_entries or () if b'"kind":"ballot"' in e
    )
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    mapper = process_map(jobs, files.manifest) if jobs > 1 and total > 0 else None
    # Shards small enough that every process gets at least two, large enough to batch well.
    shard = max(50, min(SHARD, -(-total // (2 * jobs))))
    if show_progress and total:
        with click.progressbar(length=total, label="ballots", file=sys.stderr) as bar:
            return verify_record(files, mapper, bar.update, shard=shard)
    return verify_record(files, mapper, shard=shard)


def print_report(report: Report, elapsed: float, echo=click.echo) -> None:  # noqa: ANN001
    echo(f"group: {report.group}; trustees: {report.trustees}, quorum {report.quorum}")
    for line in report.checks:
        echo(f"  ok  {line}")
    for w in report.warnings:
        echo(f"  warning: {w}")
    echo(
        f"verified {report.ballots} cast and {report.challenged} challenged ballots, "
        f"{report.proofs} proofs, in {elapsed:.1f} s"
    )
    if report.results:
        for c in report.results.contests:
            counts = ", ".join(f"{o.option} {o.votes}" for o in c.options)
            echo(f"  {c.contest} ({c.ballots} ballots): {counts}")


@click.command("verify")
@click.argument("record", type=click.Path(exists=True))
@click.option("--jobs", "-j", type=int, default=None, help="Processes to use (default: all cores).")
def verify_command(record: str, jobs: int | None) -> None:
    """Verify an election record; exit 0 only if every check holds."""
    jobs = jobs or os.cpu_count() or 1
    t0 = time.perf_counter()
    try:
        report = run_verify(record, jobs)
    except TohyoError as e:  # VerificationError, ParseError (malformed record), QuorumError…
        kind = " (malformed record)" if isinstance(e, ParseError) else ""
        click.echo(f"FAILED{kind}: {e}", err=True)
        sys.exit(1)
    print_report(report, time.perf_counter() - t0)
    click.echo("PASS: the record verifies")


def commands() -> Iterable[click.Command]:
    """The commands this layer contributes to the root ``tohyo`` group."""
    return [verify_command]
