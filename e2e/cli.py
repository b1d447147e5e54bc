"""``tohyo verify RECORD``: the independent verifier; needs only the record and ``e2e``."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import pathlib
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NoReturn

import click

from e2e.board import BoardKey
from e2e.election import Election
from e2e.errors import ParseError, TohyoError
from e2e.group import release_gil
from e2e.hash import HashValue
from e2e.record import RecordFiles, read_monitor_copy, read_record
from e2e.verify import (
    SHARD,
    BallotItem,
    ElectionContext,
    MapShards,
    Report,
    ShardSummary,
    Verified,
    verify_record,
    verify_shard_in,
    verify_tally_inputs,
)


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


# The election of this worker process, by H_E (see e2e.dask_runner for why per process):
# the pool's initializer fills it, so every shard finds K's table already built.
_ELECTIONS: dict[str, Election] = {}


def _init_worker(context: ElectionContext) -> None:
    """Each worker process builds the election context (and its tables) once."""
    release_gil()
    _ELECTIONS[context.h_e] = context.build()


def _work(context: ElectionContext, shard: list[BallotItem]) -> ShardSummary:
    return verify_shard_in(context, shard, _ELECTIONS)


def process_map(jobs: int, window: int | None = None) -> MapShards:
    """A shard mapper that verifies shards in ``jobs`` local processes, in order, with at
    most ``window`` shards in flight (default: twice the processes): the shards are read
    from the record only as workers become free, so memory does not grow with the record."""

    def run(election: Election, shards: Iterable[list[BallotItem]]) -> Iterator[ShardSummary]:
        context = ElectionContext.of(election)
        todo = iter(shards)
        pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(context,))
        pending: deque[Future[ShardSummary]] = deque()
        try:
            for shard in itertools.islice(todo, window or 2 * jobs):
                pending.append(pool.submit(_work, context, shard))
            while pending:
                summary = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(_work, context, nxt))
                yield summary
        finally:
            # On the first failure (or a reader that stops early) nothing more is started.
            pool.shutdown(wait=True, cancel_futures=True)

    return run


class Meter:
    """Progress of the long steps on a terminal: one line per step, redrawn at most four
    times a second, with the rate and the time left (``progress(step, done, total)``)."""

    UNITS = {
        "log": ("reading the board's log", 1e6, "MB"),
        "ballots": ("verifying cast ballots", 1, "ballots"),
        "entries": ("writing the record", 1, "entries"),
        "generate": ("encrypting ballots", 1, "ballots"),
    }

    def __init__(self, stream: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.clock = clock
        self.step = ""
        self.started = self.drawn = 0.0
        self.first = 0

    def __call__(self, step: str, done: int, total: int) -> None:
        now = self.clock()
        if step != self.step:
            self.close()
            self.step, self.started, self.drawn, self.first = step, now, 0.0, done
        if now - self.drawn < 0.25 and done < total:
            return
        self.drawn = now
        label, scale, unit = self.UNITS.get(step, (step, 1, ""))
        elapsed = max(now - self.started, 1e-9)
        rate = (done - self.first) / elapsed
        text = f"{label}: {done / scale:,.0f}"
        if total:
            text += f"/{total / scale:,.0f}"
        text += f" {unit}"
        if done > self.first:
            text += f", {rate / scale:,.1f} {unit}/s"
            if total and done < total:
                text += f", {duration((total - done) / rate)} left"
        self.stream.write("\r" + text.ljust(78))
        self.stream.flush()

    def close(self) -> None:
        if self.step:
            self.stream.write("\n")
            self.stream.flush()
            self.step = ""


def duration(seconds: float) -> str:
    """A human duration: 42 s, 3 min 5 s, 2 h 14 min."""
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _plan(
    files: RecordFiles, jobs: int, dask: str | None, dask_timeout: float = 10.0
) -> tuple[MapShards | None, int, Callable[[], None]]:
    """The shard mapper, the shard size and a closer for local processes or a cluster."""
    # The lines of the log (or of ballots.jsonl) bound the ballots: counted without
    # parsing, and only as far as it takes to see that every worker gets full shards, to
    # size the shards of a small record.
    lines = files.board_entries or files.ballots

    def shard_for(workers: int) -> int:
        total = lines.count(stop=2 * SHARD * workers)
        return max(50, min(SHARD, -(-total // (2 * workers)))) if total else SHARD

    if dask:
        from e2e.dask_runner import cluster_threads, connect, dask_map

        client = connect(dask, dask_timeout)
        # Shards small enough that every worker thread gets at least two, large enough to
        # batch well.
        return dask_map(client), shard_for(cluster_threads(client)), client.close
    mapper = process_map(jobs) if jobs > 1 and lines else None
    return mapper, shard_for(jobs), lambda: None


def _meter(show_progress: bool | None) -> Any:
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    return contextlib.closing(Meter()) if show_progress else contextlib.nullcontext(None)


def run_verify(
    path: str,
    jobs: int,
    echo=click.echo,  # noqa: ANN001
    show_progress: bool | None = None,
    dask: str | None = None,
    dask_timeout: float = 10.0,
    board_key: BoardKey | None = None,
    receipts: Sequence[tuple[str, bytes]] = (),
    monitor: str | None = None,
) -> Report:
    """Read and verify a record (on ``jobs`` local processes, or on the Dask cluster at
    ``dask``); prints progress on a terminal. Raises on failure. ``monitor``: a monitor's
    copy directory to compare with the record."""
    files = read_record(path)
    copy = read_monitor_copy(monitor) if monitor is not None else None
    mapper, shard, close = _plan(files, jobs, dask, dask_timeout)
    try:
        with _meter(show_progress) as meter:
            return verify_record(
                files,
                mapper,
                meter,
                shard=shard,
                board_key=board_key,
                receipts=receipts,
                monitor=copy,
            )
    finally:
        close()


def parse_board_key(text: str) -> BoardKey:
    """``--board-key``: the board's public key, 64 hex digits (spaces, colons, case free)."""
    hex_ = "".join(ch for ch in text if ch not in " :-\t").upper()
    if len(hex_) != 64 or any(ch not in "0123456789ABCDEF" for ch in hex_):
        raise click.BadParameter("expected the board's public key as 64 hex digits")
    return BoardKey(HashValue(bytes.fromhex(hex_)))


def run_tally(
    path: str,
    jobs: int,
    show_progress: bool | None = None,
    dask: str | None = None,
    dask_timeout: float = 10.0,
) -> Verified:
    """Checks 1–6 of a record: every ballot verified and the encrypted tally recomputed
    from the counted ballots and compared with the record's (what trustees run before
    they decrypt). Raises on failure."""
    files = read_record(path)
    mapper, shard, close = _plan(files, jobs, dask, dask_timeout)
    try:
        with _meter(show_progress) as meter:
            return verify_tally_inputs(files, mapper, meter, shard=shard)
    finally:
        close()


def print_report(report: Report, elapsed: float, echo=click.echo) -> None:  # noqa: ANN001
    echo(f"group: {report.group}; trustees: {report.trustees}, quorum {report.quorum}")
    if report.board_key:
        by = f"pinned by the {report.board_key_pinned}" if report.board_key_pinned else "NOT pinned"
        echo(f"board key: {report.board_key} ({by})")
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


def _dask_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--dask-timeout",
        type=float,
        default=10.0,
        show_default=True,
        help="Seconds to wait for the Dask scheduler.",
    )(fn)
    return click.option(
        "--dask",
        "dask",
        metavar="ADDRESS",
        default=None,
        help="Verify the ballots on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786).",
    )(fn)


@click.command("verify")
@click.argument("record", type=click.Path(exists=True))
@click.option("--jobs", "-j", type=int, default=None, help="Processes to use (default: all cores).")
@_dask_options
@click.option(
    "--board-key",
    default=None,
    metavar="HEX",
    help="The board's public key as the election authority published it (64 hex digits); "
    "the log must be signed with it.",
)
@click.option(
    "--receipt",
    "receipts",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A voter's saved receipt (the booth's JSON); its ballot must be in the log under a "
    "tree head of this log. May be repeated.",
)
@click.option(
    "--monitor",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    help="A monitor's copy (tohyo monitor --out DIR): the entries and heads it saw during "
    "the vote must be the record's.",
)
def verify_command(
    record: str,
    jobs: int | None,
    dask: str | None,
    dask_timeout: float,
    board_key: str | None,
    receipts: tuple[str, ...],
    monitor: str | None,
) -> None:
    """Verify an election record; exit 0 only if every check holds."""
    jobs = jobs or os.cpu_count() or 1
    pinned = parse_board_key(board_key) if board_key is not None else None
    try:
        receipt_bytes = [(r, pathlib.Path(r).read_bytes()) for r in receipts]
    except OSError as e:
        fail(f"cannot read a receipt: {e}")
    t0 = time.perf_counter()
    try:
        report = run_verify(
            record,
            jobs,
            dask=dask,
            dask_timeout=dask_timeout,
            board_key=pinned,
            receipts=receipt_bytes,
            monitor=monitor,
        )
    except TohyoError as e:  # VerificationError, ParseError (malformed record), QuorumError…
        kind = " (malformed record)" if isinstance(e, ParseError) else ""
        click.echo(f"FAILED{kind}: {e}", err=True)
        sys.exit(1)
    except RuntimeError as e:  # the Dask cluster: unreachable, or failed (not the record)
        fail(str(e))
    print_report(report, time.perf_counter() - t0)
    click.echo("PASS: the record verifies")


@click.command("tally")
@click.argument("record", type=click.Path(exists=True))
@click.option("--jobs", "-j", type=int, default=None, help="Processes to use (default: all cores).")
@_dask_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the recomputed encrypted tally here (canonical JSON, as tally.json).",
)
def tally_command(
    record: str, jobs: int | None, dask: str | None, dask_timeout: float, out: str | None
) -> None:
    """Recompute the encrypted tally from the record's ballots and check it.

    Verifies every ballot (in shards, on local processes or a Dask cluster), applies the
    re-vote rule, multiplies the counted ballots and compares the product with the
    record's tally.json (checks 1-6 of `tohyo verify`, what trustees run before they
    decrypt). Prints the ballots per contest and the SHA-256 of the tally; exit 0 only if
    it matches.
    """
    import hashlib

    from e2e import codec

    jobs = jobs or os.cpu_count() or 1
    t0 = time.perf_counter()
    try:
        v = run_tally(record, jobs, dask=dask, dask_timeout=dask_timeout)
    except TohyoError as e:
        kind = " (malformed record)" if isinstance(e, ParseError) else ""
        click.echo(f"FAILED{kind}: {e}", err=True)
        sys.exit(1)
    except RuntimeError as e:
        fail(str(e))
    data = codec.encode(v.tally)
    r = v.report
    click.echo(
        f"tallied {r.ballots} cast ballots ({r.superseded} superseded ballot contests), "
        f"{r.proofs} proofs, in {time.perf_counter() - t0:.1f} s"
    )
    for tc in v.tally.contests:
        spec = v.election.manifest.contest(tc.contest)
        click.echo(f"  {spec.id}: {tc.ballots} ballots, {len(tc.selections)} options")
    click.echo(f"encrypted tally SHA-256 {hashlib.sha256(data).hexdigest().upper()}")
    if out:
        try:
            with open(out, "wb") as f:
                f.write(data)
        except OSError as e:
            fail(f"cannot write {out}: {e}")
    click.echo("PASS: the encrypted tally is the product of the counted ballots")


def commands() -> Iterable[click.Command]:
    """The commands this layer contributes to the root ``tohyo`` group."""
    return [verify_command, tally_command]
