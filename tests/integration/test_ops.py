"""The site as operators run it: the probes (/healthz, /readyz), the Prometheus metrics and
the access log, and rate limits that several web processes enforce together through one
Redis (a real redis-server of the test session).

The rate-limit and multiprocess-metrics tests run real separate processes (each a site on
the same board database, driven over a pipe): the Limiter is one object per process, so two
sites in one process would share its counts whatever the storage.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import re
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from bulletin.auth import TokenAuthenticator, pseudonym
from bulletin.board import Board, load_signing_key, new_signing_key
from bulletin.store import Store, make_engine, migrate
from e2e.board import Entry
from tests.integration.board_helpers import KEY, TOKENS, free_port, make_board, submission
from web.admin import hash_password
from web.app import SiteSettings, create_site
from web.security import limiter

PASSWORD = "a long test password"
HASH = hash_password(PASSWORD, n=2**10)  # a cheap KDF for tests only
C1 = {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["emergency-info"]}
LABELS = {"kind", "reason", "method", "route", "status", "le"}


def _metrics(client) -> str:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    return r.get_data(as_text=True)


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels`` (0 if none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def _ballot(client, election, token: str, seed: str):
    return client.post(
        "/api/ballots",
        data=submission(election, C1, token, seed),
        content_type="application/json",
    )


@pytest.fixture
def voting(tmp_path):
    """An open election and its site (no rate limits)."""
    setup = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    app = create_site(setup.board, SiteSettings(rate_limits=False))
    return setup, app.test_client()


@pytest.fixture
def empty(tmp_path):
    """A board with no election yet."""
    new_signing_key(tmp_path / "board.key")
    engine = make_engine(f"sqlite:///{tmp_path / 'board.db'}")
    migrate(engine)
    return Board(Store(engine), load_signing_key(tmp_path / "board.key"))


# --- probes ------------------------------------------------------------------------------


def test_healthz(empty):
    r = create_site(empty, SiteSettings(rate_limits=False)).test_client().get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store"


def test_readyz_needs_the_database_and_the_election(empty, voting, tmp_path, monkeypatch):
    # An empty board serves the key ceremony's pages: ready, in setup.
    r = create_site(empty, SiteSettings(rate_limits=False)).test_client().get("/readyz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ready", "state": "setup"}

    setup, client = voting
    r = client.get("/readyz")
    assert r.status_code == 200 and r.get_json() == {"status": "ready"}

    # Another key than the manifest's (a wrong --key): the election does not load.
    new_signing_key(tmp_path / "other.key")
    wrong = Board(setup.board.store, load_signing_key(tmp_path / "other.key"))
    r = create_site(wrong, SiteSettings(rate_limits=False)).test_client().get("/readyz")
    assert r.status_code == 503
    assert r.get_json() == {"status": "not_ready", "reason": "election_unusable"}

    # The database stops answering (a file in a directory that does not exist).
    monkeypatch.setattr(
        setup.board.store, "engine", make_engine(f"sqlite:///{tmp_path / 'gone' / 'b.db'}")
    )
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.get_json() == {"status": "not_ready", "reason": "database"}
    assert client.get("/healthz").status_code == 200  # the process itself is up


# --- metrics -----------------------------------------------------------------------------


def test_metrics_count_ballots_batches_and_the_log(voting):
    setup, client = voting
    before = _metrics(client)
    first = _ballot(client, setup.election, "token-1", "one")
    assert first.status_code == 201
    assert _ballot(client, setup.election, "token-1", "one").status_code == 201  # a retry
    assert _ballot(client, setup.election, "token-2", "one").status_code == 409  # a copy
    bad = client.post("/api/ballots", data=b"{}", content_type="application/json")
    assert bad.status_code == 400
    after = _metrics(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("tohyo_ballots_accepted_total", kind="ballot") == 1
    assert delta("tohyo_ballots_retried_total", kind="ballot") == 1
    assert delta("tohyo_ballots_refused_total", kind="ballot", reason="copy") == 1
    assert delta("tohyo_ballots_refused_total", kind="ballot", reason="malformed") == 1
    assert delta("tohyo_board_batch_size_count") == 1
    assert delta("tohyo_board_batch_size_sum") == 1
    assert value(after, "tohyo_log_entries") == setup.board.store.size()
    route = {"method": "POST", "route": "/api/ballots"}
    assert delta("tohyo_http_request_duration_seconds_count", **route) == 4
    assert delta("tohyo_http_requests_total", status="201", **route) == 2
    assert delta("tohyo_http_requests_total", status="409", **route) == 1


def test_a_ballot_committed_before_the_database_failed_is_counted_once(voting, monkeypatch):
    """The batch commits a ballot, then the database fails while its receipt is read (a
    failover just after the commit): the voter is told to retry (503), and the ballot is
    counted as accepted, not as accepted and refused "unavailable" both; the retry gets
    the receipt, counted as a retry."""
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    setup, client = voting
    real = setup.board._proof_nodes

    def failing(indexes, size):
        raise PoolTimeoutError("no connection in time")

    monkeypatch.setattr(setup.board, "_proof_nodes", failing)
    before = _metrics(client)
    assert _ballot(client, setup.election, "token-7", "seven").status_code == 503
    monkeypatch.setattr(setup.board, "_proof_nodes", real)
    retry = _ballot(client, setup.election, "token-7", "seven")
    assert retry.status_code == 201
    after = _metrics(client)
    refused = sum(
        s.value - value(before, s.name, **s.labels)
        for f in text_string_to_metric_families(after)
        for s in f.samples
        if s.name == "tohyo_ballots_refused_total"
    )
    assert refused == 0
    accepted = value(after, "tohyo_ballots_accepted_total", kind="ballot")
    assert accepted - value(before, "tohyo_ballots_accepted_total", kind="ballot") == 1
    retried = value(after, "tohyo_ballots_retried_total", kind="ballot")
    assert retried - value(before, "tohyo_ballots_retried_total", kind="ballot") == 1
    assert setup.board.store.size() == retry.get_json()["entry"] + 1


def test_metrics_labels_are_route_templates_without_personal_data(voting):
    setup, client = voting
    receipt = _ballot(client, setup.election, "token-3", "three").get_json()
    code = receipt["confirmation_code"]
    voter = Entry(setup.board.store.entry(receipt["entry"])).voter
    assert voter == pseudonym(KEY, TOKENS["token-3"])
    assert client.get(f"/api/receipts/{code}").status_code == 200
    assert client.get(f"/api/entries/{receipt['entry']}").status_code == 200
    assert client.get("/no/such/page-SECRET-42").status_code == 404
    text = _metrics(client)
    routes = {
        s.labels["route"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if "route" in s.labels
    }
    assert {"/api/receipts/<code>", "/api/entries/<index:index>", "unmatched"} <= routes
    assert all(r == "unmatched" or r.startswith("/") for r in routes)
    for family in text_string_to_metric_families(text):
        if family.name.startswith("tohyo_"):
            for s in family.samples:
                assert set(s.labels) <= LABELS, s
    for secret in (code, code.lower(), voter, voter.lower(), "token-3", "127.0.0.1", "SECRET"):
        assert secret not in text


def test_ballots_refused_by_the_rate_limit_are_counted(tmp_path):
    setup = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    app = create_site(setup.board, SiteSettings(rate_limits=True, submit_limit="1 per minute"))
    client = app.test_client()
    limiter.reset()
    try:
        before = _metrics(client)
        assert _ballot(client, setup.election, "token-4", "four").status_code == 201
        assert _ballot(client, setup.election, "token-5", "five").status_code == 429
        after = _metrics(client)
    finally:
        limiter.reset()
    labels = {"kind": "ballot", "reason": "rate_limited"}
    assert (
        value(after, "tohyo_ballots_refused_total", **labels)
        - value(before, "tohyo_ballots_refused_total", **labels)
        == 1
    )


# --- the access log ----------------------------------------------------------------------


def test_access_log_names_the_route_not_the_path(voting, caplog):
    setup, client = voting
    receipt = _ballot(client, setup.election, "token-6", "six").get_json()
    code = receipt["confirmation_code"]
    caplog.set_level(logging.INFO, logger="tohyo.access")
    caplog.clear()
    r = client.get(f"/api/receipts/{code}?lang=en&note=QUERY-SECRET")
    assert r.status_code == 200
    _ballot(client, setup.election, "token-7", "seven")
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "tohyo.access"]
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == {"time", "method", "route", "status", "duration_ms", "bytes"}
    assert first["method"] == "GET" and first["route"] == "/api/receipts/<code>"
    assert first["status"] == 200 and first["bytes"] == len(r.get_data())
    assert first["duration_ms"] >= 0 and re.match(r"\d{4}-\d\d-\d\dT", first["time"])
    second = json.loads(lines[1])
    assert second["route"] == "/api/ballots" and second["status"] == 201
    everything = "\n".join(lines)
    for secret in (code, code.lower(), "QUERY-SECRET", "lang=", "127.0.0.1", "token-7"):
        assert secret not in everything
    assert "ciphertext" not in everything  # no body


# --- several processes -------------------------------------------------------------------


def _site_process(conn: Any, db: str, key: str, settings: dict[str, Any]) -> None:
    """One web process: a site on the shared board, doing what the pipe asks."""
    try:
        board = Board(
            Store(make_engine(db)), load_signing_key(key), None, TokenAuthenticator(KEY, {})
        )
        app = create_site(board, SiteSettings(admin_password_hash=HASH, **settings))
        client = app.test_client()
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ready", os.getpid()))
    while (cmd := conn.recv()) is not None:
        op, arg = cmd
        try:
            if op == "login":
                page = client.get("/admin/login").get_data(as_text=True)
                token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
                r = client.post("/admin/login", data={"password": arg, "csrf_token": token})
            elif op == "ballot":
                r = client.post("/api/ballots", data=b"{}", content_type="application/json")
            else:
                r = client.get(arg)
            conn.send(("ok", (r.status_code, r.get_data(as_text=True))))
        except BaseException:
            conn.send(("error", traceback.format_exc()))


class Site:
    """A site in a process of its own (multiprocessing's spawn: a fresh interpreter)."""

    def __init__(self, db: str, key: str, env: dict[str, str] | None = None, **settings) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_site_process, args=(child, db, key, settings))
        with _environment(env or {}):  # what the child starts with
            self.proc.start()
        child.close()

    def wait_ready(self) -> None:
        assert self._answer(120)[0] == "ready"

    def _answer(self, timeout: float) -> tuple[str, Any]:
        assert self.conn.poll(timeout), "the site process did not answer"
        kind, data = self.conn.recv()
        assert kind != "error", data
        return kind, data

    def __call__(self, op: str, arg: str | None = None) -> tuple[int, str]:
        self.conn.send((op, arg))
        return self._answer(60)[1]

    def status(self, op: str, arg: str | None = None) -> int:
        return self(op, arg)[0]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.proc.join(timeout=20)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def sites(redis_server, tmp_path_factory):
    """Five site processes on one board: two sharing the session's Redis (and one metrics
    directory), two with their own memory, and one whose Redis does not answer."""
    tmp = tmp_path_factory.mktemp("sites")
    db = f"sqlite:///{tmp / 'board.db'}"
    new_signing_key(tmp / "board.key")
    migrate(make_engine(db))
    key = str(tmp / "board.key")
    prom = tmp / "prometheus"
    prom.mkdir()
    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {"PROMETHEUS_MULTIPROC_DIR": str(prom)}
    made = {
        "shared-1": Site(db, key, env, rate_limit_storage=redis_server),
        "shared-2": Site(db, key, env, rate_limit_storage=redis_server),
        "alone-1": Site(db, key),
        "alone-2": Site(db, key),
        "outage": Site(db, key, rate_limit_storage=nobody),
    }
    try:
        for site in made.values():
            site.wait_ready()
        yield made
    finally:
        for site in made.values():
            site.close()


@pytest.fixture
def fresh_redis(redis_server):
    redis.Redis.from_url(redis_server).flushdb()
    return redis_server


def test_two_processes_on_one_redis_share_the_login_limit(sites, fresh_redis):
    a, b = sites["shared-1"], sites["shared-2"]
    for _ in range(6):
        assert a.status("login", "wrong password") == 401
    for _ in range(4):
        assert b.status("login", "wrong password") == 401
    assert b.status("login", PASSWORD) == 429  # the 11th attempt in the minute, in all
    assert a.status("login", PASSWORD) == 429
    assert redis.Redis.from_url(fresh_redis).keys("LIMITS*")  # counted in Redis
    # The same attempts on two processes that count in their own memory: 6 and 5, no limit.
    c, d = sites["alone-1"], sites["alone-2"]
    for _ in range(6):
        assert c.status("login", "wrong password") == 401
    for _ in range(5):
        assert d.status("login", "wrong password") == 401


def test_two_processes_on_one_redis_share_the_submission_limit(sites, fresh_redis):
    a, b = sites["shared-1"], sites["shared-2"]
    for _ in range(12):
        assert a.status("ballot") == 400  # refused as malformed, but counted
    for _ in range(8):
        assert b.status("ballot") == 400
    assert b.status("ballot") == 429  # the 21st in the minute, in all (20 per minute)
    status, body = a("ballot")
    assert status == 429 and json.loads(body)["error"] == "rate_limited"


def test_a_redis_outage_falls_back_to_limits_per_process(sites):
    site = sites["outage"]
    for _ in range(20):
        assert site.status("ballot") == 400  # served, not a 500
    assert site.status("ballot") == 429  # the limit still holds, in this process's memory
    assert site.status("get", "/readyz") == 200  # ready (an empty board), Redis or not


def test_metrics_of_several_processes_add_up(sites):
    a, b = sites["shared-1"], sites["shared-2"]
    for _ in range(3):
        assert a.status("get", "/healthz") == 200
    for _ in range(2):
        assert b.status("get", "/healthz") == 200
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    for site in (a, b):
        status, text = site("get", "/metrics")
        assert status == 200
        assert value(text, "tohyo_http_requests_total", **labels) == 5
        assert value(text, "tohyo_http_request_duration_seconds_count", route="/healthz") == 5
        assert "\ntohyo_log_entries 0.0\n" in text  # once, from the board, not per process
    # A process outside the directory counts only its own.
    _, alone = sites["alone-1"]("get", "/metrics")
    assert value(alone, "tohyo_http_requests_total", **labels) == 0
