"""The site as operators run it: three `tohyo serve` processes on one PostgreSQL, behind a
real nginx on loopback that alternates between them, with the rate limits in a real
Redis. A whole vote in Chromium through the proxy (booth, signing-app hand-off, receipt,
verify page), the administrator's login and logout across processes, the login limit
enforced once for all processes, a process killed and started again during voting, and
the exported record verifying. Nothing here reaches beyond loopback.

The nginx configuration is web.deploy's, the one docs/admin.md describes ("Several
processes and machines"), written for a temporary directory.
"""

from __future__ import annotations

import base64
import contextlib
import http.cookiejar
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bulletin.jpki.verify import digest_info
from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.election import Election
from e2e.rng import SystemRng
from sim.testca import SimulatedCard, sign_submission
from tests.integration.board_helpers import child_pids, free_port
from tests.integration.conftest import new_database
from tests.integration.served_election import close_and_verify, served_election
from web.admin import hash_password
from web.deploy import nginx_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ADMIN_PASSWORD = "deployment admin password"
PROCESSES = 3
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update"]  # fmt: skip


@dataclass
class Deployment:
    url: str
    work: pathlib.Path
    db: str
    key: pathlib.Path
    election: Election
    secrets: list
    cards: list[tuple[SimulatedCard, str]]
    procs: dict[int, subprocess.Popen]
    serve: Any  # port → Popen: start a server process on that port

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                data = r.read()
                return r.status, json.loads(data) if data else None
        except urllib.error.HTTPError as e:
            data = e.read()
            try:
                return e.code, json.loads(data or b"null")
            except ValueError:  # the proxy's own error page (502 while a process is down)
                return e.code, data.decode("utf-8", "replace")


def _wait(url: str, proc: subprocess.Popen | None = None, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{url}: the process ended with {proc.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def _start_nginx(work: pathlib.Path, ports: list[int]) -> tuple[subprocess.Popen, str]:
    """nginx from Debian with web.deploy's configuration, round robin over ``ports``; and its
    address."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert pathlib.Path(nginx).exists(), "nginx missing: make test installs it"
    listen, prefix = free_port(), work / "nginx"
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(nginx_config(prefix, listen, ports))
    proxy = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL, stderr=open(prefix / "stderr.log", "ab"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{listen}"
    try:
        _wait(url + "/healthz", proxy, 30)
    except BaseException:
        _stop_nginx(proxy)
        raise
    return proxy, url


def _stop_nginx(proxy: subprocess.Popen) -> None:
    proxy.send_signal(signal.SIGQUIT)  # a graceful stop
    with contextlib.suppress(subprocess.TimeoutExpired):
        proxy.wait(timeout=10)
    if proxy.poll() is None:
        proxy.kill()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_server, redis_server) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp("deployment")
    db = new_database(postgres_server, "deploy")
    served = served_election(db, work, "竹園", 4)
    key, election, secrets, cards = served.key, served.election, served.secrets, served.cards
    offset = served.offset
    (work / "pseudonym.key").write_text("AB" * 32)
    (work / "admin.hash").write_text(hash_password(ADMIN_PASSWORD, n=2**10) + "\n")
    ports = [free_port() for _ in range(PROCESSES)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def serve(port: int) -> subprocess.Popen:
        cmd = [
            sys.executable, "-m", "tohyo", "serve", "--db", db, "--key", str(key),
            "--port", str(port), "--threads", "4", "--clock-offset", str(offset),
            "--anchor", str(work / "ca.pem"), "--crl", str(work / "crl.der"),
            "--pseudonym-key-file", str(work / "pseudonym.key"),
            "--evidence-dir", str(work / "evidence"),
            "--admin-password-file", str(work / "admin.hash"),
            "--secret-key-file", str(work / "site-secret.key"),
            "--rate-limit-storage", redis_server, "--trusted-proxy", "127.0.0.1",
            # every test client is 127.0.0.1: the ballot limit per address is raised, the
            # login limit (10 a minute) is not
            "--submit-limit", "2000 per minute",
        ]  # fmt: skip
        log = open(work / f"serve-{port}.log", "ab")
        return subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)

    # The first process creates the shared secret key; the others read the same file.
    procs = {ports[0]: serve(ports[0])}
    _wait(f"http://127.0.0.1:{ports[0]}/healthz", procs[ports[0]])
    for p in ports[1:]:
        procs[p] = serve(p)
    for p in ports:
        _wait(f"http://127.0.0.1:{p}/readyz", procs[p])
    proxy = None
    try:
        proxy, url = _start_nginx(work, ports)
        yield Deployment(url, work, db, key, election, secrets, cards, procs, serve)
    finally:
        if proxy is not None:
            _stop_nginx(proxy)
        for p in procs.values():
            p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _post_again(d: Deployment, path: str, body: Any) -> tuple[int, Any]:
    """POST as a voter's device does: a process killed while it held the request gives a
    502 from nginx (or a broken connection), and the device sends the same request again.
    For a ballot the board answers with the first receipt if it was appended, and appends
    it now if not."""
    for _ in range(5):
        try:
            status, answer = d.post(path, body)
        except OSError:
            status, answer = 0, None
        if status not in (0, 502, 503, 504):
            return status, answer
        time.sleep(0.5)
    return status, answer


def _cast(d: Deployment, card: SimulatedCard, password: str, choices: dict) -> dict:
    """A voter's device through the proxy: nonce, card signature, ballot."""
    ballot, _ = encrypt_ballot(d.election, choices, SystemRng())
    status, nonce = _post_again(d, "/api/signing-nonces", {})
    assert status == 201, nonce
    code = bytes(ballot.confirmation_code)
    auth = sign_submission(
        card, password, bytes(d.election.h_e), code, bytes.fromhex(nonce["challenge"])
    )
    body = {"ballot": codec.to_document(ballot), "auth": auth}
    status, receipt = _post_again(d, "/api/ballots", body)
    assert status == 201, receipt
    assert receipt["confirmation_code"] == code.hex().upper()
    return receipt


def test_a_whole_vote_in_chromium_through_the_proxy(deployment):
    from playwright.sync_api import sync_playwright

    d = deployment
    card, password = d.cards[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="ja-JP")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(d.url + "/booth")
        page.wait_for_selector("#live.warn", timeout=60_000)  # tables built (test group)
        page.click("button.category[data-contest='1']")
        page.check("#opt-1-0")
        page.click("form[data-contest='1'] button[type=submit]")
        page.wait_for_selector("#step-confirm:not(.hidden) #code .full-code", timeout=30_000)
        code = page.inner_text("#code .full-code")
        # The signing app on the voter's phone: every request may reach another process.
        page.check("#via-app")
        page.click("#sign")
        page.wait_for_selector("#app-link:not(.hidden)", timeout=30_000)
        shown_link = page.get_attribute("#app-link", "href")  # /sign/<id>, for a person
        link = "/api/sign-requests/" + shown_link.removeprefix("/sign/")
        pairing = page.inner_text("#app-pairing")
        shown = d.get(link)
        assert shown["confirmation_code"] == code
        signature = card.sign(digest_info(base64.b64decode(shown["message"])), password)
        status, _ = d.post(
            link,
            {
                "certificate": base64.b64encode(card.certificate).decode(),
                "signature": base64.b64encode(signature).decode(),
                "pairing": pairing,
            },
        )
        assert status == 204
        page.wait_for_selector("#receipt-check.ok", timeout=60_000)
        assert page.inner_text("#receipt-code .full-code") == code
        page.goto(d.url + "/verify?code=" + code)
        page.wait_for_selector("#verify-result.ok", timeout=60_000)
        browser.close()
    assert not errors, errors


def _opener() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def _open(opener, url: str, data: dict | None = None) -> tuple[int, str, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=30) as r:
            return r.status, r.geturl(), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, url, e.read().decode()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_admin_login_and_logout_across_processes_and_one_login_limit(deployment):
    d = deployment
    opener, jar = _opener()
    _, _, page = _open(opener, d.url + "/admin/login")
    status, where, _ = _open(
        opener, d.url + "/admin/login", {"password": ADMIN_PASSWORD, "csrf_token": _token(page)}
    )
    assert status == 200 and not where.endswith("/admin/login"), where
    # Round robin: these requests reach every process, each accepts the session.
    for _ in range(2 * PROCESSES):
        status, where, _ = _open(opener, d.url + "/admin/")
        assert status == 200 and not where.endswith("/login"), where
    copied = http.cookiejar.CookieJar()
    for c in jar:
        copied.set_cookie(c)
    _, _, html = _open(opener, d.url + "/admin/")
    _open(opener, d.url + "/admin/logout", {"csrf_token": _token(html)})
    # The copy of the session is refused by every process.
    other = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(copied))
    for _ in range(2 * PROCESSES):
        _, where, _ = _open(other, d.url + "/admin/")
        assert urllib.parse.urlparse(where).path == "/admin/login", where
    # Ten login attempts a minute per address for all processes together (one counted
    # above): the tenth wrong password is the eleventh attempt, refused with 429.
    statuses = []
    for _ in range(10):
        opener2, _ = _opener()
        _, _, page = _open(opener2, d.url + "/admin/login")
        s, _, _ = _open(
            opener2, d.url + "/admin/login", {"password": "wrong", "csrf_token": _token(page)}
        )
        statuses.append(s)
    assert statuses[:9] == [401] * 9 and statuses[9] == 429, statuses


def test_a_process_killed_during_voting_and_the_record_verifies(deployment):
    import threading

    d = deployment
    receipts = [_cast(d, *d.cards[1], {"gyosei": ["internet-voting"]})]
    victim = sorted(d.procs)[1]
    # Voters keep casting while the process is killed, so requests are in flight to it.
    stop = threading.Event()
    errors: list[BaseException] = []

    def voters(first: int) -> None:
        n = first
        while not stop.is_set():
            card, pw = d.cards[1 + n % 3]
            try:
                receipts.append(_cast(d, card, pw, {"mobility": ["tsukumobi"] if n % 2 else []}))
            except BaseException as e:  # reported below, in the test's thread
                errors.append(e)
                return
            n += 3

    threads = [threading.Thread(target=voters, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(3)
    d.procs[victim].send_signal(signal.SIGKILL)
    d.procs[victim].wait(timeout=30)
    time.sleep(3)  # nginx sends the requests to the two processes that are left
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    d.procs[victim] = d.serve(victim)
    _wait(f"http://127.0.0.1:{victim}/readyz", d.procs[victim])
    for card, pw in d.cards[2:]:
        receipts.append(_cast(d, card, pw, {"healthcare": ["emergency-info"]}))
    # The administrator closes and the trustees decrypt (by the board's own commands).
    report = close_and_verify(d.db, d.key, d.election, d.secrets, receipts, d.work / "record")
    assert report.ballots >= len(receipts) and report.receipts == len(receipts)
    assert report.board_key_pinned == "manifest"


def test_serve_workers_share_the_port_and_a_dead_one_is_started_again(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "tohyo", "serve", "--db", f"sqlite:///{tmp_path / 'b.db'}",
           "--key", str(tmp_path / "board.key"), "--port", str(port), "--workers", "2"]  # fmt: skip
    prom = tmp_path / "prometheus"
    prom.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(prom)}
    # the counts of a previous run of the server, left in the metrics directory
    last_run = "from web.metrics import REQUESTS as R; R.labels('GET', '/healthz', '200').inc(1000)"
    subprocess.run([sys.executable, "-c", last_run], cwd=ROOT, env=env, check=True)
    assert list(prom.glob("*.db"))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        parent = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}/healthz", parent)
        deadline = time.time() + 60
        while len(child_pids(parent.pid)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        workers = child_pids(parent.pid)
        assert len(workers) == 2, log.read_text()
        # one secret key for both, created once beside the board key
        assert (tmp_path / "site-secret.key").stat().st_mode & 0o777 == 0o600
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.time() + 60
        while time.time() < deadline:
            now = child_pids(parent.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.2)
        assert len(now) == 2 and victim not in now, log.read_text()
        for _ in range(6):  # the port is served throughout (the other worker never stopped)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                assert r.status == 200
        assert "starting it again" in log.read_text()
        running = child_pids(parent.pid)
        # a second server started on the same metrics directory by mistake stops at once,
        # and leaves the counts of the one running alone
        second = [*cmd[:-4], "--port", str(free_port()), "--workers", "2"]
        again = subprocess.run(second, cwd=tmp_path, env=env, capture_output=True, timeout=60)
        assert again.returncode != 0
        assert b"another tohyo serve uses PROMETHEUS_MULTIPROC_DIR" in again.stderr
        # this run's requests alone, the killed worker's among them: not the last run's 1000
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
        healthz = 'tohyo_http_requests_total{method="GET",route="/healthz",status="200"} '
        counted = float(text.split(healthz, 1)[1].split("\n", 1)[0])
        assert 6 <= counted < 1000, counted
    finally:
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=30)
    assert parent.returncode == 0
    for pid in running:  # SIGTERM stopped every worker (the parent waited for each)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_rolling_upgrade_never_pairs_a_page_with_the_other_versions_files(tmp_path):
    """Two versions behind one nginx, as halfway through a rolling upgrade: one process runs
    this tree, the other a copy whose booth script and style sheet differ. Every page, from
    either, must get exactly the files it names (their integrity hashes; the Web Worker and
    the crypto script it imports, which carry none, the page's own version)."""
    import hashlib
    import html

    new = tmp_path / "new"
    shutil.copytree(
        ROOT, new,
        ignore=shutil.ignore_patterns(".git", ".venv*", "node_modules", "__pycache__", "tests"),
    )  # fmt: skip
    for name in ("js/booth.js", "css/site.css", "js/encrypt-worker.js", "js/tohyo-crypto.js"):
        f = new / "web" / "static" / name
        f.write_text(f.read_text(encoding="utf-8") + "\n/* the next version */\n", "utf-8")
    work = tmp_path / "work"
    work.mkdir()
    db = f"sqlite:///{work / 'b.db'}"
    ports, procs = [free_port(), free_port()], []
    for port, tree in zip(ports, (ROOT, new), strict=True):
        cmd = [sys.executable, "-m", "tohyo", "serve", "--db", db, "--key", str(work / "board.key"),
               "--port", str(port), "--threads", "2"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(tree)}
        log = open(work / f"serve-{port}.log", "ab")  # closed with the test's process
        procs.append(subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=log))
        _wait(f"http://127.0.0.1:{port}/healthz", procs[-1])
    proxy, url = None, ""

    def get(path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(url + path, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def sri(data: bytes) -> str:
        return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()

    try:
        proxy, url = _start_nginx(work, ports)
        versions: list[pathlib.Path] = []
        for n in range(12):
            if n % 3 == 2:
                get("/healthz")  # moves the round robin on, so both versions serve pages
            status, page = get("/booth")
            assert status == 200
            text = page.decode()
            tagged = re.findall(r'(?:src|href)="(/static/[^"]+)" integrity="([^"]+)"', text)
            assert len(tagged) >= 3
            booth = next(i for u, i in tagged if "booth.js" in u)
            mine = new if booth == sri((new / "web/static/js/booth.js").read_bytes()) else ROOT
            versions.append(mine)
            for link, integrity in tagged:
                status, data = get(html.unescape(link))
                assert status == 200 and sri(data) == integrity, link
            worker = html.unescape(re.search(r'data-worker="([^"]+)"', text).group(1))
            status, data = get(worker)
            assert status == 200
            assert data == (mine / "web/static/js/encrypt-worker.js").read_bytes(), worker
            # what the worker imports: tohyo-crypto.js with the page's ?c= as its ?v=
            c = urllib.parse.parse_qs(urllib.parse.urlsplit(worker).query)["c"][0]
            status, data = get("/static/js/tohyo-crypto.js?v=" + urllib.parse.quote(c))
            assert status == 200
            assert data == (mine / "web/static/js/tohyo-crypto.js").read_bytes()
        assert set(versions) == {ROOT, new}, versions  # both versions served pages
    finally:
        if proxy is not None:
            _stop_nginx(proxy)
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=20)
