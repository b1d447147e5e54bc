"""The JPKI card client (signer.card) against the virtual My Number Card (sim.vcard), in
process: transmit is the virtual card's apdu(). Every path a voter can meet, and the
virtual card's own answers to what the client never sends."""

from __future__ import annotations

import pathlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from signer.card import CODES, MY_NUMBER_ATR, CardError, JpkiCard
from sim.testca import SimulatedCard
from sim.vcard import EF_SIGN_CERT, JPKI_ATR, StandIn, VirtualCard

PIN = "TSUKUBA2025"
WRONG = "WRONG1"
MESSAGE = b"tohyo ballot: H_E || confirmation code || challenge"


@pytest.fixture(scope="module")
def issued():
    return StandIn.issue()


def _card(issued, path: pathlib.Path | None = None) -> VirtualCard:
    return issued.card(PIN, path=path)


@pytest.fixture
def vcard(issued):
    return _card(issued)


def client(card) -> JpkiCard:
    return JpkiCard(card.apdu, atr=card.atr, reader="in process")


def _ins(commands):
    return [c[1] for c in commands]


def _verifies_with_data(commands):
    return [c for c in commands if c[1] == 0x20 and len(c) > 4]


def _der(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def _check(cert_der: bytes, signature: bytes, message: bytes = MESSAGE) -> None:
    key = x509.load_der_x509_certificate(cert_der).public_key()
    key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


# --- the happy path -------------------------------------------------------------------------


def test_sign_message_returns_the_certificate_and_a_signature_that_verifies(issued, vcard):
    card = client(vcard)
    cert, signature = card.sign_message(PIN, MESSAGE)
    assert cert == _der(issued.cert)
    assert len(signature) == 256
    _check(cert, signature)
    assert vcard.signatures == 1


def test_sign_message_sends_the_commands_in_the_cards_order(vcard):
    client(vcard).sign_message(PIN, MESSAGE)
    c = vcard.commands
    assert c[0] == bytes.fromhex("00A4040C0AD392F000260100000001")  # the AP
    assert c[1] == bytes.fromhex("00A4020C02001B")  # the signing PIN
    assert c[2] == bytes.fromhex("00200080")  # tries left: no data
    assert c[3] == bytes.fromhex("002000800B") + PIN.encode()
    assert c[4] == bytes.fromhex("00A4020C020001")  # the certificate, after the PIN
    assert set(_ins(c[5:-2])) == {0xB0}
    assert c[-2] == bytes.fromhex("00A4020C02001A")  # the key
    assert c[-1][:5] == bytes.fromhex("802A008033") and c[-1][-1] == 0x00  # DigestInfo, Le 00
    assert len(c[-1]) == 5 + 51 + 1


def test_the_certificate_is_read_by_the_length_in_its_header_in_chunks(issued, vcard):
    card = client(vcard)
    card.select()
    card.verify_pin(PIN)
    der = card.certificate()
    assert der == _der(issued.cert)  # the EF is padded with FF past the DER
    reads = [c for c in vcard.commands if c[1] == 0xB0]
    assert reads[0] == bytes.fromhex("00B0000004")  # the header first
    assert len(reads) == 1 + -(-(len(der) - 4) // 0xFF)
    assert all(c[4] <= 0xFF for c in reads)


def test_the_ca_certificate_is_readable_without_the_pin(issued, vcard):
    card = client(vcard)
    card.select()
    assert card.ca_certificate() == issued.ca.der
    assert not _verifies_with_data(vcard.commands)


def test_the_atr_is_information(vcard):
    assert client(vcard).atr_is_my_number_card is True
    assert JPKI_ATR == MY_NUMBER_ATR
    assert JpkiCard(vcard.apdu).atr_is_my_number_card is None
    assert JpkiCard(vcard.apdu, atr=b"\x3b\x00").atr_is_my_number_card is False


# --- the PIN --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pin", ["", "ABC12", "A" * 17, "tsukuba2025", "TSUKUBA 25", "ＴＳＵＫＵＢＡ", "TSUKUBA-1", None]
)
def test_a_pin_of_the_wrong_form_is_never_sent(vcard, pin):
    with pytest.raises(CardError) as e:
        client(vcard).sign_message(pin, MESSAGE)
    assert e.value.code == "pin_format"
    assert vcard.commands == []  # refused before the card is touched
    with pytest.raises(CardError) as e:
        client(vcard).verify_pin(pin)
    assert e.value.code == "pin_format"
    assert vcard.commands == []


def test_wrong_pins_count_down_then_the_last_try_needs_confirmation_then_it_blocks(vcard):
    card = client(vcard)
    card.select()
    assert card.tries_left() == 5
    for left in (4, 3, 2, 1):
        with pytest.raises(CardError) as e:
            card.verify_pin(WRONG)
        assert (e.value.code, e.value.tries_left) == ("wrong_pin", left)
        assert f"{left} tries left" in str(e.value)
    assert card.tries_left() == 1
    sent = len(_verifies_with_data(vcard.commands))
    for pin in (WRONG, PIN):  # even the right PIN is not sent on the last try unconfirmed
        with pytest.raises(CardError) as e:
            card.verify_pin(pin)
        assert (e.value.code, e.value.tries_left) == ("low_tries", 1)
        with pytest.raises(CardError) as e:
            card.sign_message(pin, MESSAGE)
        assert e.value.code == "low_tries"
    assert len(_verifies_with_data(vcard.commands)) == sent  # nothing was sent
    with pytest.raises(CardError) as e:
        card.verify_pin(WRONG, confirm_low=True)
    assert (e.value.code, e.value.tries_left) == ("blocked", 0)
    assert vcard.tries_left == 0
    # Blocked for good: the client no longer sends the PIN, and the card refuses it anyway.
    with pytest.raises(CardError) as e:
        card.sign_message(PIN, MESSAGE, confirm_low=True)
    assert (e.value.code, e.value.tries_left) == ("blocked", 0)
    assert card.tries_left() == 0
    assert vcard.apdu(bytes.fromhex("002000800B") + PIN.encode()) == b"\x69\x83"
    assert vcard.apdu(bytes.fromhex("00200080")) == b"\x69\x83"


def test_the_last_try_spent_with_confirmation_and_the_right_pin_signs(vcard):
    card = client(vcard)
    card.select()
    for _ in range(4):
        with pytest.raises(CardError):
            card.verify_pin(WRONG)
    cert, signature = card.sign_message(PIN, MESSAGE, confirm_low=True)
    _check(cert, signature)
    assert vcard.tries_left == 5  # a right PIN resets the counter


def test_a_right_pin_resets_the_counter_and_it_survives_power_off(vcard):
    card = client(vcard)
    card.select()
    for _ in range(2):
        with pytest.raises(CardError):
            card.verify_pin(WRONG)
    vcard.power_off()
    vcard.power_on()
    card.select()
    assert card.tries_left() == 3  # on the card, not in the session
    card.verify_pin(PIN)
    assert card.tries_left() == 5  # 90 00 once verified: the counter is full again
    vcard.reset()
    card.select()
    assert card.tries_left() == 5  # 63 C5


def test_a_blocked_card_answering_63_c0_is_blocked(vcard):
    def transmit(apdu):
        if apdu == bytes.fromhex("00200080"):
            return b"\x63\xc0"
        return vcard.apdu(apdu)

    with pytest.raises(CardError) as e:
        JpkiCard(transmit).sign_message(PIN, MESSAGE, confirm_low=True)
    assert (e.value.code, e.value.tries_left) == ("blocked", 0)
    assert not _verifies_with_data(vcard.commands)


def test_the_counter_is_saved_in_the_card_file(issued, tmp_path):
    path = tmp_path / "card.json"
    vcard = _card(issued, path)
    card = client(vcard)
    card.select()
    with pytest.raises(CardError):
        card.verify_pin(WRONG)
    again = VirtualCard.from_file(path)
    assert again.tries_left == 4
    client(again).sign_message(PIN, MESSAGE)
    assert SimulatedCard.load(path).tries_left == 5
    scratch = VirtualCard.from_file(path, persist=False)
    c = client(scratch)
    c.select()
    with pytest.raises(CardError):
        c.verify_pin(WRONG)
    assert SimulatedCard.load(path).tries_left == 5


# --- refusals of the card ------------------------------------------------------------------


def test_the_certificate_before_the_pin_is_refused(vcard):
    card = client(vcard)
    card.select()
    with pytest.raises(CardError) as e:
        card.certificate()
    assert e.value.code == "card_status" and "69 82" in str(e.value)


def test_signing_before_the_pin_is_refused(vcard):
    card = client(vcard)
    card.select()
    with pytest.raises(CardError) as e:
        card.sign(MESSAGE)
    assert e.value.code == "card_status" and "69 82" in str(e.value)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x30\x82\xff\xff" + b"\x00" * 600, "absurd length"),
        (b"\x30\x82\x00\x10" + b"\x00" * 600, "absurd length"),
        (b"\x31\x82\x04\x00" + b"\x00" * 600, "DER SEQUENCE"),
        (b"\xff" * 600, "DER SEQUENCE"),
    ],
)
def test_a_certificate_header_that_makes_no_sense_is_refused(vcard, content, words):
    vcard._files[EF_SIGN_CERT] = content
    card = client(vcard)
    card.select()
    card.verify_pin(PIN)
    with pytest.raises(CardError) as e:
        card.certificate()
    assert e.value.code == "card_status" and words in str(e.value)
    assert len([c for c in vcard.commands if c[1] == 0xB0]) == 1  # only the header was read


def test_another_card_type_is_not_jpki():
    other = VirtualCard.other()
    card = client(other)
    assert card.atr_is_my_number_card is False
    with pytest.raises(CardError) as e:
        card.sign_message(PIN, MESSAGE)
    assert e.value.code == "not_jpki" and "6A 82" in str(e.value)
    assert _ins(other.commands) == [0xA4]


@pytest.mark.parametrize("sw", [b"\x6d\x00", b"\x6e\x00", b"\x6a\x86"])
def test_a_card_that_does_not_know_the_select_is_not_jpki(sw):
    with pytest.raises(CardError) as e:
        JpkiCard(lambda apdu: sw).select()
    assert e.value.code == "not_jpki"


def _answering(vcard, ins: int, response: bytes):
    def transmit(apdu):
        if apdu[1] == ins:
            return response
        return vcard.apdu(apdu)

    return transmit


@pytest.mark.parametrize(
    ("ins", "response", "words"),
    [
        (0x2A, b"\x6f\x00", "6F 00 to COMPUTE DIGITAL SIGNATURE"),
        (0x2A, b"\x00" * 255 + b"\x90\x00", "255 bytes"),
        (0x2A, b"\x01" * 256 + b"\x90\x00", "does not verify"),
        (0xA4, b"\x65\x81", "65 81 to SELECT of the JPKI application"),
        (0x20, b"\x6a\x80", "6A 80 to VERIFY"),
        (0xB0, b"\x6b\x00", "6B 00 to READ BINARY"),
        (0x20, b"\x90", "1 bytes long"),
    ],
)
def test_an_unexpected_answer_is_card_status_with_the_status_word(vcard, ins, response, words):
    with pytest.raises(CardError) as e:
        JpkiCard(_answering(vcard, ins, response)).sign_message(PIN, MESSAGE)
    assert e.value.code == "card_status"
    assert words in str(e.value)
    assert "Traceback" not in str(e.value)


def test_a_transport_error_propagates(vcard):
    def transmit(apdu):
        if apdu[1] == 0x2A:
            raise CardError("removed", "the card went away")
        return vcard.apdu(apdu)

    with pytest.raises(CardError) as e:
        JpkiCard(transmit).sign_message(PIN, MESSAGE)
    assert e.value.code == "removed"


def test_card_error_codes_are_a_closed_set():
    assert set(CODES) == {
        "no_reader",
        "no_card",
        "removed",
        "not_jpki",
        "pin_format",
        "wrong_pin",
        "low_tries",
        "blocked",
        "card_status",
    }
    with pytest.raises(ValueError):
        CardError("oops", "no such code")
    e = CardError("wrong_pin", "wrong", tries_left=3)
    assert (e.code, e.tries_left, e.message, str(e)) == ("wrong_pin", 3, "wrong", "wrong")


# --- T=0 quirks -----------------------------------------------------------------------------


class T0Card:
    """A T=0 card's answers as a reader passes them through: data waits behind 61 xx for
    GET RESPONSE; and a READ BINARY asking more than ``max_read`` gets 6C xx."""

    def __init__(self, inner: VirtualCard, *, max_read: int | None = None, part: int = 256):
        self.inner = inner
        self.max_read = max_read
        self.part = part  # GET RESPONSE hands out at most this much at a time
        self.pending = b""
        self.commands: list[bytes] = []

    def apdu(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        if apdu[:4] == b"\x00\xc0\x00\x00":
            le = apdu[4] or 256
            if not self.pending:
                return b"\x6f\x00"
            out, self.pending = (
                self.pending[: min(le, self.part)],
                self.pending[min(le, self.part) :],
            )
            rest = len(self.pending)
            return out + (bytes([0x61, min(rest, 256) & 0xFF]) if rest else b"\x90\x00")
        if self.max_read and apdu[1] == 0xB0 and (apdu[4] or 256) > self.max_read:
            return bytes([0x6C, self.max_read])
        response = self.inner.apdu(apdu)
        data, sw = response[:-2], response[-2:]
        if data and sw == b"\x90\x00":
            self.pending = data
            return bytes([0x61, len(data) & 0xFF])
        return response


@pytest.mark.parametrize("part", [256, 100])
def test_61_xx_is_followed_by_get_response(issued, vcard, part):
    t0 = T0Card(vcard, part=part)
    cert, signature = JpkiCard(t0.apdu).sign_message(PIN, MESSAGE)
    assert cert == _der(issued.cert)
    _check(cert, signature)
    get = [c for c in t0.commands if c[1] == 0xC0]
    assert get and all(c[:4] == b"\x00\xc0\x00\x00" for c in get)
    assert bytes.fromhex("00C0000000") in get  # 61 00: 256 bytes wait (the signature)


def test_6c_xx_is_sent_again_with_that_le(issued, vcard):
    t0 = T0Card(vcard, max_read=0x80)
    cert, signature = JpkiCard(t0.apdu).sign_message(PIN, MESSAGE)
    assert cert == _der(issued.cert)
    _check(cert, signature)
    resent = [c for c in t0.commands if c[1] == 0xB0 and c[4] == 0x80]
    assert len(resent) >= 2


def test_a_card_that_keeps_answering_61_is_card_status():
    with pytest.raises(CardError) as e:
        JpkiCard(lambda apdu: b"\x61\x01" if apdu[1] == 0xC0 else b"\x61\x10").select()
    assert e.value.code == "card_status"


# --- the virtual card's own answers --------------------------------------------------------


@pytest.mark.parametrize(
    ("apdu", "sw"),
    [
        ("00CA000000", "6D00"),  # GET DATA: not offered
        ("10A4040C0AD392F000260100000001", "6E00"),  # a class it does not know
        ("80A4040C0AD392F000260100000001", "6E00"),  # SELECT with the signing class
        ("002A00800100", "6E00"),  # SIGN with class 00
        ("00A4040C0BD392F000260100000001", "6700"),  # Lc one more than the data
        ("00A4", "6700"),
        ("00A4040C05A0000000", "6700"),  # Lc 5, 4 bytes of data
        ("00A4040C05A000000003", "6A82"),  # another AID
        ("00A4020C020001", "6A82"),  # an EF before the AP
        ("00A4040005D392F00026", "6A86"),
        ("00B0000004", "6986"),  # no current EF
        ("802A0080020102", "6986"),
    ],
)
def test_the_virtual_card_refuses_malformed_and_misplaced_commands(vcard, apdu, sw):
    assert vcard.apdu(bytes.fromhex(apdu)).hex().upper() == sw


def test_the_virtual_card_inside_the_ap(vcard):
    a = vcard.apdu
    assert a(bytes.fromhex("00A4040C0AD392F000260100000001")) == b"\x90\x00"
    assert a(bytes.fromhex("00A4020C020017")) == b"\x6a\x82"  # the auth side: not simulated
    assert a(bytes.fromhex("00A4020C021234")) == b"\x6a\x82"
    assert a(bytes.fromhex("00A4020C020001")) == b"\x90\x00"
    assert a(bytes.fromhex("00B0000004")) == b"\x69\x82"  # the certificate needs the PIN
    assert a(bytes.fromhex("00A4020C02001B")) == b"\x90\x00"
    assert a(bytes.fromhex("00200080")) == b"\x63\xc5"
    assert a(bytes.fromhex("0020008100")) == b"\x6a\x86"
    assert a(bytes.fromhex("002000800B") + PIN.encode()) == b"\x90\x00"
    assert a(bytes.fromhex("00200080")) == b"\x90\x00"
    assert a(bytes.fromhex("00B0000004")) == b"\x69\x86"  # a PIN is no binary EF
    assert a(bytes.fromhex("00A4020C020001")) == b"\x90\x00"
    head = a(bytes.fromhex("00B0000004"))
    assert head[:2] == b"\x30\x82" and head[-2:] == b"\x90\x00"
    size = len(vcard._files[EF_SIGN_CERT])
    tail = a(bytes([0x00, 0xB0, (size - 3) >> 8, (size - 3) & 0xFF, 0x10]))
    assert tail == b"\xff" * 3 + b"\x62\x82"  # the end of the EF came first
    assert a(bytes([0x00, 0xB0, size >> 8, size & 0xFF, 0x10])) == b"\x6b\x00"
    assert a(bytes.fromhex("00A4020C02001A")) == b"\x90\x00"
    assert a(bytes.fromhex("802A0080") + bytes([246]) + b"\x00" * 246) == b"\x67\x00"
    assert len(a(bytes.fromhex("802A00800401020304"))) == 258
    vcard.reset()  # the session (and the verified PIN) is gone
    a(bytes.fromhex("00A4040C0AD392F000260100000001"))
    a(bytes.fromhex("00A4020C02001A"))
    assert a(bytes.fromhex("802A00800401020304")) == b"\x69\x82"


# --- the reader without pyscard ------------------------------------------------------------


def test_without_pyscard_the_reader_says_how_to_install_it(monkeypatch):
    import sys

    from signer import pcsc

    monkeypatch.setitem(sys.modules, "smartcard.scard", None)
    assert pcsc.available() is False
    for call in (pcsc.readers, lambda: pcsc.open_card().__enter__()):
        with pytest.raises(pcsc.PyscardMissing) as e:
            call()
        assert "pip install 'tohyo[card]'" in str(e.value) and "pcscd" in str(e.value)


def test_tries_left_selects_the_application_itself(vcard):
    card = client(vcard)
    assert card.tries_left() == 5
    assert vcard.commands[0][:4] == bytes.fromhex("00A4040C")
    card.tries_left()
    assert len([c for c in vcard.commands if c[:4] == bytes.fromhex("00A4040C")]) == 1
    with pytest.raises(CardError) as e:
        client(VirtualCard.other()).tries_left()
    assert e.value.code == "not_jpki"


def test_69_84_is_a_blocked_pin_too():
    """Some real cards answer a blocked signing PIN with 69 84 (reference data unusable)."""
    from signer.card import CardError, JpkiCard

    def transmit(apdu: bytes) -> bytes:
        if apdu[:2] == b"\x00\x20":
            return b"\x69\x84"
        return b"\x90\x00"

    card = JpkiCard(transmit)
    assert card.tries_left() == 0
    try:
        card.verify_pin("ABC123", confirm_low=True)
    except CardError as e:
        assert e.code == "blocked"
    else:
        raise AssertionError("a blocked PIN was accepted")
