"""Checkpoints and cosignatures: the board's tree heads in the transparency-log ecosystem's
format, and the witnesses' statements about them (docs/protocol.md §8.4).

* A *checkpoint* (C2SP tlog-checkpoint) is a signed note whose text is three lines: the
  log's origin (the manifest's ``witnessing.origin``), the tree size in decimal, and the
  base64 root hash. The board signs it with its Ed25519 key as a plain note signature
  (C2SP signed-note, signature type 0x01), under the key name = origin.
* A *cosignature* (C2SP tlog-cosignature, type 0x04) is a witness's timestamped Ed25519
  signature over ``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint's text: "as of
  time t, the largest consistent tree I have seen of this origin has this root".
* A head is *witnessed* when the board's signature and a quorum of the manifest's
  witnesses' cosignatures verify (:func:`verify_witnessed`).

Pure: parsing, signing with a given key, verifying. No I/O, no clock (times are given).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from e2e.errors import VerificationError

#: Signature type bytes of C2SP signed-note.
ED25519 = 0x01
COSIGNATURE_V1 = 0x04
#: A note with more signature lines than this is refused (signed-note asks at least 16).
MAX_SIGNATURES = 64
#: The note's size limit, bytes: a checkpoint with 64 Ed25519 signatures is under 8 kB.
MAX_NOTE = 16_384
DASH = "\u2014"  # em dash, the signature line's first character
COSIGN_HEADER = "cosignature/v1\n"


class NoteError(VerificationError):
    """A note or checkpoint is malformed, or a signature on it does not verify."""


@dataclass(frozen=True)
class Signature:
    """One signature line of a note: key name, 4-byte key id, signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        data = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{DASH} {self.name} {data}\n"


@dataclass(frozen=True)
class Note:
    """A signed note: its text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def with_signatures(self, extra: Iterable[Signature]) -> Note:
        """The note with ``extra`` signatures added (a signature already present is not
        repeated)."""
        out = list(self.signatures)
        for s in extra:
            if s not in out:
                out.append(s)
        return Note(self.text, tuple(out))


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint's text: origin, tree size, root hash (32 bytes)."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: which witness, at what time (POSIX seconds)."""

    witness: str
    timestamp: int
    signature: Signature


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint whose board signature verified, with the witnesses whose cosignatures
    verified (each witness once)."""

    checkpoint: Checkpoint
    cosignatures: tuple[Cosignature, ...]

    @property
    def witnesses(self) -> tuple[str, ...]:
        return tuple(c.witness for c in self.cosignatures)


def check_name(name: str, what: str = "key name") -> str:
    """A key name or origin: non-empty, no spaces, no plus, no control characters; and not
    starting with ``{``, so that the board's note signatures can never be read as its JSON
    tree head signatures (which sign canonical JSON, always starting with ``{``)."""
    if (
        not isinstance(name, str)
        or not name
        or any(ch.isspace() or ch == "+" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)
        or name.startswith("{")
        or len(name.encode("utf-8")) > 255
    ):
        raise NoteError(f"{what} {name!r} is not a valid note key name", what)
    return name


def key_id(name: str, kind: int, public_key: bytes) -> bytes:
    """SHA-256(name ∥ 0x0A ∥ type ∥ public key)[:4] (C2SP signed-note)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([kind]) + public_key).digest()[:4]


def vkey(name: str, kind: int, public_key: bytes) -> str:
    """A verifier key in the signed-note text form: ``name+hexid+base64(type ∥ key)``."""
    check_name(name)
    data = base64.b64encode(bytes([kind]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, kind, public_key).hex()}+{data}"


def parse_vkey(text: str) -> tuple[str, int, bytes]:
    """(name, signature type, 32-byte public key) of a verifier key; NoteError if it is
    malformed or its id does not match."""
    # A name holds no "+", so the first two separate the parts; base64 may hold more.
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is name+id+key", "verifier key")
    name, hexid, data = parts
    check_name(name)
    try:
        raw = base64.b64decode(data, validate=True)
        kid = bytes.fromhex(hexid)
    except (binascii.Error, ValueError):
        raise NoteError("not a verifier key (bad hex or base64)", "verifier key") from None
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1) or len(kid) != 4:
        raise NoteError("not an Ed25519 verifier key", "verifier key")
    if key_id(name, raw[0], raw[1:]) != kid:
        raise NoteError("the verifier key's id does not match its key", "verifier key")
    return name, raw[0], raw[1:]


def parse_note(data: str | bytes) -> Note:
    """A signed note, strictly (C2SP signed-note): UTF-8, no control characters but
    newlines, the text ending in a newline, a blank line, then signature lines ``— name
    base64`` each ending in a newline."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE:
            raise NoteError("note too large", "note")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not UTF-8", "note") from None
    try:
        size = len(data.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, from a hostile JSON string
        raise NoteError("note is not UTF-8", "note") from None
    if size > MAX_NOTE:
        raise NoteError("note too large", "note")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in data) or "\x7f" in data:
        raise NoteError("note contains control characters", "note")
    split = data.rfind("\n\n")
    if split < 0 or not data.endswith("\n"):
        raise NoteError("note has no signatures", "note")
    text, sigs = data[: split + 1], data[split + 2 :]
    lines = sigs[:-1].split("\n") if sigs else []
    if not lines:
        raise NoteError("note has no signatures", "note")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures", "note")
    out = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError("malformed signature line", "note")
        name = check_name(parts[1])
        try:
            # Padding only where it belongs (Go's decoder, and the browser's, refuse "AAAA="):
            # the same note must read the same everywhere.
            if len(parts[2]) % 4:
                raise binascii.Error
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise NoteError("signature is not base64", "note") from None
        if len(raw) < 5:
            raise NoteError("signature too short", "note")
        out.append(Signature(name, raw[:4], raw[4:]))
    return Note(text, tuple(out))


def parse_signature_lines(data: str) -> tuple[Signature, ...]:
    """Signature lines alone (a witness's answer: ``— name base64`` lines)."""
    return parse_note("x\n\n" + data).signatures


def parse_checkpoint(text: str) -> Checkpoint:
    """A checkpoint's text: origin, size (decimal, no leading zeros), base64 root; this
    format has no extension lines (tohyo's board writes none and clients refuse them)."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise NoteError("a checkpoint is three lines", "checkpoint")
    origin, size_s, root_s = lines[:3]
    check_name(origin, "origin")
    if not size_s.isascii() or not size_s.isdigit() or (size_s != "0" and size_s[0] == "0"):
        raise NoteError("the tree size is not a decimal number", "checkpoint")
    if len(size_s) > 19:
        raise NoteError("the tree size is too large", "checkpoint")
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error:
        raise NoteError("the root is not base64", "checkpoint") from None
    if len(root) != 32 or base64.b64encode(root).decode("ascii") != root_s:
        raise NoteError("the root is not a 32-byte hash", "checkpoint")
    return Checkpoint(origin, int(size_s), root)


def _private(key: Ed25519PrivateKey) -> tuple[Ed25519PrivateKey, bytes]:
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, pub


def sign_checkpoint(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> Note:
    """The board's checkpoint: the text signed with the board's key (type 0x01) under the
    key name = origin. Ed25519 is deterministic, so signing the same head again gives the
    same note."""
    key, pub = _private(key)
    text = checkpoint.text()
    sig = key.sign(text.encode("utf-8"))
    kid = key_id(checkpoint.origin, ED25519, pub)
    return Note(text, (Signature(checkpoint.origin, kid, sig),))


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"{COSIGN_HEADER}time {timestamp}\n{text}".encode()


def cosign(text: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> Signature:
    """A witness's cosignature (type 0x04) of a checkpoint's text at ``timestamp``."""
    check_name(name, "witness name")
    if not 0 <= timestamp < 2**63:
        raise ValueError("timestamp out of range")
    key, pub = _private(key)
    sig = key.sign(cosigned_message(text, timestamp))
    return Signature(name, key_id(name, COSIGNATURE_V1, pub), timestamp.to_bytes(8, "big") + sig)


def _verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_board_signature(note: Note, origin: str, board_key: bytes) -> Checkpoint:
    """The checkpoint of ``note`` after checking the board's signature on it (the key name
    is the origin; signatures of other keys are ignored, as signed-note asks)."""
    cp = parse_checkpoint(note.text)
    where = f"checkpoint {cp.size}"
    if cp.origin != origin:
        raise NoteError(f"the checkpoint is for origin {cp.origin!r}, not {origin!r}", where)
    kid = key_id(origin, ED25519, board_key)
    mine = [s for s in note.signatures if s.name == origin and s.key_id == kid]
    if not mine:
        raise NoteError("the checkpoint is not signed by the board", where)
    if not all(_verify(board_key, s.signature, note.text.encode("utf-8")) for s in mine):
        raise NoteError("the board's signature on the checkpoint does not verify", where)
    return cp


def verify_cosignatures(note: Note, witnesses: Sequence[tuple[str, bytes]]) -> list[Cosignature]:
    """The cosignatures of known witnesses (name, 32-byte key) on ``note``, each checked;
    a known witness's signature that does not verify fails the whole note (signed-note:
    clients SHOULD reject it), lines of unknown keys are ignored. Each witness counts once."""
    out: dict[str, Cosignature] = {}
    where = "checkpoint cosignatures"
    for name, pub in witnesses:
        kid = key_id(name, COSIGNATURE_V1, pub)
        for s in note.signatures:
            if s.name != name or s.key_id != kid:
                continue
            if len(s.signature) != 72:
                raise NoteError(f"the cosignature of {name} has the wrong length", where)
            ts = int.from_bytes(s.signature[:8], "big")
            if ts >= 2**63 or not _verify(pub, s.signature[8:], cosigned_message(note.text, ts)):
                raise NoteError(f"the cosignature of {name} does not verify", where)
            out.setdefault(name, Cosignature(name, ts, s))
    return list(out.values())


def verify_witnessed(
    note: Note | str | bytes,
    origin: str,
    board_key: bytes,
    witnesses: Sequence[tuple[str, bytes]],
    quorum: int,
) -> Witnessed:
    """A witnessed checkpoint: the board's signature verifies and at least ``quorum`` of
    ``witnesses`` cosigned it. Raises NoteError naming how many cosigned."""
    if not isinstance(note, Note):
        note = parse_note(note)
    cp = verify_board_signature(note, origin, board_key)
    cos = verify_cosignatures(note, witnesses)
    if len(cos) < quorum:
        raise NoteError(
            f"cosigned by {len(cos)} of the {quorum} witnesses the manifest asks for",
            f"checkpoint {cp.size}",
        )
    return Witnessed(cp, tuple(cos))
