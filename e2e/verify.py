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

import json
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from e2e import codec
from e2e.ballot import ChallengedBallot, EncryptedBallot, ballot_claims, verify_challenged
from e2e.batch import verify_claims
from e2e.board import (
    KINDS,
    BoardEntry,
    BoardKey,
    CastBallot,
    Entry,
    TreeHead,
    counted_contests,
    verify_tree_head,
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
from e2e.errors import CodecError, VerificationError
from e2e.group import GROUPS, Group
from e2e.manifest import Manifest, manifest_from_canonical
from e2e.merkle import MerkleFrontier, leaf_hash, verify_inclusion
from e2e.record import Layout, RecordFiles
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
    """Parse and verify a shard of cast ballots in one batch; summarise it for the tally."""
    # Measured: folding the subgroup test into the proof batch (Batch.add_members) makes
    # this path slower here (320-bit instead of 256-bit exponents for α, β), so it stays a
    # separate batched test at parse time.
    ballots = codec.decode_many([b for b, _, _ in items], EncryptedBallot, election.group, rng)
    claims = []
    counted = []
    for b, (_, covers, counts_for) in zip(ballots, items, strict=True):
        if covers is not None and tuple(c.contest for c in b.contests) != covers:
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
    )


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
    return verify_shard(election, items, rng)


MapShards = Callable[[Election, list[list[BallotItem]]], Iterable[ShardSummary]]


def _serial_map(election: Election, shards: list[list[BallotItem]]) -> Iterable[ShardSummary]:
    for shard in shards:
        yield verify_shard(election, shard)


def shard_lines(items: Sequence[BallotItem], size: int = SHARD) -> list[list[BallotItem]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@dataclass
class LogCheck:
    """What the board's log gave: ballots to verify (with the re-vote rule), challenged."""

    ballots: list[BallotItem]
    challenged: list[bytes]
    superseded: int
    summary: str
    entries: list[Entry] = field(default_factory=list)
    roots: dict[int, bytes] = field(default_factory=dict)  # tree size → root


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


def check_receipts(key: BoardKey, log: LogCheck, receipts: Sequence[tuple[str, bytes]]) -> int:
    """Each voter's receipt against the log: its head is signed by the board's key and is a
    state of this log (same root at that size), and its entry is a cast ballot with the
    receipt's confirmation code. A board that dropped a receipted ballot, or showed the
    voter a log other than the published one, fails here."""
    for name, data in receipts:
        where = f"receipt {name}"
        entry, code, head, proof = parse_receipt(data, where)
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


def check_log(
    files: RecordFiles,
    election: Election,
    manifest: Manifest,
    key: BoardKey | None = None,
    extra_sizes: Iterable[int] = (),
) -> LogCheck:
    """The board's log (docs/protocol.md, D6): entries in order, the Merkle tree rebuilt
    from them, every signed tree head, setup entries equal to the record's files, events in
    order, entry times that never go back, ballot times within the voting period, and the
    re-vote rule. ``key`` is the board key to check the heads with (see
    :func:`board_key_of`); ``extra_sizes`` are tree sizes whose roots the caller needs
    (receipts' heads), returned in :attr:`LogCheck.roots`."""
    assert files.board_entries is not None and files.board_heads is not None
    if key is None:
        key, _ = board_key_of(files, manifest, None)
    raws = files.board_entries
    decoded = codec.decode_many(raws, BoardEntry)
    entries = [Entry(raw, e) for raw, e in zip(raws, decoded, strict=True)]
    heads = codec.decode_many(files.board_heads, TreeHead)
    head_sizes = {h.size for h in heads}
    if len(head_sizes) != len(heads):
        raise VerificationError("two tree heads for the same size", "board")
    wanted = head_sizes | set(extra_sizes)
    roots: dict[int, bytes] = {}
    tree = MerkleFrontier()
    times: list[datetime] = []
    for n, (raw, e) in enumerate(zip(raws, entries, strict=True)):
        where = f"board entry {n}"
        if e.index != n:
            raise VerificationError(f"has index {e.index}: the log has a gap or a fork", where)
        if e.kind not in KINDS:
            raise VerificationError(f"unknown kind {e.kind!r}", where)
        t = entry_time(e, where)
        if times and t < times[-1]:
            raise VerificationError("is older than the entry before it", where)
        times.append(t)
        if (e.kind == "ballot") != bool(e.voter):
            raise VerificationError("voter pseudonym present exactly on cast ballots", where)
        tree.append(leaf_hash(raw))
        if n + 1 in wanted:
            roots[n + 1] = tree.root()
    for h in sorted(heads, key=lambda h: h.size):
        verify_tree_head(key, h)
        if h.size not in roots:
            raise VerificationError("is for a size the log never had", f"tree head {h.size}")
        if bytes(h.root) != roots[h.size]:
            raise VerificationError("root differs from the log's entries", f"tree head {h.size}")
        if entry_time(h, f"tree head {h.size}") < times[h.size - 1]:
            raise VerificationError("is older than the last entry it covers", f"tree head {h.size}")
    # Each head is signed in its entries' transaction with their time (protocol.md §8), so
    # a head is never older than what it covers; what matters besides is one log.
    if not heads or max(head_sizes) != len(entries):
        raise VerificationError("no signed tree head covers the whole log", "board")

    # setup: manifest, trustees, parameters, then the open event
    n_t = manifest.trustees
    kinds = [e.kind for e in entries]
    if kinds[: n_t + 2] != ["manifest"] + ["trustee"] * n_t + ["parameters"]:
        raise VerificationError("does not start with manifest, trustee keys, parameters", "board")
    if entries[0].payload != files.manifest:
        raise VerificationError("manifest differs from manifest.json", "board entry 0")
    trustee_files = sorted(files.trustees.values())
    if sorted(e.payload for e in entries[1 : n_t + 1]) != trustee_files:
        raise VerificationError("trustee keys differ from trustees/", "board")
    if entries[n_t + 1].payload != files.parameters:
        raise VerificationError("parameters differ from parameters.json", f"board entry {n_t + 1}")
    events = [(e.index, e.event) for e in entries if e.kind == "event"]
    names = [name for _, name in events]
    if names not in (["open"], ["open", "close"]):
        raise VerificationError(f"events {names}: expected open, then close", "board")
    opened = events[0][0]
    closed = events[1][0] if len(events) > 1 else len(entries)
    start, end = manifest.start_time, manifest.end_time
    ballots: list[tuple[int, str, bytes, tuple[int, ...]]] = []
    challenged: list[bytes] = []
    for e in entries:
        if e.kind in ("ballot", "challenged"):
            where = f"board entry {e.index}"
            if not opened < e.index < closed:
                raise VerificationError("ballot outside the open period of the log", where)
            if not start <= times[e.index] <= end:
                raise VerificationError("ballot received outside the voting period", where)
            if e.kind == "ballot":
                ballots.append((e.index, e.voter, e.payload, e.contests))
            else:
                challenged.append(e.payload)
        elif e.kind in ("tally", "decryption", "results") and e.index < closed:
            raise VerificationError(
                f"{e.kind} before the election closed", f"board entry {e.index}"
            )
    after = {
        "tally": [e.payload for e in entries if e.kind == "tally"],
        "decryption": sorted(e.payload for e in entries if e.kind == "decryption"),
        "results": [e.payload for e in entries if e.kind == "results"],
    }
    if after["tally"] != [files.tally]:
        raise VerificationError("tally.json is not the log's one tally entry", "board")
    if after["decryption"] != sorted(files.decryptions.values()):
        raise VerificationError("decryptions/ differ from the log's decryption entries", "board")
    if files.results is not None and after["results"] != [files.results]:
        raise VerificationError("results.json is not the log's results entry", "board")

    rule = counted_contests(CastBallot(i, v, c) for i, v, _, c in ballots)
    superseded = sum(len(c) - len(rule[i]) for i, _, _, c in ballots)
    items: list[BallotItem] = [(data, c, rule[i]) for i, _, data, c in ballots]
    summary = (
        f"board log: {len(entries)} entries rebuilt into the Merkle tree, {len(heads)} signed "
        f"tree heads, re-vote rule ({superseded} superseded ballot contests)"
    )
    return LogCheck(items, challenged, superseded, summary, entries, roots)


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
    progress: Callable[[int], None] | None = None,
    rng: Rng | None = None,
    shard: int = SHARD,
    board_key: BoardKey | None = None,
    receipts: Sequence[tuple[str, bytes]] = (),
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
        log = check_log(files, election, manifest, key, receipt_sizes(receipts))
        items: list[BallotItem] = log.ballots
        challenged_lines = log.challenged
        report.checks.append(log.summary)
        report.superseded = log.superseded
        if receipts:
            report.receipts = check_receipts(key, log, receipts)
            report.checks.append(f"{report.receipts} voters' receipts found in the log")
    else:
        # A record without the board's log shows no voters, no log and no re-vote rule:
        # anyone could have made its ballots up. It passes only for an election whose
        # manifest names no board, and says so.
        if manifest.board is not None:
            raise VerificationError(
                "the manifest names a bulletin board, but the record has no board log "
                "(board/): the ballots cannot be shown to be the ones the board accepted",
                "record",
            )
        if board_key is not None or receipts:
            raise VerificationError(
                "a board key or receipts were given, but the record has no board log", "record"
            )
        report.warnings.append(
            "the record has no bulletin board log: nothing shows who cast these ballots, "
            "in which order, or that none was dropped (an election without a board)"
        )
        items = [(line, None, None) for line in files.ballots]
        challenged_lines = files.challenged
    shards = shard_lines(items, shard)
    seen_ids: dict[bytes, str] = {}
    seen_codes: dict[bytes, str] = {}
    tally_acc: dict[tuple[int, int], tuple[int, int]] = {}
    counts: dict[int, int] = {}
    p = group.p
    for summary in (map_shards or _serial_map)(election, shards):
        for bid, code in zip(summary.ids, summary.codes, strict=True):
            name = f"ballot {bid.hex().upper()[:16]}"
            if bid in seen_ids:
                raise VerificationError("duplicate ballot id", name)
            if code in seen_codes:
                raise VerificationError("duplicate confirmation code", name)
            seen_ids[bid] = name
            seen_codes[code] = name
        for k, (a, b) in summary.tally.items():
            a0, b0 = tally_acc.get(k, (1, 1))
            tally_acc[k] = (a0 * a % p, b0 * b % p)
        for k, v in summary.counts.items():
            counts[k] = counts.get(k, 0) + v
        report.proofs += summary.proofs
        report.ballots += len(summary.ids)
        if progress:
            progress(len(summary.ids))
    report.checks.append(
        f"{report.ballots} cast ballots: ids, proofs (batched), contest hashes, confirmation codes"
    )

    # 5. challenged ballots
    challenged = codec.decode_many(challenged_lines, ChallengedBallot, group, rng)
    claims = []
    for cb in challenged:
        bid = bytes(cb.ballot.ballot_id)
        name = f"challenged ballot {bid.hex().upper()[:16]}"
        if bid in seen_ids:
            raise VerificationError("ballot id also used by another ballot", name)
        seen_ids[bid] = name
        claims.extend(ballot_claims(election, cb.ballot, name))
        verify_challenged(election, cb, name)
    verify_claims(group, claims, rng)
    report.challenged = len(challenged)
    report.proofs += len(claims)
    report.checks.append(f"{len(challenged)} challenged ballots re-encrypted from their nonces")

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
    progress: Callable[[int], None] | None = None,
    rng: Rng | None = None,
    shard: int = SHARD,
    board_key: BoardKey | None = None,
    receipts: Sequence[tuple[str, bytes]] = (),
) -> Report:
    """Verify a whole record; returns a Report or raises naming the first failure."""
    rng = rng or SystemRng()
    v = verify_tally_inputs(files, map_shards, progress, rng, shard, board_key, receipts)
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
