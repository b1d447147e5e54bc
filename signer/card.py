"""The JPKI signing application of a My Number Card, command by command (no PC/SC here:
a ``transmit`` callable carries the bytes; ``signer.pcsc`` gives one over pyscard).

The card signs a DigestInfo the host computed (SHA-256 of the message, off the card)
with its RSA-2048 signing key, after the signing PIN (6–16 of A–Z and 0–9, 5 tries; the
5th wrong one blocks the key for good, until the municipality resets it). So this client
checks the PIN's form before sending it, asks the counter first, and will not spend the
last try unless the caller confirms that the voter was told.

Whether a card is a My Number Card is decided by selecting the JPKI AP, not by the ATR:
the ATR differs between card generations and between contact and contactless readers
(a contactless reader builds one from the card's answer), so it is kept only as
information (:attr:`JpkiCard.atr`, :attr:`JpkiCard.atr_is_my_number_card`).

Every failure is a :class:`CardError` whose ``code`` says what the voter can do.
"""

from __future__ import annotations

import re
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bulletin.jpki.verify import digest_info

#: The ATR of a My Number Card in a contact reader (information only, see above).
MY_NUMBER_ATR = bytes.fromhex("3BE000FF8131FE4514")
JPKI_AID = bytes.fromhex("D392F000260100000001")
EF_SIGN_CERT = b"\x00\x01"
EF_SIGN_CA = b"\x00\x02"
EF_SIGN_KEY = b"\x00\x1a"
EF_SIGN_PIN = b"\x00\x1b"
MAX_TRIES = 5
PIN_FORM = re.compile(r"[A-Z0-9]{6,16}")
SIGNATURE_BYTES = 256  # RSA-2048
#: Bounds on a certificate's length read from its EF's header: a signing certificate is
#: about 2 kB; a length outside these is a corrupt header, not something to read.
MIN_CERTIFICATE = 128
MAX_CERTIFICATE = 8192
CHUNK = 0xFF  # READ BINARY's Le: the largest short Le that no reader treats as special
_MAX_GET_RESPONSE = 64  # 61 xx chains longer than this are a card in a loop

#: code → what it means for the voter (the booth and the signer service word it).
CODES: dict[str, str] = {
    "no_reader": "no card reader is connected, or the PC/SC service is not running",
    "no_card": "there is no card in the reader (or it does not answer)",
    "removed": "the card was pulled out, or the reader went away, during the operation",
    "not_jpki": "the card is not a My Number Card (it has no JPKI application)",
    "pin_format": "the signing password is 6 to 16 capital letters (A-Z) and digits",
    "wrong_pin": "wrong signing password; tries_left tries remain",
    "low_tries": "one try remains: the password was not sent until the voter confirms",
    "blocked": "the signing password is blocked; the municipality can reset it",
    "card_status": "the card answered something unexpected (status word in the message)",
}

# Status words after which a card is taken not to have the JPKI AP: not found, wrong
# parameters, or an instruction or class the card does not know.
_NOT_JPKI = {0x6A82, 0x6A86, 0x6D00, 0x6E00}


#: A blocked PIN: 69 83 (the reference's), and 69 84 (reference data not usable), which
#: some readers of real My Number Cards report for a blocked signing PIN.
BLOCKED_SW = {0x6983, 0x6984}


class CardError(Exception):
    """A card operation failed; ``code`` is one of :data:`CODES`, ``tries_left`` is set
    for ``wrong_pin``, ``low_tries`` and ``blocked``."""

    def __init__(self, code: str, message: str, *, tries_left: int | None = None) -> None:
        if code not in CODES:
            raise ValueError(f"unknown card error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.tries_left = tries_left

    def __repr__(self) -> str:
        tries = "" if self.tries_left is None else f", tries_left={self.tries_left}"
        return f"CardError({self.code!r}, {self.message!r}{tries})"


class Transmit(Protocol):
    """Send one C-APDU, return the R-APDU (response data + SW1 SW2). A transport that
    loses the card raises :class:`CardError` (``removed``, …), which propagates."""

    def __call__(self, apdu: bytes, /) -> bytes: ...


def check_pin_form(pin: str) -> None:
    """Refuse (``pin_format``) a signing PIN the card could never accept, before it is sent
    (a malformed PIN would still cost a try)."""
    if not isinstance(pin, str) or not PIN_FORM.fullmatch(pin):
        raise CardError("pin_format", CODES["pin_format"])


def _apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    """A short C-APDU; ``le`` 1–256 (256 is written 00), None for no Le."""
    if len(data) > 255:
        raise ValueError("data longer than a short APDU carries")
    out = bytes([cla, ins, p1, p2])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        if not 1 <= le <= 256:
            raise ValueError(f"Le {le} out of range")
        out += bytes([le & 0xFF])
    return out


def _sw_text(sw: int) -> str:
    return f"{sw >> 8:02X} {sw & 0xFF:02X}"


class JpkiCard:
    """The JPKI AP of a card, over ``transmit``. ``atr`` and ``reader`` are information
    (from the transport). Methods raise :class:`CardError`."""

    def __init__(
        self, transmit: Transmit, *, atr: bytes | None = None, reader: str | None = None
    ) -> None:
        self._transmit = transmit
        self.atr = atr
        self.reader = reader
        self._selected = False

    def __repr__(self) -> str:
        atr = self.atr.hex(" ").upper() if self.atr else "?"
        return f"JpkiCard(reader={self.reader!r}, atr={atr})"

    @property
    def atr_is_my_number_card(self) -> bool | None:
        """Whether the ATR is the contact My Number Card's (None: no ATR known)."""
        return None if self.atr is None else self.atr == MY_NUMBER_ATR

    # --- transport -------------------------------------------------------------------

    def _send(self, apdu: bytes) -> tuple[bytes, int]:
        response = self._transmit(apdu)
        if len(response) < 2:
            raise CardError("card_status", f"the card's answer is {len(response)} bytes long")
        return bytes(response[:-2]), (response[-2] << 8) | response[-1]

    def command(
        self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None
    ) -> tuple[bytes, int]:
        """Send a command; return (response data, SW). T=0's two quirks are handled here:
        ``6C xx`` (wrong Le: send again with Le = xx) and ``61 xx`` (xx more bytes wait:
        GET RESPONSE), which a reader passes through from a T=0 card."""
        body, sw = self._send(_apdu(cla, ins, p1, p2, data, le))
        if sw >> 8 == 0x6C:
            body, sw = self._send(_apdu(cla, ins, p1, p2, data, (sw & 0xFF) or 256))
        for _ in range(_MAX_GET_RESPONSE):
            if sw >> 8 != 0x61:
                return body, sw
            more, sw = self._send(_apdu(0x00, 0xC0, 0x00, 0x00, le=(sw & 0xFF) or 256))
            body += more
        raise CardError("card_status", "the card keeps answering 61 xx (more data)")

    def _unexpected(self, sw: int, what: str) -> CardError:
        return CardError("card_status", f"the card answered {_sw_text(sw)} to {what}")

    # --- the application -------------------------------------------------------------

    def select(self) -> None:
        """Select the JPKI AP by its DF name; a card without it is ``not_jpki``. The other
        methods select it themselves if it is not yet (once per JpkiCard: a connection
        from :func:`signer.pcsc.open_card` is exclusive, so nobody else moves it)."""
        self._selected = False
        _, sw = self.command(0x00, 0xA4, 0x04, 0x0C, JPKI_AID)
        if sw == 0x9000:
            self._selected = True
            return
        if sw in _NOT_JPKI:
            raise CardError(
                "not_jpki",
                f"the card has no JPKI application (SELECT answered {_sw_text(sw)}): "
                "it is not a My Number Card",
            )
        raise self._unexpected(sw, "SELECT of the JPKI application")

    def _select_ef(self, fid: bytes) -> None:
        if not self._selected:
            self.select()
        _, sw = self.command(0x00, 0xA4, 0x02, 0x0C, fid)
        if sw != 0x9000:
            raise self._unexpected(sw, f"SELECT of EF {fid.hex().upper()}")

    def tries_left(self) -> int:
        """The signing PIN's remaining tries (VERIFY with no data). After a correct PIN in
        this session the card answers 90 00: the counter is then full again."""
        self._select_ef(EF_SIGN_PIN)
        _, sw = self.command(0x00, 0x20, 0x00, 0x80)
        if sw >> 4 == 0x63C:
            return sw & 0x0F
        if sw == 0x9000:
            return MAX_TRIES
        if sw in BLOCKED_SW:
            return 0
        raise self._unexpected(sw, "VERIFY (tries left)")

    def verify_pin(self, pin: str, *, confirm_low: bool = False) -> None:
        """Verify the signing PIN. Refused without sending it: a PIN of the wrong form
        (``pin_format``), a blocked PIN (``blocked``), and the last try unless
        ``confirm_low`` (``low_tries``)."""
        check_pin_form(pin)
        left = self.tries_left()
        if left == 0:
            raise CardError("blocked", CODES["blocked"], tries_left=0)
        if left < 2 and not confirm_low:
            raise CardError(
                "low_tries", f"{left} try left: confirm before sending", tries_left=left
            )
        _, sw = self.command(0x00, 0x20, 0x00, 0x80, pin.encode("ascii"))
        if sw == 0x9000:
            return
        if sw >> 4 == 0x63C:
            left = sw & 0x0F
            if left == 0:
                raise CardError("blocked", CODES["blocked"], tries_left=0)
            raise CardError(
                "wrong_pin", f"wrong signing password ({left} tries left)", tries_left=left
            )
        if sw in BLOCKED_SW:
            raise CardError("blocked", CODES["blocked"], tries_left=0)
        raise self._unexpected(sw, "VERIFY")

    def _read_binary(self, offset: int, length: int, what: str) -> bytes:
        data, sw = self.command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length)
        if sw == 0x6982:
            raise CardError(
                "card_status",
                f"the card refused to read the {what} (69 82): the signing PIN is not verified",
            )
        if sw not in (0x9000, 0x6282) or not data:  # 62 82: the end of the EF came first
            raise self._unexpected(sw, f"READ BINARY of the {what}")
        return data

    def _read_der(self, fid: bytes, what: str) -> bytes:
        """A DER certificate from an EF: its length from the header (30 82 LL LL), then
        the rest in chunks (the EF is longer than the certificate)."""
        self._select_ef(fid)
        header = self._read_binary(0, 4, what)[:4]
        if len(header) < 4 or header[:2] != b"\x30\x82":
            raise CardError(
                "card_status", f"the {what} does not start with a DER SEQUENCE ({header.hex()})"
            )
        total = int.from_bytes(header[2:4], "big") + 4
        if not MIN_CERTIFICATE <= total <= MAX_CERTIFICATE:
            raise CardError("card_status", f"the {what}'s header gives an absurd length {total}")
        der = header
        while len(der) < total:
            der += self._read_binary(len(der), min(CHUNK, total - len(der)), what)
        return der[:total]

    def certificate(self) -> bytes:
        """The signing certificate (DER, EF 0001; readable after the signing PIN)."""
        return self._read_der(EF_SIGN_CERT, "signing certificate")

    def ca_certificate(self) -> bytes:
        """The certificate of the CA that issued the signing certificate (EF 0002)."""
        return self._read_der(EF_SIGN_CA, "CA certificate")

    def sign(self, message: bytes) -> bytes:
        """The card's RSA PKCS#1 v1.5 signature of SHA-256(message) (the host hashes; the
        card signs the DigestInfo). Needs the signing PIN verified in this session."""
        self._select_ef(EF_SIGN_KEY)
        signature, sw = self.command(0x80, 0x2A, 0x00, 0x80, digest_info(message), le=256)
        if sw == 0x6982:
            raise CardError(
                "card_status", "the card refused to sign (69 82): the signing PIN is not verified"
            )
        if sw != 0x9000:
            raise self._unexpected(sw, "COMPUTE DIGITAL SIGNATURE")
        if len(signature) != SIGNATURE_BYTES:
            raise CardError(
                "card_status",
                f"the card's signature is {len(signature)} bytes, not {SIGNATURE_BYTES}",
            )
        return signature

    def sign_message(
        self, pin: str, message: bytes, *, confirm_low: bool = False
    ) -> tuple[bytes, bytes]:
        """(certificate DER, signature) of ``message``, in the order the card requires:
        select the AP, ask the counter, verify the PIN, read the certificate (readable
        only now), select the key, sign. The signature is checked against the
        certificate's key before it is returned, so a card that answers 90 00 with
        something else is caught here, in front of the voter, not later at the board."""
        check_pin_form(pin)
        self.select()
        self.verify_pin(pin, confirm_low=confirm_low)
        certificate = self.certificate()
        signature = self.sign(message)
        check_signature(certificate, message, signature)
        return certificate, signature


def check_signature(certificate: bytes, message: bytes, signature: bytes) -> None:
    """The certificate's RSA key signed ``message`` (PKCS#1 v1.5, SHA-256), or ``card_status``."""
    try:
        key = x509.load_der_x509_certificate(certificate).public_key()
    except ValueError as e:
        raise CardError("card_status", f"the card's certificate does not parse: {e}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CardError("card_status", "the card's certificate does not hold an RSA key")
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise CardError(
            "card_status", "the card's signature does not verify with its own certificate"
        ) from None
