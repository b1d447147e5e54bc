"""The booth and the verify page of an election with witnesses (docs/protocol.md §8.4), in
Chromium: the rehearsal's manifest names two witnesses and asks for both (quorum 2); the
test plays the witnesses, a thread that fetches the checkpoint the board offers (GET
/api/checkpoint) and posts the cosignatures of the witnesses it is told to run (POST
/api/cosignatures).

* Both cosign: the booth's receipt turns into one "confirmed by 2 witnesses", the receipt
  saved is the witnessed one, and the verify page names both.
* One cosigns: the booth waits (a short wait: ?witness_wait=) and then warns that the
  receipt is not yet confirmed; the verify page warns too, and never says ok.
* A cosignature that does not verify (the board refuses to store one, so the browser's
  answer is changed on its way in): an error in the booth and on the verify page.
* Late witnesses: the verify page warns, keeps asking the board, and turns ok once both
  have cosigned.
"""

from __future__ import annotations

import json
import pathlib
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect

from e2e import codec
from e2e.checkpoint import Note, Signature, cosign, parse_checkpoint, parse_note, verify_witnessed
from e2e.group import TEST
from e2e.manifest import Witnessing
from sim import witnesses as sim_witnesses
from tests.integration import test_browser
from tests.integration.test_browser import (
    SHOTS,
    Site,
    choose,
    encrypt,
    get_json,
    open_booth,
    serve_rehearsal,
    sign_with_file,
    wait_receipt,
)

browser = test_browser.browser  # the same Chromium fixture (module-scoped here too)
page = test_browser.page  # ... and the page that fails on any script error or CSP report
NAMES = sim_witnesses.NAMES


class Witnesses:
    """The rehearsal's two witnesses (sim.witnesses: their keys made with the rehearsal and
    named in its manifest, quorum 2), run by a thread of this test: every 0.2 s it fetches
    the offered checkpoint and posts the cosignatures of the witnesses in ``active`` that
    have not cosigned that head yet."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.active: frozenset[str] = frozenset()
        self.errors: list[str] = []
        self._done: set[tuple[int, str]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self, directory: pathlib.Path) -> None:
        for w in sim_witnesses.create(directory / "witnesses"):  # made by the rehearsal
            key = serialization.load_pem_private_key(w.key.read_bytes(), None)
            assert isinstance(key, Ed25519PrivateKey)
            self.keys[w.name] = key

    def start(self, url: str) -> None:
        self.url = url
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._round()
            except urllib.error.HTTPError as e:  # reported by the fixture, not lost
                self.errors.append(f"{e.code} {e.read()[:300]!r}")
            except Exception as e:
                self.errors.append(repr(e))

    def _round(self) -> None:
        with urllib.request.urlopen(self.url + "/api/checkpoint", timeout=10) as r:
            note = parse_note(r.read())
        size = parse_checkpoint(note.text).size
        mine = [n for n in sorted(self.active) if (size, n) not in self._done]
        if not mine:
            return
        now = int(time.time())
        sigs = [cosign(note.text, n, self.keys[n], now) for n in mine]
        post = urllib.request.Request(
            self.url + "/api/cosignatures",
            data=note.with_signatures(sigs).render().encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(post, timeout=10) as r:
            assert r.status == 201, r.status
        self._done.update((size, n) for n in mine)


@pytest.fixture(scope="module")
def witnesses() -> Witnesses:
    return Witnesses()


@pytest.fixture(scope="module")
def site(tmp_path_factory, witnesses) -> Iterator[Site]:
    with serve_rehearsal(tmp_path_factory.mktemp("witnessed"), TEST, witnesses=False) as s:
        witnesses.load(s.dir)
        witnesses.start(s.url)
        try:
            yield s
        finally:
            witnesses.stop()
    assert not witnesses.errors, witnesses.errors


def witnessing(site: Site) -> tuple[bytes, Witnessing]:
    """The board's key and the manifest's witnessing, as the site publishes them."""
    doc = get_json(site.url + "/api/election")
    w = codec.from_document(
        {"format": codec.FORMAT, "type": "Witnessing", **doc["manifest"]["witnessing"]},
        Witnessing,
    )
    return bytes.fromhex(doc["board_key"]["public_key"]), w


def vote(page: Any, site: Site, contest: int, option: int, card: str) -> str:
    choose(page, contest, option)
    code = encrypt(page)
    sign_with_file(page, site, card)
    page.wait_for_selector("#step-receipt:not(.hidden)", timeout=30_000)
    return code


def saved_receipt(page: Any) -> dict[str, Any]:
    with page.expect_download() as dl:
        page.click("#receipt-save")
    return json.loads(pathlib.Path(dl.value.path()).read_text())


# --- the tests -------------------------------------------------------------------------------


def test_both_witnesses_confirm_the_receipt(page, site, witnesses):
    witnesses.active = frozenset(NAMES)
    open_booth(page, site)
    code = vote(page, site, 0, 1, "tsukuba-1.json")
    wait_receipt(page)  # "ok" only once the receipt's head is witnessed
    text = page.inner_text("#receipt-check")
    assert "立会人" in text and "2者" in text, text
    assert all(n in text for n in NAMES), text
    assert all(n in page.inner_text("#receipt-witnesses") for n in NAMES)
    page.screenshot(path=str(SHOTS / "20-witnessed-receipt.png"), full_page=True)
    # The receipt the voter keeps is the witnessed one: anyone can check it on its own.
    saved = saved_receipt(page)
    assert saved["confirmation_code"] == code
    key, config = witnessing(site)
    assert (config.quorum, sorted(n for n, _ in config.keys())) == (2, sorted(NAMES))
    w = verify_witnessed(saved["checkpoint"], config.origin, key, config.keys(), 2)
    assert sorted(w.witnesses) == sorted(NAMES)
    assert w.checkpoint.size == saved["tree_head"]["size"] > saved["entry"]
    # The verify page: ok, and it names the witnesses and the quorum.
    page.click("#receipt-verify")
    page.wait_for_selector("#verify-result.ok", timeout=30_000)
    text = page.inner_text("#verify-result")
    assert "検証しました" in text and "立会人" in text and "必要な数は2者" in text, text
    assert all(n in text for n in NAMES), text
    page.screenshot(path=str(SHOTS / "21-verify-witnessed.png"), full_page=True)


def test_one_witness_of_two_is_not_enough(page, site, witnesses):
    witnesses.active = frozenset(NAMES[:1])
    # A short wait for the witnesses (the booth's default is 30 s).
    page.goto(site.url + "/booth?witness_wait=4")
    page.wait_for_selector("#live.warn", timeout=60_000)
    code = vote(page, site, 1, 0, "tsukuba-2.json")
    check = page.locator("#receipt-check")
    # Stored, checked, and waiting: not an error, and not ok either.
    expect(check).to_contain_text("待っています", timeout=30_000)
    assert "bad" not in (check.get_attribute("class") or "")
    page.wait_for_selector("#receipt-check.warn", timeout=30_000)
    text = check.inner_text()
    assert "記録されています" in text and "まだ済んでいません" in text, text
    assert "必要な2者のうち" in text and "確認コード" in text, text
    # The receipt's witnesses row says the same as the status line.
    n = re.search(r"必要な2者のうち(\d)者", text).group(1)
    assert f"（{n}者。必要な数は2者）" in page.inner_text("#receipt-witnesses")
    page.screenshot(path=str(SHOTS / "22-receipt-not-witnessed.png"), full_page=True)
    receipt = get_json(f"{site.url}/api/receipts/{code}")
    assert receipt["confirmation_code"] == code and "checkpoint" in receipt
    # The verify page warns: the board's answer is not confirmed by enough witnesses; it
    # asks the board again for a while (here 3 s), and the warning stays.
    page.goto(f"{site.url}/verify?code={code}&witness_wait=3")
    page.wait_for_selector("#verify-result.warn", timeout=30_000)
    page.wait_for_timeout(4_000)
    text = page.inner_text("#verify-result")
    assert "まだ十分な数の独立した立会人" in text and "必要な2者のうち" in text, text
    assert "warn" in (page.get_attribute("#verify-result", "class") or "")
    page.screenshot(path=str(SHOTS / "23-verify-not-witnessed.png"), full_page=True)


def _corrupting(witness: str, changed: list[str]) -> Any:
    """A Playwright route handler: the board's receipt, with ``witness``'s cosignature (if
    it has one) changed by a bit, so that it no longer verifies."""

    def handle(route: Any) -> None:
        resp = route.fetch()
        body = resp.json()
        note = parse_note(body["checkpoint"])
        sigs = []
        for s in note.signatures:
            if s.name == witness:
                bad = bytearray(s.signature)
                bad[-1] ^= 1
                s = Signature(s.name, s.key_id, bytes(bad))
                changed.append(body["confirmation_code"])
            sigs.append(s)
        body["checkpoint"] = Note(note.text, tuple(sigs)).render()
        route.fulfill(response=resp, body=json.dumps(body))

    return handle


def test_a_bad_cosignature_is_an_error(page, site, witnesses):
    witnesses.active = frozenset(NAMES)
    changed: list[str] = []
    page.route("**/api/receipts/*", _corrupting(NAMES[1], changed))
    open_booth(page, site)
    code = vote(page, site, 2, 0, "tsukuba-3.json")
    # The booth waits for a witnessed receipt; the one it gets has a forged cosignature.
    page.wait_for_selector("#receipt-check.bad", timeout=30_000)
    text = page.inner_text("#receipt-check")
    assert "検証に失敗しました" in text and NAMES[1] in text, text
    assert code in changed
    page.screenshot(path=str(SHOTS / "24-receipt-bad-cosignature.png"), full_page=True)
    page.goto(f"{site.url}/verify?code={code}")
    page.wait_for_selector("#verify-result.bad", timeout=30_000)
    text = page.inner_text("#verify-result")
    assert "検証に失敗しました" in text and f"the cosignature of {NAMES[1]}" in text, text
    # Unchanged, the same receipt verifies: it was the forged line, not the board.
    page.unroute("**/api/receipts/*")
    page.reload()
    page.wait_for_selector("#verify-result.ok", timeout=30_000)


def test_the_verify_page_turns_ok_when_the_witnesses_catch_up(page, site, witnesses):
    witnesses.active = frozenset()  # the witnesses are late
    page.goto(site.url + "/booth?witness_wait=1")
    page.wait_for_selector("#live.warn", timeout=60_000)
    code = vote(page, site, 0, 2, "tsukuba-3.json")
    page.wait_for_selector("#receipt-check.warn", timeout=30_000)
    assert "必要な2者のうち0者" in page.inner_text("#receipt-check")
    page.goto(f"{site.url}/verify?code={code}")
    page.wait_for_selector("#verify-result.warn", timeout=30_000)
    witnesses.active = frozenset(NAMES)  # they catch up; the page, still asking, says so
    page.wait_for_selector("#verify-result.ok", timeout=30_000)
    text = page.inner_text("#verify-result")
    assert "まだ" not in text and all(n in text for n in NAMES), text
