"""The signer's time per signature against the virtual My Number Card (sim.vcard):
``python -m benchmarks.card``.

Four ways to the same card, each signing with :meth:`signer.card.JpkiCard.sign_message`
(select, counter, VERIFY, read the certificate, select the key, SIGN, check the signature):

* ``in_process``: transmit is the virtual card's ``apdu()``: our protocol code alone;
* ``pcscd``: through PC/SC (pyscard → libpcsclite → our own pcscd → vpcd → TCP → the
  card), in one connection;
* ``pcscd_open_each``: ``open_card()`` per signature (list the readers, connect
  exclusively, and reset the card on leaving);
* ``signer_page``: the whole local signer (``tohyo signer``'s app, signer/server.py) as
  the voter's PIN form reaches it: the form's POST, Flask, ``open_card()``, the card, the
  page it answers (the booth's request and the voter's page load are not timed).

The virtual card times its own work (the RSA private operation in Python, the PIN
check's PBKDF2 of the card file), which is subtracted: what remains ("ours") is the host
side, the part this project and PC/SC own. A real card's RSA-2048 takes about a second
(with its PIN check and transfers at the reader's speed): that is the floor of a real
signature, which nothing on the host side can lower; ours should be small beside it.
The card runs in this process (a thread), so its PC/SC figures include the GIL's
hand-overs between the card and the client.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from signer.card import JpkiCard
from sim.pcscd import PcscdError, PrivatePcscd
from sim.vcard import StandIn, VirtualCard

PIN = "BENCH2025"
MESSAGE = b"tohyo benchmark: H_E || confirmation code || challenge"
REAL_CARD_RSA_S = 1.0  # about, for a My Number Card's RSA-2048 signature
# The card file's PBKDF2 iterations: low, as a real card checks its PIN in milliseconds
# (`tohyo jpki testca issue` uses 200,000, which would only add card time here).
ITERATIONS = 1000


def _card() -> VirtualCard:
    return StandIn.issue().card(PIN, iterations=ITERATIONS)


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95}


def _measure(
    card: VirtualCard,
    signatures: int,
    sign: Callable[[], Any],
    prepare: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """``prepare`` runs before each timed ``sign`` (outside the time)."""
    if prepare:
        prepare()
    before = len(card.commands)
    sign()  # warm: imports, the first connection, caches
    apdus = len(card.commands) - before
    total, own = [], []
    for _ in range(signatures):
        if prepare:
            prepare()
        before = card.rsa_seconds + card.pin_seconds
        t = time.perf_counter()
        sign()
        total.append(time.perf_counter() - t)
        own.append(card.rsa_seconds + card.pin_seconds - before)
    ours = [t - c for t, c in zip(total, own, strict=True)]
    return {
        "total_s": _stats(total),
        "card_s": _stats(own),
        "ours_s": _stats(ours),
        "apdus": apdus,
    }


def _signer_page(reader: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """(prepare, sign): the booth's request and the voter's page load, then the timed
    signature through the local signer's PIN form."""
    import re

    from signer.pcsc import open_card
    from signer.server import create_signer

    site, port = "https://vote.example.jp", 47611
    client = create_signer(site, lambda: open_card(reader), port).test_client()
    host = {"Host": f"127.0.0.1:{port}"}
    body = {
        "election": {"ja": "ベンチマーク"},
        "category": {"ja": "分野"},
        "h_e": "11" * 32,
        "confirmation_code": "22" * 32,
        "challenge": "33" * 32,
        "lang": "ja",
    }
    pending: list[tuple[str, str]] = []

    def prepare() -> None:
        made = client.post("/requests", json=body, headers={**host, "Origin": site}).get_json()
        page = client.get(f"/requests/{made['id']}", headers=host).get_data(as_text=True)
        token = re.search(r'name="token" value="([^"]+)"', page)
        if token is None:
            raise RuntimeError("the signer's page has no PIN form")
        pending.append((made["id"], token.group(1)))

    def sign() -> None:
        rid, token = pending.pop()
        form = {"token": token, "pin": PIN}
        own = {**host, "Origin": f"http://127.0.0.1:{port}"}
        text = client.post(f"/requests/{rid}/sign", data=form, headers=own).get_data(as_text=True)
        if "署名しました" not in text:
            raise RuntimeError("the signer did not sign")

    return prepare, sign


def run(signatures: int = 20, *, pcsc: bool = True) -> dict[str, Any]:
    """Median and p95 per signature for each way (seconds); ``pcsc`` False: in process
    only. Raises :class:`sim.pcscd.PcscdError` if the PC/SC stack is missing."""
    card = _card()
    client = JpkiCard(card.apdu, atr=card.atr)

    def in_process() -> None:
        client.sign_message(PIN, MESSAGE)

    modes: dict[str, Any] = {"in_process": _measure(card, signatures, in_process)}
    if pcsc:
        from signer.pcsc import open_card

        with PrivatePcscd() as stack:
            stack.insert(card)
            with open_card(stack.reader(0)) as connected:

                def one_connection() -> None:
                    connected.sign_message(PIN, MESSAGE)

                modes["pcscd"] = _measure(card, signatures, one_connection)

            def open_each() -> None:
                with open_card(stack.reader(0)) as c:
                    c.sign_message(PIN, MESSAGE)

            modes["pcscd_open_each"] = _measure(card, signatures, open_each)
            prepare, sign = _signer_page(stack.reader(0))
            modes["signer_page"] = _measure(card, signatures, sign, prepare)
    rsa = card.rsa_seconds / card.signatures if card.signatures else 0.0
    return {
        "signatures": signatures,
        "modes": modes,
        "virtual_card_rsa_s": rsa,
        "real_card_rsa_s": REAL_CARD_RSA_S,
    }


def table(result: dict[str, Any]) -> str:
    ms = 1000.0
    lines = [
        f"signatures per way: {result['signatures']}; milliseconds per signature",
        f"{'way':<18}{'APDUs':>6}{'total med':>11}{'p95':>8}{'card med':>10}"
        f"{'ours med':>10}{'p95':>8}",
    ]
    for name, m in result["modes"].items():
        lines.append(
            f"{name:<18}{m['apdus']:>6}{m['total_s']['median'] * ms:>11.2f}"
            f"{m['total_s']['p95'] * ms:>8.2f}{m['card_s']['median'] * ms:>10.2f}"
            f"{m['ours_s']['median'] * ms:>10.2f}{m['ours_s']['p95'] * ms:>8.2f}"
        )
    lines.append(
        f"card = the virtual card's own work (RSA in Python: "
        f"{result['virtual_card_rsa_s'] * ms:.2f} ms, and its PIN check); ours = total - card."
    )
    lines.append(
        f"A real My Number Card needs about {result['real_card_rsa_s'] * ms:.0f} ms for its "
        "RSA-2048 alone: the floor of a real signature."
    )
    return "\n".join(lines)


def main() -> None:
    try:
        result = run()
    except PcscdError as e:
        print(f"through pcscd: not measured ({e})")
        result = run(pcsc=False)
    print(table(result))


if __name__ == "__main__":
    main()
