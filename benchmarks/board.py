"""Bulletin-board benchmarks: ``tohyo bench board`` and ``tohyo bench log``.

* board: accepted ballots per second over HTTP with C concurrent clients against W
  ``waitress`` server processes on one database (SQLite or PostgreSQL), with full
  verification, and the p50/p99 latency. Ballots are encrypted beforehand (not timed).
* log: the cost of one append (its own transaction) and the size and time of inclusion
  and consistency proofs as the log grows (built in bulk between measurements).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import pathlib
import queue
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bulletin.auth import TokenAuthenticator
from bulletin.board import Board, load_signing_key, new_signing_key
from bulletin.clock import FixedClock
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.election import Election, base_hash
from e2e.group import GROUPS
from e2e.manifest import manifest_from_json
from e2e.rng import SystemRng
from trustees.ceremony import run_ceremony

PSEUDONYM_KEY = b"bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db: str, key: str, when: str, port: int, threads: int, voters: int) -> None:
    import datetime as _dt

    import waitress

    from web.app import SiteSettings, create_site
    from web.server import quiet_queue_warnings

    tokens = {f"t{i}": f"p{i}" for i in range(voters)}
    board = Board(
        Store(make_engine(db)),
        load_signing_key(key),
        FixedClock(_dt.datetime.fromisoformat(when)),
        TokenAuthenticator(PSEUDONYM_KEY, tokens),
    )
    board.election  # noqa: B018 (load the election and build its tables before serving)
    import sys

    sys.setswitchinterval(0.0005)  # as `tohyo serve` does
    # The whole site as `tohyo serve` runs it (metrics and all), without rate limits: the
    # clients are one address.
    app = create_site(board, SiteSettings(rate_limits=False))
    quiet_queue_warnings()  # as `tohyo serve` does: one queue warning every 10 s, not per request
    waitress.serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _scrape(port: int) -> dict[str, float]:
    """The append-cost series of one server's /metrics."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    out: dict[str, float] = {}
    for line in text.splitlines():
        for name in (
            "tohyo_board_append_seconds_sum",
            "tohyo_board_appended_entries_total",
            "tohyo_board_batch_size_sum",
            "tohyo_board_batch_size_count",
        ):
            if line.startswith(name + " "):
                out[name] = float(line.split()[1])
    return out


_ELECTION: Election | None = None


def _enc_init(group: str, manifest: bytes, key: str) -> None:
    global _ELECTION
    from e2e.manifest import manifest_from_canonical

    g = GROUPS[group]
    _ELECTION = Election(g, manifest_from_canonical(manifest), g.element(int(key, 16)))


def _enc(i: int) -> bytes:
    assert _ELECTION is not None
    choices = {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": []}
    ballot, _ = encrypt_ballot(_ELECTION, choices, SystemRng())
    return json.dumps({"ballot": codec.to_document(ballot), "auth": {"token": f"t{i}"}}).encode()


def run_board(
    manifest_path: str,
    group_name: str = "standard",
    db: str | None = None,
    ballots: int = 600,
    clients: int = 50,
    workers: int = 2,
    threads: int = 16,
    proxy: bool = False,
) -> dict[str, Any]:
    """Throughput and latency of ballot acceptance over HTTP; returns the figures.

    With ``proxy`` the clients go through nginx (:func:`web.deploy.nginx_config`, round
    robin over the server processes), as a deployment does; without, each client talks to
    one server process directly. Besides throughput and latency: the server processes' CPU
    time per accepted ballot, the clients' (they share this machine's cores), and the cost
    of the serial part alone (each batch's write transaction under the log's lock, from the
    servers' ``tohyo_board_append_seconds``) per appended ballot."""
    group = GROUPS[group_name]
    work = tempfile.mkdtemp(prefix="tohyo-bench-")
    key = os.path.join(work, "board.key")
    manifest = replace(
        manifest_from_json(open(manifest_path, encoding="utf-8").read()),
        trustees=3,
        quorum=2,
        board=new_signing_key(key),  # named in the manifest (H_B) before the ceremony
    )
    h_p, _ = base_hash(group, manifest)
    _, publics = run_ceremony(group, h_p, 3, 2, SystemRng())
    election = Election(group, manifest, group.product(t.key for t in publics))
    db = db or f"sqlite:///{work}/board.db"
    engine = make_engine(db)
    migrate(engine)
    when = manifest.start_time + timedelta(days=1)
    board = Board(Store(engine), load_signing_key(key), FixedClock(when))
    board.setup(
        manifest.canonical_bytes(),
        codec.encode(election.parameters()),
        [codec.encode(t) for t in publics],
    )
    board.open()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(
        os.cpu_count() or 1,
        initializer=_enc_init,
        initargs=(group_name, manifest.canonical_bytes(), election.key.element.hex()),
    ) as pool:
        bodies = pool.map(_enc, range(ballots))
    ports = [_free_port() for _ in range(workers)]
    servers = [
        ctx.Process(
            target=_serve, args=(db, key, when.isoformat(), p, threads, ballots), daemon=True
        )
        for p in ports
    ]
    for s in servers:
        s.start()
    for p in ports:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", p), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
    # warm-up: every server loads the election and its tables before the clock starts
    for p in ports:
        c = http.client.HTTPConnection("127.0.0.1", p, timeout=120)
        c.request("GET", "/api/election")
        c.getresponse().read()
        c.close()
    nginx = None
    targets = ports
    if proxy:
        import shutil
        import subprocess

        from web.deploy import nginx_config

        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(binary):
            raise RuntimeError("--proxy needs nginx (apt-get install nginx-light)")
        prefix = os.path.join(work, "nginx")
        os.mkdir(prefix)
        listen = _free_port()
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(nginx_config(pathlib.Path(prefix), listen, ports))
        nginx = subprocess.Popen([binary, "-p", prefix, "-c", conf], stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        targets = [listen]
    cpu0 = sum(_cpu_seconds(sv.pid) for sv in servers)

    work_q: queue.Queue[tuple[int, bytes]] = queue.Queue()
    for i, b in enumerate(bodies):
        work_q.put((i, b))
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", targets[n % len(targets)], timeout=300)
        while True:
            try:
                _, body = work_q.get_nowait()
            except queue.Empty:
                break
            t = time.perf_counter()
            conn.request("POST", "/api/ballots", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                statuses.append(resp.status)
        conn.close()

    t0 = time.perf_counter()
    client_cpu0 = time.process_time()  # this process runs nothing but the clients now
    ts = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    client_cpu = time.process_time() - client_cpu0
    cpu = sum(_cpu_seconds(sv.pid) for sv in servers) - cpu0
    scraped = [_scrape(p) for p in ports]
    append_s = sum(m.get("tohyo_board_append_seconds_sum", 0.0) for m in scraped)
    appended = sum(m.get("tohyo_board_appended_entries_total", 0.0) for m in scraped)
    batched = sum(m.get("tohyo_board_batch_size_sum", 0.0) for m in scraped)
    batches = sum(m.get("tohyo_board_batch_size_count", 0.0) for m in scraped)
    if nginx is not None:
        nginx.terminate()
        nginx.wait(timeout=30)
    for s in servers:
        s.terminate()
    accepted = sum(1 for s in statuses if s == 201)
    lat = sorted(latencies)
    return {
        "database": engine.dialect.name,
        "group": group_name,
        "ballots": ballots,
        "accepted": accepted,
        "clients": clients,
        "server_processes": workers,
        "threads_per_process": threads,
        "proxy": "nginx" if proxy else None,
        "server_cpu_ms_per_ballot": cpu * 1e3 / max(accepted, 1),
        # the load's own share of this machine's cores (the clients run here too)
        "client_cpu_ms_per_ballot": client_cpu * 1e3 / max(accepted, 1),
        "append_ms_per_ballot": append_s * 1e3 / max(appended, 1),
        # the batch verification's cost per ballot falls with the batch (docs/researchers.md)
        "mean_batch_size": batched / max(batches, 1),
        "seconds": elapsed,
        "ballots_per_second": accepted / elapsed,
        "p50_ms": statistics.median(lat) * 1e3,
        "p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1e3,
        "log_size": Store(engine).size(),
    }


def run_log(
    db: str | None = None, sizes: tuple[int, ...] = (1000, 10_000, 100_000)
) -> list[dict[str, Any]]:
    """Append cost and proof sizes as the log grows."""
    from e2e.merkle import consistency_proof, inclusion_proof

    work = tempfile.mkdtemp(prefix="tohyo-log-")
    engine = make_engine(db or f"sqlite:///{work}/log.db")
    migrate(engine)
    store = Store(engine)
    payload = b'{"format":"tohyo/1","kind":"bench","n":%d}'
    when = datetime.now(UTC)
    rows = []
    size = 0
    for target in sizes:
        while size < target - 1:
            step = min(5000, target - 1 - size)
            with store.write() as conn:
                for _ in range(step):
                    store.append(conn, "bench", lambda i, _t: payload % i, when)
            size += step
        t = time.perf_counter()
        with store.write() as conn:
            store.append(conn, "bench", lambda i, _t: payload % i, when)
        append_ms = (time.perf_counter() - t) * 1e3
        size += 1
        t = time.perf_counter()
        n = size
        incl = store.with_reader(
            lambda c, n=n: inclusion_proof(n // 3, n, lambda lv, i: store.node(c, lv, i))
        )
        incl_ms = (time.perf_counter() - t) * 1e3
        cons = store.with_reader(
            lambda c, n=n: consistency_proof(n // 2, n, lambda lv, i: store.node(c, lv, i))
        )
        rows.append(
            {
                "entries": size,
                "append_ms": append_ms,
                "inclusion_proof_hashes": len(incl),
                "inclusion_proof_ms": incl_ms,
                "consistency_proof_hashes": len(cons),
            }
        )
    return rows
