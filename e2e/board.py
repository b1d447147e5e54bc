"""The bulletin board's public objects and rules, pure (docs/protocol.md §8, and D5).

* :class:`BoardEntry` — one leaf of the transparency log. Its canonical bytes are the leaf
  data: leaf hash = SHA-256(0x00 ∥ bytes) (RFC 9162 §2.1.1, :mod:`e2e.merkle`).
* :class:`TreeHead` — a signed tree head: the log's size, root and time, signed by the
  board's Ed25519 key over the canonical bytes of :class:`TreeHeadBody`.
* :func:`counted_contests` — the re-vote rule: for each voter (pseudonym) and contest, the
  voter's last cast ballot that covers the contest counts; challenged ballots never count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from e2e import codec
from e2e.codec import public
from e2e.errors import VerificationError
from e2e.group import Group
from e2e.hash import HashValue

T = TypeVar("T")

#: Entry kinds, in the order an election produces them.
KINDS = (
    "manifest",  # payload: Manifest
    "trustee",  # payload: TrusteePublicKey
    "parameters",  # payload: ElectionParameters
    "event",  # payload: BoardEvent ("open", "close")
    "ballot",  # payload: EncryptedBallot; voter: pseudonym
    "challenged",  # payload: ChallengedBallot
    "tally",  # payload: EncryptedTally
    "decryption",  # payload: PartialDecryption
    "results",  # payload: Results
)


@public
@dataclass(frozen=True)
class BoardEvent:
    """An election event on the log: ``open`` or ``close``."""

    name: str


@public
@dataclass(frozen=True)
class BoardEntry:
    """One log entry. ``payload`` is the canonical JSON document of the entry's object;
    ``voter`` is the voter's pseudonym for a cast ballot and empty otherwise."""

    index: int
    kind: str
    time: str  # ISO 8601, UTC, e.g. 2025-03-01T03:00:00.123456+00:00
    voter: str
    payload: str


@public
@dataclass(frozen=True)
class TreeHeadBody:
    """What the board signs: the log's key id, size, root hash and time."""

    log: HashValue  # SHA-256 of the board's raw Ed25519 public key
    size: int
    root: HashValue
    time: str


@public
@dataclass(frozen=True)
class TreeHead:
    """A signed tree head (STH)."""

    log: HashValue
    size: int
    root: HashValue
    time: str
    signature: str  # Ed25519 signature over encode(TreeHeadBody(...)), 128 upper-case hex

    def body(self) -> TreeHeadBody:
        return TreeHeadBody(self.log, self.size, self.root, self.time)


@public
@dataclass(frozen=True)
class BoardKey:
    """The board's public signing key (raw 32-byte Ed25519), published with the record."""

    public_key: HashValue


def log_id(key: BoardKey) -> HashValue:
    """The log's identifier: SHA-256 of the raw public key (as in RFC 9162's log ID)."""
    return HashValue(hashlib.sha256(bytes(key.public_key)).digest())


def verify_tree_head(key: BoardKey, head: TreeHead) -> None:
    """Check the Ed25519 signature of a tree head; raises VerificationError."""
    where = f"tree head {head.size}"
    if head.log != log_id(key):
        raise VerificationError("signed by another log", where)
    try:
        sig = bytes.fromhex(head.signature)
        if len(sig) != 64 or head.signature != head.signature.upper():
            raise ValueError
        Ed25519PublicKey.from_public_bytes(bytes(key.public_key)).verify(
            sig, codec.encode(head.body())
        )
    except (ValueError, InvalidSignature):
        raise VerificationError("signature does not verify", where) from None


class Entry:
    """One log entry, read: the one typed view of a stored entry's bytes that every reader
    uses (the board, its pages, the verifier, the record's writers), so that nobody parses
    a payload by hand.

    The entry is decoded strictly (:class:`BoardEntry`); the payload's JSON is parsed once,
    on first use, and only the fields the log's rules need are offered here. Objects are
    decoded with their types (:meth:`decode`) where the group is known.
    """

    __slots__ = ("raw", "entry", "_doc")

    def __init__(self, raw: bytes, entry: BoardEntry | None = None) -> None:
        """``entry``: the same bytes already decoded (by a caller that decoded many at once
        with :func:`e2e.codec.decode_many`), so they are not decoded twice."""
        self.raw = bytes(raw)
        self.entry = entry if entry is not None else codec.decode(self.raw, BoardEntry)
        self._doc: dict | None = None

    @property
    def index(self) -> int:
        return self.entry.index

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def time(self) -> str:
        return self.entry.time

    @property
    def voter(self) -> str:
        return self.entry.voter

    @property
    def payload(self) -> bytes:
        """The payload's canonical bytes (a published document: the record's files are
        these bytes)."""
        return self.entry.payload.encode("utf-8")

    def document(self) -> dict:
        """The payload as parsed JSON (kept: parsed once per entry)."""
        if self._doc is None:
            try:
                doc = json.loads(self.entry.payload)
            except (ValueError, RecursionError):
                doc = None
            if not isinstance(doc, dict):
                raise VerificationError("payload is not a JSON object", self._where())
            self._doc = doc
        return self._doc

    def decode(self, cls: type[T], group: Group | None = None) -> T:
        """The payload as a published object of type ``cls`` (strict, canonical)."""
        return codec.decode(self.payload, cls, group)

    def _where(self) -> str:
        return f"board entry {self.index}"

    def _field(self, kinds: tuple[str, ...], read: Callable[[dict], Any], name: str) -> Any:
        """One field of the payload, read by ``read``; VerificationError naming the entry if
        the payload does not have it (a log is input: a hostile board writes what it likes)."""
        if self.kind not in kinds:
            raise ValueError(f"entry {self.index} is a {self.kind} entry: no {name}")
        try:
            return read(self.document())
        except (KeyError, TypeError, ValueError, AttributeError):
            raise VerificationError(f"payload has no valid {name}", self._where()) from None

    def _ballot_of(self, doc: dict) -> dict:
        """The ballot of a cast (the payload itself) or challenged (its ``ballot``) entry."""
        ballot = doc["ballot"] if self.kind == "challenged" else doc
        if not isinstance(ballot, dict):
            raise TypeError
        return ballot

    @property
    def confirmation_code(self) -> str:
        """A (cast or challenged) ballot's confirmation code, 64 upper-case hex digits."""

        def read(doc: dict) -> str:
            code = self._ballot_of(doc)["confirmation_code"]
            if type(code) is not str:
                raise TypeError
            return code

        return self._field(("ballot", "challenged"), read, "confirmation code")

    @property
    def contests(self) -> tuple[int, ...]:
        """The 1-based contest indices a (cast or challenged) ballot covers, in order."""

        def read(doc: dict) -> tuple[int, ...]:
            out = tuple(c["contest"] for c in self._ballot_of(doc)["contests"])
            if any(type(c) is not int for c in out):
                raise TypeError
            return out

        return self._field(("ballot", "challenged"), read, "contests")

    @property
    def trustee(self) -> int:
        """The trustee of a ``trustee`` (public key) or ``decryption`` entry."""
        field = "index" if self.kind == "trustee" else "trustee"

        def read(doc: dict) -> int:
            value = doc[field]
            if type(value) is not int:
                raise TypeError
            return value

        return self._field(("trustee", "decryption"), read, "trustee")

    @property
    def event(self) -> str:
        """The name of an ``event`` entry (``open``, ``close``)."""

        def read(doc: dict) -> str:
            name = doc["name"]
            if type(name) is not str:
                raise TypeError
            return name

        return self._field(("event",), read, "event name")


def kind_of(raw: bytes) -> str:
    """An entry's kind without parsing its payload: in canonical form (sorted keys) the
    ``kind`` member follows ``format`` and ``index`` and precedes the payload, so it is
    found in the first few dozen bytes. For counting entries of a large record quickly;
    anything else reads the entry with :class:`Entry`."""
    head = bytes(raw[:96])
    start = head.find(b'"kind":"')
    if start < 0:
        raise ValueError("not a board entry")
    start += len(b'"kind":"')
    end = head.find(b'"', start)
    if end < 0:
        raise ValueError("not a board entry")
    return head[start:end].decode("ascii")


@dataclass(frozen=True)
class CastBallot:
    """A cast ballot's place in the log: entry index, voter pseudonym, covered contests."""

    entry: int
    voter: str
    contests: tuple[int, ...]


def counted_contests(ballots: Iterable[CastBallot]) -> dict[int, frozenset[int]]:
    """The re-vote rule: entry index → the contests for which that ballot counts.

    For each (voter, contest), the cast ballot with the highest entry index that covers
    the contest counts; every other ballot of that voter is superseded for that contest.
    A ballot superseded for all its contests maps to the empty set.
    """
    last: dict[tuple[str, int], int] = {}
    entries: list[CastBallot] = sorted(ballots, key=lambda b: b.entry)
    for b in entries:
        for c in b.contests:
            last[(b.voter, c)] = b.entry
    out: dict[int, set[int]] = {b.entry: set() for b in entries}
    for (_, contest), entry in last.items():
        out[entry].add(contest)
    return {k: frozenset(v) for k, v in out.items()}


def superseded(ballots: Iterable[CastBallot]) -> Mapping[int, frozenset[int]]:
    """Entry index → the contests for which that ballot was superseded by a later one."""
    items = list(ballots)
    counted = counted_contests(items)
    return {b.entry: frozenset(set(b.contests) - counted[b.entry]) for b in items}


class RevoteRule:
    """The re-vote rule (:func:`counted_contests`) kept as the log is read, in compact form.

    For a log of any size the verifier cannot hold every cast ballot; what the rule needs
    across the whole log is, for each (voter, contest), the entry index of the voter's last
    ballot covering it. Voters are kept as the SHA-256 of their pseudonym (a fixed 32 bytes,
    collision resistant: a board cannot make two voters look like one), and only the
    ballots that some later ballot superseded are listed. About 150 bytes per (voter,
    contest) and nothing per ballot otherwise.
    """

    def __init__(self) -> None:
        self._last: dict[bytes, int] = {}
        self.superseded: dict[int, set[int]] = {}  # entry index → its superseded contests
        self.ballots = 0

    def add(self, entry: int, voter: bytes, contests: Iterable[int]) -> None:
        """A cast ballot, in log order; ``voter`` is the SHA-256 of its pseudonym."""
        self.ballots += 1
        who = voter
        for c in contests:
            key = who + b"%d" % c  # who is 32 bytes: the key is unambiguous
            prev = self._last.get(key)
            if prev is not None:
                self.superseded.setdefault(prev, set()).add(c)
            self._last[key] = entry

    @property
    def superseded_pairs(self) -> int:
        """(ballot, contest) pairs replaced by a later ballot of the same voter."""
        return sum(len(s) for s in self.superseded.values())

    def counts_for(self, entry: int, contests: tuple[int, ...]) -> frozenset[int]:
        """The contests the ballot at ``entry`` (covering ``contests``) counts for."""
        return frozenset(contests) - self.superseded.get(entry, set())
