"""``tohyo bench record``: a complete, valid election record of N ballots, made fast.

A researcher measuring the verifier on 10^5 ballots cannot wait for 10^5 simulated browser
sessions. This writes the record a board would export (docs/record.md) straight from the
ballots: the key ceremony, the board's log (setup, open, cast and challenged ballots with
re-votes, close, tally, partial decryptions, results) with a signed tree head after
every batch of 1 to 20 ballots and every administrative entry, as a board signs them,
then the files beside it. Encryption with all proofs runs on
every core and is the floor of its cost; what the coordinator adds is writing and hashing.

What it skips, and says: the JPKI step. Voters are synthetic pseudonyms (no card, no
certificate, no evidence store), which the verifier cannot tell from real ones, as it
cannot for a real record either. Everything the verifier checks is real: each ballot's
proofs, the log's Merkle tree and signed heads under the board key that the manifest
names, the re-vote rule, the tally, the trustees' decryptions and the results.

Memory does not grow with N: ballots are encrypted in chunks, written as they come, and
only the running tally products and the Merkle frontier are kept.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pathlib
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bulletin.board import load_signing_key, new_signing_key, public_key_of
from bulletin.clock import iso
from e2e import codec
from e2e.ballot import EncryptedBallot, challenge, encrypt_ballot
from e2e.board import BoardEntry, BoardEvent, TreeHead, TreeHeadBody, log_id
from e2e.election import Election, base_hash
from e2e.group import GROUPS, release_gil
from e2e.hash import HashValue
from e2e.manifest import Manifest, with_board
from e2e.merkle import MerkleFrontier, leaf_hash
from e2e.record import write_board_record
from e2e.rng import DeterministicRng, Rng, SystemRng
from e2e.tally import Products, accumulate, combine, tally_from_products, trustee_commitments
from e2e.threshold import public_share
from e2e.verify import ElectionContext
from sim.demo import simulated_choices
from trustees.ceremony import run_ceremony
from trustees.decrypt import partial_decrypt

CHUNK = 50  # voters per task given to an encrypting process
CHALLENGE_EVERY = 97  # as in the demo: every 97th voter challenges a ballot first
REVOTE_EVERY = 13  # every 13th voter votes again in one contest


@dataclass
class Generated:
    """What was written: counts and the time it took."""

    path: pathlib.Path
    voters: int
    ballots: int  # cast ballot entries (re-votes included)
    challenged: int
    revotes: int
    entries: int
    seconds: float
    encrypt_seconds: float


@dataclass
class _Chunk:
    items: list[tuple[str, str, bytes]]  # (kind, voter pseudonym, payload), in order
    products: Products  # the counted ballots' products (re-votes applied within the voter)
    counts: dict[int, int]
    revotes: int


_ELECTION: Election | None = None


def _init(context: ElectionContext) -> None:
    global _ELECTION
    release_gil()
    _ELECTION = context.build()


def _voter(seed: str, v: int) -> str:
    """A synthetic voter pseudonym (the board's are 64 hex digits too)."""
    return hashlib.sha256(f"{seed}/voter/{v}".encode()).hexdigest().upper()


def _encrypt_chunk(seed: str, first: int, stop: int, device: str) -> _Chunk:
    """Voters [first, stop): their entries, and the products of what counts."""
    election = _ELECTION
    assert election is not None
    manifest = election.manifest
    rng: Rng = SystemRng()
    items: list[tuple[str, str, bytes]] = []
    counted: list[EncryptedBallot | tuple[EncryptedBallot, frozenset[int]]] = []
    revotes = 0
    for v in range(first, stop):
        pick = DeterministicRng(f"{seed}/choices/{v}")
        choices = simulated_choices(manifest, pick)
        voter = _voter(seed, v)
        if v % CHALLENGE_EVERY == CHALLENGE_EVERY - 1:
            spoiled, secret = encrypt_ballot(election, choices, rng, device)
            items.append(("challenged", "", codec.encode(challenge(spoiled, secret))))
        ballot, _ = encrypt_ballot(election, choices, rng, device)
        items.append(("ballot", voter, codec.encode(ballot)))
        covered = frozenset(c.contest for c in ballot.contests)
        if v % REVOTE_EVERY == REVOTE_EVERY - 1 and choices:
            # The voter changes their mind in one contest: the later ballot counts there.
            cid = sorted(choices)[pick.randbelow(len(choices))]
            spec = next(c for c in manifest.contests if c.id == cid)
            again, _ = encrypt_ballot(
                election, {cid: [spec.options[pick.randbelow(len(spec.options))].id]}, rng, device
            )
            items.append(("ballot", voter, codec.encode(again)))
            counted.append((ballot, covered - {c.contest for c in again.contests}))
            counted.append(again)
            revotes += 1
        else:
            counted.append(ballot)
    products: Products = {}
    counts: dict[int, int] = {}
    accumulate(election, counted, products, counts)
    return _Chunk(items, products, counts, revotes)


def generate(
    out: str | os.PathLike[str],
    voters: int,
    manifest: Manifest,
    group_name: str = "standard",
    jobs: int | None = None,
    seed: str = "bench-record",
    progress: Callable[[str, int, int], None] | None = None,
    trustees: int = 5,
    quorum: int = 3,
) -> Generated:
    """Write a verifiable record of ``voters`` voters (re-votes and challenged ballots
    among them) to ``out``, which must not exist or is replaced."""
    if voters < 1:
        raise ValueError("need at least one voter")
    t0 = time.perf_counter()
    jobs = jobs or os.cpu_count() or 1
    group = GROUPS[group_name]
    root = pathlib.Path(out)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    # The board's key signs the heads; it is named in the manifest (part of H_B). It is
    # kept beside the record (not in it) so the researcher can extend the log if needed.
    key_path = root.parent / f".{root.name}.board.key"
    if key_path.exists():
        key_path.unlink()
    manifest = with_board(
        replace(manifest, trustees=trustees, quorum=quorum), new_signing_key(key_path)
    )
    key = load_signing_key(key_path)
    board = public_key_of(key)
    h_p, _ = base_hash(group, manifest)
    ceremony_rng = DeterministicRng(f"{seed}/ceremony")
    secrets_list, publics = run_ceremony(group, h_p, trustees, quorum, ceremony_rng)
    election = Election(group, manifest, group.product(t.key for t in publics))
    log = log_id(board)

    # The log as a board writes it: set up the day before the period, opened at its start,
    # ballots one step apart (however many, all inside the period), closed at its end, the
    # tally, decryptions and results after. A head is signed after every administrative
    # entry and after every batch of ballots, 1 to 20 of them as they happen to arrive
    # together (a quiet board signs one head per ballot).
    period = manifest.end_time - manifest.start_time
    step = min(timedelta(seconds=1), period / (4 * voters + 100))
    tree = MerkleFrontier()
    heads: list[bytes] = []
    index = 0
    last = ""
    products: Products = {}
    counts: dict[int, int] = {}
    stats = {"ballots": 0, "challenged": 0, "revotes": 0}
    batches = DeterministicRng(f"{seed}/batches")

    def entry(kind: str, voter: str, payload: bytes, when: datetime) -> bytes:
        nonlocal index, last
        last = iso(when)
        raw = codec.encode(BoardEntry(index, kind, last, voter, payload.decode("utf-8")))
        tree.append(leaf_hash(raw))
        index += 1
        return raw

    heads_size = [0]  # the size of the last head signed

    def head() -> None:
        heads_size[0] = index
        body = TreeHeadBody(log, index, HashValue(tree.root()), last)
        sig = key.sign(codec.encode(body)).hex().upper()
        heads.append(codec.encode(TreeHead(body.log, body.size, body.root, body.time, sig)))

    t_enc = 0.0

    def entries() -> Iterator[bytes]:
        nonlocal t_enc
        setup_at = manifest.start_time - timedelta(days=1)
        yield entry("manifest", "", manifest.canonical_bytes(), setup_at)
        for t in sorted(publics, key=lambda t: t.index):
            yield entry("trustee", "", codec.encode(t), setup_at)
        yield entry("parameters", "", codec.encode(election.parameters()), setup_at)
        head()
        yield entry("event", "", codec.encode(BoardEvent("open")), manifest.start_time)
        head()
        t1 = time.perf_counter()
        k = 0  # ballots and challenged ballots so far
        batch = 1 + batches.randbelow(20)
        for chunk in _chunks(election, seed, voters, jobs):
            for kind, voter, payload in chunk.items:
                stats["ballots" if kind == "ballot" else "challenged"] += 1
                k += 1
                yield entry(kind, voter, payload, manifest.start_time + step * k)
                batch -= 1
                if not batch:
                    head()
                    batch = 1 + batches.randbelow(20)
            p = group.p
            for key_, (a, b) in chunk.products.items():
                a0, b0 = products.get(key_, (1, 1))
                products[key_] = (a0 * a % p, b0 * b % p)
            for c, n in chunk.counts.items():
                counts[c] = counts.get(c, 0) + n
            stats["revotes"] += chunk.revotes
            if progress:
                progress("generate", stats["ballots"] - stats["revotes"], voters)
        if index != heads_size[0]:
            head()  # the last batch of ballots
        t_enc = time.perf_counter() - t1
        yield entry("event", "", codec.encode(BoardEvent("close")), manifest.end_time)
        head()
        after = manifest.end_time + timedelta(minutes=1)
        tally = tally_from_products(election, products, counts)
        yield entry("tally", "", codec.encode(tally), after)
        head()
        commitments = trustee_commitments(publics)
        partials = []
        for i, s in enumerate(secrets_list[:quorum], start=1):
            share = public_share(group, commitments, s.index)
            d = partial_decrypt(election, tally, s, share, DeterministicRng(f"{seed}/d/{s.index}"))
            partials.append(d)
            yield entry("decryption", "", codec.encode(d), after + timedelta(minutes=i))
            head()
        results = combine(election, tally, partials)
        yield entry("results", "", codec.encode(results), after + timedelta(hours=1))
        head()

    write_board_record(root, entries(), _after(heads), codec.encode(board))
    return Generated(
        root,
        voters,
        stats["ballots"],
        stats["challenged"],
        stats["revotes"],
        index,
        time.perf_counter() - t0,
        t_enc,
    )


def _after(heads: list[bytes]) -> Iterator[bytes]:
    """The heads, read only once the entries are written (and so all signed)."""
    yield from heads


def _chunks(election: Election, seed: str, voters: int, jobs: int) -> Iterator[_Chunk]:
    """The voters' entries in order, encrypted on ``jobs`` processes, a bounded number of
    chunks in flight."""
    ranges = ((s, min(s + CHUNK, voters)) for s in range(0, voters, CHUNK))
    device = "bench-record"
    if jobs <= 1:
        _init(ElectionContext.of(election))
        for s, e in ranges:
            yield _encrypt_chunk(seed, s, e, device)
        return
    context = ElectionContext.of(election)
    pool = ProcessPoolExecutor(jobs, initializer=_init, initargs=(context,))
    pending: deque[Future[_Chunk]] = deque()
    try:
        for s, e in itertools.islice(ranges, 3 * jobs):
            pending.append(pool.submit(_encrypt_chunk, seed, s, e, device))
        while pending:
            chunk = pending.popleft().result()
            nxt = next(ranges, None)
            if nxt is not None:
                pending.append(pool.submit(_encrypt_chunk, seed, *nxt, device))
            yield chunk
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
