"""The full-stage workload of ``tohyo bench``: one election, stage by stage.

For a chosen group, C contests × O options with a selection limit L, N ballots, n trustees
with quorum k and P processes, each stage is timed over R runs:

=================  =======================================================================
encrypt            N ballots encrypted with all proofs (one process)
verify one by one  per ballot: parse its bytes, check every proof equation on its own
                   (on the first ``one_by_one_max`` ballots: it is the slow baseline)
verify batched     the verifier's shards (``e2e.verify.SHARD`` ballots): parse, one
                   batched subgroup test, one proof batch each (one process, i.e. per core)
board acceptance   N submissions to an in-process board on SQLite from ``board_threads``
                   threads (the board batches what is waiting), token authentication
tally              the homomorphic product of the N ballots
decryption         k partial decryptions with proofs, their proofs checked, combination
                   and discrete logarithms (per election)
verify record      ``tohyo verify`` of the record the board exported, in P processes
coordinator        the serial part of that: reading the record, checking the board's log,
                   merging the shards' summaries, the per-election checks (the shards'
                   answers replayed); what bounds a cluster's speed-up
=================  =======================================================================

Each stage is then run once more under :func:`benchmarks.counting.counting` (serially, so
that every exponentiation is in this process) for its exponentiation counts.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from benchmarks.counting import Costs, ExpCount, counting
from e2e import codec
from e2e.ballot import EncryptedBallot, ballot_claims, encrypt_ballot
from e2e.batch import verify_claims, verify_claims_one_by_one
from e2e.election import Election, base_hash
from e2e.group import GROUPS
from e2e.manifest import Manifest, manifest_from_json
from e2e.record import read_record
from e2e.rng import SystemRng
from e2e.tally import aggregate, combine, partial_claims, trustee_commitments
from e2e.threshold import public_share
from e2e.verify import SHARD, run_shard, shard_lines, verify_record, verify_shard

PSEUDONYM_KEY = b"bench pseudonym key"


@dataclass(frozen=True)
class Workload:
    """What ``tohyo bench`` runs; the ballot counts are given separately."""

    group: str = "standard"
    contests: int = 3
    options: int = 3
    limit: int = 1
    trustees: int = 5
    quorum: int = 3
    jobs: int = 2
    repeat: int = 3
    one_by_one_max: int = 50
    board_threads: int = 16

    def check(self) -> None:
        """Raise ValueError naming the first impossible parameter."""
        if self.group not in GROUPS:
            raise ValueError(f"unknown group {self.group!r} (one of {sorted(GROUPS)})")
        if self.contests < 1 or self.options < 1:
            raise ValueError("need at least one contest and one option")
        if not 1 <= self.limit <= self.options:
            raise ValueError("the limit must be between 1 and the number of options")
        if not 1 <= self.quorum <= self.trustees:
            raise ValueError("need 1 <= quorum <= trustees")
        if self.jobs < 1 or self.repeat < 1 or self.one_by_one_max < 1:
            raise ValueError("processes, repeats and one-by-one ballots must be at least 1")
        if self.board_threads < 1:
            raise ValueError("the board needs at least one submitting thread")

    def describe(self) -> str:
        return (
            f"{self.group} group; {self.contests} contests × {self.options} options, "
            f"vote for at most {self.limit}; {self.trustees} trustees, quorum {self.quorum}; "
            f"{self.jobs} processes; {self.repeat} runs per stage"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_manifest(w: Workload) -> Manifest:
    """A synthetic manifest of the workload's shape (contest i, option j: ``c<i>o<j>``)."""
    doc = {
        "election_id": "bench",
        "title": {"ja": "ベンチマーク", "en": "Benchmark"},
        "start": "2025-02-20T00:00:00+09:00",
        "end": "2025-03-24T23:59:59+09:00",
        "trustees": w.trustees,
        "quorum": w.quorum,
        "eligibility": {"address_prefixes": ["茨城県つくば市"]},
        "contests": [
            {
                "id": f"c{i}",
                "title": {"ja": f"項目{i}", "en": f"Contest {i}"},
                "limit": w.limit,
                "options": [
                    {"id": f"c{i}o{j}", "label": {"ja": f"選択肢{j}", "en": f"Option {j}"}}
                    for j in range(w.options)
                ],
            }
            for i in range(w.contests)
        ],
    }
    return manifest_from_json(json.dumps(doc))


def choices(manifest: Manifest, b: int) -> dict[str, list[str]]:
    """Ballot b votes in every contest for the L options (b + j) mod O, j < L (the same
    plaintexts as the electionguard runner's)."""
    out = {}
    for c in manifest.contests:
        n = len(c.options)
        out[c.id] = [c.options[(b + j) % n].id for j in range(c.limit)]
    return out


@dataclass
class Stage:
    """One stage's timings (seconds per run) and exponentiation counts."""

    key: str
    label: str
    unit: str  # "ballot" or "election"
    per: int  # how many units one run does
    samples_s: list[float]
    counts: ExpCount | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(self.samples_s)

    @property
    def spread_s(self) -> float:
        return max(self.samples_s) - min(self.samples_s)

    def row(self, costs: Costs) -> dict[str, Any]:
        """The figures of this stage as printed and written to JSON (milliseconds)."""
        per_unit = self.median_s / self.per
        row: dict[str, Any] = {
            "stage": self.key,
            "label": self.label,
            "unit": self.unit,
            "units_per_run": self.per,
            "runs": len(self.samples_s),
            "median_ms": self.median_s * 1e3,
            "spread_ms": self.spread_s * 1e3,
            "per_unit_ms": per_unit * 1e3,
            "per_unit_spread_ms": self.spread_s / self.per * 1e3,
        }
        if self.counts is not None:
            c = self.counts.per(self.per)
            limit = c.limit_s(costs)
            row["exps_per_unit"] = c.as_dict()
            row["limit_per_unit_ms"] = limit * 1e3
            row["limit_share"] = limit / per_unit if per_unit else None
        return row


def _timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _counted(fn: Callable[[], Any]) -> ExpCount:
    with counting() as n:
        fn()
    return n


class _Boards:
    """Fresh in-process boards on SQLite for one election (one per run)."""

    def __init__(self, work: str, election: Election, publics: list, ballots: int) -> None:
        from bulletin.auth import TokenAuthenticator

        self.work = work
        self.election = election
        self.publics = publics
        self.auth = TokenAuthenticator(PSEUDONYM_KEY, {f"t{i}": f"p{i}" for i in range(ballots)})
        self.key = os.path.join(work, "board.key")
        self.n = 0

    def new(self) -> Any:
        from bulletin.board import Board, load_signing_key
        from bulletin.clock import FixedClock
        from bulletin.store import Store, make_engine, migrate

        self.n += 1
        engine = make_engine(f"sqlite:///{self.work}/board-{self.n}.db")
        migrate(engine)
        m = self.election.manifest
        board = Board(
            Store(engine),
            load_signing_key(self.key),
            FixedClock(m.start_time + timedelta(days=1)),
            self.auth,
        )
        board.setup(
            m.canonical_bytes(),
            codec.encode(self.election.parameters()),
            [codec.encode(t) for t in self.publics],
        )
        board.open()
        board.election  # noqa: B018 (load the election and its tables before timing)
        return board


def _submit_all(board: Any, bodies: Sequence[bytes], threads: int) -> None:
    # Many submitting threads share one GIL with gmpy2 and sqlite3 releasing it often; a
    # short switch interval (as `tohyo serve` sets) keeps the board's batches flowing.
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        with ThreadPoolExecutor(threads) as pool:
            receipts = list(pool.map(board.submit, bodies))
    finally:
        sys.setswitchinterval(old)
    if len(receipts) != len(bodies):
        raise RuntimeError("the board did not accept every ballot")


def run_workload(
    w: Workload,
    ballots: int,
    costs: Costs,
    progress: Callable[[str], None] = lambda s: None,
) -> list[Stage]:
    """Run every stage for ``ballots`` ballots; returns the stages in order."""
    from bulletin.board import export_record
    from e2e.cli import run_verify
    from trustees.ceremony import run_ceremony
    from trustees.decrypt import partial_decrypt

    w.check()
    if ballots < 1:
        raise ValueError("need at least one ballot")
    group = GROUPS[w.group]
    rng = SystemRng()
    from bulletin.board import new_signing_key
    from e2e.manifest import with_board

    work = tempfile.mkdtemp(prefix="tohyo-bench-")
    # The board's key is named in the manifest (part of H_B) before the ceremony.
    manifest = with_board(make_manifest(w), new_signing_key(os.path.join(work, "board.key")))
    h_p, _ = base_hash(group, manifest)
    secrets_list, publics = run_ceremony(group, h_p, w.trustees, w.quorum, rng)
    election = Election(group, manifest, group.product(t.key for t in publics))
    group.g_pow(1)  # the g table is built once per process, before any timing
    stages: list[Stage] = []
    r = w.repeat

    progress(f"{ballots} ballots: encrypt")
    plain = [choices(manifest, b) for b in range(ballots)]
    enc: list[EncryptedBallot] = []

    def encrypt_all() -> None:
        enc.clear()
        enc.extend(encrypt_ballot(election, c, rng)[0] for c in plain)

    st = Stage("encrypt", "encrypt (all proofs)", "ballot", ballots, _timed(encrypt_all, r))
    st.counts = _counted(encrypt_all)
    stages.append(st)
    lines = [codec.encode(b) for b in enc]

    progress(f"{ballots} ballots: verify one by one")
    few = lines[: w.one_by_one_max]

    def one_by_one() -> None:
        for line in few:
            b = codec.decode(line, EncryptedBallot, group)
            verify_claims_one_by_one(group, ballot_claims(election, b))

    st = Stage(
        "verify_one",
        f"verify one by one ({len(few)} ballots)",
        "ballot",
        len(few),
        _timed(one_by_one, r),
    )
    st.counts = _counted(one_by_one)
    stages.append(st)

    progress(f"{ballots} ballots: verify batched")
    shards = list(shard_lines([(line, None, None) for line in lines], SHARD))

    def batched() -> None:
        for shard in shards:
            verify_shard(election, shard)

    st = Stage(
        "verify_batched",
        f"verify batched ({min(SHARD, ballots)}/batch, 1 core)",
        "ballot",
        ballots,
        _timed(batched, r),
    )
    st.counts = _counted(batched)
    stages.append(st)

    try:
        progress(f"{ballots} ballots: board acceptance")
        boards = _Boards(work, election, publics, ballots)
        bodies = [
            json.dumps({"ballot": codec.to_document(b), "auth": {"token": f"t{i}"}}).encode()
            for i, b in enumerate(enc)
        ]
        samples = []
        board = None
        for _ in range(r):
            board = boards.new()
            t = time.perf_counter()
            _submit_all(board, bodies, w.board_threads)
            samples.append(time.perf_counter() - t)
        st = Stage(
            "board",
            f"board acceptance (SQLite, {w.board_threads} threads)",
            "ballot",
            ballots,
            samples,
        )
        counted_board = boards.new()
        st.counts = _counted(lambda: _submit_all(counted_board, bodies, w.board_threads))
        stages.append(st)

        progress(f"{ballots} ballots: tally")
        st = Stage("tally", "tally", "ballot", ballots, _timed(lambda: aggregate(election, enc), r))
        st.counts = _counted(lambda: aggregate(election, enc))
        stages.append(st)

        progress(f"{ballots} ballots: decryption")
        tally = aggregate(election, enc)
        commitments = trustee_commitments(publics)
        present = secrets_list[: w.quorum]
        shares = {s.index: public_share(group, commitments, s.index) for s in present}

        def decrypt() -> None:
            partials = [partial_decrypt(election, tally, s, shares[s.index], rng) for s in present]
            for d in partials:
                verify_claims(group, partial_claims(election, tally, d, commitments), rng)
            combine(election, tally, partials)

        st = Stage(
            "decrypt",
            f"partial decryption ×{w.quorum} + check + combine",
            "election",
            1,
            _timed(decrypt, r),
        )
        st.counts = _counted(decrypt)
        stages.append(st)

        progress(f"{ballots} ballots: record export and verification")
        assert board is not None
        board.close()
        posted = board.post_tally()
        for s in present:
            d = partial_decrypt(election, posted, s, shares[s.index], rng)
            board.post_decryption(codec.encode(d))
        board.post_results()
        record = os.path.join(work, "record")
        export_record(board, record)

        def verify(jobs: int) -> Callable[[], Any]:
            return lambda: run_verify(record, jobs, lambda s: None, show_progress=False)

        st = Stage(
            "record",
            f"verify the whole record ({w.jobs} processes)",
            "ballot",
            ballots,
            _timed(verify(w.jobs), r),
        )
        st.counts = _counted(verify(1))
        stages.append(st)

        # The part of that no worker can take: reading the record, the board's log (parse
        # every entry, rebuild the Merkle tree, the re-vote rule), merging the shards'
        # summaries, and the per-election checks; the shards' answers are replayed.
        # Both passes go through the mapper (the first pass's shards of log lines, then the
        # ballots'); the replay reads the shards as the real run does and answers each
        # with what the recording gave.
        files = read_record(record)
        answers: list[Any] = []

        def recording(e: Election, shards: Iterable[Any]) -> Iterator[Any]:
            for shard in shards:
                answers.append(run_shard(e, shard))
                yield answers[-1]

        verify_record(files, recording)

        def replay(e: Election, shards: Iterable[Any]) -> Iterator[Any]:
            for _ in shards:
                yield next(given)

        def serial() -> None:
            nonlocal given
            given = iter(answers)
            verify_record(read_record(record), replay)

        given: Iterator[Any] = iter(answers)

        st = Stage(
            "coordinator",
            "  of which serial (coordinator)",
            "ballot",
            ballots,
            _timed(serial, r),
        )
        st.counts = _counted(serial)
        stages.append(st)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return stages
