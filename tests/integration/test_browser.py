"""The booth in a real browser: Debian's Chromium driven by Playwright, over loopback.

One rehearsal election (test group, stand-in JPKI CA, simulated cards) is served by
waitress for the whole module. The tests vote as a person would, in Japanese on a
phone-sized screen, one category at a time; challenge then cast; re-vote; refused and
locked cards; the signing-app hand-off with a stand-in app; the receipt checked on the
verify page; the results after the tally; an accessibility audit of every page with
axe-core; and at the end the independent verifier passes on the record of this
browser-made election. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import base64
import contextlib
import json
import pathlib
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from bulletin.jpki.verify import digest_info
from e2e import shortcode
from e2e.group import STANDARD, TEST, Group
from e2e.manifest import Manifest
from sim import rehearsal
from sim import witnesses as sim_witnesses
from sim.demo import EXAMPLE, load_manifest
from sim.testca import SimulatedCard
from tests.integration.board_helpers import free_port, serve_in_thread
from watch.witness import HttpBoard
from web import i18n
from web.admin import hash_password
from web.app import SiteSettings, create_site

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}
SIGNER = SiteSettings.signer_url  # the booth's default local signer, not running here
ADMIN_PASSWORD = "rehearsal admin password"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Site:
    url: str
    dir: pathlib.Path
    cards: dict[str, dict[str, Any]]
    cast: dict[tuple[str, int], int | None]  # (card, contest) → option of the last cast ballot


@contextlib.contextmanager
def serve_rehearsal(
    where: pathlib.Path,
    group: Group,
    manifest: Manifest | None = None,
    witnesses: bool = True,
    **settings: Any,
) -> Iterator[Site]:
    """Prepare a rehearsal election in ``where`` and serve its site on loopback, with its
    two witnesses following the board (``witnesses=False``: a test plays them itself;
    ``settings``: more SiteSettings, e.g. the local signer's address)."""
    import waitress.server

    rehearsal.prepare(where, group, manifest or load_manifest(EXAMPLE), lambda _: None)
    board = rehearsal.open_board(where)
    cards = rehearsal.settings(where)["cards"]
    settings = SiteSettings(
        demo_cards=tuple(cards),
        card_dir=str(where / "cards"),
        submit_limit="1000 per minute",
        admin_password_hash=hash_password(ADMIN_PASSWORD, n=2**10),
        **settings,
    )
    port = free_port()
    server = waitress.server.create_server(
        create_site(board, settings), host="127.0.0.1", port=port, threads=8
    )
    serve_in_thread(server)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.ExitStack() as stack:
            if witnesses:
                # Over the site's own HTTP API, as a real witness follows the board.
                source = HttpBoard(f"http://127.0.0.1:{port}")
                wits = sim_witnesses.create(where / "witnesses")
                stack.enter_context(sim_witnesses.running(board, wits, source=source))
            yield Site(f"http://127.0.0.1:{port}", where, {c["file"]: c for c in cards}, {})
    finally:
        server.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with serve_rehearsal(tmp_path_factory.mktemp("rehearsal"), TEST) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert pathlib.Path(CHROMIUM).exists(), "Chromium missing: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP", accept_downloads=True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if _an_error(m) else None)
    yield pg
    ctx.close()
    # No script error and no CSP violation on any page the test visited.
    # (A refused submission or an unknown code is a 4xx response the page explains.)
    expected = "Failed to load resource: the server responded with a status of 4"
    assert not [e for e in errors if not e.startswith(expected)], errors


def _an_error(message: Any) -> bool:
    """A console error, but the booth's look for a local signer that is not running (no
    `tohyo signer` on this machine: the browser logs the refused connection)."""
    if message.type != "error":
        return False
    return not (message.location or {}).get("url", "").startswith(SIGNER)


# --- steps a voter takes ---------------------------------------------------------------------


def open_booth(page, site: Site, insecure: bool = True) -> None:
    page.goto(site.url + "/booth")
    # The worker's tables are built (a rehearsal in the test group is announced as insecure).
    page.wait_for_selector("#live.warn" if insecure else "#live.ok", timeout=60_000)
    assert ("リハーサル" in page.inner_text("#live")) == insecure


def choose(page, contest: int, option: int | None) -> None:
    """Choose in a category; the booth encrypts on the way to the confirm-and-sign screen."""
    page.click(f"button.category[data-contest='{contest}']")
    form = f"form[data-contest='{contest}']"
    if option is None:
        page.check(f"#opt-{contest}-blank")
    else:
        page.check(f"#opt-{contest}-{option}")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#step-confirm:not(.hidden)", timeout=30_000)


def encrypt(page) -> str:
    """The confirmation code of the ballot on the confirm screen (encrypted, not cast)."""
    page.wait_for_selector("#step-confirm:not(.hidden) #code .full-code", timeout=30_000)
    code = page.inner_text("#code .full-code")
    assert len(code) == 64
    return code


def check_encryption(page) -> None:
    """The Benaloh challenge: a secondary option, behind its explanation."""
    page.click("#check-encryption summary")
    page.click("#challenge")


def sign_with_file(page, site: Site, card: str, password: str | None = None) -> None:
    page.check("#via-file")
    page.set_input_files("#card-file", str(site.dir / "cards" / card))
    page.fill("#card-password", password or site.cards[card]["password"])
    page.click("#sign")


def wait_receipt(page) -> dict[str, str]:
    page.wait_for_selector("#step-receipt:not(.hidden)", timeout=30_000)
    page.wait_for_selector("#receipt-check.ok", timeout=30_000)
    return {
        "code": page.inner_text("#receipt-code .full-code"),
        "entry": page.inner_text("#receipt-entry"),
    }


def card_error(page) -> str:
    page.wait_for_selector("#sign-status.bad", timeout=30_000)
    return page.inner_text("#sign-status")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


# --- the tests -------------------------------------------------------------------------------


def test_full_vote_in_japanese_on_a_phone(page, site):
    open_booth(page, site)
    assert page.locator("html").get_attribute("lang") == "ja"
    page.screenshot(path=str(SHOTS / "01-booth-categories.png"), full_page=True)
    choose(page, 0, 1)
    assert "行政窓口のデジタル化" in page.inner_text("#confirm-choice")
    page.screenshot(path=str(SHOTS / "02-review.png"), full_page=True)
    code = encrypt(page)
    # Encrypted is not cast, and the page says so.
    assert "まだ" in page.inner_text("#step-confirm")
    page.screenshot(path=str(SHOTS / "03-encrypted.png"), full_page=True)
    sign_with_file(page, site, "tsukuba-1.json")
    receipt = wait_receipt(page)
    site.cast[("tsukuba-1.json", 0)] = 1
    assert receipt["code"] == code
    page.screenshot(path=str(SHOTS / "04-receipt.png"), full_page=True)
    # The receipt can be saved as a file.
    with page.expect_download() as dl:
        page.click("#receipt-save")
    saved = json.loads(pathlib.Path(dl.value.path()).read_text())
    assert saved["confirmation_code"] == code and "inclusion_proof" in saved
    # The next category, left blank.
    page.click("#another")
    choose(page, 1, None)
    assert "選ばない" in page.inner_text("#confirm-choice")
    encrypt(page)
    sign_with_file(page, site, "tsukuba-1.json")
    wait_receipt(page)
    site.cast[("tsukuba-1.json", 1)] = None
    assert "投票済み" in page.inner_text("#step-categories")


def test_challenge_then_cast(page, site):
    open_booth(page, site)
    choose(page, 2, 0)
    code = encrypt(page)
    check_encryption(page)
    page.wait_for_selector("#step-challenged:not(.hidden)", timeout=30_000)
    page.wait_for_selector("#challenged-check.ok")
    healthcare = load_manifest(EXAMPLE).contests[2]
    shown = page.inner_text("#challenged-choice")
    assert shown == f"{healthcare.title.ja}: {healthcare.options[0].label.ja}"
    page.screenshot(path=str(SHOTS / "05-challenged.png"), full_page=True)
    link = page.get_attribute("#challenged-link", "href")
    assert link == f"/verify?code={code}"
    # The challenged ballot is on the board, marked as such, and never counts.
    receipt = get_json(f"{site.url}/api/receipts/{code}")
    entry = json.loads(urllib.request.urlopen(f"{site.url}/api/entries/{receipt['entry']}").read())
    assert entry["kind"] == "challenged"
    # A second device checks it on the verify page.
    page.goto(site.url + link)
    page.wait_for_selector("#verify-result.ok", timeout=30_000)
    assert "チャレンジ" in page.inner_text("#verify-result")
    # Start again and cast.
    open_booth(page, site)
    choose(page, 2, 0)
    assert encrypt(page) != code
    sign_with_file(page, site, "tsukuba-2.json")
    wait_receipt(page)
    site.cast[("tsukuba-2.json", 2)] = 0


def test_revote_last_ballot_counts(page, site):
    open_booth(page, site)
    choose(page, 1, 0)
    encrypt(page)
    sign_with_file(page, site, "tsukuba-3.json")
    first = wait_receipt(page)
    site.cast[("tsukuba-3.json", 1)] = 0
    page.click("#another")
    choose(page, 1, 2)
    encrypt(page)
    sign_with_file(page, site, "tsukuba-3.json")
    second = wait_receipt(page)
    site.cast[("tsukuba-3.json", 1)] = 2  # the re-vote replaces the first ballot
    assert int(second["entry"]) > int(first["entry"])


def test_refused_cards_are_explained(page, site):
    open_booth(page, site)
    choose(page, 0, 0)
    encrypt(page)
    sign_with_file(page, site, "tsukubamirai.json")
    msg = card_error(page)
    assert "住所" in msg and "対象地域" in msg  # address_not_eligible, in plain Japanese
    assert "Traceback" not in msg
    # Final for this card: the next step and the city's desk, and no button to press again.
    expect(page.locator("#sign")).to_be_disabled()
    assert "対象地域に住む人だけ" in page.inner_text("#sign-next")
    assert "科学技術戦略課" in page.inner_text("#sign-next")
    # One status on the step: the refusal replaced "sending", nothing stacked above it.
    assert "送信しています" not in page.inner_text("#step-confirm")
    page.screenshot(path=str(SHOTS / "06-refused-tsukubamirai.png"), full_page=True)
    page.set_input_files("#card-file", str(site.dir / "cards" / "revoked.json"))
    expect(page.locator("#sign")).to_be_enabled()
    page.fill("#card-password", site.cards["revoked.json"]["password"])
    page.click("#sign")
    expect(page.locator("#sign-status")).to_contain_text("失効", timeout=30_000)
    assert "更新" in page.inner_text("#sign-next")


def test_the_booth_in_chinese_from_its_catalog_and_the_manifests_labels(browser, site):
    """A third language end to end in the booth: the pages' texts from the zh_Hans catalog,
    the categories, services and explanations from the manifest's zh-Hans labels, and a
    refusal from the board with its next step and the contact desk, all in Chinese."""
    zh = i18n.BY_TAG["zh-Hans"]
    m = load_manifest(EXAMPLE)
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    pg = ctx.new_page()
    pg.goto(f"{site.url}/booth?lang=zh-Hans")
    pg.wait_for_selector("#live.warn", timeout=60_000)
    assert zh.texts["site.unreviewed"] in pg.inner_text("body")
    assert m.contests[1].title.get("zh-Hans") in pg.inner_text("#step-categories")
    pg.click("button.category[data-contest='1']")
    form = pg.inner_text("[data-contest-form='1']")
    assert m.contests[1].options[0].description.get("zh-Hans") in form
    assert m.contests[1].options[0].description.ja not in form
    pg.check("#opt-1-0")
    pg.click("form[data-contest='1'] button[type=submit]")
    encrypt(pg)
    assert pg.inner_text("#confirm-choice") == m.contests[1].options[0].label.get("zh-Hans")
    sign_with_file(pg, site, "tsukubamirai.json")
    status = card_error(pg)
    assert zh.texts["refusal.address_not_eligible"] in status
    nxt = pg.inner_text("#sign-next")
    assert zh.texts["js.next.area"] in nxt
    assert m.contact.name.get("zh-Hans") in nxt
    ctx.close()


def test_card_locks_after_five_wrong_passwords(page, site):
    open_booth(page, site)
    choose(page, 0, 2)
    encrypt(page)
    sign_with_file(page, site, "tsukuba-2.json", password="WRONG99")
    assert "あと4回" in card_error(page)
    for left in (3, 2, 1):
        page.fill("#card-password", "WRONG99")
        page.click("#sign")
        expect(page.locator("#sign-status")).to_contain_text(f"あと{left}回")
    page.fill("#card-password", "WRONG99")
    page.click("#sign")
    expect(page.locator("#sign-status")).to_contain_text("ロック")
    # A final refusal: the sign button is off, and the booth says what to do and whom to ask.
    expect(page.locator("#sign")).to_be_disabled()
    expect(page.locator("#sign-next")).to_contain_text("窓口")
    expect(page.locator("#sign-next")).to_contain_text("029-883-1111")
    # "Another card" turns it on again; this card stays locked in this browser.
    page.click("#sign-other-card")
    expect(page.locator("#sign")).to_be_enabled()
    page.fill("#card-password", site.cards["tsukuba-2.json"]["password"])
    page.click("#sign")
    expect(page.locator("#sign-status")).to_contain_text("ロック")
    page.screenshot(path=str(SHOTS / "07-card-locked.png"), full_page=True)


def _stand_in_app(site: Site, url: str, pairing: str, card: SimulatedCard, password: str) -> None:
    """The native signing app: read the request, sign M with the card, send the answer
    with the pairing number the voter typed from the booth's screen. ``url`` is the link
    the booth shows (/sign/<id>, the page a person reads); the app reads the API's."""
    assert url.startswith("/sign/")
    url = "/api/sign-requests/" + url.removeprefix("/sign/")
    req = get_json(site.url + url)
    message = base64.b64decode(req["message"])
    signature = card.sign(digest_info(message), password)
    body = json.dumps(
        {
            "certificate": base64.b64encode(card.certificate).decode(),
            "signature": base64.b64encode(signature).decode(),
            "pairing": pairing,
        }
    ).encode()
    post = urllib.request.Request(
        site.url + url, data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(post, timeout=30) as r:
        assert r.status == 204


def hand_off(page, site: Site, contest: int, option: int) -> tuple[str, str]:
    """Open the booth, choose, and sign through another device: the ballot's full code and
    the link (/sign/<id>) the booth shows for the other device."""
    open_booth(page, site)
    choose(page, contest, option)
    code = encrypt(page)
    page.check("#via-app")
    page.click("#sign")
    page.wait_for_selector("#app-link:not(.hidden)", timeout=30_000)
    return code, page.get_attribute("#app-link", "href")


def test_signing_app_hand_off(page, site, tmp_path):
    shutil.copy(site.dir / "cards" / "tsukuba-1.json", tmp_path / "card.json")
    card = SimulatedCard.load(tmp_path / "card.json")
    code, url = hand_off(page, site, 2, 1)
    page.screenshot(path=str(SHOTS / "08-signing-app-qr.png"), full_page=True)
    assert url.startswith("/sign/")  # a page a person can read, not the API's JSON
    short = page.inner_text("#code .short-code")
    person = page.context.new_page()
    person.goto(site.url + url)
    assert person.inner_text("#sign-short") == short  # the code to compare with the booth's
    assert "背面" in person.inner_text("main")  # where to hold the card
    # The page on the other device follows the request at the board: not signed yet...
    state = person.locator("#sign-state")
    expect(state).to_have_text(i18n.text_in("ja", "js.handoff.waiting"))
    shown = get_json(site.url + "/api/sign-requests/" + url.removeprefix("/sign/"))
    assert shown["confirmation_code"] == code  # the app shows the voter what is signed
    assert shown["short_code"] == short
    pairing = page.inner_text("#app-pairing")
    assert len(pairing) == 6 and pairing.isdigit()
    _stand_in_app(site, url, pairing, card, site.cards["tsukuba-1.json"]["password"])
    assert wait_receipt(page)["code"] == code
    assert page.inner_text("#receipt-code .short-code") == short
    # ...and "accepted" once the board holds the ballot, not on the app's answer alone.
    expect(state).to_have_text(i18n.text_in("ja", "js.handoff.cast"), timeout=15_000)
    assert "ok" in (state.get_attribute("class") or "")
    person.close()
    site.cast[("tsukuba-1.json", 2)] = 1


def _unavailable() -> str:
    """The site's own 503 body while its database cannot answer."""
    from bulletin.refusals import Refusal

    return json.dumps(i18n.refusal_json(Refusal("unavailable")), ensure_ascii=False)


def _outage_on_polls(page, drop_after: int | None = None) -> list[str]:
    """The booth's polls for the signing app's answer, answered 503 "unavailable", or, after
    ``drop_after`` of them, with a dropped connection; the polls seen, as they come."""
    polls: list[str] = []

    def outage(route) -> None:
        polls.append(route.request.url)
        if drop_after is None or len(polls) <= drop_after:
            route.fulfill(status=503, content_type="application/json", body=_unavailable())
        else:
            route.abort()

    page.route("**/api/sign-requests/*/result", outage)
    return polls


def test_a_hand_off_outlives_a_board_briefly_unavailable(browser, site, tmp_path):
    """While the booth waits for the app, the board answers its polls 503 "unavailable" (its
    database restarting) and then not at all (the connection dropped): the booth keeps
    asking, and casts the app's answer once the board answers again. Its own page: the
    503s are console errors the page fixture would count."""
    shutil.copy(site.dir / "cards" / "tsukuba-2.json", tmp_path / "card.json")
    card = SimulatedCard.load(tmp_path / "card.json")
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = ctx.new_page()
    polls = _outage_on_polls(page, drop_after=2)
    code, url = hand_off(page, site, 0, 1)
    deadline = time.time() + 30
    while len(polls) < 4 and time.time() < deadline:
        page.wait_for_timeout(200)
    # two 503s and a dropped connection, each answered by asking again
    assert len(polls) >= 4
    assert page.locator("#app-link").is_visible()
    page.unroute("**/api/sign-requests/*/result")
    pairing = page.inner_text("#app-pairing")
    _stand_in_app(site, url, pairing, card, site.cards["tsukuba-2.json"]["password"])
    assert wait_receipt(page)["code"] == code
    site.cast[("tsukuba-2.json", 0)] = 1
    ctx.close()


def test_a_hand_off_through_an_outage_longer_than_its_ten_minutes_says_so(browser, site):
    """The board still unable to answer when the request's ten minutes are up: the booth
    says the signing app did not answer (not nothing), and withdraws the request."""
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = ctx.new_page()
    polls = _outage_on_polls(page)
    _, link = hand_off(page, site, 1, 2)
    page.clock.install()  # from now on the page's timers run on a clock the test moves
    deadline = time.time() + 30
    while len(polls) < 2 and time.time() < deadline:
        page.wait_for_timeout(200)
    page.clock.fast_forward("11:00")  # past the request's ten minutes
    page.clock.fast_forward(3000)  # the next poll, due 2 s after the last
    expect(page.locator("#sign-status")).to_contain_text(
        i18n.text_in("ja", "js.app.timeout"), timeout=15_000
    )
    # the booth withdrew the request: the app can no longer read it
    api = site.url + "/api/sign-requests/" + link.removeprefix("/sign/")
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            get_json(api)
        except urllib.error.HTTPError as e:
            assert e.code in (404, 409, 410)
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the request is still open to the app")
    ctx.close()


def test_a_hand_off_cancelled_in_the_booth_is_refused_to_the_app(page, site):
    _, link = hand_off(page, site, 1, 0)
    api = site.url + "/api/sign-requests/" + link[6:]
    assert get_json(api)["confirmation_code"]  # live while the booth waits
    person = page.context.new_page()  # the link, open on the other device
    person.goto(site.url + link)
    page.click("#sign-cancel")
    expect(person.locator("#sign-state")).to_have_text(
        i18n.text_in("ja", "js.handoff.cancelled"), timeout=15_000
    )
    person.close()
    # The app is refused before it reads the card, with what to tell the voter.
    for _ in range(50):
        try:
            get_json(api)
        except urllib.error.HTTPError as e:
            refused = json.loads(e.read())
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the request was not cancelled at the board")
    assert refused["error"] == "request_cancelled"
    assert "投票はされていません" in refused["message"]["ja"]


def test_a_link_opens_the_category_and_the_choice_stays_in_view_up_to_signing(page, site):
    """The leaflet's path: the app or a link opens the category; choose; one screen shows
    the choice, the code and the ways to sign; the challenge is a secondary, explained
    option behind it."""
    contest = load_manifest(EXAMPLE).contests[1]
    page.goto(f"{site.url}/booth?contest={contest.id}")
    page.wait_for_selector("[data-contest-form='1']:not(.hidden)", timeout=60_000)
    assert page.locator("#step-categories").is_hidden()
    assert contest.options[0].description.ja in page.inner_text("[data-contest-form='1']")
    page.check("#opt-1-2")
    page.click("form[data-contest='1'] button[type=submit]")
    code = encrypt(page)
    assert page.inner_text("#confirm-contest") == contest.title.ja
    assert page.inner_text("#confirm-choice") == contest.options[2].label.ja
    assert "まだ投票されていません" in page.inner_text("#step-confirm")
    assert page.locator("#challenge").is_hidden()  # behind "check the encryption"
    page.click("#check-encryption summary")
    assert page.locator("#challenge").is_visible()
    assert "投票には使えず" in page.inner_text("#check-encryption")
    # 選び直す: back to the choice as it was; the next ballot is a new encryption.
    page.click("#change")
    assert page.is_checked("#opt-1-2")
    page.click("form[data-contest='1'] button[type=submit]")
    assert encrypt(page) != code


def test_the_booth_resumes_after_a_reload_and_the_hand_off_still_casts(page, site, tmp_path):
    """A phone reloads the tab on the way back from the card app: the booth comes back to
    the same ballot and the same hand-off, and casts what the app signed."""
    shutil.copy(site.dir / "cards" / "tsukuba-2.json", tmp_path / "card.json")
    card = SimulatedCard.load(tmp_path / "card.json")
    code, url = hand_off(page, site, 1, 1)
    pairing = page.inner_text("#app-pairing")
    page.reload()
    page.wait_for_selector("#step-confirm:not(.hidden)", timeout=60_000)
    assert page.inner_text("#code .full-code") == code  # the same ballot, not a new one
    assert page.get_attribute("#app-link", "href") == url  # and the same request
    assert page.inner_text("#app-pairing") == pairing
    # Without its nonce (never kept) the resumed ballot can be cast but not opened.
    assert page.locator("#challenge").is_disabled()
    _stand_in_app(site, url, pairing, card, site.cards["tsukuba-2.json"]["password"])
    assert wait_receipt(page)["code"] == code
    site.cast[("tsukuba-2.json", 1)] = 1
    # Reloaded on the receipt, the receipt stays; a fresh visit to /booth starts again.
    page.reload()
    assert wait_receipt(page)["code"] == code
    open_booth(page, site)
    assert page.locator("#step-categories").is_visible()


def test_a_reload_after_the_board_stored_the_ballot_shows_the_receipt(browser, site):
    """Reloaded while the ballot was on its way: the board has it, so the booth shows the
    receipt (never "not cast yet" for a cast ballot, nor a second vote). Its own page: the
    cut-off answer is a console error the page fixture would count."""
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = ctx.new_page()
    open_booth(page, site)
    choose(page, 2, 1)
    code = encrypt(page)
    page.route("**/api/ballots", lambda route: (route.fetch(), route.abort())[1])
    sign_with_file(page, site, "tsukuba-3.json")
    page.wait_for_selector("#sign-status.bad", timeout=30_000)  # the answer never came back
    page.unroute("**/api/ballots")
    page.reload()
    assert wait_receipt(page)["code"] == code
    site.cast[("tsukuba-3.json", 2)] = 1
    ctx.close()


def test_an_unavailable_board_is_explained_and_pressing_again_casts(browser, site):
    """The board's answer while its database restarts (503 "unavailable", the site's own
    body): the voter reads that sending again is safe and to wait a moment, not that the
    card was wrong; the button stays; pressed again, the ballot is cast. Its own page: the
    503 is a console error the page fixture would count."""
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = ctx.new_page()
    open_booth(page, site)
    choose(page, 0, 2)
    code = encrypt(page)
    body = _unavailable()
    page.route(
        "**/api/ballots",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body=body, headers={"Retry-After": "5"}
        ),
    )
    sign_with_file(page, site, "tsukuba-1.json")
    msg = card_error(page)
    assert "二重に数えられることはありません" in msg
    ja = i18n.BY_TAG["ja"].texts
    assert ja["js.refused"].strip() not in msg  # it may be on the board: never "not accepted"
    assert ja["js.next.retry"] in page.inner_text("#sign-next")
    assert ja["js.next.card"] not in page.inner_text("#sign-next")
    # The board may have stored it (a commit cut off): the ballot must never be opened now.
    expect(page.locator("#challenge")).to_be_disabled()
    page.unroute("**/api/ballots")
    expect(page.locator("#sign")).to_be_enabled()
    page.fill("#card-password", site.cards["tsukuba-1.json"]["password"])
    page.click("#sign")
    assert wait_receipt(page)["code"] == code
    site.cast[("tsukuba-1.json", 0)] = 2  # replaces its first vote in this category
    ctx.close()


def vote(page, site: Site, card: str, contest: int, option: int) -> str:
    """Cast a ballot in the booth with a card file, up to its receipt (counted in
    ``site.cast`` for the results test); the ballot's full code."""
    open_booth(page, site)
    choose(page, contest, option)
    code = encrypt(page)
    sign_with_file(page, site, card)
    wait_receipt(page)
    site.cast[(card, contest)] = option
    return code


def test_the_receipt_says_what_a_resident_keeps(page, site):
    code = vote(page, site, "tsukuba-3.json", 0, 1)
    m = load_manifest(EXAMPLE)
    assert page.inner_text("#receipt-election") == m.title.ja
    assert page.inner_text("#receipt-contest") == m.contests[0].title.ja
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d JST", page.inner_text("#receipt-time"))
    assert page.inner_text("#receipt-code .short-code") == shortcode.short(bytes.fromhex(code))
    # No choice on it: the receipt can be shown to anyone.
    card = page.inner_text("#receipt-card")
    assert not any(o.label.ja in card for c in m.contests for o in c.options)
    # What is left to vote, each a button into its category.
    left = page.locator("#left-to-vote button")
    assert left.count() >= 1
    assert m.contests[0].title.ja not in page.inner_text("#left-to-vote")
    # Saved as a picture: a PNG.
    page.wait_for_selector("#receipt-image:not(.hidden)")
    with page.expect_download() as dl:
        page.click("#receipt-image")
    assert pathlib.Path(dl.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Printed: the receipt card alone.
    page.emulate_media(media="print")
    assert page.locator("#receipt-card").is_visible()
    for hidden in ("header", "#left-to-vote", ".actions >> nth=0", "#live"):
        assert page.locator(hidden).is_hidden(), hidden
    page.screenshot(path=str(SHOTS / "10-receipt-print.png"), full_page=True)
    page.emulate_media(media="screen")
    left.first.click()
    page.wait_for_selector("form[data-contest]:visible")


def test_receipt_checked_on_the_verify_page(page, site):
    code = vote(page, site, "tsukuba-2.json", 0, 0)
    page.click("#receipt-verify")
    page.wait_for_selector("#verify-result.ok", timeout=30_000)
    assert "検証しました" in page.inner_text("#verify-result")
    page.screenshot(path=str(SHOTS / "09-verify.png"), full_page=True)
    # The same code as a person types it: groups of four with spaces and hyphens, lower
    # case, full-width digits and letters from a Japanese input method.
    groups = [code[i : i + 4] for i in range(0, 64, 4)]
    typed = " ".join(groups[:8]).lower() + " - " + "－".join(groups[8:])
    typed = typed.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    page.goto(site.url + "/verify")  # a fresh page: no result yet
    page.fill("#code-input", typed)
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#verify-result.ok", timeout=30_000)
    assert code in page.url  # the address says the code as the board knows it
    # The receipt's short form, as a person reads it out: lower case, a space for the hyphen.
    short = shortcode.short(bytes.fromhex(code))
    page.goto(site.url + "/verify")
    page.fill("#code-input", short.lower().replace("-", " "))
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#verify-result.ok", timeout=30_000)
    assert "検証しました" in page.inner_text("#verify-result")
    # An unknown code is reported as such, not as an error page.
    page.fill("#code-input", "AB" * 32)
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#verify-result.bad")
    assert "ありません" in page.inner_text("#verify-result")
    assert code != "AB" * 32


def test_board_browser_shows_no_personal_data(page, site):
    page.goto(site.url + "/board")
    text = page.content()
    for card in site.cards.values():
        assert card["password"] not in text
    for name in ("筑波", "研究　太郎", "学園", "研究学園1丁目"):
        assert name not in text
    assert "投票" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "10-board.png"), full_page=True)


PC_WIDE = {"width": 1366, "height": 768}


def audit_state(pg: Any, name: str, width: int) -> None:
    """axe on the page as it stands (no serious or critical violation), nothing wider than
    the screen, and a screenshot kept (test-artifacts/browser/states/)."""
    pg.add_script_tag(path=str(AXE))
    result = pg.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    (SHOTS / "states").mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / "states" / f"{name}.png"), full_page=True)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, (name, serious)
    assert pg.evaluate("document.documentElement.scrollWidth") <= width, name


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("size", [PHONE, PC_WIDE], ids=["390", "1366"])
def test_every_booth_state_at_390_and_1366_px(browser, site, size, lang):
    """Each state of the booth, in each language, on a phone and a PC: axe, no sideways
    scrolling, a screenshot. The states: categories, a choice, a choice refused, confirm,
    the challenge's explanation, a hand-off waiting, cancelled, a refusal, challenged,
    the receipt."""
    ctx = browser.new_context(viewport=size, locale="ja-JP", bypass_csp=True)
    pg = ctx.new_page()
    w = size["width"]
    at = lambda state: audit_state(pg, f"{w}-{lang}-{state}", w)  # noqa: E731
    pg.goto(f"{site.url}/booth?lang={lang}")
    pg.wait_for_selector("#live.warn", timeout=60_000)
    at("01-categories")
    pg.click("button.category[data-contest='2']")
    at("02-choose")
    pg.click("form[data-contest='2'] button[type=submit]")
    pg.wait_for_selector("form[data-contest='2'] [data-status].bad")
    at("03-choose-nothing")
    pg.check("#opt-2-2")
    pg.click("form[data-contest='2'] button[type=submit]")
    encrypt(pg)
    at("04-confirm")
    pg.click("#check-encryption summary")
    at("05-confirm-check-explained")
    pg.check("#via-app")
    pg.click("#sign")
    pg.wait_for_selector("#app-qr:not(.hidden)", timeout=30_000)
    at("06-hand-off-waiting")
    pg.click("#sign-cancel")
    pg.wait_for_selector("#sign-status.warn")
    at("07-hand-off-cancelled")
    sign_with_file(pg, site, "tsukubamirai.json")
    pg.wait_for_selector("#sign-status.bad", timeout=30_000)
    at("08-refused")
    pg.click("#challenge")
    pg.wait_for_selector("#challenged-check.ok", timeout=30_000)
    at("09-challenged")
    pg.click("#restart")
    pg.click("form[data-contest='2'] button[type=submit]")
    encrypt(pg)
    sign_with_file(pg, site, "tsukuba-1.json")
    wait_receipt(pg)
    site.cast[("tsukuba-1.json", 2)] = 2
    at("10-receipt")
    ctx.close()


def test_zz_results_after_the_tally_and_the_record_verifies(page, site):
    # Runs last in this module (the name): the vote closes here.
    out = rehearsal.finish(site.dir, lambda _: None)
    page.goto(site.url + "/results")
    text = page.inner_text("main")
    assert "投票結果" in text and "行政窓口のデジタル化" in text
    page.screenshot(path=str(SHOTS / "11-results.png"), full_page=True)
    results = get_json(site.url + "/api/results")
    manifest = load_manifest(EXAMPLE)
    for ci, (contest, got) in enumerate(zip(manifest.contests, results["contests"], strict=True)):
        want = [0] * len(contest.options)
        ballots = 0
        for (_, c), option in site.cast.items():
            if c == ci:
                ballots += 1
                if option is not None:
                    want[option] += 1
        assert got["ballots"] == ballots, contest.id
        assert [o["votes"] for o in got["options"]] == want, contest.id
    from e2e.record import read_record
    from e2e.verify import verify_record

    report = verify_record(read_record(out))  # raises, naming the check, if anything is wrong
    assert report.results is not None
    assert [[o.votes for o in c.options] for c in report.results.contests] == [
        [o["votes"] for o in c["options"]] for c in results["contests"]
    ]


def test_a_contest_with_a_limit_of_two(browser, tmp_path):
    """Any manifest: checkboxes up to the limit, too many refused before encrypting."""
    from dataclasses import replace

    m = load_manifest(EXAMPLE)
    wide = replace(m, contests=(replace(m.contests[0], limit=2), *m.contests[1:]))
    with serve_rehearsal(tmp_path / "wide", TEST, wide) as s:
        ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
        pg = ctx.new_page()
        open_booth(pg, s)
        pg.click("button.category[data-contest='0']")
        assert pg.locator("#opt-0-blank").count() == 0  # nothing ticked is the blank vote
        for i in range(3):
            pg.check(f"#opt-0-{i}")
        pg.click("form[data-contest='0'] button[type=submit]")
        expect(pg.locator("form[data-contest='0'] [data-status]")).to_contain_text("超えて")
        pg.uncheck("#opt-0-1")
        pg.click("form[data-contest='0'] button[type=submit]")
        pg.wait_for_selector("#step-confirm:not(.hidden)", timeout=30_000)
        encrypt(pg)
        sign_with_file(pg, s, "tsukuba-1.json")
        wait_receipt(pg)
        ctx.close()
        out = rehearsal.finish(s.dir, lambda _: None)
    from e2e.record import read_record
    from e2e.verify import verify_record

    report = verify_record(read_record(out))
    assert report.results is not None
    assert [o.votes for o in report.results.contests[0].options] == [1, 0, 1]


PUBLIC_PAGES = ["/", "/booth", "/verify", "/board", "/results", "/trustees"]
ADMIN_PAGES = ["/admin/", "/admin/election/new", "/admin/ceremony", "/admin/decryption"]


def log_in_as_admin(pg: Any, site: Site) -> None:
    pg.goto(site.url + "/admin/login")
    pg.fill("#password", ADMIN_PASSWORD)
    pg.press("#password", "Enter")
    pg.wait_for_url("**/admin/**")


#: The administrator's session, kept across the page audits: a page per language and size
#: would otherwise log in more often than the login's rate limit allows.
_ADMIN_SESSION: dict[str, Any] = {}


def admin_page(browser: Any, site: Site, path: str, **context: Any) -> tuple[Any, Any]:
    """A new browser context on ``path`` (the admin pages as the logged-in administrator,
    logging in again only if the kept session has ended)."""
    admin = path.split("?")[0] in ADMIN_PAGES
    ctx = browser.new_context(
        storage_state=_ADMIN_SESSION.get("state") if admin else None, **context
    )
    pg = ctx.new_page()
    pg.goto(site.url + path)
    if admin and "/admin/login" in pg.url:
        log_in_as_admin(pg, site)
        _ADMIN_SESSION["state"] = ctx.storage_state()
        pg.goto(site.url + path)
    return ctx, pg


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("size", [PHONE, PC_WIDE], ids=["390", "1366"])
@pytest.mark.parametrize("path", ["/admin/login", *PUBLIC_PAGES, *ADMIN_PAGES])
def test_accessibility_audit(browser, site, path, size, lang):
    """Every page in every language of the catalogs, on a phone and on a PC (the admin pages
    after logging in): axe finds no serious or critical violation, nothing is wider than
    the screen, and a screenshot is kept (test-artifacts/browser/states/page-*)."""
    assert AXE.exists(), "axe-core missing: make test runs npm ci"
    ctx, pg = admin_page(
        browser, site, f"{path}?lang={lang}", viewport=size, locale="ja-JP", bypass_csp=True
    )
    assert "/login" not in pg.url or path == "/admin/login"
    pg.wait_for_load_state("networkidle")
    assert pg.evaluate("document.documentElement.lang") == lang
    name = re.sub(r"[^a-z0-9]+", "-", path.strip("/") or "home")
    audit_state(pg, f"page-{name}-{lang}-{size['width']}", size["width"])
    ctx.close()


NARROW = {"width": 320, "height": 640}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("path", ["/admin/login", *PUBLIC_PAGES, *ADMIN_PAGES])
def test_no_page_overflows_a_320_px_screen(browser, site, path, lang):
    """WCAG reflow: at 320 CSS pixels nothing needs scrolling sideways, in every language
    (the admin pages after logging in); a screenshot of each is kept."""
    ctx, pg = admin_page(browser, site, f"{path}?lang={lang}", viewport=NARROW, locale="ja-JP")
    assert "/login" not in pg.url or path == "/admin/login"
    pg.wait_for_load_state("networkidle")
    width = pg.evaluate("document.documentElement.scrollWidth")
    name = re.sub(r"[^a-z0-9]+", "-", path.strip("/") or "home")
    pg.screenshot(path=str(SHOTS / f"narrow-{name}-{lang}.png"), full_page=True)
    wide = pg.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 321)
            .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
    )
    ctx.close()
    assert width <= 320, (width, wide)


@pytest.mark.standard
def test_vote_in_the_standard_group_end_to_end(browser, tmp_path):
    """The real 4096-bit group: encrypt in the worker, challenge, cast, tally, verify."""
    with serve_rehearsal(tmp_path / "standard", STANDARD) as std:
        ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
        pg = ctx.new_page()
        open_booth(pg, std, insecure=False)
        choose(pg, 0, 0)
        encrypt(pg)
        check_encryption(pg)
        pg.wait_for_selector("#challenged-check.ok", timeout=60_000)
        open_booth(pg, std, insecure=False)
        choose(pg, 0, 2)
        code = encrypt(pg)
        sign_with_file(pg, std, "tsukuba-1.json")
        assert wait_receipt(pg)["code"] == code
        ctx.close()
        out = rehearsal.finish(std.dir, lambda _: None)
    from e2e.record import read_record
    from e2e.verify import verify_record

    report = verify_record(read_record(out))
    assert report.results is not None
    assert [o.votes for o in report.results.contests[0].options] == [0, 0, 1]
