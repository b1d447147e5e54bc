"""The root ``tohyo`` command: gathers each layer's commands, plus demo and bench."""

from __future__ import annotations

import json
import os
import pathlib
import sys

import click

from bulletin.cli import board
from bulletin.jpki.cli import audit_group, jpki
from e2e.cli import commands as e2e_commands
from e2e.cli import guard
from e2e.group import GROUPS
from trustees.cli import trustee
from web.admin import admin_cli
from web.api import MAX_BODY

# The body waitress reads: the API's own limit (which answers 413 in JSON) and a little
# more, so that a body just over the API's limit still gets the API's JSON error.
MAX_REQUEST_BODY = MAX_BODY + 64 * 1024


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tohyo")
def main() -> None:
    """tohyo: an end-to-end verifiable voting engine (ElectionGuard 2.1 based)."""


for _cmd in e2e_commands():
    main.add_command(_cmd)
main.add_command(trustee)
main.add_command(board)
main.add_command(jpki)
main.add_command(audit_group)
main.add_command(admin_cli)


def _rate_limit(value: str) -> str:
    """A Flask-Limiter limit string, checked when the server starts, not at the first
    request it would have to limit."""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise click.BadParameter(f"not a rate limit: {value!r} (e.g. '600 per hour')") from None
    return value


@main.command()
@click.option("--db", default="sqlite:///board.db", show_default=True, help="SQLAlchemy URL.")
@click.option("--key", default="board.key", show_default=True, help="Board signing key (PEM).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option(
    "--tokens",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help='Test authenticator: JSON {"pseudonym_key": HEX, "tokens": {TOKEN: PERSON}}.',
)
@click.option(
    "--clock-offset",
    type=float,
    default=0.0,
    help="Seconds added to the clock (rehearsals outside the real voting period).",
)
@click.option(
    "--rehearsal",
    type=click.Path(file_okay=False),
    default=None,
    help="Prepare (once) and serve a rehearsal election in this directory: ceremony, open "
    "board, stand-in JPKI CA and simulated cards (see docs/voter.md).",
)
@click.option(
    "--group",
    "group_name",
    type=click.Choice(sorted(GROUPS)),
    default="standard",
    show_default=True,
    help="The group of a new rehearsal.",
)
@click.option(
    "--admin-password-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="File holding the administrator's password hash (tohyo admin password).",
)
@click.option(
    "--allow-test-group",
    is_flag=True,
    help="Let the administrator create an election in the insecure test group (rehearsals).",
)
@click.option("--public-url", default=None, help="The site's https:// URL behind TLS.")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The JPKI gate: a trust anchor (PEM or DER). Repeat for each; default: the J-LIS "
    "signing CA roots the package ships.",
)
@click.option(
    "--crl",
    "crls",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The JPKI gate: a CRL (DER or PEM). Repeat for each.",
)
@click.option(
    "--pseudonym-key-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The JPKI gate: the election authority's pseudonym key (32+ bytes, hex).",
)
@click.option(
    "--evidence-dir",
    type=click.Path(file_okay=False),
    default="evidence",
    show_default=True,
    help="The JPKI gate: where certificates and signatures are kept for auditors (0700).",
)
@click.option(
    "--trusted-proxy",
    default=None,
    help="The TLS reverse proxy's address: its X-Forwarded-For/-Proto/-Host are believed "
    "(client addresses for rate limits, https links).",
)
@click.option(
    "--submit-limit",
    default="20 per minute",
    show_default=True,
    help="Per-address limit on submissions, challenges and signing requests.",
)
@click.option(
    "--challenged-limit",
    default="600 per hour",
    show_default=True,
    callback=lambda ctx, param, value: _rate_limit(value),
    help="Limit on challenged ballots appended by all clients together (they need no "
    "authentication and stay in the public log).",
)
@click.option(
    "--sign-requests-per-address",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="Pending signing-app requests of one client address (10,000 in all).",
)
@click.option(
    "--no-rate-limits",
    is_flag=True,
    help="Turn off the rate limits, per address and in total (load tests).",
)
@click.option("--api-only", is_flag=True, help="Serve the JSON API without the pages.")
@click.option(
    "--connection-limit",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Open connections waitress serves at once; more wait in the listen backlog.",
)
@click.option(
    "--channel-timeout",
    default=15,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds a connection may send nothing (mid-request or idle) before it is closed.",
)
@click.option(
    "--max-request-body",
    default=MAX_REQUEST_BODY,
    show_default=True,
    type=click.IntRange(min=1),
    help="Bytes of a request body waitress reads; a larger one gets 413 before it is read.",
)
@click.option(
    "--max-request-header",
    default=32 * 1024,
    show_default=True,
    type=click.IntRange(min=1024),
    help="Bytes of the request line and headers; more gets 431.",
)
@click.option(
    "--inbuf-overflow",
    default=512 * 1024,
    show_default=True,
    type=click.IntRange(min=1024),
    help="Bytes of a request body kept in memory; the rest (up to --max-request-body) goes "
    "to a temporary file.",
)
@guard
def serve(
    db: str,
    key: str,
    host: str,
    port: int,
    threads: int,
    tokens: str | None,
    clock_offset: float,
    rehearsal: str | None,
    group_name: str,
    admin_password_file: str | None,
    allow_test_group: bool,
    public_url: str | None,
    anchors: tuple[str, ...],
    crls: tuple[str, ...],
    pseudonym_key_file: str | None,
    evidence_dir: str,
    trusted_proxy: str | None,
    submit_limit: str,
    challenged_limit: str,
    sign_requests_per_address: int,
    no_rate_limits: bool,
    api_only: bool,
    connection_limit: int,
    channel_timeout: int,
    max_request_body: int,
    max_request_header: int,
    inbuf_overflow: int,
) -> None:
    """Serve the site (booth, board, results, admin) with a production WSGI server.

    Voters are admitted by the JPKI gate (--anchor, --crl, --pseudonym-key-file), by test
    tokens (--tokens), or, in a rehearsal, by the rehearsal's stand-in CA.
    """
    import waitress

    from bulletin.auth import TokenAuthenticator
    from bulletin.board import new_signing_key
    from bulletin.cli import open_board
    from bulletin.clock import OffsetClock
    from bulletin.jpki import jlis_anchor_paths
    from web.api import create_app
    from web.app import SiteSettings, create_site
    from web.gate import DeferredJpkiGate

    if api_only and not no_rate_limits:
        raise click.UsageError(
            "--api-only serves the API without rate limits (a load-test mode): "
            "give --no-rate-limits too"
        )
    cards: tuple[dict, ...] = ()
    card_dir = None
    if rehearsal:
        from web import rehearsal as rh
        from web.demo import EXAMPLE, load_manifest

        where = pathlib.Path(rehearsal)
        rh.prepare(where, GROUPS[group_name], load_manifest(EXAMPLE), click.echo)
        b = rh.open_board(where)
        cards = tuple(rh.settings(where)["cards"])
        card_dir = str(where / "cards")
    else:
        if not pathlib.Path(key).exists():
            new_signing_key(key)
            click.echo(f"created the board's signing key {key} (keep it; it signs the log)")
        b = open_board(db, key, clock=OffsetClock(clock_offset))
        if tokens and (anchors or pseudonym_key_file):
            raise click.UsageError("--tokens and the JPKI gate's options exclude each other")
        if tokens:
            cfg = json.loads(pathlib.Path(tokens).read_text(encoding="utf-8"))
            b.authenticator = TokenAuthenticator(bytes.fromhex(cfg["pseudonym_key"]), cfg["tokens"])
        elif anchors or pseudonym_key_file:
            if not pseudonym_key_file:
                raise click.UsageError("the JPKI gate needs --pseudonym-key-file")
            # Without --anchor, the J-LIS signing CA roots that the package ships (their
            # fingerprints pinned, docs/jpki.md): what a production gate trusts.
            anchor_files = [pathlib.Path(a) for a in anchors] or jlis_anchor_paths()
            if not anchors:
                click.echo("JPKI gate: trusting the J-LIS roots " + ", ".join(
                    p.name for p in anchor_files))  # fmt: skip
            key_hex = pathlib.Path(pseudonym_key_file).read_text(encoding="utf-8").strip()
            b.authenticator = DeferredJpkiGate(
                b,
                anchor_files,
                [pathlib.Path(c) for c in crls],
                bytes.fromhex(key_hex),
                pathlib.Path(evidence_dir),
            )
        else:
            click.echo(
                "note: no --pseudonym-key-file or --tokens: ballots cannot be cast "
                "(no authenticator)"
            )
    if b.state() != "setup":
        b.election  # noqa: B018 (load the election and build the key table before serving)
    admin_hash = None
    if admin_password_file:
        admin_hash = pathlib.Path(admin_password_file).read_text(encoding="utf-8").strip()
    settings = SiteSettings(
        admin_password_hash=admin_hash,
        rate_limits=not no_rate_limits,
        submit_limit=submit_limit,
        challenged_limit=challenged_limit,
        sign_requests_per_address=sign_requests_per_address,
        demo_cards=cards,
        card_dir=card_dir,
        allow_test_group=allow_test_group,
        secure_cookies=bool(public_url and public_url.startswith("https://")),
    )
    app = create_app(b) if api_only else create_site(b, settings)
    # Many request threads share one GIL with gmpy2 and sqlite3 releasing it often: a short
    # switch interval stops a thread returning from a query from waiting 5 ms for the GIL.
    sys.setswitchinterval(0.0005)
    url = f"http://{host}:{port}"
    click.echo(f"serving on {url}/ (state: {b.state()}); booth: {url}/booth")
    for c in cards:
        click.echo(f"  card {c['file']}: password {c['password']}")
    proxy: dict[str, object] = {}
    if trusted_proxy:
        proxy = {
            "trusted_proxy": trusted_proxy,
            "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host",
            "clear_untrusted_proxy_headers": True,
        }
    # waitress' defaults let 100 connections that stall mid-request hold every slot for
    # 120 s (closed only by the cleanup every 30 s after that), and spool a body of up to
    # 1 GiB to a temporary file before the app can refuse it: every limit is set here
    # (docs/admin.md, "Serving limits and the TLS proxy").
    limits: dict[str, object] = {
        "connection_limit": connection_limit,
        "channel_timeout": channel_timeout,
        # how often idle connections are looked for: a stalled one lives at most
        # channel_timeout + cleanup_interval seconds
        "cleanup_interval": max(1, min(channel_timeout // 3, 30)),
        "max_request_body_size": max_request_body,
        "max_request_header_size": max_request_header,
        "inbuf_overflow": inbuf_overflow,
        "asyncore_use_poll": True,  # select() cannot watch file descriptors past 1023
        "expose_tracebacks": False,
    }
    waitress.serve(app, host=host, port=port, threads=threads, ident="tohyo", **limits, **proxy)


@main.group()
def rehearsal() -> None:
    """A rehearsal election in the browser (after tohyo serve --rehearsal DIR)."""


@rehearsal.command("finish")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def rehearsal_finish(directory: str) -> None:
    """Close, tally, decrypt with a quorum, publish the results, export the record."""
    from web import rehearsal as rh

    out = rh.finish(pathlib.Path(directory), click.echo)
    click.echo(f"verify it with: tohyo verify {out}")


@main.command()
@click.option("--voters", default=1000, show_default=True, help="Simulated voters.")
@click.option("--trustees", default=5, show_default=True, help="Trustees n.")
@click.option("--quorum", default=3, show_default=True, help="Quorum k.")
@click.option("--absent", default=1, show_default=True, help="Trustees absent at decryption.")
@click.option("--seed", default=None, help="Seed for a reproducible simulation.")
@click.option("--out", default="demo-record", show_default=True, type=click.Path(file_okay=False))
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--jobs", "-j", type=int, default=None, help="Processes (default: all cores).")
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Manifest JSON (default: examples/tsukuba-2025.json).",
)
@click.option("--db", default=None, help="Board database URL (default: a temporary SQLite file).")
def demo(
    voters: int,
    trustees: int,
    quorum: int,
    absent: int,
    seed: str | None,
    out: str,
    group_name: str,
    jobs: int | None,
    manifest: str | None,
    db: str | None,
) -> None:
    """Run a whole simulated election through the board; export and verify its record."""
    from web.demo import EXAMPLE, load_manifest, run_demo

    if not 1 <= quorum <= trustees:
        raise click.BadParameter("need 1 <= quorum <= trustees", param_hint="--quorum")
    if voters < 1:
        raise click.BadParameter("need at least one voter", param_hint="--voters")
    m = load_manifest(pathlib.Path(manifest) if manifest else EXAMPLE)
    ok = run_demo(
        GROUPS[group_name],
        m,
        voters,
        trustees,
        quorum,
        absent,
        seed,
        pathlib.Path(out),
        jobs or os.cpu_count() or 1,
        click.echo,
        db,
    )
    click.echo("")
    click.echo("To vote yourself in a browser (a rehearsal election with simulated cards):")
    click.echo("  .venv/bin/tohyo serve --rehearsal rehearsal")
    click.echo("  then open http://127.0.0.1:8000/booth (card files and passwords are on the")
    click.echo("  booth's signing step); afterwards: .venv/bin/tohyo rehearsal finish rehearsal")
    sys.exit(0 if ok else 1)


@main.group(invoke_without_command=True)
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
    from web.demo import EXAMPLE, load_manifest

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
@click.option("--ballots", default=600, show_default=True)
@click.option("--clients", default=50, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Server processes.")
@click.option("--threads", default=16, show_default=True, help="Threads per server process.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_board(
    group_name: str,
    db: str | None,
    ballots: int,
    clients: int,
    workers: int,
    threads: int,
    json_file: str | None,
) -> None:
    """Accepted ballots per second over HTTP with concurrent clients; p50/p99 latency."""
    from benchmarks.board import run_board
    from benchmarks.core import machine_info
    from web.demo import EXAMPLE

    r = run_board(str(EXAMPLE), group_name, db, ballots, clients, workers, threads)
    click.echo(json.dumps(r, indent=1))
    if json_file:
        with open(json_file, "w", encoding="utf-8") as f:
            json.dump({"machine": machine_info(), "board": r}, f, indent=2)


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
