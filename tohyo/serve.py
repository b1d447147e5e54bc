"""``tohyo serve``: the composition of a running site: the board (bulletin), its voter
authenticator (the JPKI gate, test tokens, or a rehearsal's stand-in CA from the
simulation), the Flask site (web) and the WSGI server (web.server)."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sys
from typing import Any

import click

from e2e.cli import guard
from e2e.group import GROUPS
from web.server import MAX_REQUEST_BODY, WsgiLimits, serve_wsgi


def _rate_limit(value: str) -> str:
    """A Flask-Limiter limit string, checked when the server starts, not at the first
    request it would have to limit."""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise click.BadParameter(f"not a rate limit: {value!r} (e.g. '600 per hour')") from None
    return value


@click.command()
@click.option("--db", default="sqlite:///board.db", show_default=True, help="SQLAlchemy URL.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port (each with --threads threads); a dead one is "
    "started again.",
)
@click.option(
    "--secret-key-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="The site's secret key (sessions, CSRF), shared by every process and machine; "
    "created (0600) if missing. Default: site-secret.key beside --key (or in the rehearsal).",
)
@click.option(
    "--rate-limit-storage",
    default="memory://",
    show_default=True,
    help="Where the rate-limit counters live: memory:// (this process only) or a shared "
    "store such as redis://HOST:6379/0 (every process and machine counts together).",
)
@click.option("--key", default="board.key", show_default=True, help="Board signing key (PEM).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
# The largest batch a process verifies together is its thread count, and a ballot costs
# less in a larger batch (docs/researchers.md): 16 rather than waitress's usual handful.
@click.option("--threads", default=16, show_default=True, type=int)
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
    "--signer-url",
    default="http://127.0.0.1:47611",
    show_default=True,
    help="Where the booth finds the voter's local signer (`tohyo signer`); '' turns it off.",
)
@click.option(
    "--record-cache",
    type=click.Path(file_okay=False),
    default=None,
    help="Where /record.zip is written, once for every process of this machine (it is the "
    "size of the record); default: a directory in the system's temporary directory.",
)
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
    signer_url: str,
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
    workers: int,
    secret_key_file: str | None,
    rate_limit_storage: str,
    record_cache: str | None,
) -> None:
    """Serve the site (booth, board, results, admin) with a production WSGI server.

    Voters are admitted by the JPKI gate (--anchor, --crl, --pseudonym-key-file), by test
    tokens (--tokens), or, in a rehearsal, by the rehearsal's stand-in CA. Several
    processes (--workers, or several machines behind a proxy) keep nothing that another
    needs: the state is in the database, the rate limits in --rate-limit-storage, and the
    secret key in --secret-key-file (docs/admin.md, "Several processes and machines").
    """
    from bulletin.board import new_signing_key
    from bulletin.cli import open_board
    from web.api import create_app
    from web.app import SiteSettings, create_site

    if api_only and not no_rate_limits:
        raise click.UsageError(
            "--api-only serves the API without rate limits (a load-test mode): "
            "give --no-rate-limits too"
        )
    if rehearsal:
        from sim import rehearsal as rh
        from sim.demo import EXAMPLE, load_manifest

        where = pathlib.Path(rehearsal)
        rh.prepare(where, GROUPS[group_name], load_manifest(EXAMPLE), click.echo)
    elif not pathlib.Path(key).exists():
        new_signing_key(key)
        click.echo(f"created the board's signing key {key} (keep it; it signs the log)")
    if tokens and (anchors or pseudonym_key_file):
        raise click.UsageError("--tokens and the JPKI gate's options exclude each other")
    if (anchors or pseudonym_key_file) and not pseudonym_key_file:
        raise click.UsageError("the JPKI gate needs --pseudonym-key-file")
    _check_storage(rate_limit_storage)
    if secret_key_file is None:
        base = pathlib.Path(rehearsal) if rehearsal else pathlib.Path(key).resolve().parent
        secret_key_file = str(base / "site-secret.key")
    secret = site_secret(pathlib.Path(secret_key_file), click.echo)
    # Open the board once here: the schema is migrated and a missing head signed before any
    # worker starts, and a wrong --key or an unusable gate option is refused before anything
    # is served (a worker that cannot start would only be started again and again).
    checked = rh.open_board(where) if rehearsal else open_board(db, key)
    if not rehearsal:
        _authenticator(checked, tokens, anchors, crls, pseudonym_key_file, evidence_dir, quiet=True)
    checked.store.engine.dispose()

    def build() -> tuple[Any, Any, tuple[dict, ...]]:
        """The board and the site of one server process."""
        cards: tuple[dict, ...] = ()
        card_dir = None
        if rehearsal:
            b = rh.open_board(where)
            cards = tuple(rh.settings(where)["cards"])
            card_dir = str(where / "cards")
        else:
            b = open_board(db, key, clock_offset)
            b.authenticator = _authenticator(
                b, tokens, anchors, crls, pseudonym_key_file, evidence_dir
            )
        if b.state() != "setup":
            b.election  # noqa: B018 (load the election and build its tables before serving)
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
            rate_limit_storage=rate_limit_storage,
            signer_url=signer_url,
            record_cache=record_cache,
        )
        app = create_app(b) if api_only else create_site(b, settings)
        app.secret_key = secret  # one key for every process: a session survives any of them
        return app, b, cards

    admin_hash = None
    if admin_password_file:
        admin_hash = pathlib.Path(admin_password_file).read_text(encoding="utf-8").strip()
    limits = WsgiLimits(
        connection_limit, channel_timeout, max_request_body, max_request_header, inbuf_overflow
    )
    # The access log (web.metrics: one JSON line per request, no address, query or body)
    # goes to stderr, where the service manager or the container collects it; so does what
    # the JPKI gate says when it loads newly delivered CRLs, or refuses them (bulletin.gate).
    _log_to_stderr("tohyo.access", "%(message)s")
    _log_to_stderr("tohyo.jpki", "%(name)s: %(message)s")
    prometheus_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if workers > 1 and not prometheus_dir:
        click.echo(
            "note: PROMETHEUS_MULTIPROC_DIR is not set: each worker's /metrics counts that "
            'worker alone (docs/admin.md, "Several processes and machines")',
            err=True,
        )
    elif workers > 1:
        _empty_metrics_dir(pathlib.Path(prometheus_dir))
    # Many request threads share one GIL with gmpy2 and sqlite3 releasing it often: a short
    # switch interval stops a thread returning from a query from waiting 5 ms for the GIL.
    sys.setswitchinterval(0.0005)
    url = f"http://{host}:{port}"
    if rehearsal:
        _start_witnesses(rh.witness_commands(where, url))
    if workers == 1:
        app, b, cards = build()
        click.echo(f"serving on {url}/ (state: {b.state()}); booth: {url}/booth")
        for c in cards:
            click.echo(f"  card {c['file']}: password {c['password']}")
        if not tokens and not anchors and not pseudonym_key_file and not rehearsal:
            click.echo(
                "note: no --pseudonym-key-file or --tokens: ballots cannot be cast "
                "(no authenticator)"
            )
        serve_wsgi(app, host, port, threads, limits, trusted_proxy)
        return
    click.echo(f"serving on {url}/ with {workers} processes; booth: {url}/booth")
    for c in rh.settings(where)["cards"] if rehearsal else ():
        click.echo(f"  card {c['file']}: password {c['password']}")
    run_workers(workers, host, port, lambda sock: serve_wsgi(
        build()[0], host, port, threads, limits, trusted_proxy, [sock]))  # fmt: skip


def _log_to_stderr(name: str, form: str) -> None:
    """Logger ``name``'s INFO lines on stderr, in ``form``, and nowhere else."""
    import logging

    log = logging.getLogger(name)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(form))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _start_witnesses(commands: list[list[str]]) -> None:
    """A rehearsal's witnesses, each its own `tohyo witness run` process (as an independent
    party runs it), stopped when this command ends. Processes, not threads: the server's
    workers are forked, and a fork taken while a thread is inside SQLite can leave the
    child a lock it never releases."""
    import atexit
    import subprocess

    def die_with_parent() -> None:
        # Linux: the witness gets SIGTERM when this server dies, however it dies (a
        # SIGTERM or SIGKILL to the server runs no atexit handler).
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG

    procs = [
        subprocess.Popen(c, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent) for c in commands
    ]

    def stop() -> None:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    atexit.register(stop)
    if procs:
        click.echo(f"rehearsal: {len(procs)} witnesses follow the board (tohyo witness run)")


def _check_storage(uri: str) -> None:
    """A rate-limit storage URI that Flask-Limiter can use, checked before any worker
    starts (a bad one would only make every worker fail at its start)."""
    from limits.storage import storage_from_string

    try:
        storage_from_string(uri)
    except Exception as e:
        raise click.BadParameter(f"{uri!r}: {e}", param_hint="--rate-limit-storage") from None


def _authenticator(
    b: Any,
    tokens: str | None,
    anchors: tuple[str, ...],
    crls: tuple[str, ...],
    pseudonym_key_file: str | None,
    evidence_dir: str,
    quiet: bool = False,
) -> Any:
    """The voter authenticator of a board that is not a rehearsal's."""
    from bulletin.auth import TokenAuthenticator
    from bulletin.gate import DeferredJpkiGate
    from bulletin.jpki import jlis_anchor_paths

    if tokens:
        cfg = json.loads(pathlib.Path(tokens).read_text(encoding="utf-8"))
        return TokenAuthenticator(bytes.fromhex(cfg["pseudonym_key"]), cfg["tokens"])
    if not pseudonym_key_file:
        return None
    # Without --anchor, the J-LIS signing CA roots that the package ships (their
    # fingerprints pinned, docs/jpki.md): what a production gate trusts.
    anchor_files = [pathlib.Path(a) for a in anchors] or jlis_anchor_paths()
    if not anchors and not quiet:
        click.echo("JPKI gate: trusting the J-LIS roots " + ", ".join(p.name for p in anchor_files))
    key_hex = pathlib.Path(pseudonym_key_file).read_text(encoding="utf-8").strip()
    return DeferredJpkiGate(
        b,
        anchor_files,
        [pathlib.Path(c) for c in crls],
        bytes.fromhex(key_hex),
        pathlib.Path(evidence_dir),
    )


def site_secret(path: pathlib.Path, echo: Any) -> bytes:
    """The site's secret key from ``path``, created (32 random bytes, hex, mode 0600) if
    missing: never a fresh key per process, which would log a voter or administrator out
    whenever the next request reaches another process.

    Creation is atomic (a complete temporary file linked into place), so processes that
    start together all read the same whole key, and a crash never leaves an empty file."""
    import os
    import secrets
    import tempfile

    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".site-secret-")
        try:
            with os.fdopen(fd, "w") as f:  # mkstemp makes it 0600
                f.write(secrets.token_hex(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
                echo(f"created the site's secret key {path} (give the same file to every process)")
            except FileExistsError:
                pass  # another process made it first: use that one
        finally:
            os.unlink(tmp)
    if path.stat().st_mode & 0o077:
        echo(f"warning: {path} is readable by others; it should be mode 0600")
    text = path.read_text(encoding="utf-8").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise click.UsageError(f"{path}: the secret key file holds hex digits") from None
    if len(key) < 32:
        raise click.UsageError(f"{path}: the secret key must be at least 32 bytes")
    return key


#: A worker that ends this soon after its start, this many times in a row, cannot start
#: (a bad option, a bug): the server stops instead of retrying forever.
FAST_FAILURE_SECONDS = 10.0
FAST_FAILURES = 5

#: The exit code of a worker that could not start because the database did not answer (it
#: was started again after a crash during an outage or a failover): not a fast failure.
#: Such a worker is started again, after 1, 2, 4 … seconds, up to this many, until the
#: database answers: the outage must not stop the workers still serving.
DATABASE_WAIT_EXIT = 75  # EX_TEMPFAIL
DATABASE_WAIT_MAX = 30.0


def _database_unavailable(e: BaseException) -> str | None:
    """What to log of a worker's start that failed for want of the database, or None."""
    from bulletin.cli import DatabaseUnavailable
    from bulletin.store import describe, is_unavailable

    if isinstance(e, DatabaseUnavailable):
        return str(e)  # the URL without its password, and the driver's reason
    if is_unavailable(e):
        return f"the board's database does not answer ({describe(e)})"
    return None


def _empty_metrics_dir(path: pathlib.Path) -> None:
    """Remove the counts a previous run of the workers left in ``PROMETHEUS_MULTIPROC_DIR``
    (prometheus_client's files, ``*.db``). They would be added to this run's: the sum that
    every worker's /metrics answers would carry the last run's ballots and requests, and
    those of every run before it. So it is emptied here, before any worker starts.

    This server holds an flock on the directory for as long as it runs (its workers inherit
    the descriptor): a second server started on the same directory by mistake stops here,
    before it removes the counts of the one running."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise click.ClickException(f"PROMETHEUS_MULTIPROC_DIR {path}: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise click.ClickException(
            f"another tohyo serve uses PROMETHEUS_MULTIPROC_DIR {path}: give each its own"
        ) from None
    _HELD.append(fd)  # never closed: the lock lasts as long as this process
    for f in path.glob("*.db"):
        f.unlink(missing_ok=True)


_HELD: list[int] = []


def run_workers(workers: int, host: str, port: int, serve_one: Any) -> None:
    """Bind ``host:port`` once, fork ``workers`` processes that serve on that socket, and
    keep them running: a process that dies is started again (after a second, so that one
    that cannot start does not spin; after five fast failures in a row the server stops with
    exit code 1; one that could not reach the database is started again later and later,
    for as long as the outage lasts); SIGTERM or SIGINT stops them all."""
    import os
    import signal
    import socket
    import time
    import traceback

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    children: dict[int, tuple[int, float]] = {}  # pid → (slot, started)
    due: dict[int, float] = {}  # slot → when to start it again (monotonic)
    waits: dict[int, tuple[float, float]] = {}  # slot → its last wait for the database, when
    stopping = False
    failures = 0
    signals = {signal.SIGTERM, signal.SIGINT}

    def start(slot: int) -> None:
        # Signals are blocked around the fork: a stop that arrives now is handled after
        # the new child is in ``children``, so it is stopped too.
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        try:
            if stopping:
                return
            pid = os.fork()
            if pid == 0:  # the worker: its own database connections, board and site
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
                with contextlib.suppress(Exception):  # the worker ends with its parent
                    import ctypes

                    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
                code = 0
                try:
                    serve_one(sock)
                except BaseException as e:
                    why = _database_unavailable(e)
                    if why is None:
                        traceback.print_exc()  # why it could not serve, in the server's log
                        code = 1
                    else:
                        click.echo(f"worker {slot}: {why}", err=True)
                        code = DATABASE_WAIT_EXIT
                finally:
                    os._exit(code)
            children[pid] = (slot, time.monotonic())
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def reap() -> tuple[int, int] | None:
        """The next child that ended, waiting for it; or None once a restart is due (or
        there is nothing left to wait for)."""
        while True:
            if stopping:
                due.clear()
            if due and time.monotonic() >= min(due.values()):
                return None
            try:
                if not due:
                    return os.wait()
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                if not due:
                    return None
                pid = 0
            except InterruptedError:
                continue
            if pid:
                return pid, status
            time.sleep(min(0.2, max(0.0, min(due.values()) - time.monotonic())))

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(workers):
        start(slot)
    while children or due:
        ended = reap()
        if ended is None:
            now = time.monotonic()
            for slot in [s for s, t in due.items() if t <= now]:
                del due[slot]
                start(slot)  # does nothing once a stop has arrived
            continue
        pid, status = ended
        slot, started = children.pop(pid, (None, 0.0))
        if slot is None or stopping:
            continue
        code = os.waitstatus_to_exitcode(status)
        if code == DATABASE_WAIT_EXIT:
            last, at = waits.get(slot, (0.5, 0.0))
            if time.monotonic() - at > DATABASE_WAIT_MAX + 60:  # it served in between
                last = 0.5
            wait = min(2 * last, DATABASE_WAIT_MAX)
            waits[slot] = (wait, time.monotonic())
            click.echo(f"worker {slot} waits for the database; starting it again in {wait:.0f} s",
                       err=True)  # fmt: skip
            due[slot] = time.monotonic() + wait
            continue
        waits.pop(slot, None)
        failures = failures + 1 if time.monotonic() - started < FAST_FAILURE_SECONDS else 0
        if failures >= FAST_FAILURES:
            click.echo(f"worker {slot} cannot start ({failures} failures); stopping", err=True)
            stop(signal.SIGTERM, None)
            for other in list(children):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(other, 0)
            raise SystemExit(1)
        click.echo(f"worker {slot} (pid {pid}) ended ({code}); starting it again", err=True)
        due[slot] = time.monotonic() + 1
