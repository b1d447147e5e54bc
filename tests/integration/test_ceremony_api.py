"""The key ceremony and decryption through /api/ceremony: the trustee CLI against a real
loopback server (waitress), and every refusal of the mailbox with the bad input fed in."""

from __future__ import annotations

import json
import pathlib
import re
import threading
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from click.testing import CliRunner

from bulletin.auth import TokenAuthenticator
from bulletin.board import Board, BoardError, export_record, load_signing_key, new_signing_key
from bulletin.ceremony import CeremonyError, CeremonyStore, check_share_proof
from bulletin.clock import FixedClock
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.election import TrusteePublicKey, base_hash, joint_key
from e2e.group import TEST
from e2e.manifest import manifest_from_json
from e2e.record import read_record
from e2e.rng import DeterministicRng
from e2e.schnorr import SchnorrProof
from e2e.tally import PartialDecryption, trustee_commitments
from e2e.threshold import public_share
from e2e.verify import verify_record
from tests.integration.board_helpers import (
    EXAMPLE,
    KEY,
    TOKENS,
    free_port,
    serve_in_thread,
    submission,
)
from trustees import cli as trustee_cli
from trustees import keystore
from trustees.ceremony import (
    EncryptedShare,
    NonceProof,
    ShareError,
    TrusteeSecrets,
    decrypt_share,
    encrypt_share,
    finish,
    new_trustee,
)
from trustees.cli import trustee
from trustees.decrypt import partial_decrypt
from web.app import SiteSettings, create_site

C1 = {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["emergency-info"]}
C2 = {"gyosei": ["digital-counter"], "mobility": ["tsukumobi"]}


@dataclass(frozen=True)
class Settings(SiteSettings):
    """The site with the rehearsal flag (tohyo serve --allow-test-group)."""

    allow_test_group: bool = True


@dataclass
class Site:
    board: Board
    app: object
    client: object
    clock: FixedClock
    tmp: pathlib.Path

    def store(self) -> CeremonyStore:
        return CeremonyStore(self.board)


def manifest(n: int = 3, k: int = 2):
    return replace(manifest_from_json(EXAMPLE.read_text(encoding="utf-8")), trustees=n, quorum=k)


def make_site(db: str, tmp: pathlib.Path) -> Site:
    if not (tmp / "board.key").exists():
        new_signing_key(tmp / "board.key")
    engine = make_engine(db)
    migrate(engine)
    clock = FixedClock(manifest().start_time + timedelta(days=2))
    board = Board(
        Store(engine),
        load_signing_key(tmp / "board.key"),
        clock,
        TokenAuthenticator(KEY, TOKENS),
    )
    app = create_site(board, Settings(rate_limits=False))
    return Site(board, app, app.test_client(), clock, tmp)


@pytest.fixture
def site(tmp_path) -> Site:
    return make_site(f"sqlite:///{tmp_path / 'board.db'}", tmp_path)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == code, body
    assert body["message"]["ja"] and body["message"]["en"]
    assert "Traceback" not in resp.get_data(as_text=True)
    return body


class Trustees:
    """Trustees run in this process (the parts of the CLI the refusal tests need)."""

    def __init__(self, site: Site, tokens: list[str], n: int = 3, k: int = 2) -> None:
        self.site, self.tokens, self.n, self.k = site, tokens, n, k
        self.h_p, _ = base_hash(TEST, manifest(n, k))
        rng = DeterministicRng("trustees")
        pairs = [new_trustee(TEST, self.h_p, i, k, rng) for i in range(1, n + 1)]
        self.secrets = [s for s, _ in pairs]
        self.publics = [p for _, p in pairs]
        self.rng = rng

    def post(self, i: int, path: str, body) -> object:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.site.client.post(
            f"/api/ceremony/{path}",
            data=data,
            content_type="application/json",
            headers=auth(self.tokens[i - 1]),
        )

    def get(self, i: int, path: str) -> object:
        return self.site.client.get(f"/api/ceremony/{path}", headers=auth(self.tokens[i - 1]))

    def post_key(self, i: int) -> object:
        return self.post(i, "public-key", codec.encode(self.publics[i - 1]))

    def share(self, i: int, ell: int) -> EncryptedShare:
        return encrypt_share(TEST, self.h_p, self.secrets[i - 1], self.publics[ell - 1], self.rng)

    def post_shares(self, i: int, shares: list[EncryptedShare]) -> object:
        return self.post(i, "shares", {"shares": [codec.to_document(s) for s in shares]})

    def all_shares(self, i: int) -> list[EncryptedShare]:
        return [self.share(i, ell) for ell in range(1, self.n + 1) if ell != i]

    def receive(self, i: int) -> None:
        docs = self.get(i, "shares").get_json()["shares"]
        got = {}
        for d in docs:
            sh = codec.from_document(d, EncryptedShare, TEST)
            got[sh.sender] = decrypt_share(
                TEST, self.h_p, self.secrets[i - 1], sh, self.publics[sh.sender - 1]
            )
        finish(TEST, self.secrets[i - 1], got, self.n)

    def confirm(self, i: int) -> object:
        return self.post(i, "confirmation", {"joint_key": joint_key(TEST, self.publics).hex()})

    def run_all(self) -> None:
        for i in range(1, self.n + 1):
            assert self.post_key(i).status_code == 201
        for i in range(1, self.n + 1):
            assert self.post_shares(i, self.all_shares(i)).status_code == 200
        for i in range(1, self.n + 1):
            self.receive(i)
            assert self.confirm(i).status_code == 200


def start(site: Site, n: int = 3, k: int = 2) -> Trustees:
    _, tokens = site.store().create(manifest(n, k), "test")
    return Trustees(site, tokens, n, k)


# --- the whole election, the trustees using the CLI over HTTP -------------------------------


@pytest.fixture
def served(site):
    import waitress.server

    server = waitress.server.create_server(site.app, host="127.0.0.1", port=free_port(), threads=4)
    thread = serve_in_thread(server)
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=10)


@pytest.fixture
def fast_kdf(monkeypatch):
    monkeypatch.setattr(keystore, "SCRYPT_N", 2**12)


def cli(*args, ok: bool = True):
    result = CliRunner().invoke(trustee, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def _admin(site: Site) -> None:
    """Log the test client in as the administrator (the ceremony is driven from /admin)."""
    from web.admin import hash_password

    site.app.config["SITE"] = replace(
        site.app.config["SITE"], admin_password_hash=hash_password("a long test password", n=2**10)
    )
    page = site.client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = site.client.post(
        "/admin/login", data={"password": "a long test password", "csrf_token": token}
    )
    assert r.status_code == 303


def _admin_get(site: Site, page: str) -> str:
    return site.client.get(page).get_data(as_text=True)


def _admin_post(site: Site, path: str, data: dict | None = None, page: str = "/admin/"):
    html = site.client.get(page).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return site.client.post(path, data={"csrf_token": token, **(data or {})})


def test_whole_election_with_the_trustee_cli_over_http(
    site, served, fast_kdf, tmp_path, monkeypatch
):
    _admin(site)
    created = _admin_post(
        site,
        "/admin/election/new",
        {
            "seen": "none",
            "manifest": EXAMPLE.read_text(encoding="utf-8"),
            "group": "test",
            "trustees": "3",
            "quorum": "2",
        },
        "/admin/election/new",
    )
    assert created.status_code == 201
    tokens = re.findall(r'id="token-\d+">([^<]+)<', created.get_data(as_text=True))
    assert len(tokens) == 3
    pw = tmp_path / "pw"
    pw.write_text("correct horse battery staple\n", encoding="utf-8")
    tok = {}
    for i, t in enumerate(tokens, start=1):
        tok[i] = tmp_path / f"token-{i}"
        tok[i].write_text(t + "\n", encoding="utf-8")

    def remote(i: int, *args, ok: bool = True):
        return cli("remote", "--server", served, "--token-file", tok[i], *args, ok=ok)

    keys = {i: tmp_path / f"t{i}" / f"trustee-{i}.key" for i in (1, 2, 3)}
    common = ("--allow-test-group", "--passphrase-file", pw)
    # The test group is refused unless the trustee accepts it explicitly.
    refused = remote(1, "init", "--dir", tmp_path / "t1", "--passphrase-file", pw, ok=False)
    assert refused.exit_code == 2 and "insecure 'test' group" in refused.output
    for i in (1, 2, 3):
        out = remote(i, "init", "--dir", tmp_path / f"t{i}", *common).output
        assert "public key posted" in out and "H_B" in out
    # A retry of init re-sends the same public key and makes no new one.
    assert "public key posted" in remote(1, "init", "--dir", tmp_path / "t1", *common).output
    for i in (1, 2, 3):
        assert "posted shares" in remote(i, "shares", "--key", keys[i], *common).output
    assert "already posted" in remote(1, "shares", "--key", keys[1], *common).output
    prints = set()
    for i in (1, 2, 3):
        out = remote(i, "receive", "--key", keys[i], *common).output
        assert "confirmed" in out
        prints.add(re.search(r"fingerprint: ([0-9A-Fa-f]{32})", out).group(1))
    assert len(prints) == 1
    status = json.loads(remote(2, "status").output)
    assert status["next"] == "wait_finish" and status["confirmed"]

    # The administrator finishes the ceremony: the election goes on the board.
    public = site.client.get("/trustees").get_data(as_text=True)
    k_print = prints.pop()
    assert k_print in public and not any(t in public for t in tokens)
    assert _admin_post(site, "/admin/ceremony/finish", page="/admin/ceremony").status_code == 303
    assert site.board.state() == "ready"
    assert json.loads(remote(1, "status").output)["next"] == "wait_tally"
    assert _admin_post(site, "/admin/open").status_code == 303
    election = site.board.election
    for n, (choices, token) in enumerate([(C1, "token-1"), (C2, "token-2")]):
        body = submission(election, choices, token, f"ballot-{n}")
        r = site.client.post("/api/ballots", data=body, content_type="application/json")
        assert r.status_code == 201, r.get_data(as_text=True)
    assert _admin_post(site, "/admin/close", {"confirm": "yes"}).status_code == 303
    assert _admin_post(site, "/admin/tally").status_code == 303

    # Trustees 1 and 3 decrypt (quorum 2); trustee 2 stays away. The record comes from the
    # server, so nothing is decrypted before its board key is pinned or confirmed.
    board_key = site.board.public.public_key.hex_upper()
    assert board_key in _admin_get(site, "/admin/decryption")
    pin = ("--board-key", board_key.lower(), *common[1:])
    unpinned = remote(1, "decrypt", "--key", keys[1], *common[1:], ok=False)
    assert unpinned.exit_code == 2 and "--board-key" in unpinned.output
    wrong = remote(1, "decrypt", "--key", keys[1], "--board-key", "AB" * 32, *common[1:], ok=False)
    assert wrong.exit_code == 2 and f"signed by board key {board_key}, not" in wrong.output
    assert "H_E:" in wrong.output and k_print in wrong.output
    other_k = remote(1, "decrypt", "--key", keys[1], "--expect-key", "0" * 16, *pin, ok=False)
    assert other_k.exit_code == 2 and "is not --expect-key" in other_k.output
    short = remote(1, "decrypt", "--key", keys[1], "--board-key", "AB", *common[1:], ok=False)
    assert short.exit_code == 2 and "64 hexadecimal digits" in short.output
    assert site.store().decryptions() == {}  # nothing was posted
    out = remote(
        1, "decrypt", "--key", keys[1], "--record", tmp_path / "r1", "--expect-key", k_print, *pin
    ).output
    assert "checked 2 ballots" in out and "posted" in out
    # The kept record's directory is not written into again (stale files would mix in).
    reused = remote(1, "decrypt", "--key", keys[1], "--record", tmp_path / "r1", *pin, ok=False)
    assert reused.exit_code == 2 and "not an empty directory" in reused.output
    # On a terminal the trustee compares the board key and answers; "no" stops everything.
    monkeypatch.setattr(trustee_cli, "_interactive", lambda: True)
    args = ["remote", "--server", served, "--token-file", str(tok[3]), "decrypt"]
    args += ["--key", str(keys[3]), "--passphrase-file", str(pw)]
    no = CliRunner().invoke(trustee, args, input="n\n")
    assert no.exit_code == 2 and board_key in no.output and "not confirmed" in no.output
    assert set(site.store().decryptions()) == {1}
    yes = CliRunner().invoke(trustee, args, input="y\n")
    assert yes.exit_code == 0 and "partial decryption of trustee 3 posted" in yes.output
    monkeypatch.undo()
    again = remote(3, "decrypt", "--key", keys[3], *pin, ok=False)
    assert again.exit_code == 2 and "duplicate" in again.output
    assert _admin_post(site, "/admin/results", page="/admin/decryption").status_code == 303
    late = remote(2, "decrypt", "--key", keys[2], *pin, ok=False)
    assert late.exit_code == 2 and "results are already published" in late.output

    record = export_record(site.board, tmp_path / "record")
    report = verify_record(read_record(record))
    assert report.ballots == 2 and report.decrypting_trustees == (1, 3)
    votes = {c.contest: {o.option: o.votes for o in c.options} for c in report.results.contests}
    assert votes["gyosei"] == {"internet-voting": 1, "digital-counter": 1, "ai-citizen-voice": 0}
    assert votes["mobility"]["tsukumobi"] == 1 and votes["healthcare"]["emergency-info"] == 1
    public = site.client.get("/trustees?lang=en").get_data(as_text=True)
    assert "2 partial decryptions (2 needed)" in public


def test_cli_complaint_then_resent_share(site, served, fast_kdf, tmp_path):
    ts = start(site)
    pw = tmp_path / "pw"
    pw.write_text("correct horse battery staple\n", encoding="utf-8")
    tokfile = tmp_path / "token"
    tokfile.write_text(ts.tokens[0], encoding="utf-8")
    common = ("--allow-test-group", "--passphrase-file", pw)

    def remote(*args, ok: bool = True):
        return cli("remote", "--server", served, "--token-file", tokfile, *args, ok=ok)

    remote("init", "--dir", tmp_path / "t1", *common)
    key1 = tmp_path / "t1" / "trustee-1.key"
    ts.publics[0] = codec.decode(
        (tmp_path / "t1" / "trustee-1.public.json").read_bytes(), TrusteePublicKey, TEST
    )
    waiting = remote("shares", "--key", key1, *common, ok=False)
    assert waiting.exit_code == 2 and "waiting for the public keys of trustees [2, 3]" in (
        waiting.output
    )
    for i in (2, 3):
        assert ts.post_key(i).status_code == 201
    remote("shares", "--key", key1, *common)
    # Trustee 2 sends trustee 1 a share off its polynomial: the encryption proof holds (the
    # server accepts it), but trustee 1's check against the commitments fails.
    liar = TrusteeSecrets(2, [TEST.scalar(5), TEST.scalar(7)], ts.secrets[1].zeta)
    bad = encrypt_share(TEST, ts.h_p, liar, ts.publics[0], ts.rng)
    assert ts.post_shares(2, [bad, ts.share(2, 3)]).status_code == 200
    assert ts.post_shares(3, ts.all_shares(3)).status_code == 200
    out = remote("receive", "--key", key1, *common, ok=False)
    assert out.exit_code == 2 and "trustee 2" in out.output and "complaint was posted" in out.output
    summary = site.client.get("/api/ceremony").get_json()
    assert summary["open_complaints"] == [{"complainant": 1, "accused": 2}]
    assert ts.get(2, "me").get_json()["shares_to_send"] == [1]
    resent = ts.post_shares(2, [ts.share(2, 1)])
    assert resent.status_code == 200 and resent.get_json()["replaced"] == [1]
    assert "confirmed" in remote("receive", "--key", key1, *common).output
    assert site.client.get("/api/ceremony").get_json()["open_complaints"] == []


def test_cli_errors_are_one_line(site, tmp_path):
    port = free_port()  # nothing listens there
    down = cli("remote", "--server", f"http://127.0.0.1:{port}", "--token", "x", "status", ok=False)
    assert down.exit_code == 2 and "cannot reach the server" in down.output
    assert "Traceback" not in down.output
    bad_url = cli("remote", "--server", "ftp://example", "--token", "x", "status", ok=False)
    assert bad_url.exit_code == 2 and "not an http(s) URL" in bad_url.output


def test_cli_refusal_names_the_reason(site, served):
    start(site)
    out = cli("remote", "--server", served, "--token", "not-a-token", "status", ok=False)
    assert out.exit_code == 2
    assert "refused GET /api/ceremony/me (401 unauthenticated)" in out.output


# --- every refusal of the mailbox -----------------------------------------------------------


def test_no_ceremony(site):
    _error(site.client.get("/api/ceremony"), 404, "not_found")
    _error(site.client.get("/api/ceremony/me", headers=auth("x")), 401, "unauthenticated")


def test_tokens_are_checked_and_only_hashes_stored(site):
    ts = start(site)
    _error(site.client.get("/api/ceremony/me"), 401, "unauthenticated")
    _error(site.client.get("/api/ceremony/me", headers=auth("wrong")), 401, "unauthenticated")
    _error(
        site.client.get("/api/ceremony/me", headers={"Authorization": f"Basic {ts.tokens[0]}"}),
        401,
        "unauthenticated",
    )
    assert ts.get(2, "me").get_json()["trustee"] == 2
    from bulletin.ceremony import ceremony_trustees

    rows = site.board.store.with_reader(lambda conn: conn.execute(ceremony_trustees.select()).all())
    stored = b"".join(bytes(r.token_hash) for r in rows)
    assert all(t.encode() not in stored for t in ts.tokens)
    # Starting again abandons the ceremony: its tokens stop working.
    current = site.store().current()
    _, new_tokens = site.store().create(manifest(), "test", replacing=current.id)
    _error(ts.get(1, "me"), 401, "unauthenticated")
    ok = site.client.get("/api/ceremony/me", headers=auth(new_tokens[0]))
    assert ok.status_code == 200


def test_create_refusals(site):
    store = site.store()
    with pytest.raises(CeremonyError) as e:
        store.create(manifest(), "nonsense")
    assert e.value.code == "malformed"
    first, _ = store.create(manifest(), "test")
    with pytest.raises(CeremonyError) as e:  # a ceremony in progress is replaced only by name
        store.create(manifest(), "test")
    assert e.value.code == "wrong_state"
    with pytest.raises(CeremonyError):
        store.create(manifest(), "test", replacing=first.id + 7)
    with pytest.raises(CeremonyError) as e:  # n tokens at once and n² shares: bounded
        store.create(manifest(), "test", replacing=first.id, trustees=2**31 - 1)
    assert e.value.code == "malformed" and "100" in e.value.detail
    second, tokens = store.create(manifest(), "test", replacing=first.id, trustees=4, quorum=3)
    assert (second.n, second.k, len(tokens)) == (4, 3, 4)


def test_public_key_refusals(site):
    ts = start(site)
    post = ts.post
    _error(post(1, "public-key", b"{"), 400, "malformed")
    for path in ("public-key", "shares", "complaint", "confirmation", "decryption"):
        _error(post(1, path, b"[" * 100_000), 400, "malformed")  # deeper than the parser
    _error(post(1, "public-key", {"format": "tohyo/1", "type": "Nothing"}), 400, "malformed")
    r = site.client.post(
        "/api/ceremony/public-key",
        data=b"{}",
        content_type="text/plain",
        headers=auth(ts.tokens[0]),
    )
    _error(r, 400, "malformed")
    _error(post(1, "public-key", codec.encode(ts.publics[1])), 403, "not_yours")
    p = ts.publics[0]
    forged = replace(
        p,
        proof=SchnorrProof(p.proof.commitments, (p.proof.responses[0] + 1, *p.proof.responses[1:])),
    )
    body = _error(post(1, "public-key", codec.encode(forged)), 422, "invalid_proof")
    assert "trustee 1" in body["detail"]
    short = replace(p, coefficient_commitments=p.coefficient_commitments[:1])
    _error(post(1, "public-key", codec.encode(short)), 422, "invalid_proof")
    # Shares need every public key first.
    _error(ts.post_shares(1, []), 400, "malformed")
    assert ts.post_key(1).status_code == 201
    assert ts.post_key(1).status_code == 200  # the same key again: a retry
    other = new_trustee(TEST, ts.h_p, 1, 2, DeterministicRng("other"))[1]
    _error(post(1, "public-key", codec.encode(other)), 409, "duplicate")
    share = ts.share(1, 2)
    body = _error(ts.post_shares(1, [share]), 409, "wrong_state")
    assert "[2, 3]" in body["detail"]


def test_share_refusals(site):
    ts = start(site)
    for i in (1, 2, 3):
        ts.post_key(i)
    good = ts.share(1, 2)
    _error(ts.post(1, "shares", {"shares": "no"}), 400, "malformed")
    _error(ts.post(1, "shares", [1, 2]), 400, "malformed")
    _error(ts.post_shares(1, [ts.share(2, 3)]), 403, "not_yours")
    unknown = replace(good, recipient=9)
    _error(ts.post_shares(1, [unknown]), 422, "unknown_trustee")
    _error(ts.post_shares(1, [replace(good, recipient=1)]), 400, "malformed")
    _error(ts.post_shares(1, [good, ts.share(1, 2)]), 400, "malformed")
    forged = replace(good, proof=NonceProof(good.proof.commitment, good.proof.response + 1))
    body = _error(ts.post_shares(1, [forged]), 422, "invalid_proof")
    assert "trustee 1 to trustee 2" in body["detail"]
    moved = replace(good, data=type(good.data)(bytes(32)))  # the proof binds C_1
    _error(ts.post_shares(1, [moved, ts.share(1, 3)]), 422, "invalid_proof")
    assert site.store().progress().trustees[0].shares_sent == frozenset()  # all or nothing
    done = ts.post_shares(1, [good])
    assert done.status_code == 200 and done.get_json()["stored"] == [2]
    assert ts.post_shares(1, [good]).get_json()["unchanged"] == [2]
    _error(ts.post_shares(1, [ts.share(1, 2)]), 409, "duplicate")


def test_share_proof_check_agrees_with_the_recipient(site):
    ts = start(site)
    share = ts.share(1, 2)
    check_share_proof(TEST, ts.h_p, share)
    decrypt_share(TEST, ts.h_p, ts.secrets[1], share, ts.publics[0])
    forged = replace(share, alpha=share.alpha * TEST.generator)
    with pytest.raises(CeremonyError):
        check_share_proof(TEST, ts.h_p, forged)
    with pytest.raises(ShareError):
        decrypt_share(TEST, ts.h_p, ts.secrets[1], forged, ts.publics[0])


def test_complaint_and_confirmation_refusals(site):
    ts = start(site)
    for i in (1, 2, 3):
        ts.post_key(i)
    _error(ts.confirm(1), 409, "wrong_state")  # no shares yet
    _error(ts.post(1, "complaint", {"sender": 2, "reason": "bad"}), 409, "wrong_state")
    for i in (1, 2, 3):
        ts.post_shares(i, ts.all_shares(i))
    _error(ts.post(1, "complaint", {"sender": 7, "reason": "bad"}), 422, "unknown_trustee")
    _error(ts.post(1, "complaint", {"sender": 1, "reason": "bad"}), 400, "malformed")
    _error(ts.post(1, "complaint", {"sender": "2", "reason": "bad"}), 400, "malformed")
    _error(ts.post(1, "complaint", {"sender": 2}), 400, "malformed")
    _error(ts.post(1, "complaint", {"sender": 2, "reason": "x" * 501}), 400, "malformed")
    _error(ts.post(1, "complaint", []), 400, "malformed")
    r = ts.post(1, "complaint", {"sender": 2, "reason": "does not match\nthe commitments"})
    assert r.status_code == 201
    assert site.store().progress().complaints[0].reason == "does not match the commitments"
    _error(ts.post(1, "complaint", {"sender": 2, "reason": "again"}), 409, "duplicate")
    ts.receive(1)
    body = _error(ts.confirm(1), 409, "wrong_state")  # its complaint is open
    assert "[2]" in body["detail"]
    with pytest.raises(CeremonyError) as e:
        site.store().finish()
    assert e.value.code == "wrong_state" and "complains" in e.value.detail
    ts.post_shares(2, [ts.share(2, 1)])  # resent: the complaint is resolved
    _error(ts.post(1, "confirmation", {"joint_key": "zz"}), 400, "malformed")
    _error(ts.post(1, "confirmation", {}), 400, "malformed")
    _error(ts.post(1, "confirmation", {"joint_key": "1234"}), 422, "mismatch")
    assert ts.confirm(1).get_json()["stored"] is True
    assert ts.confirm(1).get_json()["stored"] is False
    _error(ts.post(1, "complaint", {"sender": 3, "reason": "late"}), 409, "wrong_state")
    # A share replaced only for a complaint: trustee 2 cannot change trustee 3's share.
    _error(ts.post_shares(2, [ts.share(2, 3)]), 409, "duplicate")


def test_finish_refusals_and_uploads_after_it(site):
    ts = start(site)
    with pytest.raises(CeremonyError) as e:
        site.store().finish()
    assert "public keys missing from trustees [1, 2, 3]" in e.value.detail
    ts.run_all()
    assert ts.get(1, "me").get_json()["next"] == "wait_finish"
    election = site.store().finish()
    assert site.board.state() == "ready" and site.board.election.h_e == election.h_e
    assert site.board.election.parameters() == election.parameters()
    with pytest.raises(CeremonyError) as e:
        site.store().finish()
    assert e.value.code == "wrong_state"
    _error(ts.post_key(1), 409, "wrong_state")
    _error(ts.post_shares(1, [ts.share(1, 2)]), 409, "wrong_state")
    _error(ts.confirm(1), 409, "wrong_state")
    _error(ts.post(1, "complaint", {"sender": 2, "reason": "x"}), 409, "wrong_state")
    with pytest.raises(CeremonyError) as e:  # a new ceremony once the board holds an election
        site.store().create(manifest(), "test")
    assert e.value.code == "wrong_state"


def test_a_start_over_during_the_finish_is_refused(site):
    """Forced interleaving: the administrator starts over while the finish is posting the
    election. The start-over is refused; the finished ceremony's election is on the board."""
    ts = start(site)
    ts.run_all()
    c = site.store().current()
    real_setup = site.board.setup
    refusals = []

    def setup_with_a_start_over(*docs):
        with pytest.raises(CeremonyError) as e:
            site.store().create(manifest(), "test", replacing=c.id)
        refusals.append(e.value)
        return real_setup(*docs)

    site.board.setup = setup_with_a_start_over
    election = site.store().finish()
    del site.board.setup
    assert refusals[0].code == "wrong_state" and "being posted" in refusals[0].detail
    assert site.board.election.h_e == election.h_e
    now = site.store().current()
    assert now.id == c.id and now.finished and now.abandoned is None
    with pytest.raises(CeremonyError) as e:  # and never once the election is on the board
        site.store().create(manifest(), "test", replacing=c.id)
    assert "already holds an election" in e.value.detail


def test_a_start_over_before_the_finish_wins(site):
    ts = start(site)
    ts.run_all()
    c = site.store().current()
    site.store().create(manifest(), "test", replacing=c.id)
    with pytest.raises(CeremonyError) as e:  # the finish sees the new, empty ceremony
        site.store().finish()
    assert "public keys missing" in e.value.detail
    assert site.board.state() == "setup"


def test_finish_and_start_over_race(tmp_path):
    """Both at once, in threads: exactly one wins, and the board never holds the election of
    an abandoned ceremony."""
    for round_ in range(4):
        site = make_site(f"sqlite:///{tmp_path / f'b{round_}.db'}", tmp_path)
        ts = start(site)
        ts.run_all()
        c = site.store().current()
        barrier = threading.Barrier(2)
        out: dict[str, object] = {}

        def run(name, fn, out=out, barrier=barrier):
            barrier.wait()
            try:
                out[name] = fn()
            except CeremonyError as e:
                out[name] = e

        threads = [
            threading.Thread(target=run, args=("finish", site.store().finish)),
            threading.Thread(
                target=run,
                args=("over", lambda c=c, site=site: site.store().create(manifest(), "test", c.id)),
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        finished = not isinstance(out["finish"], CeremonyError)
        over = not isinstance(out["over"], CeremonyError)
        assert finished != over, out
        current = site.store().current()
        if finished:
            assert site.board.state() == "ready" and current.id == c.id and current.finished
        else:
            assert site.board.state() == "setup" and current.id != c.id


def test_finish_interrupted_before_the_setup_is_finished_again(site):
    ts = start(site)
    ts.run_all()
    c = site.store().current()

    def broken(*docs):
        raise BoardError("disk full")

    site.board.setup = broken
    with pytest.raises(CeremonyError) as e:
        site.store().finish()
    del site.board.setup
    assert "disk full" in e.value.detail
    assert site.board.state() == "setup" and site.store().current().finished
    # Frozen until it is posted: no start-over, no more messages, no decryption yet.
    with pytest.raises(CeremonyError) as e:
        site.store().create(manifest(), "test", replacing=c.id)
    assert "being posted" in e.value.detail
    _error(ts.post_key(1), 409, "wrong_state")
    fake = {"format": "tohyo/1", "type": "PartialDecryption", "trustee": 1, "contests": []}
    body = _error(ts.post(1, "decryption", fake), 409, "wrong_state")
    assert "not on the board yet" in body["detail"]
    # The administrator sees it and finishes again.
    _admin(site)
    assert "key ceremony is in progress" in _admin_get(site, "/admin/?lang=en")
    assert "not on the board yet" in _admin_get(site, "/admin/ceremony?lang=en")
    assert _admin_post(site, "/admin/ceremony/finish", page="/admin/ceremony").status_code == 303
    assert site.board.state() == "ready"
    again = _admin_post(site, "/admin/ceremony/finish", page="/admin/ceremony")
    assert again.status_code == 409 and "already finished" in again.get_data(as_text=True)


def _partial(ts: Trustees, board: Board, i: int) -> PartialDecryption:
    election = board.election
    x_i = public_share(TEST, trustee_commitments(board.publics()), i)
    return partial_decrypt(election, board.tally(), ts.secrets[i - 1], x_i, ts.rng)


def test_decryption_refusals(site):
    ts = start(site)
    ts.run_all()
    fake = {"format": "tohyo/1", "type": "PartialDecryption", "trustee": 1, "contests": []}
    _error(ts.post(1, "decryption", fake), 409, "wrong_state")  # the ceremony is not finished
    site.store().finish()
    site.board.open()
    election = site.board.election
    body = submission(election, C1, "token-1", "d1")
    assert (
        site.client.post("/api/ballots", data=body, content_type="application/json").status_code
        == 201
    )
    _error(ts.post(1, "decryption", b"[]"), 400, "malformed")
    _error(ts.post(1, "decryption", fake), 409, "wrong_state")  # no tally yet
    site.board.close()
    site.board.post_tally()
    p1 = _partial(ts, site.board, 1)
    _error(ts.post(2, "decryption", codec.encode(p1)), 403, "not_yours")
    c0 = p1.contests[0]
    s0 = c0.selections[0]
    forged = replace(
        p1,
        contests=(
            replace(
                c0, selections=(replace(s0, value=s0.value * TEST.generator), *c0.selections[1:])
            ),
            *p1.contests[1:],
        ),
    )
    _error(ts.post(1, "decryption", codec.encode(forged)), 422, "invalid_proof")
    first = ts.post(1, "decryption", codec.encode(p1))
    assert first.status_code == 201
    assert (
        ts.post(1, "decryption", codec.encode(p1)).get_json()["entry"] == first.get_json()["entry"]
    )
    _error(ts.post(1, "decryption", codec.encode(_partial(ts, site.board, 1))), 409, "duplicate")
    assert ts.get(1, "me").get_json()["next"] == "done"
    assert ts.get(2, "me").get_json()["next"] == "decrypt"
    assert ts.post(2, "decryption", codec.encode(_partial(ts, site.board, 2))).status_code == 201
    site.board.post_results()
    body = _error(
        ts.post(3, "decryption", codec.encode(_partial(ts, site.board, 3))), 409, "wrong_state"
    )
    assert "results" in body["detail"]
    summary = site.client.get("/api/ceremony").get_json()
    assert [p["decryption"] for p in summary["progress"]] == [True, True, False]
    assert "token" not in json.dumps(summary).lower()


def test_mailbox_on_sqlite_and_postgresql(db_url, tmp_path):
    """The migration and every query of the mailbox on both engines: a whole ceremony with
    a complaint and a resent share, the finish, and a decryption."""
    site = make_site(db_url, tmp_path)
    ts = start(site)
    for i in (1, 2, 3):
        assert ts.post_key(i).status_code == 201
    for i in (1, 2, 3):
        assert ts.post_shares(i, ts.all_shares(i)).status_code == 200
    assert ts.post(3, "complaint", {"sender": 1, "reason": "test"}).status_code == 201
    assert ts.post_shares(1, [ts.share(1, 3)]).get_json()["replaced"] == [3]
    for i in (1, 2, 3):
        ts.receive(i)
        assert ts.confirm(i).get_json()["stored"] is True
    site.store().finish()
    site.board.open()
    body = submission(site.board.election, C1, "token-1", "pg")
    assert (
        site.client.post("/api/ballots", data=body, content_type="application/json").status_code
        == 201
    )
    site.board.close()
    site.board.post_tally()
    for i in (2, 3):
        assert (
            ts.post(i, "decryption", codec.encode(_partial(ts, site.board, i))).status_code == 201
        )
    site.board.post_results()
    assert verify_record(read_record(export_record(site.board, tmp_path / "rec"))).ballots == 1


def test_the_mailbox_tables_are_the_migrations(tmp_path):
    """The package's tables are registered in the board's schema exactly as revision 0003
    creates them: Alembic finds nothing to change in a freshly migrated database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bulletin import ceremony, schema

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    names = {"ceremonies", "ceremony_trustees", "ceremony_shares", "ceremony_complaints"}
    assert names <= set(schema.metadata.tables)
    assert all(schema.metadata.tables[n] is getattr(ceremony, n) for n in names)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []


def test_the_package_keeps_every_public_name():
    import bulletin.ceremony as ceremony
    from bulletin.refusals import Refusal

    for name in ceremony.__all__:
        assert getattr(ceremony, name) is not None, name
    assert {"MAX_TRUSTEES", "CeremonyStore", "CeremonyError", "Progress", "Caller"} <= set(
        ceremony.__all__
    )
    assert ceremony.MAX_TRUSTEES == 100 and ceremony.MAX_REASON == 500
    assert issubclass(ceremony.CeremonyError, Refusal)
    assert not hasattr(ceremony.CeremonyError("duplicate"), "status")  # web.status decides
