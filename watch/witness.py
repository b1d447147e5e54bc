"""A transparency-log witness for the board (C2SP tlog-witness, docs/protocol.md §8.4).

* :class:`WitnessState` is the witness's promise on disk: for each origin, the latest
  checkpoint it cosigned. Every update is check-and-write atomic across threads and
  processes, so a witness never cosigns two roots for one size nor goes back to a smaller
  size, even when two requests race or the witness restarts.
* :class:`Witness` has the ``add-checkpoint`` semantics of C2SP tlog-witness: the same
  checks in the same order, the same status codes (400/403/404/409/422), the new state
  persisted before the cosignature is returned. Refused checkpoints that the board did sign
  are kept as evidence: a board-signed head that does not extend the last one is proof of a
  fork.
* :class:`HttpBoard` is the board's HTTP API as a :class:`BoardSource`; :func:`step` is
  one round of the pull form of the protocol (fetch the offer, fetch the proof, check,
  cosign, post) and :func:`follow` repeats it until stopped, reporting forks loudly and
  riding out a board that is down.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import fcntl
import json
import os
import pathlib
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from e2e.checkpoint import (
    COSIGNATURE_V1,
    MAX_NOTE,
    Checkpoint,
    Note,
    NoteError,
    Signature,
    check_name,
    cosign,
    parse_checkpoint,
    parse_note,
    verify_board_signature,
    verify_cosignatures,
    vkey,
)
from e2e.errors import TohyoError
from e2e.merkle import EMPTY_ROOT, HASH_SIZE, LogProofError, verify_consistency
from watch.http import Unreachable, base_url, request

#: C2SP tlog-witness: a client MUST NOT send more than 63 consistency proof lines (a proof
#: between trees of at most 2^63 leaves is never longer).
MAX_PROOF = 63

STATE_VERSION = 1


class WitnessError(TohyoError):
    """add-checkpoint refused: ``status`` is the tlog-witness HTTP status; on a 409,
    ``size`` is the size of the latest checkpoint the witness cosigned for the origin (the
    body of tlog-witness's ``text/x.tlog.size`` answer)."""

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.size = size

    def __reduce__(self) -> tuple[type, tuple[int, str, int | None]]:
        return (type(self), (self.status, self.message, self.size))


class StateError(TohyoError):
    """The state file is unreadable or corrupt. Never read as "nothing cosigned yet": a
    witness that forgot its promise could be made to cosign a fork."""


# --- the state ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cosigned:
    """The latest checkpoint a witness cosigned for one origin: its size and root, the
    board-signed note it cosigned (kept so that a later fork can be shown with both of the
    board's signatures), and when (POSIX seconds, the cosignature's time)."""

    size: int
    root: bytes
    note: str
    timestamp: int

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": base64.b64encode(self.root).decode("ascii"),
            "note": self.note,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_json(cls, data: object) -> Cosigned:
        if not isinstance(data, dict) or set(data) != {"size", "root", "note", "timestamp"}:
            raise ValueError("a log's record is {size, root, note, timestamp}")
        size, root, note, ts = data["size"], data["root"], data["note"], data["timestamp"]
        for v in (size, ts):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError("size and timestamp are non-negative integers")
        if not isinstance(root, str) or not isinstance(note, str):
            raise ValueError("root and note are strings")
        raw = base64.b64decode(root, validate=True)
        if len(raw) != HASH_SIZE:
            raise ValueError("the root is not a 32-byte hash")
        return cls(size, raw, note, ts)


# One lock per state file for this process. flock alone already excludes threads that open
# the lock file separately on a local file system, but on NFS Linux emulates flock with
# POSIX record locks, which are per process; this lock keeps threads apart there too.
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: pathlib.Path) -> threading.Lock:
    key = os.path.realpath(path)
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(key, threading.Lock())


def _fsync_dir(directory: pathlib.Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WitnessState:
    """The durable state of one witness: a JSON file, ``{"version": 1, "logs": {origin:
    {size, root, note, timestamp}}}``, with ``<file>.lock`` beside it (the lock) and
    ``<file>.evidence.jsonl`` (the refused checkpoints the board signed, one JSON object a
    line, append-only).

    The file is only ever replaced whole (temp file, fsync, rename, fsync of the directory),
    so a reader without the lock sees one complete version, and a crash leaves the old one
    or the new one, never a mix.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.evidence_path = self.path.with_name(self.path.name + ".evidence.jsonl")

    def logs(self) -> dict[str, Cosigned]:
        """Every origin's latest cosigned checkpoint (empty if the file does not exist)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise StateError(f"cannot read the witness state {self.path}: {e}") from None
        try:
            doc = json.loads(data.decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
                raise ValueError(f"not a version {STATE_VERSION} witness state")
            logs = doc.get("logs")
            if not isinstance(logs, dict):
                raise ValueError("no logs object")
            return {check_name(o, "origin"): Cosigned.from_json(r) for o, r in logs.items()}
        except (ValueError, binascii.Error, NoteError) as e:
            raise StateError(f"the witness state {self.path} is corrupt: {e}") from None

    def latest(self, origin: str) -> Cosigned | None:
        """The latest checkpoint cosigned for ``origin``, or None if none yet."""
        return self.logs().get(origin)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with _thread_lock(self.lock_path):
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock

    def update(self, origin: str, decide: Callable[[Cosigned | None], Cosigned]) -> Cosigned:
        """Replace ``origin``'s record by ``decide(current record)``, atomically: under the
        lock, the file is read again (another process may have moved on since the caller
        last looked), ``decide`` checks it and raises to refuse, and the answer is written
        durably before the lock is released."""
        with self._locked():
            logs = self.logs()
            new = decide(logs.get(origin))
            logs[origin] = new
            self._write({o: r.as_json() for o, r in sorted(logs.items())})
            return new

    def _write(self, logs: dict[str, Any]) -> None:
        data = json.dumps({"version": STATE_VERSION, "logs": logs}, indent=1, sort_keys=True)
        directory = self.path.parent
        tmp = directory / f".{self.path.name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data.encode("utf-8") + b"\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        # The rename itself must reach the disk before the cosignature leaves: otherwise a
        # crash could bring back the old state after the new head was cosigned.
        _fsync_dir(directory)

    def record_evidence(self, record: Mapping[str, Any]) -> None:
        """Append one refused checkpoint to the evidence file, durably."""
        line = json.dumps(dict(record), sort_keys=True, ensure_ascii=False) + "\n"
        with self._locked():
            fd = os.open(self.evidence_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def evidence(self) -> list[dict[str, Any]]:
        """The evidence file's records, oldest first."""
        try:
            text = self.evidence_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line]


# --- the witness --------------------------------------------------------------------------


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key of an Ed25519 private key."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Witness:
    """One witness: its key name and Ed25519 key, its state, and the logs it witnesses
    (origin → the board's raw 32-byte Ed25519 public key)."""

    def __init__(
        self,
        name: str,
        private_key: Ed25519PrivateKey,
        state: WitnessState,
        logs: Mapping[str, bytes],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = check_name(name, "witness name")
        self.private_key = private_key
        self.public_key = public_bytes(private_key)
        self.state = state
        self.logs = {check_name(o, "origin"): bytes(k) for o, k in logs.items()}
        if any(len(k) != 32 for k in self.logs.values()):
            raise ValueError("a board public key is 32 bytes")
        self.clock = clock

    def vkey(self) -> str:
        """The witness's verifier key (``name+id+key``, cosignature type 0x04)."""
        return vkey(self.name, COSIGNATURE_V1, self.public_key)

    def has_cosigned(self, note: Note) -> bool:
        """Whether ``note`` already carries a valid cosignature of this witness."""
        try:
            return bool(verify_cosignatures(note, [(self.name, self.public_key)]))
        except NoteError:
            return False  # a broken line under our name is not our cosignature

    def add_checkpoint(
        self, old_size: int, proof: Sequence[bytes], note: str | bytes | Note
    ) -> Signature:
        """C2SP tlog-witness add-checkpoint: cosign ``note`` if it extends, by ``proof``,
        the checkpoint of size ``old_size`` that this witness last cosigned for its origin.

        Raises :class:`WitnessError` with the protocol's status: 400 malformed (also more
        than 63 proof hashes, or ``old_size`` larger than the checkpoint's size), 404
        unknown origin, 403 no valid signature of the board, 409 ``old_size`` is not the
        size last cosigned (``size`` says which is) or the same size with another root, 422
        the consistency proof does not verify (also a non-empty one from size 0). The new
        state is on disk before the cosignature is returned.
        """
        if isinstance(old_size, bool) or not isinstance(old_size, int) or old_size < 0:
            raise WitnessError(400, "the old size is not a non-negative integer")
        proof = list(proof)
        if len(proof) > MAX_PROOF:
            raise WitnessError(400, f"more than {MAX_PROOF} consistency proof hashes")
        if any(not isinstance(p, bytes) or len(p) != HASH_SIZE for p in proof):
            raise WitnessError(400, f"a consistency proof hash is not {HASH_SIZE} bytes")
        try:
            parsed = note if isinstance(note, Note) else parse_note(note)
            cp = parse_checkpoint(parsed.text)
        except NoteError as e:
            raise WitnessError(400, f"not a checkpoint: {e}") from None
        board_key = self.logs.get(cp.origin)
        if board_key is None:
            raise WitnessError(404, f"unknown origin {cp.origin!r}")
        try:
            verify_board_signature(parsed, cp.origin, board_key)
        except NoteError as e:
            raise WitnessError(403, str(e)) from None
        # From here on the board signed this checkpoint: a refusal is evidence about it.
        board_note = Note(parsed.text, tuple(s for s in parsed.signatures if s.name == cp.origin))
        try:
            if old_size > cp.size:
                raise WitnessError(400, f"old size {old_size} > checkpoint size {cp.size}")
            timestamp = int(self.clock())
            self.state.update(cp.origin, _decide(cp, old_size, proof, board_note, timestamp))
        except WitnessError as e:
            self._record(cp, old_size, proof, board_note, e)
            raise
        return cosign(parsed.text, self.name, self.private_key, timestamp)

    def _record(
        self, cp: Checkpoint, old_size: int, proof: list[bytes], note: Note, e: WitnessError
    ) -> None:
        self.state.record_evidence(
            {
                "time": int(self.clock()),
                "origin": cp.origin,
                "size": cp.size,
                "old_size": old_size,
                "proof": [base64.b64encode(p).decode("ascii") for p in proof],
                "status": e.status,
                "reason": e.message,
                "cosigned_size": e.size,
                "note": note.render(),
            }
        )


def _decide(
    cp: Checkpoint, old_size: int, proof: list[bytes], note: Note, timestamp: int
) -> Callable[[Cosigned | None], Cosigned]:
    """The add-checkpoint checks against the stored record, run under the state's lock so
    that the check and the write are one step (tlog-witness's rollback race)."""

    def decide(current: Cosigned | None) -> Cosigned:
        size, root = (current.size, current.root) if current else (0, EMPTY_ROOT)
        if old_size != size:
            raise WitnessError(409, f"old size {old_size}, but the last cosigned is {size}", size)
        if old_size == cp.size:
            if cp.root != root:
                raise WitnessError(
                    409, f"a different root for size {size}, which was cosigned already", size
                )
            if proof:
                raise WitnessError(422, "a proof between equal sizes must be empty", size)
        else:
            try:
                verify_consistency(old_size, cp.size, root, cp.root, proof)
            except LogProofError as e:
                raise WitnessError(422, str(e), size) from None
        return Cosigned(cp.size, cp.root, note.render(), timestamp)

    return decide


# --- the board, as the witness sees it ----------------------------------------------------


#: The board could not be reached, or answered with a server error or an unusable answer:
#: try again later.
BoardUnavailable = Unreachable


class BoardRefused(TohyoError):
    """The board answered a request with a 4xx error (``code`` is its JSON ``error``)."""

    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(f"HTTP {status} {code}" + (f": {detail}" if detail else ""))
        self.status = status
        self.code = code
        self.detail = detail

    def __reduce__(self) -> tuple[type, tuple[int, str, str]]:
        return (type(self), (self.status, self.code, self.detail))


class BoardSource(Protocol):
    """Where a witness gets the board's checkpoints and proofs, and posts cosignatures."""

    def checkpoint(self) -> str:
        """The checkpoint offered now, as a signed note."""
        ...

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The RFC 9162 consistency proof between two tree sizes of the board."""
        ...

    def submit(self, note: str) -> None:
        """Give the board a checkpoint note carrying the witness's cosignature."""
        ...


#: Answers larger than this are not read (a proof of 63 hashes in JSON is under 5 kB).
MAX_ANSWER = 65_536


class HttpBoard:
    """The board's HTTP API (``/api/checkpoint``, ``/api/consistency``,
    ``/api/cosignatures``) through urllib."""

    def __init__(self, url: str, timeout: float = 10) -> None:
        self.url = base_url(url)
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        url = self.url + path
        status, data = request(url, "tohyo-witness", MAX_ANSWER, self.timeout, method, body)
        if status >= 400:
            raise self._error(url, status, data)
        return data

    @staticmethod
    def _error(url: str, status: int, body: bytes) -> TohyoError:
        # 408 and 429 say "not now", like a 5xx: the witness should simply try again.
        if status >= 500 or status in (408, 429):
            return BoardUnavailable(f"{url}: HTTP {status}")
        code, detail = f"http_{status}", ""
        with contextlib.suppress(ValueError):
            doc = json.loads(body.decode("utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("error"), str):
                code = doc["error"]
                detail = doc.get("detail") if isinstance(doc.get("detail"), str) else ""
        return BoardRefused(status, code, detail)

    def checkpoint(self) -> str:
        data = self._request("GET", "/api/checkpoint")
        if len(data) > MAX_NOTE:
            raise BoardUnavailable(f"{self.url}: the checkpoint is larger than {MAX_NOTE} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise BoardUnavailable(f"{self.url}: the checkpoint is not UTF-8") from None

    def consistency(self, first: int, second: int) -> list[bytes]:
        query = urllib.parse.urlencode({"first": first, "second": second})
        data = self._request("GET", f"/api/consistency?{query}")
        try:
            doc = json.loads(data.decode("utf-8"))
            if not isinstance(doc, dict):
                raise ValueError("the answer is not a JSON object")
            if (doc.get("first"), doc.get("second")) != (first, second):
                raise ValueError("the answer is not the proof asked for")
            proof = doc.get("proof")
            if not isinstance(proof, list) or len(proof) > MAX_PROOF:
                raise ValueError("no proof list of at most 63 hashes")
            out = []
            for h in proof:
                if not isinstance(h, str) or len(h) != 2 * HASH_SIZE:
                    raise ValueError("a proof hash is not 64 hex digits")
                out.append(bytes.fromhex(h))
            return out
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise BoardUnavailable(f"{self.url}: unusable consistency proof: {e}") from None

    def submit(self, note: str) -> None:
        self._request("POST", "/api/cosignatures", note.encode("utf-8"))


# --- one round, and the loop --------------------------------------------------------------


class Outcome(enum.Enum):
    COSIGNED = "cosigned"  # a checkpoint was cosigned and given to the board
    UNCHANGED = "unchanged"  # nothing new: the board has our cosignature, or no head yet
    STALE = "stale"  # the board offers a smaller head than the one last cosigned
    REFUSED = "refused"  # a refusal that is not a fork (bad signature, board said no...)
    FORK = "fork"  # the board signed a head that does not extend the last one cosigned
    UNAVAILABLE = "unavailable"  # the board could not be reached


@dataclass(frozen=True)
class Result:
    """What one :func:`step` did. ``size`` is the checkpoint's size when one was seen."""

    outcome: Outcome
    message: str
    size: int | None = None

    @property
    def ok(self) -> bool:
        """Cosigned, or nothing to do: the witness is keeping up with an honest board."""
        return self.outcome in (Outcome.COSIGNED, Outcome.UNCHANGED, Outcome.STALE)


def step(witness: Witness, source: BoardSource, origin: str) -> Result:
    """One pull round: fetch the board's offered checkpoint; if it is larger than the last
    one cosigned, fetch the consistency proof from that size, check and cosign it; if it is
    the same size, cosign it again only if it is the same root and the board lacks our
    cosignature; if it is smaller, skip it. A cosignature is then posted to the board."""
    try:
        offered = source.checkpoint()
    except BoardUnavailable as e:
        return Result(Outcome.UNAVAILABLE, f"board unavailable: {e}")
    except BoardRefused as e:
        if e.status == 404 and e.code == "not_found":
            return Result(Outcome.UNCHANGED, "the board has no checkpoint yet")
        return Result(Outcome.REFUSED, f"the board refused the checkpoint request: {e}")
    try:
        note = parse_note(offered)
        cp = parse_checkpoint(note.text)
    except NoteError as e:
        return Result(Outcome.REFUSED, f"the board's checkpoint is malformed: {e}")
    if cp.origin != origin:
        return Result(
            Outcome.REFUSED, f"the board offers origin {cp.origin!r}, not {origin!r}", cp.size
        )
    current = witness.state.latest(origin)
    size = current.size if current else 0
    if cp.size < size:
        return Result(
            Outcome.STALE, f"the board offers size {cp.size}; size {size} is cosigned", cp.size
        )
    if cp.size == size and witness.has_cosigned(note):
        return Result(Outcome.UNCHANGED, f"size {cp.size} is cosigned and the board has it")
    proof: list[bytes] = []
    if 0 < size < cp.size:
        try:
            proof = source.consistency(size, cp.size)
        except BoardUnavailable as e:
            return Result(Outcome.UNAVAILABLE, f"board unavailable: {e}", cp.size)
        except BoardRefused as e:
            return Result(
                Outcome.REFUSED,
                f"the board refused a consistency proof from {size} to {cp.size}: {e}",
                cp.size,
            )
    try:
        sig = witness.add_checkpoint(size, proof, note)
    except WitnessError as e:
        # 422: the proof does not verify; 409 naming the size we asked from: that size is
        # cosigned with another root. Either way the board signed a head off our history.
        # (A 409 naming another size is a race with a second process on this state.)
        if e.status == 422 or (e.status == 409 and e.size == size):
            return Result(
                Outcome.FORK,
                f"the board signed size {cp.size} of {origin} that does not extend the "
                f"cosigned size {size}: {e.message} (evidence in {witness.state.evidence_path})",
                cp.size,
            )
        return Result(Outcome.REFUSED, f"not cosigned: {e}", cp.size)
    # Only the board's own lines go with ours: the board refuses a whole note if any known
    # witness's line on it fails, so someone else's broken line must not sink ours.
    board_sigs = tuple(s for s in note.signatures if s.name == origin)
    cosigned = Note(note.text, board_sigs).with_signatures([sig]).render()
    try:
        source.submit(cosigned)
    except BoardUnavailable as e:
        return Result(
            Outcome.UNAVAILABLE, f"cosigned size {cp.size}, but could not post it: {e}", cp.size
        )
    except BoardRefused as e:
        return Result(
            Outcome.REFUSED, f"cosigned size {cp.size}, but the board refused it: {e}", cp.size
        )
    return Result(Outcome.COSIGNED, f"cosigned {origin} size {cp.size}", cp.size)


class Echo(Protocol):
    """Where :func:`follow` reports (``click.echo`` fits)."""

    def __call__(self, message: str, err: bool = False) -> None: ...


def _echo(message: str, err: bool = False) -> None:
    print(message, file=sys.stderr if err else sys.stdout, flush=True)


def follow(
    witness: Witness,
    source: BoardSource,
    origin: str,
    interval: float,
    stop: threading.Event,
    echo: Echo = _echo,
    publish: pathlib.Path | None = None,
) -> None:
    """Run :func:`step` every ``interval`` seconds until ``stop`` is set; with ``publish``,
    each new cosigned checkpoint is written there (:func:`publish_latest`).

    A fork is reported on stderr as an ``ALERT:`` line every time the board offers it (it
    is never cosigned). A board that is down or refuses is reported once until the message
    changes (not every second for hours) and retried at the next interval; when it answers
    again, that is reported too. An error of the state file itself (unreadable, corrupt,
    disk full) ends the loop: a witness that cannot keep its promise must stop cosigning.
    """
    problem: str | None = None
    while not stop.is_set():
        r = step(witness, source, origin)
        if r.outcome is Outcome.COSIGNED and publish is not None:
            publish_latest(witness, origin, publish)
        if r.outcome is Outcome.FORK:
            echo(f"ALERT: {r.message}", err=True)
        elif r.outcome in (Outcome.REFUSED, Outcome.UNAVAILABLE):
            if r.message != problem:
                echo(r.message, err=True)
            problem = r.message
        else:
            if problem is not None:
                echo("the board answers again", err=True)
                problem = None
            if r.outcome is Outcome.COSIGNED:
                echo(r.message)
        stop.wait(interval)


def cosigned_note(witness: Witness, origin: str) -> str | None:
    """The latest checkpoint this witness cosigned for ``origin``, with the board's signature
    and its own cosignature (made again from the state: Ed25519 is deterministic, so it is
    the same line the board was given)."""
    latest = witness.state.latest(origin)
    if latest is None:
        return None
    note = parse_note(latest.note)
    mine = cosign(note.text, witness.name, witness.private_key, latest.timestamp)
    board = [s for s in note.signatures if s.name == origin]
    return Note(note.text, (*board, mine)).render()


def publish_latest(witness: Witness, origin: str, path: pathlib.Path) -> None:
    """Write the latest cosigned checkpoint to ``path`` (atomically: a web server of the
    witness's own may serve the file while it is replaced). A board that withholds this
    witness's cosignatures is then seen: anyone can compare this file with the board's."""
    text = cosigned_note(witness, origin)
    if text is None:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
