"""The evidence store: certificates and signatures, kept apart from the public record.

The record shows only a pseudonym per voter. What proves that the pseudonym's ballots were
signed by an eligible card holder (the certificate, the signature, the challenge, the
receipt time) goes here, readable only by the election authority and its auditors, who can
export it and re-verify it offline (``tohyo audit evidence``).

:class:`DirectoryEvidenceStore` writes one JSON file per signed submission, named by its
challenge (which tells nothing about the voter), created with mode 0600 in a 0700
directory, never overwritten. Nothing here logs.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bulletin.auth import pseudonym
from bulletin.jpki.certs import parse_certificate
from bulletin.jpki.errors import JpkiRefusal
from bulletin.jpki.verify import (
    TrustConfig,
    Verdict,
    check_certificate,
    person_id,
    signed_message,
    verify_signature,
)
from e2e.board import Entry
from e2e.errors import TohyoError, VerificationError
from e2e.record import Layout

FORMAT = "tohyo-jpki-evidence/1"


class EvidenceError(TohyoError):
    """An evidence file is unreadable, or does not match what the board recorded."""


@dataclass(frozen=True)
class Evidence:
    received_at: datetime
    h_e: bytes
    confirmation_code: bytes
    challenge: bytes
    pseudonym: str
    certificate: bytes
    signature: bytes

    def __repr__(self) -> str:
        return f"Evidence(challenge={self.challenge.hex()})"

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "received_at": self.received_at.isoformat(),
            "h_e": self.h_e.hex().upper(),
            "confirmation_code": self.confirmation_code.hex().upper(),
            "challenge": self.challenge.hex(),
            "pseudonym": self.pseudonym,
            "certificate": base64.b64encode(self.certificate).decode(),
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, doc: Any) -> Evidence:
        try:
            if doc["format"] != FORMAT:
                raise ValueError(f"format {doc['format']!r}")
            at = datetime.fromisoformat(doc["received_at"])
            if at.tzinfo is None:
                raise ValueError("received_at without a time zone")
            return cls(
                received_at=at,
                h_e=bytes.fromhex(doc["h_e"]),
                confirmation_code=bytes.fromhex(doc["confirmation_code"]),
                challenge=bytes.fromhex(doc["challenge"]),
                pseudonym=str(doc["pseudonym"]),
                certificate=base64.b64decode(doc["certificate"], validate=True),
                signature=base64.b64decode(doc["signature"], validate=True),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise EvidenceError(f"not an evidence record: {type(e).__name__}: {e}") from None


class EvidenceStore(Protocol):
    def put(self, evidence: Evidence) -> None: ...

    def __iter__(self) -> Iterator[Evidence]: ...


class MemoryEvidenceStore:
    """For tests."""

    def __init__(self) -> None:
        self.records: dict[bytes, Evidence] = {}

    def put(self, evidence: Evidence) -> None:
        self.records.setdefault(evidence.challenge, evidence)

    def __iter__(self) -> Iterator[Evidence]:
        return iter(list(self.records.values()))


class DirectoryEvidenceStore:
    """One file per signed submission: ``<challenge>.json``, mode 0600, never replaced."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)

    def put(self, evidence: Evidence) -> None:
        """Write the record durably, then link it into place (never a partial file, never
        a replacement: the same challenge again is the board's retry of the same ballot)."""
        target = self.path / f"{evidence.challenge.hex()}.json"
        if target.exists():
            return
        data = json.dumps(evidence.as_json(), indent=1, sort_keys=True).encode("utf-8")
        tmp = self.path / f".{evidence.challenge.hex()}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, target)
            except FileExistsError:
                return
            dir_fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            tmp.unlink(missing_ok=True)

    def __iter__(self) -> Iterator[Evidence]:
        return _read_dir(self.path)


def _read_dir(path: pathlib.Path) -> Iterator[Evidence]:
    for p in sorted(path.glob("*.json")):
        try:
            doc = json.loads(p.read_bytes())
        except ValueError:
            raise EvidenceError(f"{p.name}: not JSON") from None
        yield Evidence.from_json(doc)


def reverify(evidence: Evidence, config: TrustConfig, key: bytes | None = None) -> Verdict:
    """Check one record offline, at its receipt time: the signature over the message it
    names, the certificate (with whatever CRLs the auditor has, e.g. later ones) and, with
    the pseudonym key, the pseudonym. Raises JpkiRefusal or EvidenceError."""
    cert = parse_certificate(evidence.certificate)
    try:
        message = signed_message(evidence.h_e, evidence.confirmation_code, evidence.challenge)
    except ValueError as e:
        raise EvidenceError(str(e)) from None
    verify_signature(cert, message, evidence.signature)
    verdict = check_certificate(cert, config, evidence.received_at)
    if key is not None and pseudonym(key, person_id(verdict.holder)) != evidence.pseudonym:
        raise EvidenceError("the pseudonym does not belong to the certificate's holder")
    return verdict


@dataclass(frozen=True)
class AuditLine:
    challenge: str
    pseudonym: str
    confirmation_code: str
    result: str  # "ok", a refusal code, or "evidence: …"


def audit(
    records: Iterable[Evidence], config: TrustConfig, key: bytes | None = None
) -> list[AuditLine]:
    """Re-verify every record; also flag a challenge used twice. No personal data out."""
    lines = []
    seen: dict[bytes, bytes] = {}
    for ev in records:
        try:
            if seen.setdefault(ev.challenge, ev.confirmation_code) != ev.confirmation_code:
                raise EvidenceError("a challenge was used for two ballots")
            reverify(ev, config, key)
            result = "ok"
        except JpkiRefusal as e:
            result = e.code
        except EvidenceError as e:
            result = f"evidence: {e}"
        lines.append(
            AuditLine(ev.challenge.hex(), ev.pseudonym, ev.confirmation_code.hex().upper(), result)
        )
    return lines


def export(records: Iterable[Evidence], out: pathlib.Path) -> int:
    """Write the records as JSON Lines to a new file with mode 0600; returns the count."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    n = 0
    with os.fdopen(fd, "wb") as f:
        for ev in records:
            f.write(json.dumps(ev.as_json(), sort_keys=True).encode("utf-8") + b"\n")
            n += 1
    return n


def read_export(path: pathlib.Path) -> Iterator[Evidence]:
    """Read an export (JSON Lines) or an evidence directory."""
    if path.is_dir():
        yield from _read_dir(path)
        return
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                doc = json.loads(line)
            except ValueError:
                raise EvidenceError(f"line {n}: not JSON") from None
            yield Evidence.from_json(doc)


def check_record(
    record: pathlib.Path, records: Iterable[Evidence], lines: Iterable[AuditLine]
) -> list[str]:
    """Every cast ballot in an election record has evidence that verified (``lines``) for
    the same election, confirmation code and pseudonym, received no later than its entry.
    Returns the problems, naming board entries only."""
    try:
        params = json.loads((record / Layout.PARAMETERS).read_bytes())
        h_e = bytes.fromhex(params["extended_base_hash"])
        lines_ = (record / Layout.BOARD_ENTRIES).read_bytes().splitlines()
        entries = [Entry(line) for line in lines_ if line.strip()]
    except (OSError, ValueError, KeyError, TypeError) as e:  # CodecError too
        raise EvidenceError(f"{record}: not an election record ({e})") from None
    ok = {line.challenge for line in lines if line.result == "ok"}
    by_code: dict[str, list[Evidence]] = {}
    for ev in records:
        if ev.challenge.hex() in ok and ev.h_e == h_e:
            by_code.setdefault(ev.confirmation_code.hex().upper(), []).append(ev)
    problems = []
    for entry in entries:
        if entry.kind != "ballot":
            continue
        try:
            code = entry.confirmation_code.upper()
            when = datetime.fromisoformat(entry.time)
        except (VerificationError, TypeError, ValueError):
            problems.append(f"entry {entry.index}: unreadable ballot entry")
            continue
        if not any(
            ev.pseudonym == entry.voter and ev.received_at <= when for ev in by_code.get(code, ())
        ):
            problems.append(f"entry {entry.index}: no verified evidence for this ballot")
    return problems
