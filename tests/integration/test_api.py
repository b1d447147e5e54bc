"""The board's HTTP JSON API: every error is JSON with a 4xx status, never a stack trace."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from e2e import codec
from e2e.board import TreeHead, verify_tree_head
from e2e.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.integration.board_helpers import free_port, make_board, serve_in_thread, submission
from web.api import MAX_BODY, create_app

C = {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["emergency-info"]}


@pytest.fixture
def setup(tmp_path):
    return make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)


@pytest.fixture
def client(setup):
    return create_app(setup.board).test_client()


def _json_error(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == code
    assert body["message"]["ja"] and body["message"]["en"]
    assert "Traceback" not in resp.get_data(as_text=True)
    return body


def test_submit_and_read_back(setup, client):
    body = submission(setup.election, C, "token-1", "api")
    resp = client.post("/api/ballots", data=body, content_type="application/json")
    assert resp.status_code == 201
    receipt = resp.get_json()
    head = codec.from_document(receipt["tree_head"], TreeHead)
    verify_tree_head(setup.board.public, head)
    entries = client.get(f"/api/entries?start={receipt['entry']}&limit=1").get_json()
    leaf = codec.dumps(entries["entries"][0])
    verify_inclusion(
        receipt["entry"],
        head.size,
        leaf_hash(leaf),
        [bytes.fromhex(h) for h in receipt["inclusion_proof"]],
        bytes(head.root),
    )
    again = client.get(f"/api/receipts/{receipt['confirmation_code']}").get_json()
    assert again["entry"] == receipt["entry"]
    info = client.get("/api/election").get_json()
    assert (
        info["state"] == "open" and info["manifest"]["contests"][1]["title"]["ja"] == "モビリティ"
    )
    latest = client.get("/api/tree-heads/latest").get_json()
    first = client.get("/api/tree-heads?limit=1").get_json()["tree_heads"][0]
    old = client.get(f"/api/tree-heads/{first['size']}").get_json()
    assert old == first
    proof = client.get(f"/api/consistency?first={old['size']}&second={latest['size']}").get_json()
    proof = proof["proof"]
    verify_consistency(
        old["size"],
        latest["size"],
        bytes.fromhex(old["root"]),
        bytes.fromhex(latest["root"]),
        [bytes.fromhex(h) for h in proof],
    )
    page = client.get("/api/entries?start=0&limit=2").get_json()
    assert [e["index"] for e in page["entries"]] == [0, 1] and page["next"] == 2


def test_errors_are_json_4xx(setup, client):
    post = client.post
    _json_error(post("/api/ballots", data=b"{", content_type="application/json"), 400, "malformed")
    _json_error(
        post("/api/ballots", data=b"[1]", content_type="application/json"), 400, "malformed"
    )
    _json_error(post("/api/ballots", data=b"{}", content_type="text/plain"), 400, "malformed")
    _json_error(
        post("/api/ballots", data=b"x" * (MAX_BODY + 1), content_type="application/json"),
        413,
        "too_large",
    )
    body = json.loads(submission(setup.election, C, "nobody", "api2"))
    _json_error(post("/api/ballots", json=body), 401, "unauthenticated")
    _json_error(client.get("/api/receipts/" + "00" * 32), 404, "not_found")
    _json_error(client.get("/api/receipts/xyz"), 400, "malformed")
    _json_error(client.get("/api/entries?start=-1"), 400, "malformed")
    _json_error(client.get("/api/entries?limit=100000"), 400, "malformed")
    _json_error(client.get("/api/consistency?first=5&second=2"), 400, "malformed")
    _json_error(client.get("/api/tree-heads/999999"), 404, "not_found")
    _json_error(client.get("/api/results"), 404, "not_found")
    _json_error(client.get("/api/nothing"), 404, "not_found")
    _json_error(client.delete("/api/ballots"), 405, "malformed")
    ok = post("/api/ballots", json=json.loads(submission(setup.election, C, "token-2", "a3")))
    assert ok.status_code == 201
    _json_error(
        post(
            "/api/ballots",
            json={
                "ballot": json.loads(submission(setup.election, C, "token-3", "a3"))["ballot"],
                "auth": {"token": "token-4"},
            },
        ),
        409,
        "copy",
    )


def test_served_by_waitress_over_loopback(setup):
    import waitress.server

    port = free_port()
    server = waitress.server.create_server(
        create_app(setup.board), host="127.0.0.1", port=port, threads=4
    )
    serve_in_thread(server)
    try:
        url = f"http://127.0.0.1:{port}/api"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/tree-heads/latest", timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        req = urllib.request.Request(
            f"{url}/ballots",
            data=submission(setup.election, C, "token-5", "w"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 201 and json.loads(resp.read())["entry"] >= 0
        bad = urllib.request.Request(
            f"{url}/ballots", data=b"{", headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(bad, timeout=30)
        assert e.value.code == 400 and json.loads(e.value.read())["error"] == "malformed"
    finally:
        server.close()


def test_openapi_describes_every_route(setup):
    import pathlib

    import yaml

    spec = yaml.safe_load(
        (pathlib.Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml").read_text()
    )
    import re

    from web.app import create_site

    app = create_site(setup.board)  # the whole site: every /api route it serves
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api"))
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    documented = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    assert routes == documented


# --- the routes' clearer names: the signing nonce and the challenged ballot -----------------

NAMES = [("/api/challenges", "/api/signing-nonces"), ("/api/challenged", "/api/challenged-ballots")]


class NonceGate:
    """The token authenticator with the JPKI gate's signing nonces beside it."""

    def __init__(self, tokens) -> None:
        from bulletin.jpki.nonce import MemoryNonceStore

        self.tokens = tokens
        self.nonces = MemoryNonceStore()

    def authenticate(self, auth, confirmation_code, contests=()):
        return self.tokens.authenticate(auth, confirmation_code)

    def new_nonce(self):
        from datetime import UTC, datetime

        return self.nonces.issue(datetime.now(UTC))


def _challenged(election, seed: str) -> dict:
    from e2e.ballot import challenge, encrypt_ballot
    from e2e.rng import DeterministicRng

    ballot, secret = encrypt_ballot(election, C, DeterministicRng(seed))
    return {"challenged": codec.to_document(challenge(ballot, secret))}


@pytest.mark.parametrize(("old", "new"), NAMES)
def test_each_new_name_is_the_old_routes_endpoint(setup, old, new):
    from web.app import create_site

    app = create_site(setup.board)
    rules = {r.rule: r for r in app.url_map.iter_rules()}
    assert rules[old].endpoint == rules[new].endpoint
    assert rules[old].methods == rules[new].methods and "POST" in rules[new].methods


def test_signing_nonces_are_challenges(setup, client):
    # A board whose authenticator has no signing nonces: both names refuse alike.
    refusals = [client.post(path) for path in NAMES[0]]
    for resp in refusals:
        _json_error(resp, 404, "not_found")
    assert refusals[0].get_json() == refusals[1].get_json()
    setup.board.authenticator = NonceGate(setup.board.authenticator)
    issued = [client.post(path).get_json() for path in NAMES[0] for _ in range(2)]
    for doc in issued:
        assert set(doc) == {"challenge", "expires"} and len(bytes.fromhex(doc["challenge"])) == 32
    assert len({doc["challenge"] for doc in issued}) == 4  # each one fresh, from one store
    assert client.get("/api/signing-nonces").status_code == 405


def test_challenged_ballots_are_challenged(setup, client):
    doc = _challenged(setup.election, "new-name")
    first = client.post("/api/challenged-ballots", json=doc)
    assert first.status_code == 201, first.get_data(as_text=True)
    entry = client.get(f"/api/entries/{first.get_json()['entry']}").get_json()
    assert entry["kind"] == "challenged"
    # The same ballot by the old name is the same submission: the first receipt, no new entry.
    size = setup.board.store.size()
    again = client.post("/api/challenged", json=doc)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert setup.board.store.size() == size
    other = client.post("/api/challenged", json=_challenged(setup.election, "old-name"))
    assert other.status_code == 201 and other.get_json()["entry"] == first.get_json()["entry"] + 1
    for path in NAMES[1]:
        _json_error(client.post(path, data=b"{", content_type="application/json"), 400, "malformed")
        _json_error(client.post(path, data=b"{}", content_type="text/plain"), 400, "malformed")
        _json_error(
            client.post(path, data=b"x" * (MAX_BODY + 1), content_type="application/json"),
            413,
            "too_large",
        )


def test_both_names_share_the_rate_limits(setup):
    from web.app import SiteSettings, create_site

    c = create_site(
        setup.board, SiteSettings(submit_limit="3 per minute", challenged_limit="2 per hour")
    ).test_client()
    me = {"REMOTE_ADDR": "10.7.0.1"}
    codes = [c.post(p, environ_base=me).status_code for p in (*NAMES[0], *NAMES[0])]
    assert codes == [404, 404, 404, 429]  # one allowance for both names of the nonce route
    body = _json_error(c.post("/api/signing-nonces", environ_base=me), 429, "rate_limited")
    assert body["message"]["en"]
    # Challenged ballots: per address (every request counts) and for all clients together
    # (appended ones count), each across both names.
    other = {"REMOTE_ADDR": "10.7.0.2"}
    codes = [
        c.post(p, data=b"{}", content_type="application/json", environ_base=other).status_code
        for p in (*NAMES[1], *NAMES[1])
    ]
    assert codes == [400, 400, 400, 429]
    for n, path in enumerate(NAMES[1]):
        ok = c.post(
            path,
            json=_challenged(setup.election, f"limit-{n}"),
            environ_base={"REMOTE_ADDR": f"10.7.1.{n}"},
        )
        assert ok.status_code == 201, ok.get_data(as_text=True)
    for n, path in enumerate(NAMES[1]):
        over = c.post(
            path,
            json=_challenged(setup.election, f"over-{n}"),
            environ_base={"REMOTE_ADDR": f"10.7.2.{n}"},
        )
        assert "all clients" in _json_error(over, 429, "rate_limited")["detail"]
