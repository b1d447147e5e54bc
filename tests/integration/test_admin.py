"""The administrator's pages: login, sessions, CSRF, each action and its wrong-state refusal,
turnout; and the public trustee page."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from bulletin.auth import TokenAuthenticator, pseudonym
from bulletin.board import Board, load_signing_key, new_signing_key, public_key_of
from bulletin.ceremony import CeremonyStore
from bulletin.clock import FixedClock
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.election import Election, base_hash
from e2e.group import TEST
from e2e.manifest import manifest_from_json
from e2e.rng import DeterministicRng
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from tests.integration.board_helpers import EXAMPLE, KEY, TOKENS, later, make_board, submission
from trustees.ceremony import run_ceremony
from trustees.decrypt import partial_decrypt
from web.admin import admin_cli, check_password, hash_password, sessions
from web.app import SiteSettings, create_site
from web.security import limiter

PASSWORD = "a long test password"
HASH = hash_password(PASSWORD, n=2**10)  # a cheap KDF for tests only
C1 = {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["emergency-info"]}
C2 = {"mobility": ["tsukumobi"]}


@dataclass(frozen=True)
class Rehearsal(SiteSettings):
    """The site as `tohyo serve --allow-test-group` runs it."""

    allow_test_group: bool = True


def _site(board: Board, **kw):
    settings = kw.pop("settings_class", Rehearsal)(
        admin_password_hash=kw.pop("password_hash", HASH), rate_limits=False, **kw
    )
    return create_site(board, settings)


@pytest.fixture
def empty(tmp_path):
    """A board with no election yet."""
    new_signing_key(tmp_path / "board.key")
    engine = make_engine(f"sqlite:///{tmp_path / 'board.db'}")
    migrate(engine)
    m = manifest_from_json(EXAMPLE.read_text(encoding="utf-8"))
    clock = FixedClock(m.start_time + timedelta(days=1))
    return Board(
        Store(engine), load_signing_key(tmp_path / "board.key"), clock, TokenAuthenticator(KEY, {})
    )


@pytest.fixture
def ready(tmp_path):
    """A board whose election was posted from files (tohyo board init), not yet open."""
    return make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path, open_it=False)


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, password: str = PASSWORD):
    page = client.get("/admin/login").get_data(as_text=True)
    return client.post("/admin/login", data={"password": password, "csrf_token": token_of(page)})


def post(client, path: str, data: dict | None = None, page: str = "/admin/"):
    html = client.get(page).get_data(as_text=True)
    return client.post(path, data={"csrf_token": token_of(html), **(data or {})})


# --- the password and the session -----------------------------------------------------------


def test_password_command():
    # The hash line itself is tested in tests/unit/test_admin_password.py.
    out = CliRunner().invoke(admin_cli, ["password"], input="my administrator password\n")
    assert out.exit_code == 0, out.output
    printed = out.output.strip().splitlines()[-1]
    assert printed.startswith("scrypt:32768:8:1$") and "administrator" not in printed
    assert check_password("my administrator password", printed)
    assert not check_password("my administrator passworx", printed)
    short = CliRunner().invoke(admin_cli, ["password"], input="short\n")
    assert short.exit_code == 2 and "at least 12" in short.output


def test_login_logout_and_refusals(empty):
    client = _site(empty).test_client()
    first = client.get("/admin/")
    assert first.status_code == 303 and "/admin/login" in first.headers["Location"]
    wrong = login(client, "not the password")
    assert wrong.status_code == 401
    html = wrong.get_data(as_text=True)
    assert "パスワードが違います" in html and 'aria-describedby="page-error"' in html
    assert client.get("/admin/").status_code == 303
    ok = login(client)
    assert ok.status_code == 303 and ok.headers["Location"].endswith("/admin/")
    page = client.get("/admin/?lang=en")
    assert page.status_code == 200 and "Dashboard" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert post(client, "/admin/logout").status_code == 303
    assert client.get("/admin/").status_code == 303


def test_logout_ends_copies_of_the_session(empty):
    app = _site(empty)
    client = app.test_client()
    assert login(client).status_code == 303
    copied = client.get_cookie("session").value  # as an attacker who saw the cookie would
    second = app.test_client()  # the administrator's other browser
    assert login(second).status_code == 303
    assert post(client, "/admin/logout").status_code == 303
    replay = app.test_client()
    replay.set_cookie("session", copied)
    r = replay.get("/admin/")
    assert r.status_code == 303 and "/admin/login" in r.headers["Location"]
    replay.set_cookie("session", copied)
    assert replay.post("/admin/open", data={}).status_code in (303, 400)
    assert empty.state() == "setup"
    # One administrator: logging out ends every admin session, the other browser's too.
    assert second.get("/admin/").status_code == 303
    assert login(client).status_code == 303 and client.get("/admin/").status_code == 200
    # The epoch is the board's, not the process's: another web process of the board (or the
    # server restarted) with the same cookie key takes the session, one with another key not.
    cookie = client.get_cookie("session").value
    same_key = _site(empty, secret_key=app.config["SECRET_KEY"]).test_client()
    same_key.set_cookie("session", cookie)
    assert same_key.get("/admin/").status_code == 200
    other_key = _site(empty).test_client()
    other_key.set_cookie("session", cookie)
    assert other_key.get("/admin/").status_code == 303


def test_login_with_a_malformed_configured_hash(empty):
    app = _site(empty, password_hash="scrypt$1024$8$1$00$not-hex")
    client = app.test_client()
    page = client.get("/admin/login?lang=en")
    assert page.status_code == 200 and "hash is malformed" in page.get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = False  # the page has no form to take a token from
    r = client.post("/admin/login", data={"password": PASSWORD})
    assert r.status_code == 403 and "hash is malformed" in r.get_data(as_text=True)
    assert client.get("/admin/").status_code == 303


def test_login_with_a_hash_line_of_earlier_versions(empty):
    # scrypt$N$r$p$SALT$HASH in hex, as `tohyo admin password` printed it before: still valid.
    salt = bytes(range(16))
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**10, r=8, p=1, dklen=32)
    client = _site(
        empty, password_hash=f"scrypt$1024$8$1${salt.hex()}${digest.hex()}"
    ).test_client()
    assert "malformed" not in client.get("/admin/login?lang=en").get_data(as_text=True)
    assert login(client, "not the password").status_code == 401
    assert login(client).status_code == 303 and client.get("/admin/").status_code == 200


def test_login_redirects_only_inside_admin(empty):
    client = _site(empty).test_client()
    for target, want in (
        ("/admin/ceremony", "/admin/ceremony"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example/admin/", "/admin/"),
        ("/admin//evil.example", "/admin/"),
    ):
        page = client.get("/admin/login").get_data(as_text=True)
        r = client.post(
            f"/admin/login?next={target}",
            data={"password": PASSWORD, "csrf_token": token_of(page)},
        )
        assert r.status_code == 303 and r.headers["Location"] == want, target


def test_login_not_configured(empty):
    app = _site(empty, password_hash=None)
    client = app.test_client()
    page = client.get("/admin/login?lang=en").get_data(as_text=True)
    assert "not configured" in page and 'type="password"' not in page
    app.config["WTF_CSRF_ENABLED"] = False  # the page has no form to take a token from
    r = client.post("/admin/login", data={"password": "x"})
    assert r.status_code == 403
    assert client.get("/admin/").status_code == 303


def test_login_is_rate_limited(empty):
    app = create_site(
        empty, Rehearsal(admin_password_hash=HASH, rate_limits=True, login_limit="3 per minute")
    )
    limiter.reset()
    client = app.test_client()
    try:
        for _ in range(3):
            assert login(client, "wrong password").status_code == 401
        limited = login(client)  # even the right password, until the window passes
        assert limited.status_code == 429
        assert "ログインの試行が多すぎます" in limited.get_data(as_text=True)
        assert client.get("/admin/login").status_code == 200  # only POSTs count
    finally:
        limiter.reset()


def test_session_expires_and_is_rechecked(empty, monkeypatch):
    app = _site(empty, session_minutes=30)
    client = app.test_client()
    now = [1_000_000.0]
    monkeypatch.setattr(sessions, "_now", lambda: now[0])
    assert login(client).status_code == 303
    now[0] += 29 * 60
    assert client.get("/admin/").status_code == 200  # each request renews the session
    now[0] += 29 * 60
    assert client.get("/admin/").status_code == 200
    now[0] += 31 * 60
    expired = client.get("/admin/ceremony")
    assert expired.status_code == 303 and "next=/admin/ceremony" in expired.headers["Location"]
    html = client.get(expired.headers["Location"]).get_data(as_text=True)
    assert "セッションの有効期限が切れました" in html
    assert client.get("/admin/").status_code == 303
    # A new password ends every session made with the old one.
    assert login(client).status_code == 303
    app.config["SITE"] = replace(
        app.config["SITE"], admin_password_hash=hash_password("x" * 12, n=2**10)
    )
    assert client.get("/admin/").status_code == 303


def test_csrf_is_required(ready):
    app = _site(ready.board)
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    assert client.post("/admin/login", data={"password": PASSWORD}).status_code == 400
    assert "csrf_token" in page
    assert login(client).status_code == 303
    refused = client.post("/admin/open", data={})
    assert refused.status_code == 400 and ready.board.state() == "ready"
    assert "フォームの有効期限" in refused.get_data(as_text=True)
    bad = client.post("/admin/open", data={"csrf_token": "forged"})
    assert bad.status_code == 400 and ready.board.state() == "ready"
    assert client.get("/admin/open").status_code == 405  # POST only
    assert post(client, "/admin/open").status_code == 303 and ready.board.state() == "open"


# --- the election's life ----------------------------------------------------------------------


def test_actions_and_wrong_states(ready):
    board = ready.board
    client = _site(board).test_client()
    login(client)

    def refused(path: str, data: dict | None = None, status: int = 409, page: str = "/admin/"):
        r = post(client, path, data, page=page)
        assert r.status_code == status, (path, r.get_data(as_text=True))
        assert 'role="alert"' in r.get_data(as_text=True)
        return r

    refused("/admin/close", {"confirm": "yes"})
    refused("/admin/tally")
    refused("/admin/results")
    assert post(client, "/admin/open").status_code == 303 and board.state() == "open"
    assert "投票を開始しました" in client.get("/admin/").get_data(as_text=True)
    refused("/admin/open")
    refused("/admin/tally")
    for n, (choices, token) in enumerate([(C1, "token-1"), (C2, "token-2")]):
        body = submission(board.election, choices, token, f"b{n}")
        assert (
            client.post("/api/ballots", data=body, content_type="application/json").status_code
            == 201
        )
    refused("/admin/close", {}, status=400)  # the confirmation is not ticked
    assert board.state() == "open"
    assert post(client, "/admin/close", {"confirm": "yes"}).status_code == 303
    assert board.state() == "closed"
    refused("/admin/close", {"confirm": "yes"})
    refused("/admin/results")  # no tally yet
    assert post(client, "/admin/tally").status_code == 303
    refused("/admin/tally")
    page = client.get("/admin/decryption?lang=en").get_data(as_text=True)
    assert "0 partial decryptions of the 2 needed" in page
    r = refused("/admin/results")  # no quorum
    assert "quorum" in r.get_data(as_text=True).lower()
    election = board.election
    for i in (1, 2):
        x_i = public_share(election.group, trustee_commitments(board.publics()), i)
        p = partial_decrypt(
            election, board.tally(), ready.secrets[i - 1], x_i, DeterministicRng("d")
        )
        board.post_decryption(codec.encode(p))
    page = client.get("/admin/decryption?lang=en").get_data(as_text=True)
    assert "2 partial decryptions of the 2 needed" in page and "Publish the results" in page
    # Any tohyo error of a step is shown on the page, e.g. a total without a discrete log.
    from e2e.errors import DecryptionError

    def no_dlog():
        raise DecryptionError("no discrete logarithm in [0, 2]")

    real = board.post_results
    board.post_results = no_dlog
    r = refused("/admin/results", page="/admin/decryption")
    assert "no discrete logarithm in [0, 2]" in r.get_data(as_text=True)
    board.post_results = real
    assert post(client, "/admin/results", page="/admin/decryption").status_code == 303
    assert board.store.kinds(["results"])
    refused("/admin/results")
    assert "The results are published" in client.get("/admin/?lang=en").get_data(as_text=True)
    # The election is on the board: no new one, and the ceremony page says how it was made.
    assert "already holds an election" in client.get("/admin/election/new?lang=en").get_data(
        as_text=True
    )
    made = post(
        client,
        "/admin/election/new",
        {"seen": "none", "manifest": EXAMPLE.read_text(encoding="utf-8")},
        page="/admin/election/new",
    )
    assert made.status_code == 409
    assert "without the web key ceremony" in client.get("/admin/ceremony?lang=en").get_data(
        as_text=True
    )
    fin = post(client, "/admin/ceremony/finish", page="/admin/ceremony")
    assert fin.status_code == 409


def test_create_election_form(empty):
    client = _site(empty).test_client()
    login(client)

    def create(page: str = "/admin/election/new", **data):
        form = {"seen": "none", "manifest": EXAMPLE.read_text(encoding="utf-8"), **data}
        return post(client, "/admin/election/new", form, page=page)

    r = create(manifest="")
    assert r.status_code == 400 and 'id="manifest-error"' in r.get_data(as_text=True)
    r = create(manifest='{"election_id": ""}')
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "manifest field" in html
    assert 'aria-describedby="manifest-error"' in html and 'aria-invalid="true"' in html
    for bad in ("{not json", "[" * 100_000, "9" * 5000):  # beyond the parser's depth, digits
        r = create(manifest=bad)
        assert r.status_code == 400 and "not JSON" in r.get_data(as_text=True), bad[:9]
    for bad in ("0", "²", "1.5", "-3", "9" * 5000, "101"):  # "²".isdigit() is True
        r = create(trustees=bad)
        assert r.status_code == 400 and 'id="trustees-error"' in r.get_data(as_text=True), bad
    r = create(trustees="3", quorum="4")
    assert r.status_code == 400 and "quorum" in r.get_data(as_text=True)
    r = create(group="weird")
    assert r.status_code == 400 and 'id="group-error"' in r.get_data(as_text=True)
    # A manifest file takes the place of the text box.
    from io import BytesIO

    html = client.get("/admin/election/new").get_data(as_text=True)
    r = client.post(
        "/admin/election/new",
        data={
            "csrf_token": token_of(html),
            "seen": "none",
            "manifest": "",
            "group": "test",
            "trustees": "3",
            "quorum": "2",
            "manifest_file": (BytesIO(EXAMPLE.read_bytes()), "manifest.json"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 201
    tokens = re.findall(r'id="token-\d+">([^<]+)<', r.get_data(as_text=True))
    assert len(tokens) == 3 and "--allow-test-group" in r.get_data(as_text=True)
    current = CeremonyStore(empty).current()
    assert (current.n, current.k, current.group_name) == (3, 2, "test")
    # A second submission of the same form (back and resend) does not replace it…
    r = create(group="test")
    assert r.status_code == 409
    # …nor does a form that saw the ceremony but did not tick the box.
    r = create(page="/admin/election/new", seen=str(current.id), group="test")
    assert r.status_code == 409 and 'name="replace"' in r.get_data(as_text=True)
    r = create(seen=str(current.id), group="test", replace="yes")
    assert r.status_code == 201
    me = client.get("/api/ceremony/me", headers={"Authorization": f"Bearer {tokens[0]}"})
    assert me.status_code == 401  # the first ceremony's tokens no longer work
    page = client.get("/admin/ceremony?lang=en").get_data(as_text=True)
    assert "public keys missing from trustees [1, 2, 3, 4, 5]" in page  # the manifest's n
    fin = post(client, "/admin/ceremony/finish", page="/admin/ceremony")
    assert fin.status_code == 409 and "public keys missing" in fin.get_data(as_text=True)
    assert "key ceremony is in progress" in client.get("/admin/?lang=en").get_data(as_text=True)


def _page_error(html: str, id_: str = "page-error") -> tuple[str, str]:
    """The error block's text outside its <details>, and the <details> (or "")."""
    block = re.search(rf'<div class="status bad"[^>]*id="{id_}">(.*?)</div>', html, re.S).group(1)
    details = re.search(r"<details.*?</details>", block, re.S)
    return re.sub(r"<details.*?</details>", "", block, flags=re.S), details.group(
        0
    ) if details else ""


def test_refusals_are_in_the_pages_language(empty):
    from bulletin.refusals import CODES

    client = _site(empty).test_client()
    login(client)
    # Before the election: a board error (not a refusal) is a generic text, its English
    # message collapsed.
    r = post(client, "/admin/open")
    assert r.status_code == 409
    text, details = _page_error(r.get_data(as_text=True))
    assert "この操作はできませんでした" in text and "no election" not in text
    assert "技術的な詳細（英語）" in details and "no election yet" in details
    r = post(client, "/admin/open?lang=en")
    text, details = _page_error(r.get_data(as_text=True))
    assert "could not be done" in text and "Technical detail" in details
    made = post(
        client,
        "/admin/election/new",
        {"seen": "none", "manifest": EXAMPLE.read_text(encoding="utf-8"), "group": "test"},
        page="/admin/election/new",
    )
    assert made.status_code == 201
    # A refusal (the ceremony is not finished): its own text, the detail collapsed.
    wrong = CODES["wrong_state"]
    r = post(client, "/admin/ceremony/finish?lang=ja", page="/admin/ceremony")  # the cookie: en
    assert r.status_code == 409
    text, details = _page_error(r.get_data(as_text=True))
    assert wrong.ja in text and wrong.en not in text and "public keys missing" not in text
    assert "技術的な詳細（英語）" in details and "public keys missing" in details
    assert wrong.en not in details
    r = post(client, "/admin/ceremony/finish?lang=en", page="/admin/ceremony")
    assert r.status_code == 409
    text, details = _page_error(r.get_data(as_text=True))
    assert wrong.en in text and wrong.ja not in text and "public keys missing" not in text
    assert "Technical detail" in details and "public keys missing" in details


def test_a_bad_manifest_is_explained_in_the_pages_language(empty):
    client = _site(empty).test_client()
    login(client)
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["contests"][0]["limit"] = 5
    bad = json.dumps(raw, ensure_ascii=False)

    def create(path: str, manifest: str):
        form = {"seen": "none", "manifest": manifest, "group": "test"}
        r = post(client, path, form, page="/admin/election/new")
        assert r.status_code == 400
        return _page_error(r.get_data(as_text=True), "manifest-error")

    text, details = create("/admin/election/new", bad)
    assert "マニフェストに誤りがあります" in text
    assert "項目 contests[0].limit：1から選択肢の数（3）までにしてください" in text
    assert "must be between" not in text
    assert "manifest field contests[0].limit: must be between 1" in details
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    del raw["quorum"]
    text, details = create("/admin/election/new", json.dumps(raw))
    assert "項目 quorum：必要な項目がありません" in text and "missing field" in details
    text, details = create("/admin/election/new", "{not json")
    assert "JSONとして読み取れません" in text and "not JSON" in details
    text, _ = create("/admin/election/new", "9" * 5000)  # beyond the parser's own limits
    assert "JSONとして読み取れません" in text
    text, details = create("/admin/election/new?lang=en", bad)
    assert "manifest field contests[0].limit: must be between 1" in text and not details


def test_test_group_needs_the_server_flag(empty):
    client = create_site(
        empty, SiteSettings(admin_password_hash=HASH, rate_limits=False)
    ).test_client()
    login(client)
    page = client.get("/admin/election/new").get_data(as_text=True)
    assert 'value="test"' not in page
    r = post(
        client,
        "/admin/election/new",
        {"seen": "none", "manifest": EXAMPLE.read_text(encoding="utf-8"), "group": "test"},
        page="/admin/election/new",
    )
    assert r.status_code == 400 and CeremonyStore(empty).current() is None
    r = post(
        client,
        "/admin/election/new",
        {"seen": "none", "manifest": EXAMPLE.read_text(encoding="utf-8")},
        page="/admin/election/new",
    )
    assert r.status_code == 201 and CeremonyStore(empty).current().group_name == "standard"


def test_pages_without_an_election(empty):
    client = _site(empty).test_client()
    login(client)
    for path in ("/admin/", "/admin/ceremony", "/admin/decryption", "/admin/election/new"):
        assert client.get(path).status_code == 200, path
    assert "マニフェストから選挙を作成" in client.get("/admin/").get_data(as_text=True)
    for path in ("/admin/open", "/admin/close", "/admin/tally", "/admin/results"):
        data = {"confirm": "yes"} if path.endswith("close") else None
        assert post(client, path, data).status_code == 409, path
    public = client.get("/trustees")
    assert public.status_code == 200 and "まだ鍵生成は始まっていません" in public.get_data(
        as_text=True
    )


def test_turnout_by_day_and_hour_without_pseudonyms(ready):
    board = ready.board
    board.open()
    client = _site(board).test_client()
    login(client)
    assert "まだ投票はありません" in client.get("/admin/").get_data(as_text=True)
    casts = [(C1, "token-1"), (C2, "token-2"), (C1, "token-3")]
    for n, (choices, token) in enumerate(casts):
        body = submission(board.election, choices, token, f"t{n}")
        assert (
            client.post("/api/ballots", data=body, content_type="application/json").status_code
            == 201
        )
        later(ready.clock, 3600 * 5)
    html = client.get("/admin/?lang=en").get_data(as_text=True)
    assert html.count("<svg") == 3 and "<script" not in html.split("<main", 1)[1]
    assert "style=" not in html.split("<main", 1)[1]  # the CSP allows no inline style
    totals = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    assert re.findall(r'class="num">(\d+)<', totals) == [
        "2",
        "3",
        "2",
    ]  # a blank contest is still covered
    by_hour = client.get("/admin/?by=hour&lang=en").get_data(as_text=True)
    rows = re.search(r"<tbody>(.*?)</tbody>", by_hour, re.S).group(1).count("<tr>")
    assert rows == 11  # three ballots five hours apart: 11 hours, gaps shown as zero
    for person in ("person-1", "person-2", "person-3"):
        assert pseudonym(KEY, person) not in html and pseudonym(KEY, person) not in by_hour
    assert TOKENS["token-1"] not in html


def test_trustee_page_is_public_and_secret_free(ready, tmp_path):
    board = ready.board
    client = _site(board).test_client()
    page = client.get("/trustees?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "outside the web" in html
    assert html.count('<th scope="row">') == 3 and "NOT secure" in html
    joint = board.election.key.element.hex()[:32]
    assert joint in html

    # During a web ceremony: progress, never a token.
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    fresh = Board(Store(other), load_signing_key(ready.key_path), ready.clock)
    _, tokens = CeremonyStore(fresh).create(board.manifest, "test")
    html = _site(fresh).test_client().get("/trustees?lang=en").get_data(as_text=True)
    assert "in progress" in html and not any(t in html for t in tokens)
    assert "Shares sent" in html


# --- the election's time zone ------------------------------------------------------------------


def _election_in(tmp_path, offset: str, at: datetime) -> tuple[Board, Election]:
    """An open election whose manifest's period is in UTC ``offset`` (as make_board, with
    the period moved), the board's clock at ``at``."""
    key_path = tmp_path / "board.key"
    new_signing_key(key_path)
    manifest = replace(
        manifest_from_json(EXAMPLE.read_text(encoding="utf-8")),
        start=f"2025-02-20T00:00:00{offset}",
        end=f"2025-03-24T23:59:59{offset}",
        trustees=3,
        quorum=2,
        board=public_key_of(load_signing_key(key_path)),
    )
    h_p, _ = base_hash(TEST, manifest)
    _, publics = run_ceremony(TEST, h_p, 3, 2, DeterministicRng("zone"))
    election = Election(TEST, manifest, TEST.product(t.key for t in publics))
    engine = make_engine(f"sqlite:///{tmp_path / 'zone.db'}")
    migrate(engine)
    board = Board(
        Store(engine), load_signing_key(key_path), FixedClock(at), TokenAuthenticator(KEY, TOKENS)
    )
    board.setup(
        manifest.canonical_bytes(),
        codec.encode(election.parameters()),
        [codec.encode(t) for t in publics],
    )
    board.open()
    return board, election


def test_the_tsukuba_election_is_shown_in_japan_time(ready):
    html = _site(ready.board).test_client().get("/?lang=en").get_data(as_text=True)
    assert "Voting period: 2025-02-20 00:00 JST to 2025-03-24 23:59 JST" in html


@pytest.mark.parametrize(("offset", "name"), [("-05:00", "UTC-05:00"), ("+05:30", "UTC+05:30")])
def test_times_and_turnout_are_in_the_manifests_time_zone(tmp_path, offset, name):
    zone = datetime.fromisoformat(f"2025-02-20T00:00:00{offset}").tzinfo
    # Two ballots 40 minutes apart, on either side of midnight in the election's zone (in
    # +05:30 both fall in the same UTC hour, 18:00).
    first = datetime(2025, 2, 22, 23, 30, tzinfo=zone)
    board, election = _election_in(tmp_path, offset, first)
    client = _site(board).test_client()
    for n, token in enumerate(("token-1", "token-2")):
        body = submission(election, C1, token, f"z{n}")
        r = client.post("/api/ballots", data=body, content_type="application/json")
        assert r.status_code == 201
        later(board.clock, 40 * 60)
    home = client.get("/?lang=en").get_data(as_text=True)
    assert f"Voting period: 2025-02-20 00:00 {name} to 2025-03-24 23:59 {name}" in home
    page = client.get("/board?lang=en").get_data(as_text=True)
    assert "JST" not in page
    assert f"2025-02-22 23:30 {name}" in page and f"2025-02-23 00:10 {name}" in page
    days = re.findall(r'<th scope="row">(\d{4}-\d\d-\d\d)</th>', page)
    assert days == ["2025-02-22", "2025-02-23"]  # one ballot each
    login(client)
    by_day = client.get("/admin/?lang=en").get_data(as_text=True)
    table = re.search(r"<tbody>(.*?)</tbody>", by_day, re.S).group(1)
    assert re.findall(r'<th scope="row">([^<]+)</th>', table) == ["2025-02-22", "2025-02-23"]
    by_hour = client.get("/admin/?by=hour&lang=en").get_data(as_text=True)
    table = re.search(r"<tbody>(.*?)</tbody>", by_hour, re.S).group(1)
    assert re.findall(r'<th scope="row">([^<]+)</th>', table) == ["02/22 23:00", "02/23 00:00"]
