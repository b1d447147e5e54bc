"""Operational state shared by the web processes of one board (bulletin/operational.py):
two sites, each over its own Board and engine on ONE database (as two `tohyo serve`
processes on one machine or two), on SQLite and on a real PostgreSQL.

The signing-app hand-off: a request made through one process is read, answered and
collected through the other; it is answered once however many processes try at the same
moment; the per-address and global caps count both processes' requests; wrong pairing
numbers are counted across processes and five void the request. The admin session: a
logout on one process ends the session (and its copies) on the other. And what the
database keeps of the hand-off's secrets, and the migration against the tables.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, inspect, select

from bulletin import schema
from bulletin.auth import TokenAuthenticator
from bulletin.board import Board, load_signing_key
from bulletin.operational import AdminSessionEpoch, SignRequests
from bulletin.refusals import Refusal
from bulletin.store import MIGRATIONS, Store, make_engine, migrate
from e2e.shortcode import short
from tests.integration.board_helpers import KEY, TOKENS, ballot_doc, make_board
from web.admin import hash_password
from web.app import SiteSettings, create_site
from web.security import CLOCK_TOLERANCE

PASSWORD = "a long test password"
HASH = hash_password(PASSWORD, n=2**10)  # a cheap KDF for tests only
COOKIE_KEY = b"one cookie key for every process of the test board!"
BODY = {"confirmation_code": "AB" * 32, "challenge": "CD" * 32}
ANSWER = {"certificate": base64.b64encode(b"the voter's certificate").decode(), "signature": "c2ln"}


@dataclass
class Two:
    a: object  # Flask test clients of the two processes
    b: object
    apps: tuple
    boards: tuple[Board, Board]


@pytest.fixture
def two(db_url, tmp_path):
    setup = make_board(db_url, tmp_path)
    other = Board(
        Store(make_engine(db_url)),
        load_signing_key(setup.key_path),
        setup.clock,
        TokenAuthenticator(KEY, TOKENS),
    )
    apps = []
    for board in (setup.board, other):
        app = create_site(board, SiteSettings(rate_limits=False, admin_password_hash=HASH))
        app.config["SECRET_KEY"] = COOKIE_KEY  # as `tohyo serve --secret-key-file` gives
        apps.append(app)
    yield Two(apps[0].test_client(), apps[1].test_client(), tuple(apps), (setup.board, other))
    for board in (setup.board, other):
        board.store.engine.dispose()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client):
    page = client.get("/admin/login").get_data(as_text=True)
    return client.post("/admin/login", data={"password": PASSWORD, "csrf_token": _token(page)})


def post(client, path: str):
    html = client.get("/admin/").get_data(as_text=True)
    return client.post(path, data={"csrf_token": _token(html)})


def _create(client, addr: str = "192.0.2.1"):
    return client.post("/api/sign-requests", json=BODY, environ_base={"REMOTE_ADDR": addr})


def _make(store: SignRequests, now, client: str = "192.0.2.9", ttl=timedelta(minutes=10)):
    """A request made directly through the store (20 per address, 10,000 in all)."""
    return store.create(
        b"m", b"c" * 32, b"k" * 32, now, ttl=ttl, client=client, per_client=20, max_pending=10_000
    )


def _wrong(pairing: str) -> str:
    return f"{(int(pairing) + 1) % 10**6:06d}"


# --- the signing-app hand-off ---------------------------------------------------------------


def test_a_request_made_on_one_process_is_served_by_the_other(two):
    resp = _create(two.a)
    assert resp.status_code == 201
    req = resp.get_json()
    result = req["app_url"] + "/result"
    shown = two.b.get(req["app_url"]).get_json()
    message = base64.b64decode(shown["message"])
    assert message.endswith(bytes.fromhex(BODY["confirmation_code"] + BODY["challenge"]))
    assert shown["expires"] == req["expires"]
    assert two.b.get(result, headers={"X-Sign-Secret": req["secret"]}).status_code == 204
    assert two.b.get(result, headers={"X-Sign-Secret": "guess"}).status_code == 401
    assert two.b.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]}).status_code == 204
    for client in (two.b, two.a):
        got = client.get(result, headers={"X-Sign-Secret": req["secret"]})
        assert got.get_json() == {**ANSWER, "challenge": "cd" * 32}
    again = two.a.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]})
    assert again.status_code == 409 and again.get_json()["error"] == "request_answered"
    # and the app is refused before it reads the card again
    assert two.b.get(req["app_url"]).get_json()["error"] == "request_answered"


def test_an_answer_is_taken_once_when_both_processes_try_at_once(two):
    req = _create(two.a).get_json()
    stores = [SignRequests(b.store) for b in two.boards]
    now = two.boards[0].clock.now()
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def answer(i: int) -> None:
        start.wait()
        try:
            stores[i % 2].answer(
                req["id"], f"cert-{i}", "c2ln", req["pairing"], now + timedelta(seconds=1), tries=5
            )
            outcomes.append(f"ok-{i}")
        except Refusal as e:
            outcomes.append(e.code)

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [o for o in outcomes if o.startswith("ok-")]
    assert len(won) == 1 and outcomes.count("request_answered") == 7, outcomes
    got = stores[1].result(req["id"], req["secret"], now)
    assert got is not None and got.certificate == f"cert-{won[0][3:]}"


def test_wrong_pairing_numbers_count_across_processes_and_five_void(two):
    req = _create(two.a).get_json()
    bad = {**ANSWER, "pairing": _wrong(req["pairing"])}
    for client in (two.a, two.b, two.a, two.b):
        r = client.post(req["app_url"], json=bad)
        assert r.status_code == 401 and r.get_json()["error"] == "unauthenticated"
    assert two.b.post(req["app_url"], json=bad).status_code == 401  # the fifth: void
    right = two.a.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]})
    assert right.status_code == 409 and right.get_json()["error"] == "request_voided"
    assert two.b.get(req["app_url"]).get_json()["error"] == "request_voided"
    result = two.a.get(req["app_url"] + "/result", headers={"X-Sign-Secret": req["secret"]})
    assert result.get_json()["error"] == "request_voided"  # the booth says why, too


def test_concurrent_wrong_tries_are_each_counted(two):
    req = _create(two.b).get_json()
    stores = [SignRequests(b.store) for b in two.boards]
    now = two.boards[0].clock.now()
    start = threading.Barrier(10)
    codes: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        try:
            stores[i % 2].answer(
                req["id"], "Y2VydA==", "c2ln", _wrong(req["pairing"]), now, tries=5
            )
        except Refusal as e:
            codes.append(e.code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Five guesses, wherever they come from, and never a sixth: the rest find it void.
    assert sorted(codes) == ["request_voided"] * 5 + ["unauthenticated"] * 5


def test_the_per_address_cap_counts_both_processes(two):
    for i in range(20):
        assert _create(two.a if i % 2 else two.b).status_code == 201
    for client in (two.a, two.b):
        r = _create(client)
        assert r.status_code == 429 and "per client address" in r.get_json()["detail"]
    assert _create(two.b, "192.0.2.2").status_code == 201  # another client still gets one


def test_the_per_address_cap_holds_when_both_processes_create_at_once(two):
    stores = [SignRequests(b.store) for b in two.boards]
    now = two.boards[0].clock.now()
    start = threading.Barrier(30)
    codes: list[str] = []

    def create(i: int) -> None:
        start.wait()
        try:
            _make(stores[i % 2], now)
            codes.append("created")
        except Refusal as e:
            codes.append(e.code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == ["created"] * 20 + ["rate_limited"] * 10


def test_an_answered_request_keeps_its_place_until_it_expires_on_both(two, monkeypatch):
    # A client that answers its own requests (it knows their pairing numbers) must not make
    # room for more: the cap counts unexpired requests, answered or not.
    from web import signing

    for app in two.apps:
        app.config["SITE"] = replace(app.config["SITE"], sign_requests_per_address=1)
    req = _create(two.a).get_json()
    assert _create(two.b).status_code == 429
    assert two.b.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]}).status_code == 204
    assert _create(two.b).status_code == 429
    later = signing._now() + 2 * signing.TTL  # the first request has expired by then
    monkeypatch.setattr(signing, "_now", lambda: later)
    assert _create(two.b).status_code == 201


def test_the_global_cap_counts_both_processes(two, monkeypatch):
    from web import signing

    monkeypatch.setattr(signing, "MAX_PENDING", 3)
    assert _create(two.a, "192.0.2.1").status_code == 201
    assert _create(two.b, "192.0.2.2").status_code == 201
    assert _create(two.a, "192.0.2.3").status_code == 201
    r = _create(two.b, "192.0.2.4")
    assert r.status_code == 429 and r.get_json()["error"] == "rate_limited"


def test_requests_expire_on_both_and_are_pruned_later(two, monkeypatch):
    from bulletin import operational
    from web import signing

    start = signing._now()
    reqs = [_create(two.a if i % 2 else two.b).get_json() for i in range(3)]
    later = start + signing.TTL + timedelta(seconds=1)
    monkeypatch.setattr(signing, "_now", lambda: later)
    count = select(func.count()).select_from(schema.sign_requests)
    for req in reqs:
        got = two.a.get(req["app_url"])
        assert got.status_code == 409 and got.get_json()["error"] == "request_expired"
        answer = two.b.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]})
        assert answer.get_json()["error"] == "request_expired"  # never taken after its time
        result = two.b.get(req["app_url"] + "/result", headers={"X-Sign-Secret": req["secret"]})
        assert result.status_code == 409 and result.get_json()["error"] == "request_expired"
        assert two.a.get(req["app_url"] + "/status").get_json()["state"] == "expired"
    assert _create(two.b).status_code == 201  # expired, but kept for KEEP: the app is told why
    with two.boards[0].store.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == 4
    much_later = later + operational.KEEP
    monkeypatch.setattr(signing, "_now", lambda: much_later)
    assert _create(two.b).status_code == 201  # a creation prunes what expired KEEP ago
    with two.boards[0].store.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == 2
    gone = two.a.get(reqs[0]["app_url"])
    assert gone.status_code == 404 and gone.get_json()["error"] == "request_unknown"


def test_pruning_is_bounded(two):
    from bulletin import operational

    store = SignRequests(two.boards[0].store)
    now = two.boards[0].clock.now()
    for i in range(operational.PRUNE + 5):
        _make(store, now, client=f"192.0.2.{i}", ttl=timedelta(seconds=1))
    _make(store, now + operational.KEEP + timedelta(seconds=2))
    count = select(func.count()).select_from(schema.sign_requests)
    with two.boards[0].store.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == 5 + 1  # PRUNE of the expired ones went


def test_a_request_cancelled_on_one_process_is_refused_on_the_other(two):
    req = _create(two.a).get_json()
    secret = {"X-Sign-Secret": req["secret"]}
    assert two.b.delete(req["app_url"], headers={"X-Sign-Secret": "guess"}).status_code == 401
    assert two.b.get(req["app_url"]).status_code == 200  # a wrong secret cancels nothing
    assert two.b.delete(req["app_url"], headers=secret).status_code == 204
    assert two.a.delete(req["app_url"], headers=secret).status_code == 204  # idempotent
    got = two.a.get(req["app_url"])  # the app, before it reads the card
    assert got.status_code == 409 and got.get_json()["error"] == "request_cancelled"
    assert "取り消されました" in got.get_json()["message"]["ja"]
    answer = two.b.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]})
    assert answer.status_code == 409 and answer.get_json()["error"] == "request_cancelled"
    assert two.a.get(req["app_url"] + "/result", headers=secret).get_json()["error"] == (
        "request_cancelled"
    )
    assert two.b.get(req["app_url"] + "/status").get_json()["state"] == "cancelled"
    unknown = two.a.delete("/api/sign-requests/nosuchrequest", headers=secret)
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "request_unknown"


def test_a_request_answered_then_cancelled_never_gives_the_answer(two):
    req = _create(two.a).get_json()
    secret = {"X-Sign-Secret": req["secret"]}
    assert two.b.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]}).status_code == 204
    assert two.a.delete(req["app_url"], headers=secret).status_code == 204
    assert two.b.get(req["app_url"] + "/result", headers=secret).get_json()["error"] == (
        "request_cancelled"
    )


def test_the_app_is_told_cast_only_once_the_board_holds_the_ballot(two):
    board = two.boards[0]
    doc = ballot_doc(board.election, {"gyosei": ["internet-voting"]}, "status")
    code = doc["confirmation_code"]
    req = two.a.post(
        "/api/sign-requests", json={"confirmation_code": code, "challenge": "CD" * 32}
    ).get_json()
    state = lambda c: c.get(req["app_url"] + "/status").get_json()  # noqa: E731
    assert state(two.b) == {"state": "waiting", "short_code": short(bytes.fromhex(code))}
    assert two.b.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]}).status_code == 204
    assert state(two.a)["state"] == "answered"  # the app's answer alone casts nothing
    cast = two.b.post("/api/ballots", json={"ballot": doc, "auth": {"token": "token-1"}})
    assert cast.status_code == 201, cast.get_json()
    assert state(two.a)["state"] == "cast" and state(two.b)["state"] == "cast"


def test_a_stale_challenge_is_refused_before_the_card(two, monkeypatch):
    req = _create(two.a).get_json()
    # The board's JPKI gate says whether the challenge could still sign a ballot it takes
    # (bulletin/gate.py challenge_live; the nonce stores' is_live is tested in
    # tests/unit/test_jpki_board.py); the token gate of these tests has none, so one is given.
    monkeypatch.setattr(
        two.boards[1].authenticator, "challenge_live", lambda c: False, raising=False
    )
    got = two.b.get(req["app_url"])
    assert got.status_code == 409 and got.get_json()["error"] == "request_stale"
    page = two.b.get(req["page_url"])
    assert page.status_code == 409 and "もう使えません" in page.get_data(as_text=True)
    assert two.a.get(req["app_url"]).status_code == 200  # the other process has no such gate


def test_the_database_keeps_no_secret_readable(two):
    """The booth's secret and the pairing number only as hashes, the client address only
    as a digest, and the voter's certificate only sealed to the booth's secret."""
    req = _create(two.a, "198.51.100.7").get_json()
    assert two.b.post(req["app_url"], json={**ANSWER, "pairing": req["pairing"]}).status_code == 204
    with two.boards[1].store.engine.connect() as conn:
        row = conn.execute(select(schema.sign_requests)).one()
    stored = b"".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row
    )
    for plain in (
        req["secret"].encode(),
        req["pairing"].encode(),
        b"198.51.100.7",
        ANSWER["certificate"].encode(),
        b"the voter's certificate",
    ):
        assert plain not in stored, plain


# --- the admin session ----------------------------------------------------------------------


def test_a_logout_on_one_process_ends_the_session_on_the_other(two):
    assert login(two.a).status_code == 303 and two.a.get("/admin/").status_code == 200
    cookie = two.a.get_cookie("session").value
    copy_on_a = two.apps[0].test_client()  # a copy of the cookie, still used on A
    copy_on_a.set_cookie("session", cookie)
    assert copy_on_a.get("/admin/").status_code == 200
    two.b.set_cookie("session", cookie)  # the same browser, its next request reaches B
    assert two.b.get("/admin/").status_code == 200  # one session, whichever process serves it
    assert post(two.b, "/admin/logout").status_code == 303
    for client in (copy_on_a, two.a):
        client.set_cookie("session", cookie)
        r = client.get("/admin/")
        assert r.status_code == 303 and "/admin/login" in r.headers["Location"]
    # A new login on either process works at once on the other.
    assert login(two.b).status_code == 303
    two.a.set_cookie("session", two.b.get_cookie("session").value)
    assert two.a.get("/admin/").status_code == 200


def test_a_machine_whose_clock_is_a_little_behind_keeps_the_session_and_its_forms(two, monkeypatch):
    """Machine B's clock is 3 s behind A's. A session whose last request A served, and a
    form A rendered, must work on B: NTP keeps machines close, never equal."""
    real_time = time.time

    def on_b(client, method: str, path: str, behind: float = 3, **kw):
        # Everything B's request reads of the time (its session cookie, the CSRF token, the
        # admin session's last request) comes from its own clock, 3 s behind.
        monkeypatch.setattr(time, "time", lambda: real_time() - behind)
        try:
            return getattr(client, method)(path, **kw)
        finally:
            monkeypatch.setattr(time, "time", real_time)

    # The login form from A, posted to B.
    page = two.a.get("/admin/login").get_data(as_text=True)
    two.b.set_cookie("session", two.a.get_cookie("session").value)
    r = on_b(two.b, "post", "/admin/login", data={"password": PASSWORD, "csrf_token": _token(page)})
    assert r.status_code == 303, r.get_data(as_text=True)
    # The session renewed on A, its next request on B.
    two.a.set_cookie("session", two.b.get_cookie("session").value)
    html = two.a.get("/admin/").get_data(as_text=True)
    two.b.set_cookie("session", two.a.get_cookie("session").value)
    assert on_b(two.b, "get", "/admin/").status_code == 200
    # A form A rendered, posted to B.
    two.b.set_cookie("session", two.a.get_cookie("session").value)
    r = on_b(two.b, "post", "/admin/logout", data={"csrf_token": _token(html)})
    assert r.status_code == 303  # not 400, the CSRF refusal
    # The logout took: the session is over on A too (a refused one would still be live).
    assert two.a.get("/admin/").status_code == 303
    # A clock further behind than the tolerance ends the session there (the safe side).
    assert login(two.a).status_code == 303
    for behind, status in ((CLOCK_TOLERANCE - 5, 200), (CLOCK_TOLERANCE + 5, 303)):
        two.b.set_cookie("session", two.a.get_cookie("session").value)
        assert on_b(two.b, "get", "/admin/", behind=behind).status_code == status, behind


def test_the_epoch_is_one_row_that_logout_replaces(two):
    first, second = (AdminSessionEpoch(b.store) for b in two.boards)
    before = first.current()
    assert second.current() == before and len(before) == 32
    after = second.renew()
    assert after != before and first.current() == after


def test_the_epoch_row_is_made_again_if_it_is_missing(two):
    with two.boards[0].store.engine.begin() as conn:
        conn.execute(schema.admin_epoch.delete())
    epoch = AdminSessionEpoch(two.boards[1].store)
    made = epoch.current()
    assert AdminSessionEpoch(two.boards[0].store).current() == made == epoch.current()


# --- the migration --------------------------------------------------------------------------


def test_revision_0004_makes_the_tables_and_goes_back(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bulletin.ceremony  # noqa: F401  (registers the mailbox's tables)

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
        assert conn.execute(select(func.count()).select_from(schema.admin_epoch)).scalar_one() == 1
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert not {"sign_requests", "admin_epoch"} & set(inspect(engine).get_table_names())
    migrate(engine)
    assert {"sign_requests", "admin_epoch"} <= set(inspect(engine).get_table_names())
    engine.dispose()
