"""The verifier: every check of ElectionGuard 2.1 §6 that applies to a tohyo record.

Pure: it takes the record's bytes (:class:`e2e.record.RecordFiles`) and returns a
:class:`Report`, or raises :class:`~e2e.errors.VerificationError` (or a ParseError) naming
the first failed check and the object. Ballots are verified in shards with one batch per
shard; a caller may run the shards in other processes (``tohyo verify --jobs``) by passing
``map_shards``.

Checks, with the spec's Verification numbers:
 1. parameters: the named group's p, q, r, g (V1); H_P and H_B recomputed (V1, eq. 4–5)
 2. trustee public keys: one per trustee 1..n, each Schnorr proof (V2)
 3. the joint key K = ∏ K_i and H_E (V3, V4)
 4. ballots: unique ids (V5.A) and confirmation codes, H_I (V5.B), contest structure
    against the manifest, every selection range proof (V6) and limit proof (V7),
    contest hashes and confirmation codes (V8)
 5. challenged ballots: the same, and every encryption recomputed from the revealed nonce
    and choices (V14)
 6. the encrypted tally is the product of exactly the counted ballots (V9)
 7. partial decryptions: a quorum of distinct trustees, each proof against the trustee's
    public share g^(P(i)) (V10, difference D4)
 8. results: M = ∏ M_i^(w_i), T = B/M = K^t for each published t, labels and ballot
    counts as in the manifest (V10.C, V11)
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from e2e import codec
from e2e.ballot import ChallengedBallot, EncryptedBallot, ballot_claims, verify_challenged
from e2e.batch import verify_claims
from e2e.board import (
    KINDS,
    BoardEntry,
    BoardKey,
    Entry,
    RevoteRule,
    TreeHead,
    kind_of,
    verify_tree_head,
)
from e2e.checkpoint import (
    parse_note,
    verify_board_signature,
    verify_cosignatures,
    verify_witnessed,
)
from e2e.dlog import DiscreteLog
from e2e.election import (
    Election,
    ElectionParameters,
    TrusteePublicKey,
    base_hash,
    check_trustee_keys,
    extended_base_hash,
    group_constants,
    group_name,
    joint_key,
)
from e2e.errors import CodecError, ParseError, VerificationError
from e2e.group import GROUPS, Group
from e2e.manifest import Manifest, Witnessing, manifest_from_canonical
from e2e.merkle import MerkleFrontier, leaf_hash, verify_inclusion
from e2e.record import Layout, Lines, MonitorCopy, RecordFiles
from e2e.rng import Rng, SystemRng
from e2e.tally import (
    EncryptedTally,
    PartialDecryption,
    Products,
    Results,
    accumulate,
    check_quorum,
    combine,
    partial_claims,
    tally_from_products,
    trustee_commitments,
)

T = TypeVar("T")

SHARD = 400  # ballots per batch: large enough to amortise the multi-exponentiation


@dataclass
class Report:
    """What was checked; ``warnings`` are not failures (e.g. the insecure test group)."""

    group: str = ""
    trustees: int = 0
    quorum: int = 0
    ballots: int = 0
    challenged: int = 0
    proofs: int = 0
    superseded: int = 0  # (ballot, contest) pairs replaced by a later ballot of the voter
    decrypting_trustees: tuple[int, ...] = ()
    board_key: str = ""  # the board key the log was checked against (hex), "" without a log
    board_key_pinned: str = ""  # by what: "manifest", "--board-key", or "" (not pinned)
    receipts: int = 0  # voters' receipts checked against the log
    witnesses: tuple[str, ...] = ()  # the witnesses whose cosignature of the final head verified
    results: Results | None = None
    checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ShardSummary:
    """What one shard of ballots contributes: ids, codes, proofs checked, partial tally."""

    ids: list[bytes]
    codes: list[bytes]
    proofs: int
    tally: Products
    counts: dict[int, int]
    leaves: list[bytes] = field(default_factory=list)  # a LogShard's entries' leaf hashes


def _group_of(parameters: bytes) -> Group:
    try:
        name = json.loads(parameters).get("group")
    except (ValueError, AttributeError):
        name = None
    if name not in GROUPS:
        raise VerificationError(f"unknown group {name!r}", "parameters")
    return GROUPS[name]


def load_election(files: RecordFiles) -> tuple[Election, ElectionParameters, Manifest]:
    """Parse and check parameters and manifest (check 1); builds the Election context."""
    group = _group_of(files.parameters)
    params = codec.decode(files.parameters, ElectionParameters, group)
    for k, v in group_constants(group).items():
        if getattr(params, k) != v:
            raise VerificationError(
                f"constant {k} is not that of the {params.group} group", "parameters"
            )
    manifest = manifest_from_canonical(files.manifest)
    if (manifest.trustees, manifest.quorum) != (params.trustees, params.quorum):
        raise VerificationError("trustees/quorum differ from the manifest", "parameters")
    h_p, h_b = base_hash(group, manifest)
    if h_p != params.parameter_base_hash:
        raise VerificationError("parameter base hash H_P is wrong", "parameters")
    if h_b != params.base_hash:
        raise VerificationError(
            "base hash H_B does not match the manifest (was the manifest edited?)", "parameters"
        )
    return Election(group, manifest, params.election_key), params, manifest


BallotItem = tuple[bytes, tuple[int, ...] | None, frozenset[int] | None]
"""A cast ballot to verify: its bytes, the contests the log said it covers (checked), and
the contests it counts for under the re-vote rule (None: all of them)."""


def verify_shard(
    election: Election, items: Sequence[BallotItem], rng: Rng | None = None
) -> ShardSummary:
    """Parse and verify a shard of cast ballots in one batch; summarise it for the tally.

    The cyclic garbage collector is paused for the shard: decoding makes hundreds of
    thousands of small containers, none in a cycle (reference counting frees them), and
    the collections they trigger cost about 0.6 ms a ballot (measured with 400 ballots:
    9.1 → 8.4 ms a ballot)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _verify_shard(election, items, rng)
    finally:
        if enabled:
            gc.enable()


def _verify_shard(
    election: Election, items: Sequence[BallotItem], rng: Rng | None = None
) -> ShardSummary:
    # Measured: folding the subgroup test into the proof batch (Batch.add_members) makes
    # this path slower here (320-bit instead of 256-bit exponents for α, β), so it stays a
    # separate batched test at parse time.
    leaves: list[bytes] = []
    log = isinstance(items, LogShard)
    if log:
        # The items are the log's entries (decoded strictly in the first pass), with their
        # index: the ballot is the payload, and the third element names the contests it
        # does NOT count for. The leaves and indices bind this pass to the first.
        leaves = [leaf_hash(raw) for raw, _, _ in items]
        datas = [_payload_at(raw, n) for raw, n, _ in items]
    else:
        datas = [b for b, _, _ in items]
    ballots = codec.decode_many(datas, EncryptedBallot, election.group, rng)
    claims = []
    counted = []
    for b, (_, covers, counts_for) in zip(ballots, items, strict=True):
        if log:
            if counts_for is not None:
                counts_for = frozenset(c.contest for c in b.contests) - counts_for
        elif covers is not None and tuple(c.contest for c in b.contests) != covers:
            raise VerificationError("covers other contests than the log says", _name(b))
        claims.extend(ballot_claims(election, b))
        counted.append((b, counts_for) if counts_for is not None else b)
    verify_claims(election.group, claims, rng)
    tally: Products = {}
    counts: dict[int, int] = {}
    accumulate(election, counted, tally, counts)
    return ShardSummary(
        [bytes(b.ballot_id) for b in ballots],
        [bytes(b.confirmation_code) for b in ballots],
        len(claims),
        tally,
        counts,
        leaves,
    )


def _payload_at(raw: bytes, n: int) -> bytes:
    """The payload of the entry that the first pass checked at index ``n``: anything else
    means the file changed between the passes."""
    try:
        doc = json.loads(raw)
        if doc["index"] != n:
            raise ValueError
        return doc["payload"].encode("utf-8")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise VerificationError("the log changed while it was read", f"board entry {n}") from None


class LogShard(list):
    """A shard of cast ballots given as the board's log entries (``(entry bytes, its index,
    contests it does not count for or None)``): the worker takes the payload out, so that
    the coordinator does not parse the ballots a second time."""


class ScanShard(NamedTuple):
    """Consecutive lines of the board's log for a worker to decode (the first pass):
    ``start`` is the first line's index, ``alone`` says the log has this one line only
    (an error then names ``BoardEntry`` without a position, as decode_many does)."""

    lines: list[bytes]
    start: int
    alone: bool


@dataclass(frozen=True)
class EntryInfo:
    """What the log's rules need of one entry, read by a worker (:func:`scan_entries`):
    small, so that the coordinator keeps up with many workers."""

    index: int
    kind: str
    time: str
    has_voter: bool
    voter: bytes  # SHA-256 of the pseudonym of a cast ballot (b"" otherwise)
    leaf: bytes
    contests: tuple[int, ...] | None  # a cast ballot's contests
    payload: bytes | None  # every kind but ballots and challenged ballots
    event: str | None
    late: VerificationError | None  # the payload lacks a field the rules read (in order)


def scan_entries(shard: ScanShard) -> list[EntryInfo]:
    """Decode a run of log entries strictly and take what the rules need of each."""
    try:
        decoded = codec.decode_many(shard.lines, BoardEntry)
    except ParseError as e:
        raise _at_position(e, shard.lines, BoardEntry, None, shard.start, shard.alone) from None
    out = []
    for raw, be in zip(shard.lines, decoded, strict=True):
        e = Entry(raw, be)
        contests = payload = event = late = None
        voter = b""
        if e.kind == "ballot":
            try:
                contests = e.contests
            except VerificationError as err:
                late = err
            if e.voter:
                voter = hashlib.sha256(e.voter.encode("utf-8")).digest()
        elif e.kind != "challenged":
            payload = e.payload
            if e.kind == "event":
                try:
                    event = e.event
                except VerificationError as err:
                    late = err
        out.append(
            EntryInfo(
                e.index, e.kind, e.time, bool(e.voter), voter, leaf_hash(raw), contests,
                payload, event, late,
            )
        )  # fmt: skip
    return out


def run_shard(election: Election, shard: Any, rng: Rng | None = None) -> Any:
    """A shard's work: a ScanShard is decoded (first pass), anything else verified."""
    if isinstance(shard, ScanShard):
        return scan_entries(shard)
    return verify_shard(election, shard, rng)


def _name(b: EncryptedBallot) -> str:
    return f"ballot {b.ballot_id.hex_upper()[:16]}"


@dataclass(frozen=True)
class ElectionContext:
    """What a worker (another process, another machine) needs to rebuild the election:
    the group's name, the canonical manifest and K; small, picklable and sent once.

    The Election it builds holds K's fixed-base table; the table is never shipped (46 MB
    in the standard group, about a second to build) but rebuilt once per worker process.
    ``h_e`` (hex) names the election in the workers' caches and is checked on build.
    """

    group: str
    manifest: bytes
    key: str
    h_e: str

    @classmethod
    def of(cls, election: Election) -> ElectionContext:
        return cls(
            group_name(election.group),
            election.manifest.canonical_bytes(),
            election.key.element.hex(),
            election.h_e.hex_upper(),
        )

    def build(self) -> Election:
        """The Election (with K's table); raises VerificationError if H_E differs."""
        if self.group not in GROUPS:
            raise VerificationError(f"unknown group {self.group!r}", "parameters")
        g = GROUPS[self.group]
        election = Election(g, manifest_from_canonical(self.manifest), g.element(int(self.key, 16)))
        if election.h_e.hex_upper() != self.h_e:
            raise VerificationError("the election context does not give its H_E", "parameters")
        return election


def verify_shard_in(
    context: ElectionContext,
    items: Sequence[BallotItem],
    elections: MutableMapping[str, Election],
    rng: Rng | None = None,
) -> ShardSummary:
    """The work of one shard wherever it runs (a local process, a Dask worker): the
    election from ``elections``, a cache that the caller keeps per process (keyed by H_E;
    filled from ``context`` on the first shard), then :func:`verify_shard`."""
    election = elections.get(context.h_e)
    if election is None:
        election = elections[context.h_e] = context.build()
    return run_shard(election, items, rng)


MapShards = Callable[[Election, Iterable[Any]], Iterable[Any]]
"""Runs :func:`run_shard` on shards (given lazily, as the record is read) and yields the
answers in order: ShardSummary for shards of ballots, list[EntryInfo] for ScanShards. A
mapper keeps a bounded number of shards in flight, so that memory does not grow with the
record."""

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: ``step`` is "log" (bytes of the board's log read, of
``total``) or "ballots" (cast ballots verified, of ``total``)."""


def _serial_map(election: Election, shards: Iterable[Any]) -> Iterable[Any]:
    for shard in shards:
        yield run_shard(election, shard)


def shard_lines(items: Iterable[T], size: int = SHARD) -> Iterator[list[T]]:
    """The items in shards of ``size``, read lazily."""
    it = iter(items)
    while shard := list(itertools.islice(it, size)):
        yield shard


def decode_stream(
    lines: Iterable[bytes],
    cls: type[T],
    group: Group | None = None,
    rng: Rng | None = None,
    page: int = 256,
) -> Iterator[T]:
    """Decode a stream of canonical lines in pages (one batched subgroup test per page),
    naming a bad line exactly as :func:`e2e.codec.decode_many` of the whole list would: by
    its position in the stream, ``[n]Cls`` (``Cls`` alone if the stream has one line)."""
    it = iter(lines)
    start = 0
    buf = list(itertools.islice(it, page))
    while buf:
        nxt = list(itertools.islice(it, page))
        try:
            objs = codec.decode_many(buf, cls, group, rng)
        except ParseError as e:
            alone = start == 0 and len(buf) == 1 and not nxt
            raise _at_position(e, buf, cls, group, start, alone) from None
        yield from objs
        start += len(buf)
        buf = nxt


def _at_position(
    e: ParseError, page: list[bytes], cls: type, group: Group | None, start: int, alone: bool
) -> ParseError:
    """The error of the page's first bad line, named by its position in the whole stream."""
    name = cls.__name__
    for k, line in enumerate(page):
        try:
            codec.decode(line, cls, group)
        except ParseError as one:
            msg = str(one)
            if not alone and msg.startswith(name):
                msg = f"[{start + k}]{msg}"
            return type(one)(msg)
    return e  # the batch failed but no line alone (cannot happen): report the batch


@dataclass
class LogCheck:
    """What the board's log gave: ballots to verify (with the re-vote rule), challenged.

    ``ballots`` and ``challenged`` are streams: iterating them reads the log again (the
    first pass kept only what the rules need across the whole log, :class:`RevoteRule`).
    """

    ballots: _LogBallots
    challenged: Iterable[bytes]
    superseded: int
    summary: str
    entries: dict[int, Entry] = field(default_factory=dict)  # those the receipts name
    roots: dict[int, bytes] = field(default_factory=dict)  # tree size → root
    cast: int = 0  # cast ballots in the log
    size: int = 0  # entries in the log


def parse_receipt(data: bytes, where: str) -> tuple[int, bytes, TreeHead, list[bytes]]:
    """A voter's saved receipt (the booth's JSON, as ``POST /api/ballots`` returns it):
    (entry, confirmation code, signed tree head, inclusion proof)."""
    try:
        doc: Any = json.loads(data)
        entry, code = doc["entry"], doc["confirmation_code"]
        if type(entry) is not int or entry < 0 or type(code) is not str or len(code) != 64:
            raise ValueError
        proof = [bytes.fromhex(h) for h in doc["inclusion_proof"]]
        head = codec.from_document(doc["tree_head"], TreeHead)
        return entry, bytes.fromhex(code), head, proof
    except (ValueError, TypeError, KeyError, RecursionError, CodecError):
        raise VerificationError(
            "is not a receipt (entry, confirmation_code, tree_head, inclusion_proof)", where
        ) from None


def check_receipts(
    key: BoardKey,
    log: LogCheck,
    receipts: Sequence[tuple[str, bytes]],
    witnessing: Witnessing | None = None,
    warnings: list[str] | None = None,
) -> int:
    """Each voter's receipt against the log: its head is signed by the board's key and is a
    state of this log (same root at that size), and its entry is a cast ballot with the
    receipt's confirmation code. A board that dropped a receipted ballot, or showed the
    voter a log other than the published one, fails here.

    With ``witnessing``, a receipt's checkpoint (the same head as a C2SP note) must carry
    valid cosignatures only; one with fewer than the quorum (saved before the witnesses
    had seen its head) is told in ``warnings``: its head is still checked against this
    log, whose final head the witnesses cosigned (:func:`check_witnessed`)."""
    for name, data in receipts:
        where = f"receipt {name}"
        entry, code, head, proof = parse_receipt(data, where)
        if witnessing is not None:
            _receipt_checkpoint(key, head, data, witnessing, where, warnings)
        try:
            verify_tree_head(key, head)
        except VerificationError:
            raise VerificationError(
                "its tree head is not signed by this election's board key", where
            ) from None
        root = log.roots.get(head.size)
        if root is None or bytes(head.root) != root:
            raise VerificationError(
                f"its signed tree head (size {head.size}) is not a state of this record's "
                "log: the board showed the voter another log",
                where,
            )
        if not entry < head.size:
            raise VerificationError(f"entry {entry} is outside its tree head", where)
        e = log.entries[entry]
        try:  # the ballot itself is verified later: a malformed one is simply not this one
            ballot_code = e.confirmation_code if e.kind == "ballot" else None
        except VerificationError:
            ballot_code = None
        if ballot_code != code.hex().upper():
            raise VerificationError(
                f"board entry {entry} is not the cast ballot with this confirmation code", where
            )
        try:
            verify_inclusion(entry, head.size, leaf_hash(e.raw), proof, root)
        except VerificationError as err:
            raise VerificationError(f"inclusion proof: {err.reason}", where) from None
    return len(receipts)


def _receipt_checkpoint(
    key: BoardKey,
    head: TreeHead,
    data: bytes,
    witnessing: Witnessing,
    where: str,
    warnings: list[str] | None,
) -> None:
    note = json.loads(data).get("checkpoint")
    if note is None:
        if warnings is not None:
            warnings.append(f"{where}: carries no checkpoint, so no witness vouched for its head")
        return
    if not isinstance(note, str):
        raise VerificationError("its checkpoint is not a signed note", where)
    try:
        parsed = parse_note(note)
        cp = verify_board_signature(parsed, witnessing.origin, bytes(key.public_key))
        cos = verify_cosignatures(parsed, witnessing.keys())
    except VerificationError as e:
        raise VerificationError(f"its checkpoint: {e.reason}", where) from None
    if cp.size != head.size or cp.root != bytes(head.root):
        raise VerificationError("its checkpoint is not its tree head", where)
    if len(cos) < witnessing.quorum and warnings is not None:
        warnings.append(
            f"{where}: its head was cosigned by {len(cos)} of the {witnessing.quorum} "
            "witnesses the manifest asks for when it was saved; it was checked against the "
            "log the witnesses cosigned instead"
        )


#: What to do when a record was exported a moment after its last entry: the witnesses cosign
#: a new head within seconds (docs/admin.md, "Witnesses").
_LATER = (
    " (a record exported just after its last entry: wait until the witnesses have cosigned "
    "the board's latest head, GET /api/checkpoint/witnessed, and export it again)"
)


def check_witnessed(
    files: RecordFiles, witnessing: Witnessing, key: BoardKey, log: LogCheck
) -> tuple[str, ...]:
    """The log's final head is cosigned by a quorum of the manifest's witnesses
    (``board/checkpoint.txt``, docs/protocol.md §8.4): the log that was counted is the one
    the witnesses saw grow, append-only, so it is the log every voter's receipt was checked
    against (a quorum with one honest witness rules out a split view). The witnesses'
    names are returned."""
    where = "board/checkpoint.txt"
    if files.board_checkpoint is None:
        raise VerificationError(
            "the manifest names witnesses, but the record has no cosigned checkpoint of its "
            f"final head: nothing shows the witnesses saw this log{_LATER}",
            where,
        )
    try:
        w = verify_witnessed(
            files.board_checkpoint,
            witnessing.origin,
            bytes(key.public_key),
            witnessing.keys(),
            witnessing.quorum,
        )
    except VerificationError as e:
        raise VerificationError(f"{e.reason}{_LATER}", where) from None
    if w.checkpoint.size != log.size:
        raise VerificationError(
            f"the checkpoint is of size {w.checkpoint.size}, the log has {log.size} entries",
            where,
        )
    if w.checkpoint.root != log.roots.get(log.size):
        raise VerificationError(
            "the cosigned root is not this log's root: the witnesses saw another log", where
        )
    return w.witnesses


def monitor_sizes(copy: MonitorCopy) -> set[int]:
    """The tree sizes whose roots a monitor's copy needs (its heads and checkpoints)."""
    sizes = {h.size for h in decode_stream(copy.heads, TreeHead)}
    return sizes | {size for size, _ in copy.witnessed}


def check_monitor(
    files: RecordFiles,
    key: BoardKey,
    log: LogCheck,
    copy: MonitorCopy,
    witnessing: Witnessing | None,
) -> str:
    """A monitor's copy against the record (``tohyo verify --monitor DIR``): the entries it
    saw while the vote was open are the record's first entries, byte for byte, and every
    head (and witnessed checkpoint) the board showed it is a state of the record's log.
    A board that rewrote its log after the monitor saw it, or showed the monitor another
    log, fails here."""
    where = "monitor copy"
    assert files.board_entries is not None
    n = 0
    theirs = iter(files.board_entries)
    for mine in copy.entries:
        other = next(theirs, None)
        if other is None:
            raise VerificationError(
                f"the monitor saw more entries than the record's {n}: the log was cut", where
            )
        if mine != other:
            raise VerificationError(
                f"board entry {n} is not the entry the monitor saw: the log was rewritten", where
            )
        n += 1
    heads = 0
    for h in decode_stream(copy.heads, TreeHead):
        try:
            verify_tree_head(key, h)
        except VerificationError:
            raise VerificationError(
                f"its tree head {h.size} is not signed by the board key", where
            ) from None
        if log.roots.get(h.size) != bytes(h.root):
            raise VerificationError(
                f"the board showed the monitor a head of size {h.size} that is not a state of "
                "this record's log",
                where,
            )
        heads += 1
    witnessed = len(copy.witnessed) if witnessing is not None else 0
    for size, note in copy.witnessed if witnessing is not None else ():
        w = verify_witnessed(
            note, witnessing.origin, bytes(key.public_key), witnessing.keys(), witnessing.quorum
        )
        if w.checkpoint.size != size or log.roots.get(size) != w.checkpoint.root:
            raise VerificationError(
                f"the witnessed checkpoint of size {size} the monitor saw is not a state of "
                "this record's log",
                where,
            )
    return (
        f"a monitor's copy: its {n} entries are the log's first, its {heads} heads and "
        f"{witnessed} witnessed checkpoints states of the log"
    )


def entry_time(e: BoardEntry | TreeHead, where: str) -> datetime:
    """An entry's (or a head's) time: ISO 8601 with a UTC offset, or VerificationError
    (never a naive time, whose meaning depends on the reader's machine)."""
    try:
        t = datetime.fromisoformat(e.time)
    except (TypeError, ValueError):
        raise VerificationError(f"time {e.time!r} is not ISO 8601", where) from None
    if t.tzinfo is None:
        raise VerificationError(f"time {e.time!r} has no UTC offset", where)
    return t


def board_key_of(
    files: RecordFiles, manifest: Manifest, pinned: BoardKey | None
) -> tuple[BoardKey, str]:
    """The key the board's log must be signed with, and what pinned it.

    The manifest's key (hashed into H_B at the key ceremony) or the one the observer gives
    (``tohyo verify --board-key``, compared with the key published at the start) pins it
    from outside the record; board/key.json must be that key. Without either, the
    record's own key is used and the caller says that it is not pinned: a board that
    re-signed the whole log under a new key would pass (docs/protocol.md, D7).
    """
    try:
        key = codec.decode(files.board_key or b"", BoardKey)
    except CodecError as e:
        raise VerificationError(f"board/key.json: {e}", "board") from None
    by = ""
    for want, name in ((manifest.board, "manifest"), (pinned, "--board-key")):
        if want is None:
            continue
        if key != want:
            raise VerificationError(
                f"board/key.json {key.public_key.hex_upper()} is not the board key "
                f"{want.public_key.hex_upper()} of the {name}: the log was signed by "
                "another board",
                "board",
            )
        by = by or name
    return key, by


SCAN = 128  # log lines per first-pass shard at most (a ballot's entry is about 60 kB)


def check_log(
    files: RecordFiles,
    election: Election,
    manifest: Manifest,
    key: BoardKey | None = None,
    extra_sizes: Iterable[int] = (),
    keep: Iterable[int] = (),
    progress: Progress | None = None,
    map_shards: MapShards | None = None,
    scan: int = SCAN,
) -> LogCheck:
    """The board's log (docs/protocol.md, D6): entries in order, the Merkle tree rebuilt
    from them, every signed tree head, setup entries equal to the record's files, events in
    order, entry times that never go back, ballot times within the voting period, and the
    re-vote rule. ``key`` is the board key to check the heads with (see
    :func:`board_key_of`); ``extra_sizes`` are tree sizes whose roots the caller needs
    (receipts' heads), returned in :attr:`LogCheck.roots`; ``keep`` are entry indices to
    return in :attr:`LogCheck.entries` (receipts' entries).

    One pass over the log, in bounded memory. The workers (``map_shards``) decode the
    entries strictly, hash them into leaves and take out what the rules need
    (:func:`scan_entries`); here each entry is checked in order, and only what the rules
    need across the whole log is kept: the Merkle frontier, the roots and times at the
    heads' sizes, the setup and administrative entries, the events, the re-vote rule in
    compact form and the first entry out of its period. The checks are judged in the same
    order as when the whole log was held, so the first failure is named the same way.
    """
    assert files.board_entries is not None and files.board_heads is not None
    if key is None:
        key, _ = board_key_of(files, manifest, None)
    # The heads are read twice too (there can be one per batch of ballots, so about one a
    # ballot on a quiet board): their sizes first, then each is checked against the roots.
    head_sizes: set[int] = set()
    twice = False
    for h in decode_stream(files.board_heads, TreeHead):
        twice = twice or h.size in head_sizes
        head_sizes.add(h.size)
    if twice:
        raise VerificationError("two tree heads for the same size", "board")
    wanted = head_sizes | set(extra_sizes)
    n_t = manifest.trustees
    start, end = manifest.start_time, manifest.end_time
    roots: dict[int, bytes] = {}
    times_at: dict[int, datetime] = {}  # tree size → the time of its last entry
    tree = MerkleFrontier()
    last: datetime | None = None
    setup: list[EntryInfo] = []  # the first n_t + 2 entries
    kept: dict[int, bytes] = {}
    # The events: how many, the first names (a log has two), the first unreadable one.
    events = 0
    event_names: list[str] = []
    event_late: VerificationError | None = None
    misplaced: VerificationError | None = None  # the first entry out of its period
    # The entries after voting, as digests of their payloads (a hostile log may repeat them)
    after: dict[str, list[bytes]] = {"tally": [], "decryption": [], "results": []}
    rule = RevoteRule()
    cast_leaves = hashlib.sha256()  # the cast ballots' leaves: the second pass must agree
    challenged_leaves = hashlib.sha256()  # and the challenged ballots', the third pass
    challenged_at: list[int] = []
    n = 0
    reading = _Reading(files.board_entries, set(keep), kept, progress)
    for infos in (map_shards or _serial_map)(election, reading.shards(scan)):
        for e in infos:
            where = f"board entry {n}"
            if e.index != n:
                raise VerificationError(f"has index {e.index}: the log has a gap or a fork", where)
            if e.kind not in KINDS:
                raise VerificationError(f"unknown kind {e.kind!r}", where)
            t = entry_time(e, where)
            if last is not None and t < last:
                raise VerificationError("is older than the entry before it", where)
            last = t
            if (e.kind == "ballot") != e.has_voter:
                raise VerificationError("voter pseudonym present exactly on cast ballots", where)
            tree.append(e.leaf)
            if n + 1 in wanted:
                roots[n + 1] = tree.root()
                times_at[n + 1] = t
            if n < n_t + 2:
                setup.append(e)
            kind = e.kind
            if kind == "event":
                events += 1
                if event_late is None and e.late is not None:
                    event_late = e.late
                if len(event_names) < 8 and e.event is not None:
                    event_names.append(e.event)
            elif kind in ("ballot", "challenged"):
                if misplaced is None:
                    # The events are checked after the pass (open, then perhaps close); if
                    # they are right, the open period is after the first, before the second.
                    if not events or events > 1:
                        why = "ballot outside the open period of the log"
                        misplaced = VerificationError(why, where)
                    elif not start <= t <= end:
                        why = "ballot received outside the voting period"
                        misplaced = VerificationError(why, where)
                    elif e.late is not None:
                        misplaced = e.late
                if kind == "ballot":
                    if e.contests is not None:
                        rule.add(n, e.voter, e.contests)
                    cast_leaves.update(e.leaf)
                else:
                    challenged_at.append(n)
                    challenged_leaves.update(e.leaf)
            elif kind in after:
                if misplaced is None and events < 2:
                    misplaced = VerificationError(f"{kind} before the election closed", where)
                assert e.payload is not None
                after[kind].append(_digest(e.payload))
            n += 1
    size = n
    # Each head on its own; the one of the smallest size that fails is named (the order in
    # which the heads were always checked), whatever the order of the file.
    first_bad: tuple[int, VerificationError] | None = None
    for h in decode_stream(files.board_heads, TreeHead):
        if first_bad is not None and first_bad[0] < h.size:
            continue
        try:
            _check_head(key, h, roots, times_at)
        except VerificationError as err:
            first_bad = (h.size, err)
    if first_bad is not None:
        raise first_bad[1]
    # Each head is signed in its entries' transaction with their time (protocol.md §8), so
    # a head is never older than what it covers; what matters besides is one log.
    if not head_sizes or max(head_sizes) != size:
        raise VerificationError("no signed tree head covers the whole log", "board")

    # setup: manifest, trustees, parameters, then the open event
    if [e.kind for e in setup] != ["manifest"] + ["trustee"] * n_t + ["parameters"]:
        raise VerificationError("does not start with manifest, trustee keys, parameters", "board")
    if setup[0].payload != files.manifest:
        raise VerificationError("manifest differs from manifest.json", "board entry 0")
    trustee_files = sorted(files.trustees.values())
    if sorted(e.payload or b"" for e in setup[1 : n_t + 1]) != trustee_files:
        raise VerificationError("trustee keys differ from trustees/", "board")
    if setup[n_t + 1].payload != files.parameters:
        raise VerificationError("parameters differ from parameters.json", f"board entry {n_t + 1}")
    if event_late is not None:
        raise event_late
    if events > len(event_names):
        event_names.append(f"… {events - len(event_names)} more")
    if event_names not in (["open"], ["open", "close"]):
        raise VerificationError(f"events {event_names}: expected open, then close", "board")
    if misplaced is not None:
        raise misplaced
    if after["tally"] != [_digest(files.tally)]:
        raise VerificationError("tally.json is not the log's one tally entry", "board")
    if sorted(after["decryption"]) != sorted(_digest(d) for d in files.decryptions.values()):
        raise VerificationError("decryptions/ differ from the log's decryption entries", "board")
    if files.results is not None and after["results"] != [_digest(files.results)]:
        raise VerificationError("results.json is not the log's results entry", "board")

    superseded = rule.superseded_pairs
    summary = (
        f"board log: {size} entries rebuilt into the Merkle tree, {len(head_sizes)} signed "
        f"tree heads, re-vote rule ({superseded} superseded ballot contests)"
    )
    return LogCheck(
        _LogBallots(files.board_entries, rule, cast_leaves.digest()),
        _LogChallenged(files.board_entries, challenged_at, challenged_leaves.digest()),
        superseded,
        summary,
        {i: Entry(raw) for i, raw in kept.items()},
        roots,
        rule.ballots,
        n,
    )


def _digest(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()


def _check_head(
    key: BoardKey, h: TreeHead, roots: dict[int, bytes], times_at: dict[int, datetime]
) -> None:
    verify_tree_head(key, h)
    if h.size not in roots:
        raise VerificationError("is for a size the log never had", f"tree head {h.size}")
    if bytes(h.root) != roots[h.size]:
        raise VerificationError("root differs from the log's entries", f"tree head {h.size}")
    if entry_time(h, f"tree head {h.size}") < times_at[h.size]:
        raise VerificationError("is older than the last entry it covers", f"tree head {h.size}")


class _Reading:
    """The first pass's reader: the log's lines in ScanShards, the lines ``keep`` names
    kept, and the bytes read reported as progress."""

    def __init__(
        self,
        lines: Lines,
        keep: set[int],
        kept: dict[int, bytes],
        progress: Progress | None,
    ) -> None:
        self.lines, self.keep, self.kept, self.progress = lines, keep, kept, progress

    def shards(self, size: int) -> Iterator[ScanShard]:
        it = iter(self.lines)
        total = self.lines.size
        start = done = 0
        buf = list(itertools.islice(it, size))
        while buf:
            nxt = list(itertools.islice(it, size))
            for k, raw in enumerate(buf):
                if start + k in self.keep:
                    self.kept[start + k] = raw
                done += len(raw) + 1
            yield ScanShard(buf, start, start == 0 and len(buf) == 1 and not nxt)
            if self.progress:
                self.progress("log", done, total)
            start += len(buf)
            buf = nxt


class _LogBallots:
    """The cast ballots of the log, read again (the second pass) in LogShards, with the
    contests each does not count for under the re-vote rule."""

    def __init__(self, lines: Lines, rule: RevoteRule, leaves: bytes) -> None:
        self.lines, self.rule, self.leaves = lines, rule, leaves

    def shards(self, size: int) -> Iterator[LogShard]:
        excluded = self.rule.superseded
        shard = LogShard()
        for n, raw in enumerate(self.lines):
            if _kind_at(raw, n) != "ballot":
                continue
            sup = excluded.get(n)
            shard.append((raw, n, frozenset(sup) if sup else None))
            if len(shard) == size:
                yield shard
                shard = LogShard()
        if shard:
            yield shard

    def check(self, leaves: bytes) -> None:
        """The second pass read the same cast ballots as the first (the same leaves)."""
        if leaves != self.leaves:
            raise VerificationError("the log changed while it was read", "board")


def _kind_at(raw: bytes, n: int) -> str:
    try:
        return kind_of(raw)
    except ValueError:
        raise VerificationError("the log changed while it was read", f"board entry {n}") from None


class _LogChallenged:
    """The challenged ballots of the log, read again (up to the last one), each checked to
    be the entry the first pass checked (the same index and leaf)."""

    def __init__(self, lines: Lines, at: list[int], leaves: bytes) -> None:
        self.lines, self.at, self.leaves = lines, at, leaves

    def __iter__(self) -> Iterator[bytes]:
        if not self.at:
            return
        wanted, last = set(self.at), self.at[-1]
        seen = hashlib.sha256()
        for n, raw in enumerate(self.lines):
            if n in wanted:
                seen.update(leaf_hash(raw))
                yield _payload_at(raw, n)
            if n == last:
                break
        if seen.digest() != self.leaves:
            raise VerificationError("the log changed while it was read", "board")


def receipt_entries(receipts: Sequence[tuple[str, bytes]]) -> list[int]:
    """The entry indices the receipts name (unparsable receipts fail later, by name)."""
    out = []
    for _, data in receipts:
        try:
            entry = json.loads(data)["entry"]
        except (ValueError, TypeError, KeyError, RecursionError):
            continue
        if type(entry) is int and entry >= 0:
            out.append(entry)
    return out


def receipt_sizes(receipts: Sequence[tuple[str, bytes]]) -> list[int]:
    """The tree sizes of the receipts' heads (unparsable receipts fail later, by name)."""
    out = []
    for _, data in receipts:
        try:
            size = json.loads(data)["tree_head"]["size"]
        except (ValueError, TypeError, KeyError, RecursionError):
            continue
        if type(size) is int and size > 0:
            out.append(size)
    return out


@dataclass
class Verified:
    """What checks 1–6 established, for the trustees (decrypt) and for checks 7–8."""

    election: Election
    publics: list[TrusteePublicKey]
    tally: EncryptedTally
    report: Report


def verify_tally_inputs(
    files: RecordFiles,
    map_shards: MapShards | None = None,
    progress: Progress | None = None,
    rng: Rng | None = None,
    shard: int = SHARD,
    board_key: BoardKey | None = None,
    receipts: Sequence[tuple[str, bytes]] = (),
    monitor: MonitorCopy | None = None,
) -> Verified:
    """Checks 1–6: everything up to and including the encrypted tally.

    Trustees run this before they decrypt (EG §3.6.1); the verifier continues with 7–8.
    ``board_key`` pins the board's key from outside the record (besides the manifest's);
    ``receipts`` are voters' saved receipts (name, bytes) to find in the log.
    """
    rng = rng or SystemRng()
    report = Report()
    election, params, manifest = load_election(files)
    group = election.group
    report.group = params.group
    report.trustees, report.quorum = manifest.trustees, manifest.quorum
    if params.group != "standard":
        report.warnings.append(f"the record uses the {params.group} group: NOT secure")
    report.checks.append("parameters, H_P and H_B (manifest) recomputed")

    # 2-3. trustee keys, joint key, H_E
    publics = codec.decode_many(list(files.trustees.values()), TrusteePublicKey, group, rng)
    for name, t in zip(files.trustees, publics, strict=True):
        if name != Layout.trustee(t.index):
            raise VerificationError(f"file {name} holds trustee {t.index}", "trustees")
    check_trustee_keys(
        group, params.parameter_base_hash, manifest.trustees, manifest.quorum, publics
    )
    if joint_key(group, publics) != params.election_key:
        raise VerificationError(
            "the election key K is not the product of the trustee keys", "parameters"
        )
    if extended_base_hash(params.base_hash, params.election_key) != params.extended_base_hash:
        raise VerificationError("extended base hash H_E is wrong", "parameters")
    report.checks.append(f"{len(publics)} trustee public keys and proofs; K = ∏ K_i; H_E")

    # 4. cast ballots, sharded (from the board's log when the record has one)
    if files.board_entries is not None:
        key, by = board_key_of(files, manifest, board_key)
        report.board_key, report.board_key_pinned = key.public_key.hex_upper(), by
        if not by:
            report.warnings.append(
                f"the board key {report.board_key} is not pinned (the manifest names none): "
                "compare it with the key the election authority published at the start, "
                "or give it with --board-key"
            )
        log = check_log(
            files,
            election,
            manifest,
            key,
            [*receipt_sizes(receipts), *(monitor_sizes(monitor) if monitor else ())],
            receipt_entries(receipts),
            progress,
            map_shards,
            min(shard, SCAN),
        )
        shards: Iterable[Any] = log.ballots.shards(shard)
        total = log.cast
        challenged_lines: Iterable[bytes] = log.challenged
        report.checks.append(log.summary)
        report.superseded = log.superseded
        if manifest.witnessing is not None:
            report.witnesses = check_witnessed(files, manifest.witnessing, key, log)
            report.checks.append(
                f"the log's final head cosigned by {len(report.witnesses)} witnesses "
                f"(quorum {manifest.witnessing.quorum}): {', '.join(report.witnesses)}"
            )
        elif files.board_checkpoint is not None:
            report.warnings.append("board/checkpoint.txt ignored: the manifest names no witnesses")
        if receipts:
            report.receipts = check_receipts(
                key, log, receipts, manifest.witnessing, report.warnings
            )
            report.checks.append(f"{report.receipts} voters' receipts found in the log")
        if monitor is not None:
            report.checks.append(check_monitor(files, key, log, monitor, manifest.witnessing))
    else:
        # A record without the board's log shows no voters, no log and no re-vote rule:
        # anyone could have made its ballots up. It passes only for an election whose
        # manifest names no board, and says so.
        if manifest.board is not None or manifest.witnessing is not None:
            raise VerificationError(
                "the manifest names a bulletin board, but the record has no board log "
                "(board/): the ballots cannot be shown to be the ones the board accepted",
                "record",
            )
        if board_key is not None or receipts or monitor is not None:
            raise VerificationError(
                "a board key, receipts or a monitor's copy were given, but the record has no "
                "board log",
                "record",
            )
        report.warnings.append(
            "the record has no bulletin board log: nothing shows who cast these ballots, "
            "in which order, or that none was dropped (an election without a board)"
        )
        shards = shard_lines(((line, None, None) for line in files.ballots), shard)
        total = files.ballots.count() if progress else 0
        log = None
        challenged_lines = files.challenged
    # What is kept across all shards: every ballot id and confirmation code (for the
    # uniqueness checks, about 200 bytes a ballot) and the running product per selection.
    seen_ids: set[bytes] = set()
    seen_codes: set[bytes] = set()
    tally_acc: dict[tuple[int, int], tuple[int, int]] = {}
    counts: dict[int, int] = {}
    p = group.p
    leaves = hashlib.sha256()
    if progress:
        progress("ballots", 0, total)
    for summary in (map_shards or _serial_map)(election, shards):
        for leaf in summary.leaves:
            leaves.update(leaf)
        for bid, code in zip(summary.ids, summary.codes, strict=True):
            if bid in seen_ids:
                raise VerificationError("duplicate ballot id", f"ballot {bid.hex().upper()[:16]}")
            if code in seen_codes:
                raise VerificationError(
                    "duplicate confirmation code", f"ballot {bid.hex().upper()[:16]}"
                )
            seen_ids.add(bid)
            seen_codes.add(code)
        for k, (a, b) in summary.tally.items():
            a0, b0 = tally_acc.get(k, (1, 1))
            tally_acc[k] = (a0 * a % p, b0 * b % p)
        for k, v in summary.counts.items():
            counts[k] = counts.get(k, 0) + v
        report.proofs += summary.proofs
        report.ballots += len(summary.ids)
        if progress:
            progress("ballots", report.ballots, total)
    if log is not None:
        log.ballots.check(leaves.digest())
    report.checks.append(
        f"{report.ballots} cast ballots: ids, proofs (batched), contest hashes, confirmation codes"
    )

    # 5. challenged ballots, in shards (one batch each), named by position in the stream
    for batch in shard_lines(decode_stream(challenged_lines, ChallengedBallot, group, rng), shard):
        claims = []
        for cb in batch:
            bid = bytes(cb.ballot.ballot_id)
            name = f"challenged ballot {bid.hex().upper()[:16]}"
            if bid in seen_ids:
                raise VerificationError("ballot id also used by another ballot", name)
            seen_ids.add(bid)
            claims.extend(ballot_claims(election, cb.ballot, name))
            verify_challenged(election, cb, name)
        verify_claims(group, claims, rng)
        report.challenged += len(batch)
        report.proofs += len(claims)
    report.checks.append(f"{report.challenged} challenged ballots re-encrypted from their nonces")

    # 6. tally
    tally = codec.decode(files.tally, EncryptedTally, group, rng)
    expected = tally_from_products(election, tally_acc, counts)
    if [c.contest for c in tally.contests] != [c.contest for c in expected.contests]:
        raise VerificationError("the tally does not cover the manifest's contests", "tally")
    for got, want in zip(tally.contests, expected.contests, strict=True):
        where = f"tally contest {got.contest}"
        if got.ballots != want.ballots:
            raise VerificationError(
                f"counts {got.ballots} ballots, the board has {want.ballots}", where
            )
        if got.selections != want.selections:
            raise VerificationError(
                "is not the product of the counted ballots (a ballot added or removed?)", where
            )
    report.checks.append("encrypted tally = product of the counted ballots")
    return Verified(election, publics, tally, report)


def check_partials(
    v: Verified, files: RecordFiles, rng: Rng | None = None
) -> list[PartialDecryption]:
    """Check 7: a quorum of distinct trustees, and every partial decryption proof."""
    election, group, report = v.election, v.election.group, v.report
    partials = codec.decode_many(list(files.decryptions.values()), PartialDecryption, group, rng)
    for name, d in zip(files.decryptions, partials, strict=True):
        if name != Layout.decryption(d.trustee):
            raise VerificationError(f"file {name} holds trustee {d.trustee}", "decryptions")
    check_quorum(election, [d.trustee for d in partials])
    commitments = trustee_commitments(v.publics)
    claims = []
    for d in partials:
        claims.extend(partial_claims(election, v.tally, d, commitments))
    verify_claims(group, claims, rng)
    report.proofs += len(claims) + len(v.publics)
    report.decrypting_trustees = tuple(sorted(d.trustee for d in partials))
    report.checks.append(
        f"partial decryptions of trustees {list(report.decrypting_trustees)} and their proofs"
    )
    return partials


def verify_record(
    files: RecordFiles,
    map_shards: MapShards | None = None,
    progress: Progress | None = None,
    rng: Rng | None = None,
    shard: int = SHARD,
    board_key: BoardKey | None = None,
    receipts: Sequence[tuple[str, bytes]] = (),
    monitor: MonitorCopy | None = None,
) -> Report:
    """Verify a whole record; returns a Report or raises naming the first failure."""
    rng = rng or SystemRng()
    v = verify_tally_inputs(files, map_shards, progress, rng, shard, board_key, receipts, monitor)
    election, tally, report = v.election, v.tally, v.report
    group = election.group

    # 7. partial decryptions
    partials = check_partials(v, files, rng)

    # 8. results
    if files.results is None:
        raise VerificationError("the record has no results.json", "results")
    results = codec.decode(files.results, Results, group)
    bound = max([c.ballots for c in tally.contests] + [1])
    want = combine(election, tally, partials, DiscreteLog(election.key.element, bound))
    if results.trustees != want.trustees:
        raise VerificationError("lists other trustees than those who decrypted", "results")
    if len(results.contests) != len(want.contests):
        raise VerificationError("does not list every contest", "results")
    for got, exp in zip(results.contests, want.contests, strict=True):
        if got.contest != exp.contest:
            raise VerificationError(
                f"contest {got.contest!r} where {exp.contest!r} was expected", "results"
            )
        if got.ballots != exp.ballots:
            raise VerificationError("ballot count differs from the tally", f"results {got.contest}")
        if [o.option for o in got.options] != [o.option for o in exp.options]:
            raise VerificationError("options differ from the manifest", f"results {got.contest}")
        for o, e in zip(got.options, exp.options, strict=True):
            if o.votes != e.votes:
                raise VerificationError(
                    f"says {o.votes} votes, the decryption gives {e.votes}",
                    f"results {got.contest}/{o.option}",
                )
    report.results = results
    report.checks.append("results: M = ∏ M_i^w_i, B/M = K^t for every published count")
    return report
