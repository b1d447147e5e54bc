"""``tohyo demo``: a whole simulated election through the bulletin board, verified at the end.

5 trustees with quorum 3 hold the key (one absent at decryption). The board runs on SQLite
(or ``--db``); worker processes play the voters: each encrypts its choices and submits them
to the board, which verifies and appends them (several processes appending to one log).
Some voters challenge a ballot first, some re-vote (the last ballot per contest counts),
and some submissions are refused on purpose (a copied ballot, a corrupted proof, an unknown
voter, a ballot after the close). After the close the board tallies the counted ballots,
the present trustees decrypt, the record is exported and verified by the independent
verifier, and the results are printed beside what the simulation meant to count.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bulletin.auth import Refusal, TokenAuthenticator
from bulletin.board import Board, export_record, load_signing_key, new_signing_key
from bulletin.clock import OffsetClock
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.ballot import challenge, encrypt_ballot
from e2e.cli import print_report, run_verify
from e2e.election import Election, base_hash
from e2e.group import Group, release_gil
from e2e.manifest import Manifest, manifest_from_json
from e2e.rng import DeterministicRng, Rng, SystemRng
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from trustees.ceremony import run_ceremony
from trustees.decrypt import partial_decrypt

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "tsukuba-2025.json"
PSEUDONYM_KEY = b"demo pseudonym key (the election authority's secret)"
CHALLENGE_EVERY = 97  # every 97th voter challenges a ballot first
REVOTE_EVERY = 13  # every 13th voter votes again in one category
ATTACK_EVERY = 50  # every 50th voter's worker also tries something the board must refuse


@dataclass
class Chunk:
    """What a worker reports for a range of simulated voters."""

    accepted: int
    challenged: int
    revotes: int
    refused: Counter
    intended: dict[str, dict[str, str | None]]  # voter → contest → final choice


def simulated_choices(manifest: Manifest, rng: Rng) -> dict[str, list[str]]:
    """One voter's choices: usually every category, sometimes a subset; some blank."""
    contests = list(manifest.contests)
    if rng.randbelow(100) < 25:  # a quarter vote only some categories
        k = 1 + rng.randbelow(len(contests))
        picked: list = []
        while len(picked) < k:
            c = contests[rng.randbelow(len(contests))]
            if c not in picked:
                picked.append(c)
        contests = [c for c in manifest.contests if c in picked]
    out: dict[str, list[str]] = {}
    for c in contests:
        if rng.randbelow(100) < 12:
            out[c.id] = []  # blank
            continue
        weights = [5 + 3 * (len(c.options) - j) for j in range(len(c.options))]
        x = rng.randbelow(sum(weights))
        for o, w in zip(c.options, weights, strict=True):
            if x < w:
                out[c.id] = [o.id]
                break
            x -= w
    return out


_BOARD: Board | None = None


def _init(db: str, key: str, offset: float, voters: int) -> None:
    global _BOARD
    release_gil()
    tokens = {f"token-{v}": f"person-{v}" for v in range(voters)}
    _BOARD = Board(
        Store(make_engine(db)),
        load_signing_key(key),
        OffsetClock(offset),
        TokenAuthenticator(PSEUDONYM_KEY, tokens),
    )


def _submit(board: Board, ballot: object, token: str) -> None:
    board.submit({"ballot": codec.to_document(ballot), "auth": {"token": token}})


def _voters(args: tuple[int, int, str | None]) -> Chunk:
    """Simulate voters [start, stop): encrypt, sometimes challenge, cast, sometimes re-vote."""
    start, stop, seed = args
    board = _BOARD
    assert board is not None
    election = board.election
    chunk = Chunk(0, 0, 0, Counter(), {})
    for v in range(start, stop):
        rng: Rng = DeterministicRng(f"{seed}/voter/{v}") if seed is not None else SystemRng()
        token = f"token-{v}"
        choices = simulated_choices(election.manifest, rng)
        if v % CHALLENGE_EVERY == CHALLENGE_EVERY - 1:
            ballot, secret = encrypt_ballot(election, choices, rng, device="demo-booth")
            board.submit_challenged({"challenged": codec.to_document(challenge(ballot, secret))})
            chunk.challenged += 1
        ballot, _ = encrypt_ballot(election, choices, rng, device="demo-booth")
        _submit(board, ballot, token)
        chunk.accepted += 1
        final = {c: (ch[0] if ch else None) for c, ch in choices.items()}
        if v % REVOTE_EVERY == REVOTE_EVERY - 1:
            # vote again in one category: that category's new choice replaces the old one,
            # the voter's other categories keep counting
            contest = election.manifest.contests[rng.randbelow(len(election.manifest.contests))]
            new = [contest.options[rng.randbelow(len(contest.options))].id]
            again, _ = encrypt_ballot(election, {contest.id: new}, rng, device="demo-booth")
            _submit(board, again, token)
            chunk.revotes += 1
            final[contest.id] = new[0]
        chunk.intended[f"person-{v}"] = final
        if v % ATTACK_EVERY == ATTACK_EVERY - 1:
            _attacks(board, ballot, election, rng, chunk)
    return chunk


def _attacks(board: Board, ballot: object, election: Election, rng: Rng, chunk: Chunk) -> None:
    """Submissions the board must refuse, each with its own reason."""
    doc = codec.to_document(ballot)
    fresh, _ = encrypt_ballot(election, {election.manifest.contests[0].id: []}, rng)
    tries = {
        "copied ballot under another voter": lambda: board.submit(
            {"ballot": doc, "auth": {"token": "token-0"}}
        ),
        "unknown voter": lambda: board.submit({"ballot": doc, "auth": {"token": "forged"}}),
        "corrupted proof": lambda: board.submit(
            {"ballot": _corrupt(codec.to_document(fresh)), "auth": {"token": "token-1"}}
        ),
        "not JSON": lambda: board.submit(b"{not json"),
    }
    for name, attempt in tries.items():
        try:
            attempt()
            chunk.refused[f"ACCEPTED?! {name}"] += 1
        except Refusal as e:
            chunk.refused[f"{name}: {e.code}"] += 1


def _corrupt(doc: dict) -> dict:
    bad = json.loads(json.dumps(doc))
    responses = bad["contests"][0]["selections"][0]["proof"]["responses"]
    v = int(responses[0], 16)
    responses[0] = format(v ^ 1, "X").rjust(len(responses[0]), "0")
    return bad


def run_demo(
    group: Group,
    manifest: Manifest,
    voters: int,
    trustees: int,
    quorum: int,
    absent: int,
    seed: str | None,
    out: pathlib.Path,
    jobs: int,
    echo: Callable[[str], None],
    db: str | None = None,
) -> bool:
    """Run the simulated election; True if the verified results equal the intended counts."""
    t0 = time.perf_counter()
    manifest = replace(manifest, trustees=trustees, quorum=quorum)
    if absent > trustees - quorum:
        raise SystemExit(f"--absent {absent} leaves fewer than the quorum {quorum} of {trustees}")
    rng: Rng = DeterministicRng(f"{seed}/ceremony") if seed is not None else SystemRng()
    h_p, _ = base_hash(group, manifest)
    echo(f"election: {manifest.title.ja} / {manifest.title.en}")
    echo(f"group: {group.name}")
    echo(f"key ceremony: {trustees} trustees, quorum {quorum}")
    secrets_list, publics = run_ceremony(group, h_p, trustees, quorum, rng)
    election = Election(group, manifest, group.product(t.key for t in publics))
    echo(f"  joint key K ready; H_E = {election.h_e.hex_upper()[:32]}…")

    work = pathlib.Path(tempfile.mkdtemp(prefix="tohyo-demo-"))
    try:
        db = db or f"sqlite:///{work / 'board.db'}"
        key_path = work / "board.key"
        new_signing_key(key_path)
        engine = make_engine(db)
        migrate(engine)
        offset = (manifest.start_time + timedelta(days=1) - datetime.now(UTC)).total_seconds()
        board = Board(Store(engine), load_signing_key(key_path), OffsetClock(offset))
        board.setup(
            manifest.canonical_bytes(),
            codec.encode(election.parameters()),
            [codec.encode(t) for t in publics],
        )
        board.open()
        echo(f"board: {engine.dialect.name}, opened; {voters} voters in {jobs} processes")

        t1 = time.perf_counter()
        per = max(1, min(100, voters // (4 * jobs) or 1))
        ranges = [(s, min(s + per, voters), seed) for s in range(0, voters, per)]
        total = Chunk(0, 0, 0, Counter(), {})
        with ProcessPoolExecutor(
            jobs, initializer=_init, initargs=(db, str(key_path), offset, voters)
        ) as pool:
            for chunk in pool.map(_voters, ranges):
                total.accepted += chunk.accepted
                total.challenged += chunk.challenged
                total.revotes += chunk.revotes
                total.refused.update(chunk.refused)
                total.intended.update(chunk.intended)
        board.close()
        late, _ = encrypt_ballot(election, {manifest.contests[0].id: []}, rng)
        board.authenticator = TokenAuthenticator(PSEUDONYM_KEY, {"token-0": "person-0"})
        try:
            _submit(board, late, "token-0")
        except Refusal as e:
            total.refused[f"ballot after the close: {e.code}"] += 1
        echo(
            f"voting: {total.accepted} ballots cast, {total.revotes} re-votes, "
            f"{total.challenged} challenged; {time.perf_counter() - t1:.1f} s"
        )
        echo("refused on purpose (the board must refuse each):")
        for reason, n in sorted(total.refused.items()):
            echo(f"  {n:4d}  {reason}")

        tally = board.post_tally()
        away = set(range(2, 2 + absent))
        present = [s for s in secrets_list if s.index not in away]
        echo(
            f"decryption: trustees {[s.index for s in present]} present, "
            f"{sorted(away) or 'none'} absent"
        )
        commitments = trustee_commitments(publics)
        for s in present:
            drng = (
                DeterministicRng(f"{seed}/decrypt/{s.index}") if seed is not None else SystemRng()
            )
            partial = partial_decrypt(
                election, tally, s, public_share(group, commitments, s.index), drng
            )
            board.post_decryption(codec.encode(partial))
        board.post_results()
        if out.exists():
            shutil.rmtree(out)
        export_record(board, out)
        echo(f"record exported to {out} ({board.store.size()} log entries)")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    echo("verifying the record independently (tohyo verify)…")
    t2 = time.perf_counter()
    report = run_verify(str(out), jobs, echo, show_progress=False)
    print_report(report, time.perf_counter() - t2, echo)

    intended: Counter = Counter()
    for final in total.intended.values():
        for contest_id, option_id in final.items():
            if option_id is not None:
                intended[(contest_id, option_id)] += 1
    ok = not any(k.startswith("ACCEPTED") for k in total.refused)
    echo("")
    echo(f"{'contest':<12} {'option':<22} {'decrypted':>9} {'intended':>9}")
    for c in report.results.contests if report.results else ():
        for o in c.options:
            want = intended[(c.contest, o.option)]
            ok &= want == o.votes
            mark = "" if want == o.votes else "  MISMATCH"
            echo(f"{c.contest:<12} {o.option:<22} {o.votes:>9} {want:>9}{mark}")
    echo(f"{'all equal' if ok else 'RESULTS DIFFER'}; total {time.perf_counter() - t0:.1f} s")
    return ok


def load_manifest(path: pathlib.Path) -> Manifest:
    return manifest_from_json(path.read_text(encoding="utf-8"))
