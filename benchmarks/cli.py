"""``tohyo bench …``: the researchers' benchmarks (docs/researchers.md)."""

from __future__ import annotations

import json
import os
import pathlib
import sys

import click

from e2e.group import GROUPS


def _counts(text: str, option: str, least: str) -> tuple[int, ...]:
    """``--workers 1,2,4``: whole numbers separated by commas, each at least 1, in the
    order given (each is a run)."""
    # Split at the commas first: "1 2" (or "1_2", which int() takes) is a mistake, not 12.
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdecimal() and p.isascii() for p in parts if p):
        raise click.BadParameter(f"numbers separated by commas, not {text!r}", param_hint=option)
    counts = tuple(int(p) for p in parts if p)
    if not counts or min(counts) < 1:
        raise click.BadParameter(least, param_hint=option)
    return counts


@click.group(invoke_without_command=True)
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--contests", default=3, show_default=True, help="Contests in the manifest.")
@click.option("--options", default=3, show_default=True, help="Options per contest.")
@click.option("--limit", default=1, show_default=True, help="Selection limit per contest.")
@click.option(
    "--ballots",
    default="100",
    show_default=True,
    help="Ballot counts, comma-separated (e.g. 100,1000,10000): every stage runs for each.",
)
@click.option("--trustees", default=5, show_default=True, help="Trustees n.")
@click.option("--quorum", default=3, show_default=True, help="Quorum k (trustees decrypting).")
@click.option(
    "--jobs", "-j", type=int, default=None, help="Processes for the record (default: all cores)."
)
@click.option("--repeat", default=3, show_default=True, help="Runs of each stage.")
@click.option(
    "--one-by-one",
    "one_by_one_max",
    default=50,
    show_default=True,
    help="Ballots in the (slow) one-by-one verification.",
)
@click.option("--board-threads", default=16, show_default=True, help="Submitting threads.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
@click.option(
    "--plot",
    "plot_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Draw cost against ballots into DIR (needs tohyo[bench]).",
)
@click.option(
    "--compare",
    type=click.Choice(["electionguard"]),
    default=None,
    help="Run the same workload through electionguard-python 1.4 (make bench-eg).",
)
@click.option("--eg-python", default=None, help="The electionguard venv's python (.venv-eg).")
@click.option(
    "--eg-ballots", type=int, default=None, help="Ballots for electionguard (default: smallest)."
)
@click.option("--eg-repeat", default=1, show_default=True, help="Runs of electionguard's stages.")
@click.option("--browser/--no-browser", default=True, help="Time the browser encryptor.")
@click.pass_context
def bench(
    ctx: click.Context,
    group_name: str,
    contests: int,
    options: int,
    limit: int,
    ballots: str,
    trustees: int,
    quorum: int,
    jobs: int | None,
    repeat: int,
    one_by_one_max: int,
    board_threads: int,
    json_file: str | None,
    plot_dir: str | None,
    compare: str | None,
    eg_python: str | None,
    eg_ballots: int | None,
    eg_repeat: int,
    browser: bool,
) -> None:
    """Benchmarks for researchers (figures on this machine).

    Without a subcommand: one election's every stage (encrypt, verify one by one and
    batched, board acceptance, tally, decryption, whole-record verification) for each
    --ballots count, with exponentiation counts and their limit; see docs/researchers.md.
    """
    if ctx.invoked_subcommand is not None:
        return
    from benchmarks.stages import Workload
    from benchmarks.suite import parse_sizes, run_suite

    try:
        sizes = parse_sizes(ballots)
        w = Workload(
            group_name,
            contests,
            options,
            limit,
            trustees,
            quorum,
            jobs or os.cpu_count() or 1,
            repeat,
            one_by_one_max,
            board_threads,
        )
        w.check()
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    code = run_suite(
        w,
        sizes,
        click.echo,
        lambda s: click.echo(f"… {s}", err=True),
        json_file,
        plot_dir,
        compare,
        eg_python,
        eg_ballots,
        eg_repeat,
        browser,
    )
    sys.exit(code)


@bench.command("core")
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--proofs", default=1000, show_default=True, help="Range proofs to verify.")
@click.option("--repeat", default=5, show_default=True, help="Repeats of the batched run.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_core(group_name: str, proofs: int, repeat: int, json_file: str | None) -> None:
    """powmod, fixed-base, encryption with proof, and range-proof verification."""
    from benchmarks.core import format_rows, machine_info, run_core

    group = GROUPS[group_name]
    click.echo(f"group: {group.name}")
    rows = run_core(group, proofs, repeat)
    click.echo(format_rows(rows))
    if json_file:
        with open(json_file, "w", encoding="utf-8") as f:
            json.dump({"machine": machine_info(), "group": group.name, "rows": rows}, f, indent=2)


@bench.command("election")
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--ballots", default=400, show_default=True, help="Ballots in the batched run.")
@click.option("--tally-ballots", default=100_000, show_default=True, help="Ballots to tally.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_election(
    group_name: str, ballots: int, tally_ballots: int, json_file: str | None
) -> None:
    """3×3 ballot encryption and verification, tally, decryption by 3 of 5 trustees."""
    from benchmarks.core import format_rows, machine_info
    from benchmarks.election import run_election
    from sim.demo import EXAMPLE, load_manifest

    group = GROUPS[group_name]
    click.echo(f"group: {group.name}")
    rows = run_election(group, load_manifest(EXAMPLE), ballots, tally_ballots)
    click.echo(format_rows(rows))
    if json_file:
        with open(json_file, "w", encoding="utf-8") as f:
            json.dump({"machine": machine_info(), "group": group.name, "rows": rows}, f, indent=2)


@bench.command("board")
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--db", default=None, help="Database URL (default: a temporary SQLite file).")
@click.option("--ballots", type=click.IntRange(min=1), default=600, show_default=True)
@click.option("--clients", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--workers",
    default="2",
    show_default=True,
    help="Server processes; a comma-separated list (e.g. 1,2,4) runs each in turn.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Threads per server process.",
)
@click.option("--proxy", is_flag=True, help="Through nginx, round robin over the processes.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_board(
    group_name: str,
    db: str | None,
    ballots: int,
    clients: int,
    workers: str,
    threads: int,
    proxy: bool,
    json_file: str | None,
) -> None:
    """Accepted ballots per second over HTTP with concurrent clients; p50/p99 latency, server
    CPU per ballot and the serial append's cost per ballot."""
    from benchmarks.board import run_board
    from benchmarks.core import machine_info
    from sim.demo import EXAMPLE

    counts = _counts(workers, "--workers", "at least one server process")
    if db and len(counts) > 1:
        raise click.UsageError("--db takes one --workers count (each run needs a fresh board)")
    rows = []
    for n in counts:
        r = run_board(str(EXAMPLE), group_name, db, ballots, clients, n, threads, proxy)
        rows.append(r)
        click.echo(json.dumps(r, indent=1))
    if json_file:
        with open(json_file, "w", encoding="utf-8") as f:
            json.dump({"machine": machine_info(), "board": rows}, f, indent=2)


@bench.command("gate")
@click.option("--revoked", default=100_000, show_default=True, help="Entries in the CRL.")
@click.option("--submissions", default=300, show_default=True)
def bench_gate(revoked: int, submissions: int) -> None:
    """The JPKI gate's cost per signed submission, with a CRL of --revoked entries."""
    from benchmarks.gate import run_gate

    click.echo(json.dumps(run_gate(revoked, submissions), indent=1))


@bench.command("log")
@click.option("--db", default=None, help="Database URL (default: a temporary SQLite file).")
@click.option("--max", "max_size", default=100_000, show_default=True, help="Largest log size.")
def bench_log(db: str | None, max_size: int) -> None:
    """Append cost and proof sizes as the log grows (10^3 … --max entries)."""
    from benchmarks.board import run_log

    sizes = tuple(10**k for k in range(3, 8) if 10**k <= max_size)
    for row in run_log(db, sizes):
        click.echo(json.dumps(row))


@bench.command("record")
@click.option("--ballots", "voters", type=int, required=True, help="Voters (each casts one).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Record directory.")
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--jobs", "-j", type=int, default=None, help="Processes (default: all cores).")
@click.option("--seed", default="bench-record", show_default=True, help="Choices and voters.")
def bench_record(
    voters: int, out: str, group_name: str, manifest: str | None, jobs: int | None, seed: str
) -> None:
    """Write a complete, verifiable record of --ballots voters, fast.

    Every 13th voter votes again in one contest and every 97th challenges a ballot first,
    as in the demo; encryption with all proofs runs on every core. The JPKI step is
    skipped: voters are synthetic pseudonyms, not signed by a card (the verifier checks
    everything else). `tohyo verify DIR` then verifies it.
    """
    from benchmarks.record import generate
    from e2e.cli import Meter
    from sim.demo import EXAMPLE, load_manifest

    click.echo(
        "JPKI skipped: voters are synthetic pseudonyms, no card signs (tohyo demo signs)",
        err=True,
    )
    m = load_manifest(pathlib.Path(manifest) if manifest else EXAMPLE)
    meter = Meter() if sys.stderr.isatty() else None
    try:
        g = generate(out, voters, m, group_name, jobs, seed, meter)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    finally:
        if meter:
            meter.close()
    click.echo(
        f"wrote {g.path}: {g.voters} voters, {g.ballots} cast ballots ({g.revotes} re-votes), "
        f"{g.challenged} challenged, {g.entries} log entries; {g.seconds:.1f} s "
        f"({g.encrypt_seconds:.1f} s encrypting, {g.voters / max(g.seconds, 1e-9):.1f} voters/s)"
    )


@bench.command("scale")
@click.option(
    "--ballots",
    "sizes",
    default="1000,10000,100000",
    show_default=True,
    help="Voters per record, comma-separated.",
)
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--jobs", "-j", type=int, default=None, help="Workers (default: all cores).")
@click.option("--dask/--no-dask", default=True, help="Also verify on a Dask LocalCluster.")
@click.option(
    "--work",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the records are made and kept [default: ./bench-records or $TOHYO_BENCH_WORK].",
)
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None)
def bench_scale(
    sizes: str,
    group_name: str,
    jobs: int | None,
    dask: bool,
    work: str | None,
    json_file: str | None,
    plot_dir: str | None,
) -> None:
    """Verification time and peak memory per ballot at each size, and a projection.

    Makes each record once (tohyo bench record, kept in --work), verifies it in a fresh
    process on local processes (and on a Dask LocalCluster), and prints a table: wall time,
    ms per ballot per core, the coordinator's CPU per ballot, the peak resident memory of
    the coordinator and of the largest worker. Then the projection to 2×10^5 and 10^8
    ballots on several core counts, with its assumptions.
    """
    from benchmarks.scale import default_work, plot, projection, run_scale, table
    from benchmarks.suite import parse_sizes

    try:
        ns = parse_sizes(sizes)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    jobs = jobs or os.cpu_count() or 1
    root = pathlib.Path(work) if work else default_work()
    root.mkdir(parents=True, exist_ok=True)
    click.echo(f"machine: {os.cpu_count()} cores; {jobs} workers; group {group_name}")
    rows = run_scale(ns, root, group_name, jobs, dask, lambda s: click.echo(f"… {s}", err=True))
    for line in table(rows):
        click.echo(line)
    for line in projection(rows, (200_000, 100_000_000), (jobs, 16, 64, 1024)):
        click.echo(line)
    if json_file:
        pathlib.Path(json_file).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    if plot_dir:
        try:
            for p in plot(rows, pathlib.Path(plot_dir)):
                click.echo(f"plot: {p}")
        except RuntimeError as e:
            raise click.ClickException(str(e)) from None


@bench.command("witness")
@click.option("--max", "max_size", default=1_000_000, show_default=True, help="Largest log.")
@click.option("--rate", default=100.0, show_default=True, help="Entries appended a second.")
@click.option("--seconds", default=20.0, show_default=True, help="How long to append.")
@click.option("--interval", default=1.0, show_default=True, help="Witnesses' polling, s.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_witness(
    max_size: int, rate: float, seconds: float, interval: float, json_file: str | None
) -> None:
    """A witness's cost per head as the log grows (10^3 … --max entries), and the delay a
    receipt waits for two witnesses' cosignatures at --rate entries a second
    (benchmarks/witness.py)."""
    from benchmarks.witness import per_head, receipt_delay

    sizes = tuple(10**k for k in range(3, 8) if 10**k <= max_size)
    rows = per_head(sizes)
    for row in rows:
        click.echo(json.dumps(row))
    delay = receipt_delay(rate, seconds, interval)
    click.echo(json.dumps(delay))
    if json_file:
        pathlib.Path(json_file).write_text(
            json.dumps({"per_head": rows, "receipt_delay": delay}, indent=1), encoding="utf-8"
        )


@bench.command("batch")
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--sizes", default="1,4,8,16,32,64,128,200", show_default=True, help="Batch sizes.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_batch(group_name: str, sizes: str, json_file: str | None) -> None:
    """The board's batch verification, CPU ms per ballot, for each batch size: what a
    board process pays per ballot at a given load (benchmarks/batches.py)."""
    from benchmarks.batches import run_batches
    from benchmarks.core import machine_info
    from sim.demo import EXAMPLE, load_manifest

    wanted = _counts(sizes, "--sizes", "batch sizes are at least 1")
    steps, rows = run_batches(GROUPS[group_name], load_manifest(EXAMPLE), wanted)
    for step in steps:
        click.echo(f"{step['step']:>10}: {step['cpu_ms_per_ballot']:7.2f} ms/ballot")
    for row in rows:
        click.echo(f"batch {row['batch_size']:4d}: {row['cpu_ms_per_ballot']:7.2f} ms/ballot")
    if json_file:
        doc = {"machine": machine_info(), "group": group_name, "steps": steps, "rows": rows}
        pathlib.Path(json_file).write_text(json.dumps(doc, indent=1), encoding="utf-8")


@bench.command("accept")
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--threads", default="1,4,16,25", show_default=True, help="Submitting threads.")
@click.option("--ballots", type=click.IntRange(min=1), default=400, show_default=True)
@click.option(
    "--gather",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds a batch waits for submissions being checked (0: none; default: the board's).",
)
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_accept(
    group_name: str, threads: str, ballots: int, gather: float | None, json_file: str | None
) -> None:
    """A board's acceptance in this process, without HTTP, for each number of submitting
    threads: CPU ms per ballot, ballots/s and the batch sizes (benchmarks/accept.py)."""
    from benchmarks.accept import run_accept
    from benchmarks.core import machine_info
    from sim.demo import EXAMPLE, load_manifest

    wanted = _counts(threads, "--threads", "at least one thread")
    rows = run_accept(GROUPS[group_name], load_manifest(EXAMPLE), wanted, ballots, gather)
    for r in rows:
        click.echo(
            f"threads {r['threads']:3d}: {r['cpu_ms_per_ballot']:6.1f} ms CPU/ballot, "
            f"{r['ballots_per_second']:5.1f} ballots/s, p50 {r['p50_ms']:5.0f} ms, "
            f"p99 {r['p99_ms']:5.0f} ms, batches {r['batch_sizes']}"
        )
    if json_file:
        doc = {"machine": machine_info(), "group": group_name, "rows": rows}
        pathlib.Path(json_file).write_text(json.dumps(doc, indent=1), encoding="utf-8")


@bench.command("card")
@click.option("--signatures", default=20, show_default=True, help="Signatures per way.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_card(signatures: int, json_file: str | None) -> None:
    """The signer's time per signature against the virtual My Number Card: in process,
    through our own pcscd and vpcd, and through the local signer's page (benchmarks/card.py).
    The virtual card's own RSA time is subtracted; a real card's (about 1 s) is the floor."""
    from benchmarks.card import run, table
    from sim.pcscd import PcscdError

    try:
        result = run(signatures)
    except PcscdError as e:
        raise click.ClickException(f"{e} (make pcsc installs the PC/SC stack)") from None
    click.echo(table(result))
    if json_file:
        pathlib.Path(json_file).write_text(json.dumps(result, indent=1), encoding="utf-8")
