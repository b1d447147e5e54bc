"""A vote with a card reader, end to end through the real components: the booth in Debian's
Chromium, `tohyo signer` as its own process, pyscard, our own pcscd with vsmartcard's vpcd
reader, and the virtual My Number Card (sim/vcard.py) in it.

The tests vote in each category with the card; count a wrong password down to the lock;
pull the card while it signs; ask the signer from another origin; replay the phishing of
issue 16 (an attacker's signing request, sent to a voter who already voted, signed by the
voter's card in a stand-in phone app) and see it refused; sign through the native app's
bridge (docs/jpki.md, "The native app's interface"); and at the end verify the record.
Screenshots go to test-artifacts/card/.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.group import TEST
from sim import rehearsal
from sim.pcscd import PrivatePcscd
from sim.testca import SimulatedCard
from sim.vcard import VirtualCard, is_sign
from tests.integration import test_browser
from tests.integration.board_helpers import free_port
from tests.integration.test_browser import (
    AXE,
    PHONE,
    Site,
    _stand_in_app,
    choose,
    encrypt,
    get_json,
    open_booth,
    serve_rehearsal,
    wait_receipt,
)

browser = test_browser.browser  # the same Chromium fixture (module-scoped here too)
ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "card"
PC = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def pcsc() -> Iterator[PrivatePcscd]:
    with PrivatePcscd() as stack:
        yield stack


@pytest.fixture(scope="module")
def signer_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def site(tmp_path_factory, signer_port) -> Iterator[Site]:
    where = tmp_path_factory.mktemp("card-rehearsal")
    with serve_rehearsal(where, TEST, signer_url=f"http://127.0.0.1:{signer_port}") as s:
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield s


@pytest.fixture(scope="module")
def signer(site, pcsc, signer_port) -> Iterator[subprocess.Popen]:
    """`tohyo signer` for the rehearsal's site, as a voter starts it, on the private pcscd."""
    cmd = [sys.executable, "-m", "tohyo", "signer", "--site", site.url]
    log = (SHOTS / "signer.log").open("wb")  # a file, not a pipe nobody drains
    proc = subprocess.Popen(
        [*cmd, "--port", str(signer_port)],
        env=pcsc.env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    status = urllib.request.Request(
        f"http://127.0.0.1:{signer_port}/status", headers={"Origin": site.url}
    )
    while True:
        try:
            with urllib.request.urlopen(status, timeout=2) as r:
                assert json.loads(r.read())["site"] == site.url
            break
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                out = (SHOTS / "signer.log").read_text(errors="replace")
                raise AssertionError(f"tohyo signer did not start: {out}") from None
            time.sleep(0.2)
    yield proc
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def ctx(browser) -> Iterator[Any]:
    c = browser.new_context(viewport=PC, locale="ja-JP")
    yield c
    c.close()


def card_in(site: Site, pcsc: PrivatePcscd, name: str, **kw: Any) -> VirtualCard:
    """The card file's card in the reader (its PIN counter lives in the file, as on a card)."""
    vcard = VirtualCard.from_file(site.dir / "cards" / name)
    pcsc.insert(vcard, 0, **kw)
    return vcard


def start_signing(page, ctx) -> Any:
    """Press "sign" with the card reader (the default on a PC); the signer's window opens."""
    page.wait_for_selector("#step-confirm:not(.hidden)")
    expect(page.locator("#via-reader")).to_be_checked()
    return open_signer(page, ctx)


def open_signer(page, ctx) -> Any:
    with ctx.expect_page() as opened:
        page.click("#sign")
    window = opened.value
    window.wait_for_load_state()
    return window


def pin(window, password: str, *, confirm_low: bool = False) -> str:
    window.fill("#pin", password)
    if confirm_low:
        window.check("#confirm-low")
    window.click("#sign")
    window.wait_for_selector("#status")
    return window.inner_text("#status")


def test_a_vote_in_each_category_with_the_card_reader(ctx, site, pcsc, signer):
    card_in(site, pcsc, "tsukuba-1.json")
    page = ctx.new_page()
    for contest, option in ((0, 1), (1, 2), (2, 0)):
        open_booth(page, site)
        choose(page, contest, option)
        code = encrypt(page)
        window = start_signing(page, ctx)
        # The signer shows what the booth shows, on the same screen.
        assert window.inner_text("#code").replace(" ", "") == code
        assert window.inner_text("#site") == site.url
        title = get_json(site.url + "/api/election")["manifest"]["contests"][contest]["title"]
        assert window.inner_text("#category") == title["ja"]
        if contest == 0:
            window.screenshot(path=str(SHOTS / "01-signer-window.png"), full_page=True)
        assert "署名しました" in pin(window, site.cards["tsukuba-1.json"]["password"])
        window.close()
        assert wait_receipt(page)["code"] == code
        site.cast[("tsukuba-1.json", contest)] = option
    page.screenshot(path=str(SHOTS / "02-receipt.png"), full_page=True)


def test_a_wrong_password_counts_down_and_locks_the_card(ctx, site, pcsc, signer):
    vcard = card_in(site, pcsc, "tsukuba-2.json")
    page = ctx.new_page()
    open_booth(page, site)
    choose(page, 0, 0)
    encrypt(page)
    window = start_signing(page, ctx)
    for left in (4, 3, 2, 1):
        assert f"あと{left}回" in pin(window, "WRONG99")
    # One try left: the signer will not send a password until the voter confirms.
    assert "確認の欄" in pin(window, "WRONG99")
    assert vcard.tries_left == 1
    window.screenshot(path=str(SHOTS / "03-last-try.png"), full_page=True)
    assert "ロック" in pin(window, "WRONG99", confirm_low=True)
    assert vcard.tries_left == 0
    # The booth is told at once, in plain words, and nothing was cast.
    expect(page.locator("#sign-status")).to_contain_text("ロック", timeout=15_000)
    page.screenshot(path=str(SHOTS / "04-booth-locked.png"), full_page=True)
    # Final for this card: the sign button is off until the voter says another card is in.
    expect(page.locator("#sign")).to_be_disabled()
    page.click("#sign-other-card")
    # Locked for good: the right password no longer helps, and the card says so first.
    window = open_signer(page, ctx)
    assert "ロック" in window.inner_text("#status")
    assert window.locator("#pin").count() == 0
    pcsc.remove(0)


def test_the_card_pulled_while_it_signs(ctx, site, pcsc, signer):
    card_in(site, pcsc, "tsukuba-3.json", drop_when=is_sign)
    page = ctx.new_page()
    open_booth(page, site)
    choose(page, 1, 1)
    code = encrypt(page)
    window = start_signing(page, ctx)
    password = site.cards["tsukuba-3.json"]["password"]
    assert "カードが離れました" in pin(window, password)
    pcsc.remove(0)
    card_in(site, pcsc, "tsukuba-3.json")  # placed again, and this time left alone
    assert "署名しました" in pin(window, password)
    assert wait_receipt(page)["code"] == code
    site.cast[("tsukuba-3.json", 1)] = 1


def test_another_origin_cannot_ask_the_signer(ctx, site, signer, signer_port):
    """The same booth served under another name (localhost, not 127.0.0.1) is another
    origin: the browser names it, and the signer refuses it."""
    page = ctx.new_page()
    page.goto(site.url.replace("127.0.0.1", "localhost") + "/")
    outcome = page.evaluate(
        """async (base) => {
          try {
            const r = await fetch(base + "/requests", {method: "POST",
              headers: {"Content-Type": "application/json"}, body: "{}"});
            return "answered " + r.status;
          } catch (e) { return "refused"; }
        }""",
        f"http://127.0.0.1:{signer_port}",
    )
    assert outcome == "refused"
    # Without the browser: the signer answers 403 to that origin's request itself.
    req = urllib.request.Request(
        f"http://127.0.0.1:{signer_port}/requests",
        data=b"{}",
        headers={
            "Origin": site.url.replace("127.0.0.1", "localhost"),
            "Content-Type": "application/json",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 403


def test_a_phished_hand_off_cannot_replace_a_vote(ctx, site, tmp_path):
    """Issue 16's attack: the attacker encrypts their own choice in category 1 and makes a
    signing request for another device; the victim (tsukuba-1, who voted in category 1
    with the card reader) signs it in the phone app. The board refuses it, and the
    attacker's booth says why; the victim's vote stands."""
    shutil.copy(site.dir / "cards" / "tsukuba-1.json", tmp_path / "card.json")
    victims_card = SimulatedCard.load(tmp_path / "card.json")
    before = get_json(site.url + "/api/tree-heads/latest")["size"]
    attacker = ctx.new_page()
    open_booth(attacker, site)
    choose(attacker, 1, 0)
    encrypt(attacker)
    attacker.check("#via-app")
    attacker.click("#sign")
    attacker.wait_for_selector("#app-link:not(.hidden)", timeout=30_000)
    url = attacker.get_attribute("#app-link", "href")
    pairing = attacker.inner_text("#app-pairing")
    _stand_in_app(site, url, pairing, victims_card, site.cards["tsukuba-1.json"]["password"])
    expect(attacker.locator("#sign-status")).to_contain_text("すでに投票があります", timeout=30_000)
    attacker.screenshot(path=str(SHOTS / "05-phished-refused.png"), full_page=True)
    assert get_json(site.url + "/api/tree-heads/latest")["size"] == before  # nothing appended
    assert site.cast[("tsukuba-1.json", 1)] == 2


def test_the_native_apps_bridge_signs_with_the_card(browser, site, pcsc):
    """A phone app that hosts the booth injects window.TohyoNativeSigner; here it is the
    card in the private pcscd, read through signer.card in this process."""
    from bulletin.jpki.verify import signed_message
    from signer.pcsc import open_card

    card_in(site, pcsc, "tsukuba-3.json")
    password = site.cards["tsukuba-3.json"]["password"]
    seen: list[dict] = []

    def native_sign(request_json: str) -> str:
        req = json.loads(request_json)
        seen.append(req)
        m = signed_message(
            bytes.fromhex(req["h_e"]),
            bytes.fromhex(req["confirmation_code"]),
            bytes.fromhex(req["challenge"]),
        )
        with open_card(pcsc.reader(0)) as card:
            cert, signature = card.sign_message(password, m)
        b64 = base64.b64encode
        return json.dumps({"certificate": b64(cert).decode(), "signature": b64(signature).decode()})

    c = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = c.new_page()
    page.expose_function("tohyoTestNativeSign", native_sign)
    page.add_init_script("window.TohyoNativeSigner = {sign: (r) => window.tohyoTestNativeSign(r)};")
    open_booth(page, site)
    choose(page, 2, 2)
    code = encrypt(page)
    expect(page.locator("#via-native")).to_be_checked()  # the phone's own reader comes first
    page.screenshot(path=str(SHOTS / "06-native.png"), full_page=True)
    page.click("#sign")
    assert wait_receipt(page)["code"] == code
    assert seen[0]["confirmation_code"] == code and seen[0]["site"] == site.url
    assert seen[0]["category"]["ja"] and seen[0]["lang"] == "ja"
    site.cast[("tsukuba-3.json", 2)] = 2
    c.close()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_signers_window_passes_an_accessibility_audit(browser, site, signer, signer_port, lang):
    """axe-core on the signer's own page, on a phone-sized window, in both languages."""
    assert AXE.exists(), "axe-core missing: make test runs npm ci"
    body = {
        "election": {"ja": "市民投票", "en": "Citizens' vote"},
        "category": {"ja": "行政", "en": "Administration"},
        "h_e": "11" * 32,
        "confirmation_code": "AB" * 32,
        "challenge": "CD" * 32,
        "lang": lang,
    }
    req = urllib.request.Request(
        f"http://127.0.0.1:{signer_port}/requests",
        data=json.dumps(body).encode(),
        headers={"Origin": site.url, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        url = json.loads(r.read())["url"]
    c = browser.new_context(viewport=PHONE, bypass_csp=True)
    pg = c.new_page()
    pg.goto(url)
    assert pg.locator("html").get_attribute("lang") == lang
    assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    pg.add_script_tag(path=str(AXE))
    result = pg.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    c.close()
    serious = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, serious


def test_zz_the_record_of_these_votes_verifies(site):
    from e2e.record import read_record
    from e2e.verify import verify_record

    out = rehearsal.finish(site.dir, lambda _: None)
    report = verify_record(read_record(out))
    assert report.results is not None
    for ci, contest in enumerate(report.results.contests):
        want = [0] * len(contest.options)
        for (_, c), option in site.cast.items():
            if c == ci and option is not None:
                want[option] += 1
        assert [o.votes for o in contest.options] == want
    assert os.path.exists(out)
