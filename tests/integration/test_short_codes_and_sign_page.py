"""A confirmation code found by its short form however it is typed (GET /api/codes/<text>,
docs/record.md "Short codes"), and the hand-off's link as a person opening it sees it
(GET /sign/<id>): on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json

import pytest

from e2e.shortcode import parse, short
from tests.integration.board_helpers import make_board, submission
from web.app import SiteSettings, create_site


@pytest.fixture
def site(db_url, tmp_path):
    setup = make_board(db_url, tmp_path)
    app = create_site(setup.board, SiteSettings(rate_limits=False))
    yield setup, app.test_client()
    setup.board.store.engine.dispose()


def _cast(setup, client, seed: str, token: str) -> str:
    return _cast_entry(setup, client, seed, token)[0]


def _cast_entry(setup, client, seed: str, token: str) -> tuple[str, int]:
    body = submission(setup.election, {"gyosei": ["internet-voting"]}, token, seed)
    resp = client.post("/api/ballots", data=body, content_type="application/json")
    assert resp.status_code == 201, resp.get_json()
    return json.loads(body)["ballot"]["confirmation_code"], resp.get_json()["entry"]


def test_a_short_code_finds_its_ballot_however_it_is_typed(site):
    setup, client = site
    code, entry = _cast_entry(setup, client, "one", "token-1")
    other, other_entry = _cast_entry(setup, client, "two", "token-2")
    s = short(bytes.fromhex(code))
    for typed in (s, s.lower(), s.replace("-", " "), "　".join(s), f" {s[:4]} ー {s[5:]} "):
        got = client.get(f"/api/codes/{typed}").get_json()
        assert got["kind"] == "short" and got["short_code"] == s, typed
        assert [m["confirmation_code"] for m in got["matches"]] == [code], typed
    # the full code, in groups with spaces and in capitals, is found too
    grouped = " ".join(code[i : i + 8] for i in range(0, 64, 8)).upper()
    got = client.get(f"/api/codes/{grouped}").get_json()
    assert got == {"kind": "full", "matches": [{"confirmation_code": code, "entry": entry}]}
    assert client.get(f"/api/codes/{other}").get_json()["matches"][0]["entry"] == other_entry


def test_every_ballot_that_shares_a_short_code_is_listed(site, monkeypatch):
    """Two codes that begin alike (forced here: 40 bits collide by accident only) are both
    listed, in code order; the voter tells theirs by the full code."""
    setup, client = site
    codes = sorted(_cast(setup, client, seed, f"token-{i}") for i, seed in enumerate("abc"))
    store = setup.board.store
    real = store.codes_from
    monkeypatch.setattr(store, "codes_from", lambda prefix, limit: real(b"", limit))
    got = client.get(f"/api/codes/{short(bytes.fromhex(codes[0]))}").get_json()
    assert [m["confirmation_code"] for m in got["matches"]] == codes
    monkeypatch.undo()
    assert store.codes_from(bytes.fromhex(codes[0])[:5], 20) == [
        (
            next(m["entry"] for m in got["matches"] if m["confirmation_code"] == codes[0]),
            bytes.fromhex(codes[0]),
        )
    ]


@pytest.mark.parametrize("prefix", [b"\x00" * 5, b"\xff" * 5])
def test_the_prefix_range_reaches_both_ends(site, prefix):
    setup, _ = site
    store = setup.board.store
    # A code of all 0xff (or all zero) bytes is at the very edge of the range: put one
    # in the table as the board's insert would, then look it up by its short form.
    from sqlalchemy import insert

    from bulletin import schema

    code = prefix + prefix[:1] * 27
    with store.engine.begin() as conn:
        conn.execute(
            insert(schema.ballots).values(
                entry=99,
                kind="ballot",
                ballot_id=b"i" * 32,
                code=code,
                ct_digest=b"d" * 32,
                submission=b"s" * 32,
                voter="v",
            )
        )
    parsed = parse(short(code))
    assert parsed is not None and store.codes_from(prefix, 20) == [(99, code)]


@pytest.mark.parametrize("typed", ["", "hello", "ABCU-0000", "ABC-DEF", "0" * 63, "0" * 65])
def test_what_is_no_code_is_refused_plainly(site, typed):
    _, client = site
    resp = client.get(f"/api/codes/{typed}" if typed else "/api/codes/%20")
    assert resp.status_code == 400 and resp.get_json()["error"] == "malformed"


def test_an_unknown_short_code_has_no_matches(site):
    _, client = site
    assert client.get("/api/codes/0000-0000").get_json()["matches"] == []


# --- /sign/<id> --------------------------------------------------------------------------


def _request(client, code: str = "AB" * 32) -> dict:
    resp = client.post(
        "/api/sign-requests", json={"confirmation_code": code, "challenge": "CD" * 32}
    )
    assert resp.status_code == 201
    return resp.get_json()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_hand_off_link_is_a_page_that_says_what_to_do(site, lang):
    setup, client = site
    req = _request(client)
    assert req["page_url"] == f"/sign/{req['id']}"
    page = client.get(req["page_url"] + f"?lang={lang}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert short(bytes.fromhex("AB" * 32)) in html  # the code to compare with the booth's
    assert setup.election.manifest.title.ja in html if lang == "ja" else "Sign" in html
    words = {
        "ja": ("背面", "他人から", "ペアリング番号"),
        "en": ("back of the phone", "do not sign", "pairing number"),
    }
    for w in words[lang]:
        assert w in html, w
    assert req["pairing"] not in html  # the page is for whoever holds the link: no number


@pytest.mark.parametrize(
    "end, word",
    [("cancel", "取り消されました"), ("expire", "有効時間"), ("unknown", "見つかりません")],
)
def test_a_hand_off_link_that_can_no_longer_be_signed_says_why(site, monkeypatch, end, word):
    _, client = site
    req = _request(client)
    url = req["page_url"]
    if end == "cancel":
        client.delete(req["app_url"], headers={"X-Sign-Secret": req["secret"]})
    elif end == "expire":
        from web import pages, signing

        later = signing._now() + signing.TTL * 1.5

        class Later:
            @staticmethod
            def now(tz=None):
                return later

        monkeypatch.setattr(pages, "datetime", Later)
    else:
        url = "/sign/nosuchrequest"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code in (404, 409) and word in html
    assert "背面" not in html  # no instructions to reach for the card
