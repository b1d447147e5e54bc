"""The card client through the real PC/SC stack: signer.pcsc (pyscard → libpcsclite) → our
own pcscd → vsmartcard's vpcd driver → TCP → the virtual My Number Card (sim.vcard).

What only the real stack shows: how pcscd reports a card pulled mid-command, an empty
slot, a stopped service, another card type; that the PIN counter lives on the card
across pulling and re-inserting; and that a subprocess reaches the same stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from signer.card import MY_NUMBER_ATR, CardError
from signer.pcsc import open_card, readers
from sim.testca import SimulatedCard
from sim.vcard import StandIn, VirtualCard, is_sign
from tests.integration.pcsc import pcsc_fixture, pcsc_stack_fixture  # noqa: F401

PIN = "TSUKUBA2025"
WRONG = "WRONG1"
MESSAGE = b"tohyo ballot: H_E || confirmation code || challenge"


@pytest.fixture(scope="module")
def issued():
    return StandIn.issue()


@pytest.fixture
def vcard(issued):
    return issued.card(PIN)


def _verify(cert_der: bytes, signature: bytes) -> None:
    key = x509.load_der_x509_certificate(cert_der).public_key()
    key.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


def _code(reader: str | None = None, pin: str = PIN, **kw) -> CardError:
    with pytest.raises(CardError) as e, open_card(reader) as card:
        card.sign_message(pin, MESSAGE, **kw)
    return e.value


def test_the_stack_is_our_own(pcsc):
    assert pcsc.running
    assert not str(pcsc.socket).startswith("/run/")
    assert os.environ["PCSCLITE_CSOCK_NAME"] == str(pcsc.socket)
    assert readers() == pcsc.readers == ["tohyo vpcd 00 00", "tohyo vpcd 00 01"]


def test_read_the_certificate_and_sign(pcsc, issued, vcard):
    pcsc.insert(vcard)
    with open_card() as card:
        assert card.reader == pcsc.reader(0)
        assert card.atr == MY_NUMBER_ATR and card.atr_is_my_number_card
        cert, signature = card.sign_message(PIN, MESSAGE)
        assert card.ca_certificate() == issued.ca.der
    assert x509.load_der_x509_certificate(cert) == issued.cert
    _verify(cert, signature)
    assert vcard.signatures == 1
    # The connection ended with a reset: the card's session (the verified PIN) is gone.
    with open_card() as card:
        with pytest.raises(CardError) as e:
            card.sign(MESSAGE)
        assert e.value.code == "card_status" and "69 82" in str(e.value)


def test_tries_left_selects_the_application_itself(pcsc, vcard):
    pcsc.insert(vcard)
    with open_card() as card:
        assert card.tries_left() == 5


def test_wrong_pins_are_counted_down_and_the_card_locks(pcsc, vcard):
    pcsc.insert(vcard)
    for left in (4, 3, 2, 1):
        e = _code(pin=WRONG)
        assert (e.code, e.tries_left) == ("wrong_pin", left)
    sent = len([c for c in vcard.commands if c[1] == 0x20 and len(c) > 4])
    e = _code()
    assert (e.code, e.tries_left) == ("low_tries", 1)
    assert len([c for c in vcard.commands if c[1] == 0x20 and len(c) > 4]) == sent
    e = _code(pin=WRONG, confirm_low=True)
    assert (e.code, e.tries_left) == ("blocked", 0)
    e = _code(confirm_low=True)  # the right PIN, too late
    assert (e.code, e.tries_left) == ("blocked", 0)
    with open_card() as card:
        assert card.tries_left() == 0


def test_the_counter_survives_pulling_and_reinserting_the_card(pcsc, vcard):
    pcsc.insert(vcard)
    for left in (4, 3):
        assert _code(pin=WRONG).tries_left == left
    pcsc.remove()
    assert _code().code == "no_card"
    pcsc.insert(vcard)
    with open_card() as card:
        assert card.tries_left() == 3
        card.sign_message(PIN, MESSAGE)
    assert vcard.tries_left == 5


def test_the_card_pulled_mid_sign_is_removed(pcsc, vcard):
    link = pcsc.insert(vcard, drop_when=is_sign)
    e = _code()
    assert e.code == "removed", e
    assert link.dropped == 1 and vcard.signatures == 0
    pcsc.wait_card(0, present=False)
    assert _code().code == "no_card"
    pcsc.insert(vcard)  # put back: the PIN was right, so the counter is full
    with open_card() as card:
        assert card.tries_left() == 5
        _verify(*card.sign_message(PIN, MESSAGE))


def test_the_card_pulled_between_commands_is_removed(pcsc, vcard):
    pcsc.insert(vcard)
    with pytest.raises(CardError) as e, open_card() as card:
        card.select()
        pcsc.remove()
        card.sign_message(PIN, MESSAGE)
    assert e.value.code == "removed"


def test_no_card_in_the_reader(pcsc):
    e = _code()
    assert e.code == "no_card" and "any reader" in e.message
    e = _code(pcsc.reader(1))
    assert e.code == "no_card" and pcsc.reader(1) in e.message


def test_no_such_reader(pcsc, vcard):
    pcsc.insert(vcard)
    e = _code("SCM Microsystems SCR 3310")
    assert e.code == "no_reader" and "SCR 3310" in e.message


def test_another_card_type_is_not_jpki(pcsc):
    other = VirtualCard.other()
    pcsc.insert(other)
    with pytest.raises(CardError) as e, open_card() as card:
        assert card.atr == other.atr and card.atr_is_my_number_card is False
        card.sign_message(PIN, MESSAGE)
    assert e.value.code == "not_jpki"
    assert [c[1] for c in other.commands] == [0xA4]  # no PIN was sent to it


def test_a_named_reader_and_the_first_card_found(pcsc, vcard):
    pcsc.insert(VirtualCard.other(), 0)
    pcsc.insert(vcard, 1)
    assert _code().code == "not_jpki"  # the first reader with a card
    with open_card(pcsc.reader(1)) as card:
        _verify(*card.sign_message(PIN, MESSAGE))


def test_the_card_is_held_exclusively(pcsc, vcard):
    pcsc.insert(vcard)
    with open_card() as card:
        card.select()
        e = _code()
        assert e.code == "card_status" and "another program" in e.message
        card.verify_pin(PIN)  # ours is undisturbed


def test_pcscd_not_running_is_no_reader(pcsc, vcard):
    pcsc.insert(vcard)
    pcsc.stop_daemon()
    try:
        e = _code()
        assert e.code == "no_reader" and "not running" in e.message
        with pytest.raises(CardError) as e2:
            readers()
        assert e2.value.code == "no_reader"
    finally:
        pcsc.start()
    pcsc.wait_card(0, present=True)  # the card reconnects to the new pcscd by itself
    with open_card() as card:
        _verify(*card.sign_message(PIN, MESSAGE))


def test_pcscd_stopped_mid_operation_is_removed(pcsc, vcard):
    pcsc.insert(vcard)
    with pytest.raises(CardError) as e, open_card() as card:
        card.select()
        pcsc.stop_daemon()
        card.tries_left()
    assert e.value.code == "removed"


def test_a_subprocess_reaches_the_stack_through_env(pcsc, vcard):
    pcsc.insert(vcard)
    script = (
        "import json\n"
        "from signer.pcsc import open_card, readers\n"
        "with open_card() as card:\n"
        f"    cert, sig = card.sign_message({PIN!r}, {MESSAGE!r})\n"
        "print(json.dumps({'readers': readers(), 'cert': cert.hex(), 'sig': sig.hex()}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=pcsc.env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["readers"] == pcsc.readers
    _verify(bytes.fromhex(doc["cert"]), bytes.fromhex(doc["sig"]))


def test_no_stray_threads_after_removal(pcsc, vcard):
    pcsc.insert(vcard)
    pcsc.remove()
    assert not [t for t in threading.enumerate() if t.name.startswith("vpcd:")]


def test_the_vcard_command_inserts_a_card_file(pcsc, issued, tmp_path):
    path = tmp_path / "card.json"
    SimulatedCard.create(issued.key, issued.cert, PIN, path=path, iterations=1000)
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(issued.ca.pem)
    command = [sys.executable, "-m", "tohyo", "jpki", "testca", "vcard", "--card", str(path)]
    command += ["--port", str(pcsc.port), "--ca", str(ca_pem)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        pcsc.wait_card(0, present=True, timeout=30)
        assert _code(pin=WRONG).tries_left == 4
        with open_card() as card:
            _verify(*card.sign_message(PIN, MESSAGE))
            assert card.ca_certificate() == issued.ca.der
        assert _code(pin=WRONG).tries_left == 4
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C pulls the card
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "in the reader" in out and "pulled (4 tries left)" in out
    assert SimulatedCard.load(path).tries_left == 4  # kept in the card file
    pcsc.wait_card(0, present=False)


def test_missing_parts_fail_saying_make_pcsc(monkeypatch):
    from sim import pcscd
    from tests.integration.pcsc import PcscStack

    monkeypatch.setattr(pcscd, "VPCD_DRIVERS", ("/nonexistent/libifdvpcd.so",))
    with pytest.raises(pytest.fail.Exception) as e:
        PcscStack.create()
    assert "vpcd" in str(e.value) and "make pcsc" in str(e.value)
    monkeypatch.setattr(pcscd.shutil, "which", lambda name: None)
    monkeypatch.setattr(pcscd.os, "access", lambda path, mode: False)
    with pytest.raises(pytest.fail.Exception) as e:
        PcscStack.create()
    assert "pcscd is not installed" in str(e.value) and "make pcsc" in str(e.value)
    monkeypatch.setitem(sys.modules, "smartcard.scard", None)
    with pytest.raises(pytest.fail.Exception) as e:
        PcscStack.create()
    assert "pyscard is not installed" in str(e.value) and "make pcsc" in str(e.value)
