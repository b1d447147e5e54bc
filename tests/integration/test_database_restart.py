"""The board's PostgreSQL restarted during voting (a minor upgrade, a failover, a crash), with
a real `tohyo serve` process that is never restarted itself.

While the database is down, the API answers 503 "unavailable" with Retry-After and a text
in every language (a voter is told that sending the ballot again is safe), the pages a 503
page, /readyz 503 and /healthz 200; the process logs the outage by type, never as an
internal error. Once the database is back, the same process accepts the very submission it
could not take (the card's signature over the same nonce), a second send of it returns the
same receipt, new voters vote, and the exported record verifies with every receipt.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.rng import SystemRng
from sim.testca import SimulatedCard, sign_submission
from tests.integration.board_helpers import child_pids, free_port
from tests.integration.conftest import PostgresServer, new_database
from tests.integration.served_election import close_and_verify, served_election

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _call(url: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _wait_ready(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert proc.poll() is None, f"tohyo serve ended with {proc.returncode}"
        try:
            if _call(url + "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url}/readyz did not answer 200")


@pytest.fixture
def voting(tmp_path):
    """A board on a PostgreSQL of its own (so that stopping it stops no other test's), open,
    served by one `tohyo serve` process with the JPKI gate."""
    pg = PostgresServer()
    pg.start()
    proc = None
    try:
        db = new_database(pg.url)
        served = served_election(db, tmp_path, "吾妻", 3)
        (tmp_path / "pseudonym.key").write_text("CD" * 32)
        port = free_port()
        cmd = [
            sys.executable, "-m", "tohyo", "serve", "--db", db, "--key", str(served.key),
            "--port", str(port), "--threads", "4", "--clock-offset", str(served.offset),
            "--anchor", str(served.anchor), "--crl", str(served.crl),
            "--pseudonym-key-file", str(tmp_path / "pseudonym.key"),
            "--evidence-dir", str(tmp_path / "evidence"),
        ]  # fmt: skip
        log = tmp_path / "serve.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                cmd, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, proc)
        yield dict(
            pg=pg, db=db, key=served.key, election=served.election, secrets=served.secrets,
            cards=served.cards, proc=proc, url=url, log=log, work=tmp_path,
        )  # fmt: skip
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.remove()


def _signed(v: dict, card: SimulatedCard, password: str, choices: dict) -> dict:
    """A voter's submission: a nonce from the board, the card's signature over it."""
    ballot, _ = encrypt_ballot(v["election"], choices, SystemRng())
    status, _, nonce = _call(v["url"] + "/api/signing-nonces", {})
    assert status == 201, nonce
    auth = sign_submission(
        card,
        password,
        bytes(v["election"].h_e),
        bytes(ballot.confirmation_code),
        bytes.fromhex(json.loads(nonce)["challenge"]),
    )
    return {"ballot": codec.to_document(ballot), "auth": auth}


def _cast(v: dict, body: dict) -> dict:
    status, _, receipt = _call(v["url"] + "/api/ballots", body)
    assert status == 201, receipt
    return json.loads(receipt)


def test_the_database_restarted_during_voting_loses_nothing_and_says_retry(voting):
    v = voting
    url, proc = v["url"], v["proc"]
    receipts = [_cast(v, _signed(v, *v["cards"][0], {"gyosei": ["internet-voting"]}))]
    waiting = _signed(v, *v["cards"][1], {"mobility": ["tsukumobi"]})  # signed, not yet sent

    v["pg"].stop()
    status, headers, body = _call(url + "/api/ballots", waiting)
    assert status == 503, body
    # the board's 5 s, or the end of the route's limit window if later: Flask-Limiter
    # rewrites the header from its own clock in whole seconds, so 5 s can read as 4
    assert int(headers["Retry-After"]) >= 4
    error = json.loads(body)
    assert error["error"] == "unavailable"
    assert {"ja", "en", "zh-Hans"} <= set(error["message"])
    assert "二重に数えられることはありません" in error["message"]["ja"]
    port = str(v["pg"].port)
    for word in ("psycopg", "postgres", "127.0.0.1", port):  # nothing of the database
        assert word not in body.decode().lower()
    status, _, body = _call(url + "/api/signing-nonces", {})  # a new voter: the same answer
    assert status == 503 and json.loads(body)["error"] == "unavailable"
    status, headers, page = _call(url + "/board")
    assert status == 503 and headers["Retry-After"] == "5"  # a page: no limit window
    assert headers["Content-Type"].startswith("text/html") and b"Traceback" not in page
    status, _, body = _call(url + "/readyz")
    assert status == 503 and json.loads(body)["reason"] == "database"
    assert _call(url + "/healthz")[0] == 200

    v["pg"].start()
    _wait_ready(url, proc, 60)
    first = _cast(v, waiting)  # the same signed submission, sent again
    assert first["confirmation_code"] == waiting["ballot"]["confirmation_code"]
    assert _cast(v, waiting) == first  # and once more: the same receipt, nothing added
    receipts.append(first)
    receipts.append(_cast(v, _signed(v, *v["cards"][2], {"healthcare": ["emergency-info"]})))
    assert proc.poll() is None  # the web process was never restarted
    # the operator sees the outage in the refusals too (one ballot met it)
    metrics = _call(url + "/metrics")[2].decode()
    assert 'tohyo_ballots_refused_total{kind="ballot",reason="unavailable"} 1.0' in metrics

    log = v["log"].read_text(errors="replace")
    assert "unavailable: OperationalError" in log
    assert "internal error" not in log and "Traceback" not in log
    assert f":{port}" not in log and "Connection refused" not in log  # type and code only

    report = close_and_verify(
        v["db"], v["key"], v["election"], v["secrets"], receipts, v["work"] / "record"
    )
    assert report.ballots == 3 and report.receipts == 3


def test_a_worker_started_again_during_an_outage_waits_and_stops_no_other(tmp_path):
    """`tohyo serve --workers 2`: one worker dies while the database is down. Started again,
    it cannot open the board; that is no reason to stop the other worker, which still
    serves, nor the server: the worker is started again later and later until the database
    answers, then serves."""
    pg = PostgresServer()
    pg.start()
    parent = None
    try:
        db = new_database(pg.url)
        port = free_port()
        cmd = [sys.executable, "-m", "tohyo", "serve", "--db", db,
               "--key", str(tmp_path / "board.key"), "--port", str(port), "--workers", "2",
               "--threads", "2"]  # fmt: skip
        log = tmp_path / "serve.log"
        with log.open("ab") as out:
            parent = subprocess.Popen(
                cmd, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline and (len(child_pids(parent.pid)) < 2 or _down(url)):
            assert parent.poll() is None, log.read_text()
            time.sleep(0.2)
        workers = child_pids(parent.pid)
        assert len(workers) == 2, log.read_text()

        pg.stop()
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        # Five starts that fail fast would stop the server within about seven seconds.
        until = time.time() + 10
        while time.time() < until:
            assert parent.poll() is None, log.read_text()
            assert max(workers) in child_pids(parent.pid), log.read_text()
            time.sleep(0.25)
        assert _call(url + "/healthz")[0] == 200  # the other worker serves throughout
        text = log.read_text()
        assert "worker 0: cannot use the board's database" in text, text
        assert "worker 0 waits for the database; starting it again in" in text
        assert "Traceback" not in text and "cannot start" not in text

        pg.start()
        deadline = time.time() + 60
        while time.time() < deadline:
            now = child_pids(parent.pid)
            if len(now) == 2 and _settled(now - {max(workers)}):
                break
            time.sleep(0.5)
        now = child_pids(parent.pid)
        assert len(now) == 2 and victim not in now, log.read_text()
        assert _settled(now - {max(workers)}), log.read_text()  # it serves, it did not exit
        assert parent.poll() is None
    finally:
        if parent is not None:
            parent.send_signal(signal.SIGTERM)
            parent.wait(timeout=30)
        pg.remove()


def _down(url: str) -> bool:
    try:
        return _call(url + "/healthz")[0] != 200
    except OSError:
        return True


def _settled(pids: set[int], seconds: float = 3.0) -> bool:
    """Whether each process has been running for at least ``seconds`` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(pathlib.Path("/proc/uptime").read_text().split()[0])
    for pid in pids:
        try:
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return False
        if uptime - int(fields[19]) / ticks < seconds:
            return False
    return bool(pids)
