"""The local signer (signer/server.py) with the virtual card in process: who may ask it,
what its page shows, how the card's answers reach the voter and the booth.

The same service runs behind a real pcscd in tests/integration/test_card_signer.py; here
the card is the same VirtualCard without the PC/SC stack, so every path is cheap to feed.
"""

from __future__ import annotations

import base64
import contextlib
import html
import re

import pytest

from bulletin.jpki.verify import signed_message
from signer.card import CardError, JpkiCard, check_signature
from signer.server import TTL, check_host, create_signer
from sim.vcard import VirtualCard
from tests.unit.test_jpki import card

SITE = "https://vote.example.jp"
PORT = 47611
HOST = {"Host": f"127.0.0.1:{PORT}"}
BOOTH = {**HOST, "Origin": SITE}
OWN = {**HOST, "Origin": f"http://127.0.0.1:{PORT}"}
H_E, CODE, CHALLENGE = "11" * 32, "AB" * 32, "CD" * 32
REQUEST = {
    "election": {"ja": "つくば市 市民投票", "en": "Tsukuba citizens' vote"},
    "category": {"ja": "行政", "en": "Administration"},
    "h_e": H_E,
    "confirmation_code": CODE,
    "challenge": CHALLENGE,
    "lang": "ja",
}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Reader:
    """The card reader: a virtual card in it, or none (``no_card``)."""

    def __init__(self) -> None:
        self.card: VirtualCard | None = VirtualCard(card(0))

    @contextlib.contextmanager
    def open(self):
        if self.card is None:
            raise CardError("no_card", "no card in the reader")
        yield JpkiCard(self.card.apdu, atr=self.card.atr)


@pytest.fixture
def reader():
    return Reader()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(reader, clock):
    return create_signer(SITE, reader.open, PORT, clock=clock).test_client()


def create(client, **over):
    resp = client.post("/requests", json={**REQUEST, **over}, headers=BOOTH)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


TOKENS: dict[str, str] = {}


def token(client, rid: str) -> str:
    """The page's form token, as the voter's open page still holds it once a request ends."""
    if rid not in TOKENS:
        page = client.get(f"/requests/{rid}", headers=HOST).get_data(as_text=True)
        TOKENS[rid] = re.search(r'name="token" value="([^"]+)"', page).group(1)
    return TOKENS[rid]


def sign(client, rid: str, pin: str, **form):
    data = {"token": token(client, rid), "pin": pin, **form}
    resp = client.post(f"/requests/{rid}/sign", data=data, headers=OWN)
    assert resp.status_code == 200
    return html.unescape(resp.get_data(as_text=True))


def result(client, req):
    return client.get(
        f"/requests/{req['id']}/result", headers={**BOOTH, "X-Signer-Secret": req["secret"]}
    )


# --- who may ask -------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [None, "https://evil.example", "http://127.0.0.1:47611"])
def test_only_the_official_sites_booth_may_ask_for_a_signature(client, origin):
    headers = {**HOST, **({"Origin": origin} if origin else {})}
    assert client.post("/requests", json=REQUEST, headers=headers).status_code == 403
    assert client.get("/status", headers=headers).status_code == 403
    pre = client.options("/requests", headers=headers)
    assert pre.status_code == 403 and "Access-Control-Allow-Origin" not in pre.headers


def test_the_booth_is_let_in_by_cors_and_private_network_access(client):
    pre = client.options(
        "/requests",
        headers={
            **BOOTH,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == SITE
    assert pre.headers["Access-Control-Allow-Private-Network"] == "true"
    assert "X-Signer-Secret" in pre.headers["Access-Control-Allow-Headers"]
    status = client.get("/status", headers=BOOTH)
    assert status.get_json()["site"] == SITE
    assert status.headers["Access-Control-Allow-Origin"] == SITE


def test_another_host_name_for_loopback_is_refused(client):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: Host gives it away."""
    resp = client.post("/requests", json=REQUEST, headers={**BOOTH, "Host": "evil.example"})
    assert resp.status_code == 421


@pytest.mark.parametrize(
    "over",
    [
        {"h_e": "11" * 31},
        {"confirmation_code": "XY" * 32},
        {"challenge": 7},
        {"election": "a title"},
        {"category": {"ja": ""}},
        {"category": {"ja": "x" * 201}},
    ],
)
def test_malformed_requests_are_refused(client, over):
    resp = client.post("/requests", json={**REQUEST, **over}, headers=BOOTH)
    assert resp.status_code == 400 and resp.get_json()["error"] == "malformed"


def test_the_signer_listens_on_loopback_only():
    for ok in ("127.0.0.1", "::1", "localhost"):
        check_host(ok)
    for bad in ("0.0.0.0", "192.0.2.1", "vote.example.jp", "::"):
        with pytest.raises(ValueError, match="loopback"):
            check_host(bad)
    with pytest.raises(ValueError, match="origin"):
        create_signer("vote.example.jp", Reader().open, PORT)


# --- what the voter sees and signs -------------------------------------------------------


def test_the_page_shows_what_the_booth_shows_and_the_card_signs_it(client, reader):
    req = create(client)
    assert req["url"] == f"http://127.0.0.1:{PORT}/requests/{req['id']}"
    page = client.get(f"/requests/{req['id']}", headers=HOST)
    text = page.get_data(as_text=True)
    assert "つくば市 市民投票" in text and "行政" in text and SITE in text
    assert "ABAB ABAB" in text  # the code in groups of four, as the booth shows it
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert result(client, req).status_code == 204  # not signed yet

    assert "署名しました" in sign(client, req["id"], "ABC123")
    got = result(client, req)
    assert got.status_code == 200 and got.headers["Access-Control-Allow-Origin"] == SITE
    answer = got.get_json()
    cert = base64.b64decode(answer["certificate"])
    message = signed_message(bytes.fromhex(H_E), bytes.fromhex(CODE), bytes.fromhex(CHALLENGE))
    check_signature(cert, message, base64.b64decode(answer["signature"]))
    assert cert == reader.card.simulated.certificate
    assert result(client, req).status_code == 410  # the answer is handed over once
    assert "署名しました" in sign(client, req["id"], "ABC123")  # and it stays done


def test_the_page_speaks_english_when_the_booth_does(client):
    req = create(client, lang="en")
    assert "Confirmation code" in client.get(f"/requests/{req['id']}", headers=HOST).text
    assert "Wrong password. 4 wrong" in sign(client, req["id"], "WRONG1")


def test_the_result_needs_the_booths_secret(client):
    req = create(client)
    url = f"/requests/{req['id']}/result"
    assert client.get(url, headers=BOOTH).status_code == 401
    assert client.get(url, headers={**BOOTH, "X-Signer-Secret": "guess"}).status_code == 401
    assert client.get("/requests/unknown/result", headers=BOOTH).status_code == 404


def test_a_wrong_pin_counts_down_then_one_try_needs_a_confirmation(client, reader):
    req = create(client)
    for left in (4, 3, 2):
        assert f"あと{left}回" in sign(client, req["id"], "WRONG1")
    text = sign(client, req["id"], "WRONG1")
    assert "あと1回" in text and 'name="confirm_low"' in text
    page = client.get(f"/requests/{req['id']}", headers=HOST).text
    assert 'name="confirm_low"' in page  # the page itself warns before the last try
    sent = len(reader.card.commands)
    text = sign(client, req["id"], "ABC123")  # the right PIN, not confirmed: not sent
    assert "確認の欄" in text
    assert not any(
        c[:4] == bytes.fromhex("00200080") and len(c) > 5 for c in reader.card.commands[sent:]
    )
    assert "署名しました" in sign(client, req["id"], "ABC123", confirm_low="1")
    assert result(client, req).status_code == 200
    assert reader.card.tries_left == 5  # a right PIN resets the counter


def test_a_locked_card_ends_the_request_and_the_booth_is_told(client, reader):
    req = create(client)
    for _ in range(4):
        sign(client, req["id"], "WRONG1")
    text = sign(client, req["id"], "WRONG1", confirm_low="1")
    assert "ロック" in text
    got = result(client, req)
    assert got.status_code == 410 and got.get_json()["error"] == "blocked"
    again = create(client)
    page = client.get(f"/requests/{again['id']}", headers=HOST).text
    assert "ロック" in page and 'name="pin"' not in page
    assert result(client, again).get_json()["error"] == "blocked"


def test_no_card_and_another_card_are_said_plainly(client, reader):
    req = create(client)
    reader.card = None
    assert "カードが読み取れません" in sign(client, req["id"], "ABC123")
    assert result(client, req).status_code == 204  # the voter can place the card and retry
    reader.card = VirtualCard.other()
    assert "マイナンバーカード（署名用電子証明書）ではありません" in sign(
        client, req["id"], "ABC123"
    )
    assert result(client, req).status_code == 204  # the right card can still be placed
    reader.card = VirtualCard(card(0))
    assert "署名しました" in sign(client, req["id"], "ABC123")


def test_a_malformed_pin_is_never_sent(client, reader):
    req = create(client)
    assert "6〜16文字" in sign(client, req["id"], "abc")
    assert reader.card.tries_left == 5


def test_cancelled_from_the_booth_or_the_page(client):
    req = create(client)
    token(client, req["id"])  # the voter's page is open
    url = f"/requests/{req['id']}"
    assert client.delete(url, headers=BOOTH).status_code == 401  # the secret is needed
    assert (
        client.delete(url, headers={**BOOTH, "X-Signer-Secret": req["secret"]}).status_code == 204
    )
    assert result(client, req).get_json()["error"] == "cancelled"
    assert "終わって" in sign(client, req["id"], "ABC123")

    other = create(client)
    data = {"token": token(client, other["id"])}
    text = client.post(f"/requests/{other['id']}/cancel", data=data, headers=OWN).text
    assert "やめました" in text
    assert result(client, other).get_json()["error"] == "cancelled"


def test_the_pin_form_is_taken_only_from_the_signers_own_page(client, reader):
    req = create(client)
    url = f"/requests/{req['id']}/sign"
    data = {"token": token(client, req["id"]), "pin": "ABC123"}
    for headers in (BOOTH, {**HOST, "Origin": "https://evil.example"}, HOST):
        assert client.post(url, data=data, headers=headers).status_code == 403
    assert client.post(url, data={"pin": "ABC123"}, headers=OWN).status_code == 403
    assert reader.card.signatures == 0


def test_a_request_expires(client, clock):
    req = create(client)
    clock.t += TTL + 1
    assert result(client, req).get_json()["error"] == "expired"
    assert "終わって" in client.get(f"/requests/{req['id']}", headers=HOST).text
    clock.t += TTL + 1
    assert result(client, req).status_code == 404  # forgotten at last


def test_pending_requests_are_bounded(client):
    for _ in range(20):
        create(client)
    assert client.post("/requests", json=REQUEST, headers=BOOTH).status_code == 429


def test_cancel_after_a_signature_not_yet_collected_wins(client):
    """The voter presses やめる while (or just after) the card signs: nothing is handed over."""
    req = create(client)
    assert "署名しました" in sign(client, req["id"], "ABC123")
    data = {"token": token(client, req["id"])}
    assert "やめました" in client.post(f"/requests/{req['id']}/cancel", data=data, headers=OWN).text
    assert result(client, req).get_json()["error"] == "cancelled"


def test_a_second_click_is_told_the_signature_is_done(client, reader):
    req = create(client)
    assert "署名しました" in sign(client, req["id"], "ABC123")
    assert "署名しました" in sign(client, req["id"], "ABC123")  # not "start again"
    assert reader.card.signatures == 1
    assert result(client, req).status_code == 200


def test_an_error_outside_the_card_protocol_is_a_page_not_a_500(clock):
    """pyscard missing, a driver's own exception: the voter reads a sentence."""

    def broken():
        raise RuntimeError("pyscard is not installed")

    client = create_signer(SITE, broken, PORT, clock=clock).test_client()
    req = create(client)
    page = client.get(f"/requests/{req['id']}", headers=HOST)
    assert page.status_code == 200 and 'name="pin"' in page.text
    assert "カードがエラーを返しました" in sign(client, req["id"], "ABC123")
