"""The site's pages and web defences, through Flask's test client (no browser).

Headers and CSP on every page, subresource integrity that matches the files served, rate
limits, the signing-app hand-off's rejection paths, QR codes only for this site's paths,
rehearsal cards only in a rehearsal, the language switch, HTML errors for pages and JSON
errors for the API, and no personal data in the server's log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from datetime import timedelta

import pytest

from tests.integration.board_helpers import make_board, submission
from web import security
from web.app import SiteSettings, create_site

C = {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["emergency-info"]}

PAGES = ["/", "/booth", "/verify", "/board", "/results", "/trustees", "/admin/login"]


@pytest.fixture
def setup(tmp_path):
    return make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)


@pytest.fixture
def client(setup):
    return create_site(setup.board).test_client()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_security_headers_and_no_inline_script(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    h = resp.headers
    csp = h["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "same-origin"
    html = resp.get_data(as_text=True)
    # Every script is a file with an integrity hash; the only inline <script> is JSON data.
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'type="application/json"' in tag or ("src=" in tag and "integrity=" in tag), tag
    assert " style=" not in html  # inline styles are refused by the CSP too


def test_integrity_hashes_match_the_files_served(client):
    html = client.get("/booth").get_data(as_text=True)
    tags = re.findall(r'<script src="([^"]+)" integrity="sha384-([^"]+)"', html)
    assert len(tags) >= 3
    for src, sri in tags:
        body = client.get(src).data
        assert base64.b64encode(hashlib.sha384(body).digest()).decode() == sri, src
    css = re.search(r'<link rel="stylesheet" href="([^"]+)" integrity="sha384-([^"]+)"', html)
    assert css is not None
    body = client.get(css.group(1)).data
    assert base64.b64encode(hashlib.sha384(body).digest()).decode() == css.group(2)


def test_a_file_asked_for_with_another_versions_tag_is_a_404_nothing_stores(client):
    """A process with only its own version's files, asked for the other version's (a page
    from a machine already upgraded): never its own file under that address."""
    from web.security import version

    ok = client.get(f"/static/js/booth.js?v={version('js/booth.js')}")
    assert ok.status_code == 200 and "max-age=3600" in ok.headers["Cache-Control"]
    assert client.get("/static/js/booth.js").status_code == 200  # no tag: as it is
    other = client.get("/static/js/booth.js?v=AAAAAAAAAAAA")
    assert other.status_code == 404 and other.headers["Cache-Control"] == "no-store"
    assert client.get("/static/js/none.js?v=AAAAAAAAAAAA").status_code == 404
    assert client.get("/static/../app.py?v=AAAAAAAAAAAA").status_code == 404
    # However a client spells the name, one file is one entry of the hash cache.
    from web import security

    before = security._integrity.cache_info().currsize
    for name in ("js/./receipt.js", "./js/receipt.js", "js//receipt.js", "js/x/../receipt.js"):
        assert client.get(f"/static/{name}?v=AAAAAAAAAAAA").status_code == 404
    assert security._integrity.cache_info().currsize - before <= 1


def test_admin_login_works_over_https(setup):
    """Over HTTPS Flask-WTF checks that a form's Referer is this site: pages must send it."""
    from web.admin import hash_password

    site = SiteSettings(admin_password_hash=hash_password("a long admin password", n=2**10))
    c = create_site(setup.board, site).test_client()
    base = "https://vote.example"
    page = c.get("/admin/login", base_url=base)
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token is not None
    form = {"csrf_token": token.group(1), "password": "a long admin password"}
    ok = c.post(
        "/admin/login", base_url=base, data=form, headers={"Referer": base + "/admin/login"}
    )
    assert ok.status_code == 303
    # A form posted from another site is refused.
    other = c.post(
        "/admin/logout",
        base_url=base,
        data={"csrf_token": token.group(1)},
        headers={"Referer": "https://evil.example/"},
    )
    assert other.status_code == 400


def test_api_responses_are_not_cached(client):
    assert client.get("/api/election").headers["Cache-Control"] == "no-store"


def test_language_switch_is_remembered(client):
    assert '<html lang="ja">' in client.get("/").get_data(as_text=True)
    resp = client.get("/?lang=en")
    assert '<html lang="en">' in resp.get_data(as_text=True)
    assert "lang=en" in resp.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/board").get_data(as_text=True)
    assert '<html lang="ja">' in client.get("/board?lang=xx&lang=ja").get_data(as_text=True)


def test_a_third_language_from_its_catalog_with_the_manifests_own_words(client, setup):
    """Simplified Chinese, a catalog and nothing else: the page in Chinese, marked as
    awaiting review, the menu offering the other languages in their own names, the
    election's title from the manifest's zh-Hans label, and the board's refusals in
    Chinese too."""
    from web import i18n

    zh = i18n.BY_TAG["zh-Hans"]
    resp = client.get("/?lang=zh-Hans")
    html = resp.get_data(as_text=True)
    assert '<html lang="zh-Hans">' in html
    assert "lang=zh-Hans" in resp.headers["Set-Cookie"]
    assert zh.texts["home.vote"] in html and zh.texts["site.unreviewed"] in html
    assert 'hreflang="ja">日本語</a>' in html and 'hreflang="en">English</a>' in html
    assert setup.election.manifest.title.get("zh-Hans") in html
    assert setup.election.manifest.title.ja not in html
    assert '<html lang="zh-Hans">' in client.get("/booth").get_data(as_text=True)  # the cookie
    assert '<html lang="zh-Hans">' in client.get("/board?lang=zh_hans").get_data(as_text=True)
    # The Japanese page is reviewed: no notice.
    assert i18n.SOURCE_TEXTS["site.unreviewed"] not in client.get("/?lang=ja").get_data(
        as_text=True
    )
    refused = client.get("/api/receipts/" + "00" * 32).get_json()
    assert refused["message"]["zh-Hans"] == zh.texts[f"refusal.{refused['error']}"]
    assert set(refused["message"]) == {"ja", "en", "zh-Hans"}


def test_the_main_menu_is_for_voters_and_the_board_and_trustees_are_in_the_footer(client):
    html = client.get("/").get_data(as_text=True)
    main_menu = html.split('<nav aria-label="メインメニュー">', 1)[1].split("</nav>", 1)[0]
    assert "/booth" in main_menu and "/verify" in main_menu and "/results" in main_menu
    assert "/board" not in main_menu and "/trustees" not in main_menu
    footer = html.split('<footer class="foot">', 1)[1]
    assert 'href="/board"' in footer and 'href="/trustees"' in footer


def test_unknown_page_is_an_html_error_and_unknown_api_route_is_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "ページが見つかりません" in page.get_data(as_text=True)
    api = client.get("/api/no-such-route")
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"


def test_submissions_are_rate_limited_per_address(setup):
    app = create_site(setup.board, SiteSettings(submit_limit="3 per minute"))
    c = app.test_client()
    codes = [
        c.post("/api/challenges", content_type="application/json").status_code for _ in range(5)
    ]
    # The token board has no challenges (404), but the limiter counts every request first.
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429]
    body = c.post("/api/challenges").get_json()
    assert body["error"] == "rate_limited" and body["message"]["ja"]
    # Another client address has its own allowance.
    other = c.post("/api/challenges", environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other.status_code == 404


def test_rate_limits_can_be_turned_off_for_load_tests(setup):
    c = create_site(setup.board, SiteSettings(submit_limit="1 per minute", rate_limits=False))
    codes = {c.test_client().post("/api/challenges").status_code for _ in range(3)}
    assert codes == {404}


def test_qr_codes_only_for_paths_on_this_site(client):
    ok = client.get("/qr.svg?path=/verify?code=AB")
    assert ok.status_code == 200 and ok.mimetype == "image/svg+xml"
    for bad in ("https://evil.example/", "//evil.example/x", "verify", "", "/" + "a" * 600):
        assert client.get("/qr.svg", query_string={"path": bad}).status_code == 400, bad


def test_rehearsal_cards_are_served_only_in_a_rehearsal(client, setup, tmp_path):
    assert client.get("/rehearsal/cards/tsukuba-1.json").status_code == 404
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "a.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("no")
    site = SiteSettings(demo_cards=({"file": "a.json"},), card_dir=str(tmp_path / "cards"))
    c = create_site(setup.board, site).test_client()
    assert c.get("/rehearsal/cards/a.json").status_code == 200
    assert c.get("/rehearsal/cards/..%2Fsecret.txt").status_code == 404
    assert c.get("/rehearsal/cards/b.json").status_code == 404


# --- the signing-app hand-off (web/signing.py) -----------------------------------------------


def _sign_request(client, code="AB" * 32, challenge="CD" * 32):
    return client.post(
        "/api/sign-requests", json={"confirmation_code": code, "challenge": challenge}
    )


def test_sign_request_round_trip(client, setup):
    resp = _sign_request(client)
    assert resp.status_code == 201
    req = resp.get_json()
    shown = client.get(req["app_url"]).get_json()
    message = base64.b64decode(shown["message"])
    assert message.endswith(bytes.fromhex("AB" * 32) + bytes.fromhex("CD" * 32))
    assert bytes(setup.election.h_e) in message and shown["confirmation_code"] == "AB" * 32
    result = req["app_url"] + "/result"
    assert client.get(result, headers={"X-Sign-Secret": req["secret"]}).status_code == 204
    assert "pairing" not in shown  # the app learns the pairing number only from the voter
    answer = {"certificate": base64.b64encode(b"cert").decode(), "signature": "c2ln"}
    sent = {**answer, "pairing": req["pairing"]}
    assert client.post(req["app_url"], json=sent).status_code == 204
    got = client.get(result, headers={"X-Sign-Secret": req["secret"]}).get_json()
    assert got == {**answer, "challenge": "cd" * 32}


@pytest.mark.parametrize(
    "body",
    [
        {"confirmation_code": "AB" * 31, "challenge": "CD" * 32},
        {"confirmation_code": "XY" * 32, "challenge": "CD" * 32},
        {"challenge": "CD" * 32},
        {"confirmation_code": "AB" * 32, "challenge": 5},
        ["not", "an", "object"],
    ],
)
def test_sign_request_refuses_bad_input(client, body):
    resp = client.post("/api/sign-requests", json=body)
    assert resp.status_code == 400 and resp.get_json()["error"] == "malformed"


def test_sign_request_refuses_a_wrong_content_type(client):
    resp = client.post("/api/sign-requests", data="{}", content_type="text/plain")
    assert resp.status_code == 400


def test_sign_request_answer_is_taken_once_and_checked(client):
    req = _sign_request(client).get_json()
    p = req["pairing"]
    bad = [
        {"certificate": "***", "signature": "c2ln", "pairing": p},
        {"certificate": "Y2VydA==", "signature": "", "pairing": p},
        {"certificate": "Y2VydA==", "pairing": p},
        {"certificate": "A" * 9000, "signature": "c2ln", "pairing": p},
        {"certificate": "Y2VydA==", "signature": "c2ln"},
        {"certificate": "Y2VydA==", "signature": "c2ln", "pairing": "12345"},
        {"certificate": "Y2VydA==", "signature": "c2ln", "pairing": 123456},
    ]
    for body in bad:
        assert client.post(req["app_url"], json=body).status_code == 400, body
    good = {"certificate": "Y2VydA==", "signature": "c2ln", "pairing": p}
    assert client.post(req["app_url"], json=good).status_code == 204
    again = client.post(req["app_url"], json=good)
    assert again.status_code == 409 and again.get_json()["error"] == "request_answered"


def test_sign_request_refuses_a_wrong_pairing_number_and_voids_after_five(client):
    """A phishing link carries no pairing number: guessing it fails, and soon for good."""
    req = _sign_request(client).get_json()
    wrong = f"{(int(req['pairing']) + 1) % 10**6:06d}"
    answer = {"certificate": "Y2VydA==", "signature": "c2ln", "pairing": wrong}
    for _ in range(4):
        r = client.post(req["app_url"], json=answer)
        assert r.status_code == 401 and r.get_json()["error"] == "unauthenticated"
    assert client.post(req["app_url"], json=answer).status_code == 401
    answer["pairing"] = req["pairing"]  # even the right number: the request is void now
    void = client.post(req["app_url"], json=answer)
    assert void.status_code == 409 and void.get_json()["error"] == "request_voided"


def test_sign_request_result_needs_the_secret(client):
    req = _sign_request(client).get_json()
    result = req["app_url"] + "/result"
    assert client.get(result).status_code == 401
    assert client.get(result, headers={"X-Sign-Secret": "guess"}).status_code == 401
    assert client.get("/api/sign-requests/unknown").status_code == 404
    assert client.get("/api/sign-requests/unknown/result").status_code == 404


def test_sign_requests_expire(client, monkeypatch):
    from web import signing

    req = _sign_request(client).get_json()
    later = signing._now() + signing.TTL + timedelta(seconds=1)
    monkeypatch.setattr(signing, "_now", lambda: later)
    assert client.get(req["app_url"]).get_json()["error"] == "request_expired"
    answer = {"certificate": "Y2VydA==", "signature": "c2ln", "pairing": req["pairing"]}
    assert client.post(req["app_url"], json=answer).get_json()["error"] == "request_expired"


# --- pages ---------------------------------------------------------------------------------


def test_board_page_search_and_paging(client, setup):
    c = create_site(setup.board).test_client()
    receipt = c.post(
        "/api/ballots",
        data=submission(setup.election, C, "token-1", "s"),
        content_type="application/json",
    ).get_json()
    code = receipt["confirmation_code"]
    html = c.get(f"/board?code={code.lower()}").get_data(as_text=True)
    assert "見つかりました" in html and f"/verify?code={code}" in html
    assert "ありません" in c.get("/board?code=" + "0" * 64).get_data(as_text=True)
    assert "ありません" in c.get("/board?code=nothex").get_data(as_text=True)
    page = c.get("/board?start=0").get_data(as_text=True)
    assert "選挙の定義" in page  # the manifest entry, first on the log
    assert c.get("/board?start=999999").status_code == 200
    assert c.get("/board?start=-1").status_code == 200


def test_results_page_before_and_after(setup, tmp_path):
    import io
    import zipfile

    from e2e import codec
    from e2e.rng import DeterministicRng
    from e2e.tally import trustee_commitments
    from e2e.threshold import public_share
    from trustees.decrypt import partial_decrypt

    app = create_site(setup.board)
    app.config["RECORD_CACHE"] = str(tmp_path / "record-cache")  # not the machine's /tmp
    c = app.test_client()
    html = c.get("/results").get_data(as_text=True)
    assert "まだ公開されていません" in html
    assert c.get("/record.zip").status_code == 404
    b, el = setup.board, setup.election
    choices = [["internet-voting"], ["internet-voting"], ["digital-counter"], []]
    for i, choice in enumerate(choices):
        body = submission(el, {"gyosei": choice}, f"token-{i}", f"r{i}")
        assert c.post("/api/ballots", data=body, content_type="application/json").status_code == 201
    b.close()
    tally = b.post_tally()
    commitments = trustee_commitments(b.publics())
    for sec in setup.secrets[:2]:
        x = public_share(el.group, commitments, sec.index)
        b.post_decryption(codec.encode(partial_decrypt(el, tally, sec, x, DeterministicRng("r"))))
    b.post_results()
    html = c.get("/results").get_data(as_text=True)
    assert (
        "数えた票: 4（1人につき、この分野を含む最後の1票）" in html and "インターネット投票" in html
    )
    assert re.search(r"インターネット投票</th><td class=\"num\">2</td>", html)
    # the fourth voter chose nothing: a blank ballot, shown as one (白票), with its share
    assert re.search(
        r"白票（どれも選ばなかった票）</th><td class=\"num\">1</td><td class=\"num\">25.0%", html
    )
    assert "再投票で置き換えられた票を含む" in html
    assert "tohyo verify record" in html
    z = c.get("/record.zip")
    assert z.status_code == 200 and z.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(z.data)).namelist()
    assert "record/results.json" in names and "record/board/entries.jsonl" in names
    assert c.get("/record.zip").data == z.data  # built once, served again


def test_refused_submission_leaves_no_personal_data_in_the_log(setup, caplog):
    c = create_site(setup.board).test_client()
    caplog.set_level(logging.DEBUG)
    doc = json.loads(submission(setup.election, C, "token-2", "p"))
    doc["auth"] = {"token": "person-secret-token"}
    resp = c.post("/api/ballots", json=doc)
    assert resp.status_code == 401
    assert "person-secret-token" not in caplog.text


def test_jpki_refusals_leave_no_certificate_or_name_in_the_log(tmp_path, caplog):
    """A card of the neighbouring town is refused; the log holds neither name nor address."""
    from e2e import codec
    from e2e.ballot import encrypt_ballot
    from e2e.group import TEST
    from e2e.rng import DeterministicRng
    from sim import rehearsal
    from sim.demo import EXAMPLE, load_manifest
    from sim.testca import sign_submission

    rehearsal.prepare(tmp_path / "r", TEST, load_manifest(EXAMPLE), lambda _: None)
    board = rehearsal.open_board(tmp_path / "r")
    c = create_site(board).test_client()
    caplog.set_level(logging.DEBUG)
    card_info = next(x for x in rehearsal.settings(tmp_path / "r")["cards"] if not x["eligible"])
    from sim.testca import SimulatedCard

    card = SimulatedCard.load(tmp_path / "r" / "cards" / card_info["file"])
    ballot, _ = encrypt_ballot(board.election, {"gyosei": []}, DeterministicRng("j"))
    challenge = bytes.fromhex(c.post("/api/challenges").get_json()["challenge"])
    auth = sign_submission(
        card,
        card_info["password"],
        bytes(board.election.h_e),
        bytes(ballot.confirmation_code),
        challenge,
    )
    resp = c.post("/api/ballots", json={"ballot": codec.to_document(ballot), "auth": auth})
    assert resp.status_code == 403
    for secret in (
        "陽光",
        "つくばみらい",
        "失効",
        auth["certificate"][:40],
        auth["signature"][:40],
    ):
        assert secret not in caplog.text
        assert secret not in resp.get_data(as_text=True)


def test_security_script_helper_refuses_missing_files(client):
    with client.application.test_request_context():
        with pytest.raises(FileNotFoundError):
            security.script("js/no-such-file.js")
