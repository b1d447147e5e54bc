"""The site against hostile input, each fault fed in exactly: free text in the public log,
the limit on challenged ballots from all clients together, inputs that used to give a 500
(deep nesting, lone surrogates, Unicode digits, integers past the database's), the
last-resort JSON error, and the per-address share of pending signing requests."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from e2e import codec
from e2e.ballot import (
    DEVICE_MAX,
    BallotError,
    ChallengedBallot,
    challenge,
    confirmation_code,
    encrypt_ballot,
    identifier_hash,
    verify_ballot,
)
from e2e.errors import VerificationError
from e2e.rng import DeterministicRng
from tests.db_faults import sqlite_failure
from tests.integration.board_helpers import make_board
from web.api import LOG_MAX, create_app
from web.app import SiteSettings, create_site

C = {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["emergency-info"]}
DEEP = b"[" * 1000 + b"]" * 1000  # json.loads raises RecursionError, not ValueError
OPEN = {"rate_limits": False}


@pytest.fixture
def setup(tmp_path):
    return make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)


def site(setup, **kw):
    return create_site(setup.board, SiteSettings(**{**OPEN, **kw})).test_client()


def _json_error(resp, status: int, code: str) -> dict:
    text = resp.get_data(as_text=True)
    assert resp.status_code == status, text
    body = resp.get_json()
    assert body["error"] == code, body
    assert body["message"]["ja"] and body["message"]["en"]
    assert "Traceback" not in text
    return body


def relabelled(election, ballot, device: str):
    """The ballot with another device label and the confirmation code that goes with it:
    everything checks except the label rule itself."""
    h_i = identifier_hash(election, ballot.ballot_id)
    code = confirmation_code(election, h_i, device, [c.contest_hash for c in ballot.contests])
    return replace(ballot, device=device, confirmation_code=code)


def challenged_doc(election, seed: str, device: str = "tohyo") -> dict:
    ballot, secret = encrypt_ballot(election, C, DeterministicRng(seed))
    cb = challenge(ballot, secret)
    if device != "tohyo":
        cb = ChallengedBallot(relabelled(election, ballot, device), cb.ballot_nonce, cb.choices)
    return {"challenged": codec.to_document(cb)}


# --- A. free text in the public log --------------------------------------------------------

BAD_DEVICES = [
    "x" * (DEVICE_MAX + 1),  # the 2 MiB body limit used to be the only bound
    "x" * 100_000,
    "ブース",
    "booth\n2",
    "tab\there",
    "\x00",
    "é",
    "",
]


@pytest.mark.parametrize("device", BAD_DEVICES, ids=lambda d: repr(d[:12]))
def test_a_challenged_ballot_with_a_free_text_device_label_is_refused(setup, device):
    c = site(setup)
    size = setup.board.store.size()
    resp = c.post("/api/challenged", json=challenged_doc(setup.election, "d", device))
    body = _json_error(resp, 422, "invalid_ballot")
    assert "device label" in body["detail"]
    assert setup.board.store.size() == size  # nothing reached the log


def test_a_cast_ballot_with_a_free_text_device_label_is_refused(setup):
    ballot, _ = encrypt_ballot(setup.election, C, DeterministicRng("cast"))
    bad = relabelled(setup.election, ballot, "ブース" * 30)
    resp = site(setup).post(
        "/api/ballots", json={"ballot": codec.to_document(bad), "auth": {"token": "token-1"}}
    )
    _json_error(resp, 422, "invalid_ballot")


def test_a_lone_surrogate_in_the_device_label_is_malformed_not_a_500(setup):
    doc = json.dumps(challenged_doc(setup.election, "s"))
    doc = doc.replace('"device": "tohyo"', '"device": "\\ud800"')
    assert "\\ud800" in doc
    resp = site(setup).post("/api/challenged", data=doc, content_type="application/json")
    assert resp.status_code in (400, 422), resp.get_data(as_text=True)


def test_a_the_longest_printable_ascii_device_labels_are_accepted(setup):
    printable = "".join(chr(c) for c in range(0x20, 0x7F))  # space to tilde
    c = site(setup)
    for n, label in enumerate([printable[:DEVICE_MAX], printable[-DEVICE_MAX:], "tohyo"]):
        doc = challenged_doc(setup.election, f"ok{n}", label)
        resp = c.post("/api/challenged", json=doc)
        assert resp.status_code == 201, resp.get_data(as_text=True)


def test_a_the_device_rule_holds_at_encryption_and_in_the_verifier(setup):
    el = setup.election
    with pytest.raises(BallotError, match="device label"):
        encrypt_ballot(el, C, DeterministicRng("e"), device="x" * (DEVICE_MAX + 1))
    ballot, _ = encrypt_ballot(el, C, DeterministicRng("v"), device="booth-1")
    verify_ballot(el, ballot)
    with pytest.raises(VerificationError, match="device label"):
        verify_ballot(el, relabelled(el, ballot, "ブース"))


def test_a_no_other_free_text_reaches_the_log_through_a_ballot(setup):
    """Every other field of a (challenged) ballot is fixed-width hex, a small integer the
    manifest bounds, or a list the manifest sizes: a wider or extra field is refused."""
    c = site(setup)
    doc = challenged_doc(setup.election, "w")
    cb = doc["challenged"]
    for mutate in (
        lambda d: d["ballot"].__setitem__("ballot_id", "AB" * 33),
        lambda d: d["ballot"].__setitem__("confirmation_code", "ab" * 32),
        lambda d: d.__setitem__("ballot_nonce", "Z" * 64),
        lambda d: d["ballot"].__setitem__("note", "free text"),
        lambda d: d.__setitem__("note", "free text"),
        lambda d: d["ballot"]["contests"][0].__setitem__("contest", 10**30),
        lambda d: d["choices"].append([0] * 100_000),
        lambda d: d["ballot"]["contests"][0]["selections"].append(
            d["ballot"]["contests"][0]["selections"][0]
        ),
    ):
        bad = json.loads(json.dumps(cb))
        mutate(bad)
        resp = c.post("/api/challenged", json={"challenged": bad})
        assert resp.status_code in (400, 422), resp.get_data(as_text=True)
    assert setup.board.store.kinds(["challenged"]) == []


def test_a_challenged_ballots_are_limited_for_all_clients_together(setup):
    c = site(setup, rate_limits=True, submit_limit="100 per minute", challenged_limit="3 per hour")
    # Refused junk from many addresses does not use up everyone's allowance...
    for n in range(10):
        junk = c.post(
            "/api/challenged",
            data=b"{}",
            content_type="application/json",
            environ_base={"REMOTE_ADDR": f"10.0.1.{n}"},
        )
        assert junk.status_code == 400
    # ... but three appended challenged ballots, from three addresses, do.
    for n in range(3):
        ok = c.post(
            "/api/challenged",
            json=challenged_doc(setup.election, f"g{n}"),
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )
        assert ok.status_code == 201, ok.get_data(as_text=True)
    fourth = c.post(
        "/api/challenged",
        json=challenged_doc(setup.election, "g3"),
        environ_base={"REMOTE_ADDR": "10.0.0.99"},  # a fresh address: its own limit is unused
    )
    body = _json_error(fourth, 429, "rate_limited")
    assert "all clients" in body["detail"]
    assert len(setup.board.store.kinds(["challenged"])) == 3
    # Cast ballots (authenticated by the voter's card) are not under that limit.
    cast = c.post(
        "/api/ballots",
        json={
            "ballot": codec.to_document(
                encrypt_ballot(setup.election, C, DeterministicRng("c"))[0]
            ),
            "auth": {"token": "token-1"},
        },
        environ_base={"REMOTE_ADDR": "10.0.0.98"},
    )
    assert cast.status_code == 201


def test_a_the_limit_store_failing_after_an_append_keeps_the_appended_ballots_201(
    setup, monkeypatch
):
    """The rate-limit storage (Redis) fails between the append of a challenged ballot and
    the count of the all-clients limit, which is made after the answer: the ballot is on
    the board, and its answer stays 201, not a 500."""
    from web import security

    c = site(setup, rate_limits=True, submit_limit="100 per minute", challenged_limit="3 per hour")
    storage = security.limiter.storage
    real_incr, failing = storage.incr, []

    def incr(*a, **k):
        if failing:
            raise ConnectionError("Error 111 connecting to the rate-limit storage")
        return real_incr(*a, **k)

    monkeypatch.setattr(storage, "incr", incr)
    real_submit = setup.board.submit_challenged

    def appended_then_the_store_fails(body):
        out = real_submit(body)
        failing.append(True)  # from now on, the storage does not answer
        return out

    monkeypatch.setattr(setup.board, "submit_challenged", appended_then_the_store_fails)
    ok = c.post("/api/challenged", json=challenged_doc(setup.election, "store-fails"))
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert len(setup.board.store.kinds(["challenged"])) == 1


def test_a_the_per_address_limit_still_applies_to_challenged_ballots(setup):
    c = site(setup, rate_limits=True, submit_limit="2 per minute", challenged_limit="100 per hour")
    codes = [
        c.post("/api/challenged", data=b"{}", content_type="application/json").status_code
        for _ in range(3)
    ]
    assert codes == [400, 400, 429]


# --- B. inputs that gave a 500 -------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/ballots", "/api/challenged", "/api/sign-requests", "/api/sign-requests/x"],
)
def test_b_a_body_nested_a_thousand_deep_is_malformed(setup, path):
    resp = site(setup).post(path, data=DEEP, content_type="application/json")
    assert resp.status_code in (400, 404), resp.get_data(as_text=True)
    assert resp.get_json()["error"] in ("malformed", "not_found")


def test_b_a_deep_body_to_an_answered_sign_request_is_malformed(setup):
    c = site(setup)
    req = c.post(
        "/api/sign-requests", json={"confirmation_code": "AB" * 32, "challenge": "CD" * 32}
    ).get_json()
    _json_error(
        c.post(req["app_url"], data=DEEP, content_type="application/json"), 400, "malformed"
    )


@pytest.mark.parametrize(
    "body",
    [
        '{"confirmation_code": "\\ud800' + "0" * 63 + '", "challenge": "' + "CD" * 32 + '"}',
        '{"confirmation_code": "' + "AB" * 32 + '", "challenge": "\\udfff' + "0" * 63 + '"}',
        '{"\\ud800": 1}',
    ],
)
def test_b_lone_surrogates_in_a_sign_request_are_malformed(setup, body):
    resp = site(setup).post("/api/sign-requests", data=body, content_type="application/json")
    _json_error(resp, 400, "malformed")


def test_b_lone_surrogates_and_unicode_digits_in_a_sign_request_answer(setup):
    c = site(setup)
    req = c.post(
        "/api/sign-requests", json={"confirmation_code": "AB" * 32, "challenge": "CD" * 32}
    ).get_json()
    for body in (
        '{"certificate": "\\ud800", "signature": "c2ln", "pairing": "123456"}',
        '{"certificate": "Y2VydA==", "signature": "c2ln", "pairing": "\\ud800\\ud800\\ud800"}',
        # six str.isdigit() characters that are no pairing number (was 401, a wrong try)
        '{"certificate": "Y2VydA==", "signature": "c2ln", "pairing": "²²²²²²"}',
        '{"certificate": "Y2VydA==", "signature": "c2ln", "pairing": "١٢٣٤٥٦"}',
    ):
        resp = c.post(req["app_url"], data=body.encode(), content_type="application/json")
        _json_error(resp, 400, "malformed")
    ok = {"certificate": "Y2VydA==", "signature": "c2ln", "pairing": req["pairing"]}
    assert c.post(req["app_url"], json=ok).status_code == 204  # no wrong try was counted


@pytest.mark.parametrize(
    "query",
    [
        "/api/entries?start=%C2%B2",  # "²": str.isdigit() is true, int() refuses it
        "/api/entries?limit=%C2%B2",
        "/api/entries?start=%D9%A1",  # "١" (Arabic-Indic one): int() reads it
        "/api/tree-heads?from_size=%C2%B2",
        "/api/consistency?first=%C2%B2&second=1",
        "/api/consistency?first=1&second=%E2%91%A0",
        "/api/entries?start=" + "9" * 5000,  # int() refuses more than 4300 digits
        "/api/entries?start=" + "9" * 25,
        "/api/entries?start=",
        "/api/entries?start=+1",
        "/api/entries?start=%201",
    ],
)
def test_b_integer_query_parameters_take_ascii_digits_only(setup, query):
    _json_error(site(setup).get(query), 400, "malformed")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/tree-heads/{2**63}",  # OverflowError in the database before
        f"/api/tree-heads/{2**64 + 5}",
        f"/api/tree-heads/{LOG_MAX + 1}",
        f"/api/entries/{2**63}",
        "/api/entries/" + "9" * 5000,
        "/api/tree-heads/%C2%B2",
        "/api/tree-heads/%D9%A1",
        "/api/tree-heads/-1",
    ],
)
def test_b_log_indices_past_the_database_are_not_found(setup, path):
    _json_error(site(setup).get(path), 404, "not_found")


def test_b_log_indices_within_bounds_still_work(setup):
    c = site(setup)
    assert c.get("/api/entries/0").status_code == 200
    head = c.get("/api/tree-heads/latest").get_json()
    assert c.get(f"/api/tree-heads/{head['size']}").get_json() == head
    _json_error(c.get(f"/api/tree-heads/{LOG_MAX}"), 404, "not_found")
    assert c.get("/api/entries?start=0&limit=1").get_json()["entries"][0]["index"] == 0


@pytest.mark.parametrize("start", ["%C2%B2", "9" * 5000, "%D9%A1", "-1", "x"])
def test_b_the_board_page_takes_ascii_digits_only(setup, start):
    resp = site(setup).get(f"/board?start={start}")
    assert resp.status_code == 200 and resp.mimetype == "text/html"


@pytest.mark.parametrize("make", [create_app, lambda b: create_site(b)])
def test_b_an_unexpected_exception_under_api_is_a_json_500_without_a_traceback(
    setup, monkeypatch, make
):
    app = make(setup.board)

    def broken(*a, **k):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(setup.board, "latest_head", broken)
    resp = app.test_client().get("/api/tree-heads/latest")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 500 and resp.mimetype == "application/json"
    assert resp.get_json()["error"] == "internal"
    assert "Traceback" not in text and "secret" not in text and "RuntimeError" not in text


def test_b_an_exception_while_handling_an_error_is_still_a_json_500(setup, monkeypatch):
    """The error handler itself failing reaches Flask's InternalServerError: that too is the
    API's fixed JSON body, never the exception's text."""
    app = create_site(setup.board)
    from bulletin.auth import Refusal

    def broken(e):
        raise RuntimeError("secret from the handler")

    for scope in (None, "api"):  # the app's handler and the API blueprint's
        app.error_handler_spec[scope][None][Refusal] = broken
    resp = app.test_client().get("/api/receipts/xyz")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 500 and resp.get_json()["error"] == "internal"
    assert "secret" not in text and "Traceback" not in text


def test_b_an_unexpected_exception_on_a_page_is_an_html_error(setup, monkeypatch):
    app = create_site(setup.board)
    monkeypatch.setattr(setup.board, "state", lambda: 1 / 0)
    resp = app.test_client().get("/")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 500 and resp.mimetype == "text/html"
    assert "Traceback" not in text and "ZeroDivisionError" not in text


def _sqlite_error(tmp_path, sql: str, busy: bool) -> Exception:
    """The SQLAlchemy error for a real SQLite failure: ``sql`` while another connection
    holds the write lock (``busy``: "database is locked", SQLITE_BUSY), or on its own."""
    import sqlite3

    from sqlalchemy import exc

    orig = sqlite_failure(tmp_path / "lock.db", sql, busy)
    return exc.DBAPIError.instance(sql, {}, orig, sqlite3.Error)


def _raising(e: Exception):
    def fault(*a, **k):
        raise e

    return fault


def _fault(kind: str, tmp_path) -> Exception:
    if kind == "database":
        return _sqlite_error(tmp_path, "BEGIN IMMEDIATE", busy=True)
    from bulletin.batcher import Interrupted

    return Interrupted("the batch was interrupted: its outcome is unknown, retry")


@pytest.mark.parametrize("kind", ["database", "interrupted"])
@pytest.mark.parametrize("make", [create_app, lambda b: create_site(b)])
def test_b_a_board_that_cannot_answer_for_now_is_a_503_unavailable(
    setup, monkeypatch, make, kind, caplog, tmp_path
):
    """Not a bug, so not "internal": the voter is told to retry (a ballot sent again is
    counted once), in every language of the site, with Retry-After; logged by type and
    code only, once for the two requests (an outage fails every request the same way)."""
    fault = _raising(_fault(kind, tmp_path))
    monkeypatch.setattr(setup.board, "submit", fault)
    monkeypatch.setattr(setup.board, "latest_head", fault)
    client = make(setup.board).test_client()
    for resp in (
        client.post("/api/ballots", json={"ballot": {}}),
        client.get("/api/tree-heads/latest"),
    ):
        body = _json_error(resp, 503, "unavailable")
        # 5 s, or later: Flask-Limiter rewrites it in whole seconds from its clock (4 or more)
        assert int(resp.headers["Retry-After"]) >= 4
        assert "二重に数えられることはありません" in body["message"]["ja"]
        if make is not create_app:  # the site has the zh-Hans catalog
            assert body["message"]["zh-Hans"]
        assert "locked" not in resp.get_data(as_text=True)
    assert "internal error" not in caplog.text
    assert caplog.text.count("unavailable: ") == 1  # the second held back for 10 s
    said = "OperationalError SQLITE_BUSY" if kind == "database" else "Interrupted"
    assert f"unavailable: {said}" in caplog.text
    assert "locked" not in caplog.text and "outcome" not in caplog.text


def test_b_a_database_error_that_would_fail_again_stays_internal(
    setup, monkeypatch, caplog, tmp_path
):
    """A missing table is an OperationalError too, but sending again cannot help: 500
    "internal" (and the log names it by code), never "press again"."""
    missing = _sqlite_error(tmp_path, "SELECT * FROM nowhere", busy=False)
    monkeypatch.setattr(setup.board, "latest_head", _raising(missing))
    monkeypatch.setattr(setup.board, "state", _raising(missing))
    client = create_site(setup.board).test_client()
    _json_error(client.get("/api/tree-heads/latest"), 500, "internal")
    page = client.get("/")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "internal error: OperationalError SQLITE_ERROR" in caplog.text
    assert "nowhere" not in caplog.text and "unavailable" not in caplog.text


def test_b_a_ballot_whose_commit_lost_its_answer_gets_its_receipt_when_sent_again(
    setup, monkeypatch
):
    """The commit reached the database and its answer did not (the connection dropped just
    after COMMIT): the voter is answered 503, and the same submission sent again gets the
    receipt of the entry already on the board. One ballot, not two."""
    from contextlib import contextmanager

    from sqlalchemy import exc

    from tests.integration.board_helpers import submission

    client = site(setup)
    body = submission(setup.election, C, "token-7", "lost-answer")
    store = setup.board.store
    before = store.size()
    real_write = store.write

    @contextmanager
    def committed_then_dropped():
        with real_write() as conn:
            yield conn
        # as a COMMIT whose connection the server terminated raises it (SQLAlchemy marks
        # the connection invalidated), after the commit took effect
        import psycopg.errors

        shutdown = psycopg.errors.AdminShutdown("terminating connection")
        raise exc.OperationalError("COMMIT", {}, shutdown, connection_invalidated=True)

    with monkeypatch.context() as m:
        m.setattr(store, "write", committed_then_dropped)
        lost = client.post("/api/ballots", data=body, content_type="application/json")
    _json_error(lost, 503, "unavailable")
    after = store.size()
    assert after > before  # it is on the board (with its tree head)
    again = client.post("/api/ballots", data=body, content_type="application/json")
    assert again.status_code == 201, again.get_data(as_text=True)
    receipt = again.get_json()
    assert before <= receipt["entry"] < after  # the entry the lost commit wrote
    assert store.size() == after  # nothing added
    assert client.post("/api/ballots", data=body, content_type="application/json").get_json() == (
        receipt
    )


def test_b_readiness_says_database_when_it_goes_away_while_the_election_loads(
    setup, monkeypatch, tmp_path
):
    """The log's size was read, then the database went away before the election loaded:
    "database" (wait), not "election_unusable" (which suggests a wrong --key)."""
    from bulletin.board import Board

    busy = _fault("database", tmp_path)
    monkeypatch.setattr(Board, "election", property(_raising(busy)))
    resp = create_site(setup.board).test_client().get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["reason"] == "database"


def test_b_a_page_when_the_database_cannot_answer_is_a_503_page(setup, monkeypatch, tmp_path):
    monkeypatch.setattr(setup.board, "state", _raising(_fault("database", tmp_path)))
    resp = create_site(setup.board).test_client().get("/")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 503 and resp.mimetype == "text/html"
    assert resp.headers["Retry-After"] == "5"
    assert "Traceback" not in text and "locked" not in text


# --- D. the per-address share of pending signing requests -----------------------------------


def _sign_request(client, addr: str):
    return client.post(
        "/api/sign-requests",
        json={"confirmation_code": "AB" * 32, "challenge": "CD" * 32},
        environ_base={"REMOTE_ADDR": addr},
    )


def test_d_one_client_cannot_take_every_pending_signing_request(setup):
    c = site(setup)  # rate limits off: only the pending-request cap applies
    for _ in range(20):
        assert _sign_request(c, "192.0.2.1").status_code == 201
    body = _json_error(_sign_request(c, "192.0.2.1"), 429, "rate_limited")
    assert "per client address" in body["detail"]
    # another client still gets one
    assert _sign_request(c, "192.0.2.2").status_code == 201


def test_d_the_share_is_configurable_and_frees_on_expiry_and_void(setup, monkeypatch):
    from web import signing

    c = site(setup, sign_requests_per_address=2)
    first = _sign_request(c, "192.0.2.1").get_json()
    assert _sign_request(c, "192.0.2.1").status_code == 201
    _json_error(_sign_request(c, "192.0.2.1"), 429, "rate_limited")
    # five wrong pairing numbers void a request: its place is free again
    wrong = f"{(int(first['pairing']) + 1) % 10**6:06d}"
    answer = {"certificate": "Y2VydA==", "signature": "c2ln", "pairing": wrong}
    for _ in range(5):
        c.post(first["app_url"], json=answer)
    assert _sign_request(c, "192.0.2.1").status_code == 201
    _json_error(_sign_request(c, "192.0.2.1"), 429, "rate_limited")
    # expired requests free their places
    later = signing._now() + signing.TTL + timedelta(seconds=1)
    monkeypatch.setattr(signing, "_now", lambda: later)
    assert _sign_request(c, "192.0.2.1").status_code == 201


def test_d_the_global_cap_stays(setup, monkeypatch):
    from web import signing

    monkeypatch.setattr(signing, "MAX_PENDING", 3)
    c = site(setup)
    for n in range(3):
        assert _sign_request(c, f"192.0.2.{n}").status_code == 201
    _json_error(_sign_request(c, "192.0.2.50"), 429, "rate_limited")
