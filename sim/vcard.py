"""A virtual My Number Card: the JPKI signing application, APDU by APDU, behind a real
PC/SC stack through vsmartcard's vpcd reader driver (for tests, benchmarks and rehearsals;
never for a real vote).

:class:`VirtualCard` holds a simulated card of the stand-in CA (``sim.testca``: the same
card file, the same password rule and counter) and answers the commands a host sends to
the real card:

* the ATR ``3B E0 00 FF 81 31 FE 45 14`` (T=1), or another card's for :meth:`VirtualCard.other`;
* SELECT of the JPKI AP by DF name (``00 A4 04 0C``; any other AID: ``6A 82``), then of an
  EF in it (``00 A4 02 0C``; an unknown one or one outside the AP: ``6A 82``);
* READ BINARY (``00 B0``) of the signing certificate EF 0001, refused (``69 82``) until
  the signing PIN is verified in this session, and of its CA's EF 0002 if one is given;
  an EF holds its DER padded with FF, so a host must take the length from the DER header;
* VERIFY (``00 20 00 80``) on the signing PIN EF 001B: no data asks for the counter
  (``63 Cx``, ``90 00`` once verified), a wrong PIN counts down (``63 Cx``), a right one
  resets the counter to 5, and at 0 every VERIFY answers ``69 83`` (even the right PIN);
* COMPUTE DIGITAL SIGNATURE (``80 2A 00 80``) with the signing key EF 001A selected: the
  raw RSA operation on the PKCS#1 v1.5 block around the DigestInfo the host computed,
  only after VERIFY in this session (``69 82``);
* an unknown instruction ``6D 00``, a wrong class ``6E 00``, a wrong length ``67 00``.

The counter lives on the card, not in a session: it survives power off, reset, pulling
and re-inserting; with a card file it is saved there (as ``tohyo jpki card sign`` does).
The auth side of the card (key 0017, PIN 0018, certificates 000A/000B) is not simulated:
a card file carries only the signing key, so those EFs answer ``6A 82``.

:func:`serve_vpcd` puts a card in a vpcd slot: vpcd (a pcscd driver) listens on a TCP
port, the card connects to it, and both send 2-byte big-endian length + payload
messages. A 1-byte payload from vpcd is a control (0 power off, 1 power on, 2 reset,
4 the ATR, which the card answers); a longer one is a C-APDU, answered with the R-APDU.
The card is present while its connection is open: closing it is pulling the card.
"""

from __future__ import annotations

import pathlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sim.testca import CardLocked, SimulatedCard, TestCA, WrongPassword, new_key

JPKI_ATR = bytes.fromhex("3BE000FF8131FE4514")
#: Another card type: an ISO 14443-4 card with no historical bytes, as PC/SC readers build
#: its ATR (T=1); it has no JPKI AP.
OTHER_ATR = bytes.fromhex("3B80800101")
JPKI_AID = bytes.fromhex("D392F000260100000001")

EF_SIGN_CERT = 0x0001
EF_SIGN_CA = 0x0002
EF_SIGN_KEY = 0x001A
EF_SIGN_PIN = 0x001B
TRIES = SimulatedCard.TRIES

# Status words (ISO 7816-4).
OK = b"\x90\x00"
END_OF_FILE = b"\x62\x82"  # fewer bytes than Le: the end of the EF was reached
WRONG_LENGTH = b"\x67\x00"
NOT_ALLOWED = b"\x69\x86"  # command not allowed: no (suitable) current EF
SECURITY = b"\x69\x82"  # security status not satisfied (PIN not verified)
BLOCKED = b"\x69\x83"  # authentication method blocked
NOT_FOUND = b"\x6a\x82"
WRONG_P1P2 = b"\x6a\x86"
OFFSET_OUTSIDE = b"\x6b\x00"
UNKNOWN_INS = b"\x6d\x00"
UNKNOWN_CLA = b"\x6e\x00"

#: The class each instruction is sent with: ISO's 00, and 80 (proprietary) for signing.
_CLASS = {0xA4: 0x00, 0xB0: 0x00, 0x20: 0x00, 0x2A: 0x80}
_VPCD_OFF, _VPCD_ON, _VPCD_RESET, _VPCD_ATR = 0, 1, 2, 4


def _parse(apdu: bytes) -> tuple[bytes, int | None] | None:
    """(data, Le) of a short C-APDU, or None if its length bytes do not add up.

    Extended-length APDUs (Lc = 00 followed by two bytes) are not supported, as on the
    host side nothing here needs them; they answer ``67 00``.
    """
    body = apdu[4:]
    if not body:
        return b"", None
    if len(body) == 1:
        return b"", body[0] or 256
    lc = body[0]
    if lc == 0:
        return None
    if len(body) == 1 + lc:
        return body[1:], None
    if len(body) == 2 + lc:
        return body[1 : 1 + lc], body[-1] or 256
    return None


def _padded(der: bytes) -> bytes:
    """An EF's content: the DER, then FF up to the next 256 bytes (an EF is larger than
    the certificate it holds, so a host must read the DER's own length)."""
    return der + b"\xff" * (256 - len(der) % 256)


class VirtualCard:
    """A My Number Card's JPKI signing application in memory (``simulated`` None: a card
    of another type, with no JPKI AP). Thread-safe: vpcd's thread and a test may use it."""

    def __init__(
        self,
        simulated: SimulatedCard | None,
        *,
        atr: bytes = JPKI_ATR,
        ca_certificate: bytes | None = None,
    ) -> None:
        self.simulated = simulated
        self.atr = atr
        self._files: dict[int, bytes] = {}
        if simulated is not None:
            self._files[EF_SIGN_CERT] = _padded(simulated.certificate)
            if ca_certificate is not None:
                self._files[EF_SIGN_CA] = _padded(ca_certificate)
        self._lock = threading.RLock()
        #: Every C-APDU received, in order (a test asserts what was, and was not, sent).
        self.commands: list[bytes] = []
        #: Seconds spent in the card's own work: the RSA private operation, the PIN check
        #: (PBKDF2 of the card file); a benchmark subtracts them from the host's time.
        self.rsa_seconds = 0.0
        self.pin_seconds = 0.0
        self.signatures = 0
        self.powered = True
        self._reset_session()

    def __repr__(self) -> str:
        kind = "JPKI" if self.simulated is not None else "not JPKI"
        return f"VirtualCard({kind}, tries_left={self.tries_left})"

    @classmethod
    def from_file(
        cls,
        path: pathlib.Path,
        *,
        persist: bool = True,
        ca_certificate: bytes | None = None,
    ) -> VirtualCard:
        """The card in a card file of ``tohyo jpki testca issue``; with ``persist`` its PIN
        counter is written back to the file after every VERIFY, like a real card's."""
        simulated = SimulatedCard.load(path)
        if not persist:
            simulated.path = None
        return cls(simulated, ca_certificate=ca_certificate)

    @classmethod
    def other(cls, atr: bytes = OTHER_ATR) -> VirtualCard:
        """A card of another type: another ATR, and no JPKI AP (every SELECT: ``6A 82``)."""
        return cls(None, atr=atr)

    @property
    def tries_left(self) -> int | None:
        return None if self.simulated is None else self.simulated.tries_left

    # --- power -------------------------------------------------------------------------

    def _reset_session(self) -> None:
        # What a session holds and a reset loses: the selection and the verified PIN.
        self._in_ap = False
        self._ef: int | None = None
        self._verified = False

    def power_on(self) -> None:
        with self._lock:
            self.powered = True
            self._reset_session()

    def power_off(self) -> None:
        with self._lock:
            self.powered = False
            self._reset_session()

    def reset(self) -> None:
        with self._lock:
            self.powered = True
            self._reset_session()

    # --- commands ----------------------------------------------------------------------

    def apdu(self, command: bytes) -> bytes:
        """The R-APDU (response data + SW1 SW2) to one C-APDU."""
        with self._lock:
            self.commands.append(bytes(command))
            if len(command) < 4:
                return WRONG_LENGTH
            cla, ins, p1, p2 = command[:4]
            if cla not in (0x00, 0x80):
                return UNKNOWN_CLA
            if ins not in _CLASS:
                return UNKNOWN_INS
            if cla != _CLASS[ins]:
                return UNKNOWN_CLA
            parsed = _parse(command)
            if parsed is None:
                return WRONG_LENGTH
            data, le = parsed
            if ins == 0xA4:
                return self._select(p1, p2, data)
            if ins == 0xB0:
                return self._read_binary(p1, p2, data, le)
            if ins == 0x20:
                return self._verify(p1, p2, data, le)
            return self._sign(p1, p2, data)

    def _select(self, p1: int, p2: int, data: bytes) -> bytes:
        if not data:
            return WRONG_LENGTH
        if (p1, p2) == (0x04, 0x0C):  # by DF name: an application
            if self.simulated is None or data != JPKI_AID:
                return NOT_FOUND
            self._reset_session()
            self._in_ap = True
            return OK
        if (p1, p2) == (0x02, 0x0C):  # an EF under the current DF
            if len(data) != 2:
                return WRONG_LENGTH
            fid = int.from_bytes(data, "big")
            if not self._in_ap or fid not in (*self._files, EF_SIGN_KEY, EF_SIGN_PIN):
                return NOT_FOUND
            self._ef = fid
            return OK
        return WRONG_P1P2

    def _read_binary(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if data or le is None:
            return WRONG_LENGTH
        if p1 & 0x80:  # short EF addressing: not offered
            return WRONG_P1P2
        if self._ef not in self._files:
            return NOT_ALLOWED
        if self._ef == EF_SIGN_CERT and not self._verified:
            return SECURITY
        content = self._files[self._ef]
        offset = (p1 << 8) | p2
        if offset >= len(content):
            return OFFSET_OUTSIDE
        chunk = content[offset : offset + le]
        return chunk + (OK if len(chunk) == le else END_OF_FILE)

    def _verify(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if (p1, p2) != (0x00, 0x80):
            return WRONG_P1P2
        if le is not None:
            return WRONG_LENGTH
        if self._ef != EF_SIGN_PIN or self.simulated is None:
            return NOT_ALLOWED
        card = self.simulated
        if card.locked:
            return BLOCKED
        if not data:
            return OK if self._verified else bytes([0x63, 0xC0 | card.tries_left])
        self._verified = False
        started = time.perf_counter()
        try:
            # The same password rule and counter as every simulated card (sim.testca), so
            # this card and the booth's card files lock alike; it saves the counter.
            card._check_password(data.decode("latin-1"))
        except WrongPassword as e:
            return bytes([0x63, 0xC0 | e.tries_left])
        except CardLocked:
            return b"\x63\xc0"  # the 5th wrong PIN; 69 83 from now on
        finally:
            self.pin_seconds += time.perf_counter() - started
        self._verified = True
        return OK

    def _sign(self, p1: int, p2: int, data: bytes) -> bytes:
        if (p1, p2) != (0x00, 0x80):
            return WRONG_P1P2
        if self._ef != EF_SIGN_KEY or self.simulated is None:
            return NOT_ALLOWED
        if not self._verified:
            return SECURITY
        started = time.perf_counter()
        signature = _raw_sign(self.simulated, data)
        self.rsa_seconds += time.perf_counter() - started
        if signature is None:
            return WRONG_LENGTH
        self.signatures += 1
        return signature + OK


def _raw_sign(card: SimulatedCard, digest_info: bytes) -> bytes | None:
    """RSA on the PKCS#1 v1.5 type 1 block around ``digest_info``, as the card does: it
    neither hashes nor parses what the host sent. None if it does not fit the key."""
    numbers = card._key.private_numbers()  # the card file's key (sim.testca)
    k = (numbers.public_numbers.n.bit_length() + 7) // 8
    if not digest_info or len(digest_info) > k - 11:
        return None
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    m = int.from_bytes(block, "big")
    s1 = pow(m, numbers.dmp1, numbers.p)
    s2 = pow(m, numbers.dmq1, numbers.q)
    s = s2 + (numbers.iqmp * (s1 - s2) % numbers.p) * numbers.q
    return s.to_bytes(k, "big")


# --- vpcd ---------------------------------------------------------------------------------


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        if _QUICKACK is not None:
            # vpcd writes a message's length and its payload in two sends, with Nagle on:
            # the payload waits for our ACK of the length, which Linux delays by 40 ms.
            # QUICKACK (reset by the kernel after use, so set before every read) ACKs now.
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        part = sock.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def is_sign(apdu: bytes) -> bool:
    """A COMPUTE DIGITAL SIGNATURE command (for ``drop_when``: pull the card mid-sign)."""
    return len(apdu) >= 2 and apdu[1] == 0x2A


class VpcdLink:
    """A virtual card in one vpcd slot, served by a daemon thread.

    While inserted, the thread keeps a connection to vpcd open (retrying while vpcd is not
    listening, and reconnecting if vpcd drops it, e.g. pcscd restarted). ``remove()``
    closes it: the card is pulled. ``drop_when(apdu)`` returning True for a C-APDU pulls
    the card instead of answering it (the card stays out until ``insert()``).
    """

    def __init__(
        self,
        card: VirtualCard,
        host: str,
        port: int,
        *,
        drop_when: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.drop_when = drop_when
        self.dropped = 0  # connections dropped by drop_when
        self._want = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._sock: socket.socket | None = None
        self.connected = threading.Event()
        #: When the card last left the slot (time.monotonic()); None: never inserted yet.
        self.out_since: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"vpcd:{port}", daemon=True)

    def __repr__(self) -> str:
        state = "in" if self.connected.is_set() else "out"
        return f"VpcdLink({self.host}:{self.port}, {state}, {self.card!r})"

    def start(self, inserted: bool = True) -> VpcdLink:
        if inserted:
            self._want.set()
        self._thread.start()
        return self

    def insert(self) -> None:
        with self._wake:
            self._want.set()
            self._wake.notify_all()

    def remove(self) -> None:
        """Pull the card: close the connection (vpcd sees it gone at its next poll)."""
        with self._wake:
            self._want.clear()
            self._close_socket()
            self._wake.notify_all()

    def close(self) -> None:
        """Pull the card and end the thread."""
        self._stop.set()
        self.remove()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self.connected.wait(timeout)

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                if not self._want.is_set():
                    self._wake.wait(timeout=0.5)
                    continue
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2)
            except OSError:  # vpcd not listening (yet): pcscd is starting or stopped
                self._stop.wait(0.05)
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._wake:
                if not self._want.is_set():  # removed while connecting
                    sock.close()
                    continue
                self._sock = sock
            self.connected.set()
            try:
                self._serve(sock)
            except OSError:
                pass
            finally:
                self.out_since = time.monotonic()
                self.connected.clear()
                with self._wake:
                    if self._sock is sock:
                        self._close_socket()
                self.card.power_off()  # a pulled card loses power, and its session

    def _serve(self, sock: socket.socket) -> None:
        while True:
            header = _recv_exactly(sock, 2)
            if header is None:
                return
            (size,) = struct.unpack("!H", header)
            payload = _recv_exactly(sock, size) if size else b""
            if payload is None:
                return
            if size == 1:
                control = payload[0]
                if control == _VPCD_ATR:
                    self._send(sock, self.card.atr)
                elif control == _VPCD_ON:
                    self.card.power_on()
                elif control == _VPCD_OFF:
                    self.card.power_off()
                elif control == _VPCD_RESET:
                    self.card.reset()
                continue
            if not payload:
                continue
            if self.drop_when is not None and self.drop_when(payload):
                self.dropped += 1
                self._want.clear()
                return
            self._send(sock, self.card.apdu(payload))

    @staticmethod
    def _send(sock: socket.socket, payload: bytes) -> None:
        sock.sendall(struct.pack("!H", len(payload)) + payload)


def serve_vpcd(
    card: VirtualCard,
    host: str = "127.0.0.1",
    port: int = 35963,
    *,
    inserted: bool = True,
    drop_when: Callable[[bytes], bool] | None = None,
) -> VpcdLink:
    """Serve ``card`` to the vpcd slot listening on ``host:port`` (Debian's default
    reader.conf: 35963, 0x8C7B) from a daemon thread; returns the link that inserts and
    removes it. Stop it with ``link.close()``."""
    return VpcdLink(card, host, port, drop_when=drop_when).start(inserted)


@dataclass(frozen=True)
class StandIn:
    """A stand-in CA, and a resident's key and certificate it issued (RSA keys are slow to
    make: a test or benchmark makes one and puts it on as many cards as it needs)."""

    ca: TestCA
    key: object
    cert: object  # cryptography's x509.Certificate

    @classmethod
    def issue(cls) -> StandIn:
        ca = TestCA.create(not_before=datetime(2024, 1, 1, tzinfo=UTC))
        key = new_key()
        cert = ca.issue(
            name="筑波　花子",
            birth="319800217",
            sex="2",
            address="茨城県つくば市研究学園1-1-1",
            issued=datetime(2024, 6, 1, tzinfo=UTC),
            key=key,
        )
        return cls(ca, key, cert)

    def card(
        self, pin: str, *, path: pathlib.Path | None = None, iterations: int = 1000
    ) -> VirtualCard:
        """A new virtual card with this certificate and PIN (few PBKDF2 iterations: a real
        card checks its PIN in milliseconds), the CA's certificate in EF 0002."""
        simulated = SimulatedCard.create(self.key, self.cert, pin, path=path, iterations=iterations)
        return VirtualCard(simulated, ca_certificate=self.ca.der)
