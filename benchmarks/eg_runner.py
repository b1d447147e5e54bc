"""The electionguard-python 1.4 side of ``tohyo bench --compare electionguard``.

Run by the interpreter of the separate virtual environment that ``make bench-eg`` creates
(``.venv-eg``, Python 3.10), never imported by tohyo and importing nothing of tohyo: it
drives electionguard's own public API through the same workload as tohyo's stages and
writes the timings as JSON.

    .venv-eg/bin/python benchmarks/eg_runner.py --ballots 100 --out eg.json

Workload: a manifest of C contests × O selections with L votes allowed (default 3 × 3,
vote for one), a key ceremony of n guardians with quorum k, N ballots (ballot b chooses the
L selections (b + j) mod O in every contest). Stages, each timed over all N ballots:

* encrypt: ``encrypt_ballot`` (with all proofs, ``should_verify_proofs=False``)
* verify: ``CiphertextBallot.is_valid_encryption`` (every selection's disjunctive
  Chaum-Pedersen proof, every contest's constant proof, the hashes), one ballot at a time
* board: ``BallotBox.cast`` (style and proof checks, then the ballot store)
* tally: ``CiphertextTally.batch_append`` without re-validation (electionguard's scheduler)
* decrypt: tally shares of the k present guardians, compensated shares for the n − k
  missing ones, and ``DecryptionMediator.get_plaintext_tally``; the counts are checked
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
from datetime import datetime
from typing import Any


def _workload(args: argparse.Namespace) -> dict[str, Any]:
    import gmpy2
    from electionguard.ballot import (
        PlaintextBallot,
        PlaintextBallotContest,
        PlaintextBallotSelection,
    )
    from electionguard.ballot_box import BallotBox
    from electionguard.data_store import DataStore
    from electionguard.decryption_mediator import DecryptionMediator
    from electionguard.encrypt import EncryptionDevice, encrypt_ballot, generate_device_uuid
    from electionguard.key_ceremony import CeremonyDetails
    from electionguard.key_ceremony_mediator import KeyCeremonyMediator
    from electionguard.manifest import (
        BallotStyle,
        Candidate,
        CandidateContestDescription,
        ElectionType,
        GeopoliticalUnit,
        Manifest,
        ReportingUnitType,
        SelectionDescription,
        SpecVersion,
        VoteVariationType,
    )
    from electionguard.scheduler import Scheduler
    from electionguard.tally import CiphertextTally
    from electionguard_tools.helpers.election_builder import ElectionBuilder
    from electionguard_tools.helpers.key_ceremony_orchestrator import KeyCeremonyOrchestrator
    from electionguard_tools.helpers.tally_ceremony_orchestrator import (
        TallyCeremonyOrchestrator,
    )

    # electionguard's logger (made at import, level DEBUG) writes every encryption's
    # numbers to stderr; a production deployment would raise its level, so do that here.
    eg_logger = logging.getLogger("electionguard")
    eg_logger.setLevel(logging.ERROR)
    for h in eg_logger.handlers:
        h.setLevel(logging.ERROR)

    n_c, n_o, limit = args.contests, args.options, min(args.limit, args.options)
    unit = GeopoliticalUnit("unit", "Unit", ReportingUnitType.city)
    candidates = [Candidate(f"cand-{c}-{o}") for c in range(n_c) for o in range(n_o)]
    contests = [
        CandidateContestDescription(
            f"contest-{c}",
            c,
            "unit",
            VoteVariationType.one_of_m if limit == 1 else VoteVariationType.n_of_m,
            limit,
            limit,
            f"Contest {c}",
            [SelectionDescription(f"sel-{c}-{o}", o, f"cand-{c}-{o}") for o in range(n_o)],
        )
        for c in range(n_c)
    ]
    style = BallotStyle("style", ["unit"])
    manifest = Manifest(
        "bench",
        SpecVersion.EG0_95,
        ElectionType.general,
        datetime(2025, 1, 1),
        datetime(2025, 1, 31),
        [unit],
        [],
        candidates,
        contests,
        [style],
    )

    t0 = time.perf_counter()
    guardians = KeyCeremonyOrchestrator.create_guardians(
        CeremonyDetails(args.trustees, args.quorum)
    )
    mediator = KeyCeremonyMediator("mediator", guardians[0].ceremony_details)
    KeyCeremonyOrchestrator.perform_full_ceremony(guardians, mediator)
    joint = mediator.publish_joint_key()
    assert joint is not None, "the key ceremony failed"
    builder = ElectionBuilder(args.trustees, args.quorum, manifest)
    builder.set_public_key(joint.joint_public_key)
    builder.set_commitment_hash(joint.commitment_hash)
    built = builder.build()
    assert built is not None, "the election builder failed"
    internal, context = built
    setup_s = time.perf_counter() - t0

    def plaintext(b: int) -> PlaintextBallot:
        chosen = {(b + j) % n_o for j in range(limit)}
        return PlaintextBallot(
            f"ballot-{b}",
            "style",
            [
                PlaintextBallotContest(
                    f"contest-{c}",
                    [
                        PlaintextBallotSelection(f"sel-{c}-{o}", 1 if o in chosen else 0)
                        for o in range(n_o)
                    ],
                )
                for c in range(n_c)
            ],
        )

    device = EncryptionDevice(generate_device_uuid(), 12345, 45678, "bench")
    seed = device.get_hash()
    plain = [plaintext(b) for b in range(args.ballots)]
    stages: dict[str, dict[str, Any]] = {}

    def record(name: str, totals: list[float], each: list[float]) -> None:
        stages[name] = {
            "samples_s": totals,
            "per_item_median_ms": statistics.median(each) * 1e3 if each else None,
            "items": args.ballots,
        }

    totals: list[float] = []
    each: list[float] = []
    encrypted: list[Any] = []
    for _ in range(args.repeat):
        encrypted = []
        t_run = time.perf_counter()
        for pb in plain:
            t = time.perf_counter()
            ct = encrypt_ballot(pb, internal, context, seed, should_verify_proofs=False)
            each.append(time.perf_counter() - t)
            assert ct is not None, "electionguard refused to encrypt a ballot"
            encrypted.append(ct)
        totals.append(time.perf_counter() - t_run)
    record("encrypt", totals, each)

    totals, each = [], []
    for _ in range(args.repeat):
        t_run = time.perf_counter()
        for ct in encrypted:
            t = time.perf_counter()
            ok = ct.is_valid_encryption(
                internal.manifest_hash,
                context.elgamal_public_key,
                context.crypto_extended_base_hash,
            )
            each.append(time.perf_counter() - t)
            assert ok, "electionguard rejected its own ballot"
        totals.append(time.perf_counter() - t_run)
    record("verify", totals, each)

    totals, each = [], []
    submitted: list[Any] = []
    for _ in range(args.repeat):
        box = BallotBox(internal, context, DataStore())
        submitted = []
        t_run = time.perf_counter()
        for ct in encrypted:
            t = time.perf_counter()
            sb = box.cast(ct)
            each.append(time.perf_counter() - t)
            assert sb is not None, "the ballot box refused a ballot"
            submitted.append(sb)
        totals.append(time.perf_counter() - t_run)
    record("board", totals, each)

    totals = []
    tally = None
    with Scheduler() as scheduler:
        for _ in range(args.repeat):
            tally = CiphertextTally("bench-tally", internal, context)
            t_run = time.perf_counter()
            assert tally.batch_append([(None, sb) for sb in submitted], False, scheduler)
            totals.append(time.perf_counter() - t_run)
    record("tally", totals, [])
    assert tally is not None

    totals = []
    counts: dict[str, int] = {}
    present = guardians[: args.quorum]
    for _ in range(args.repeat):
        t_run = time.perf_counter()
        dm = DecryptionMediator("decryption-mediator", context)
        TallyCeremonyOrchestrator.perform_compensated_decryption_setup(
            present, [g.share_key() for g in guardians], dm, context, tally, []
        )
        result = dm.get_plaintext_tally(tally, manifest)
        totals.append(time.perf_counter() - t_run)
        assert result is not None, "electionguard could not decrypt the tally"
        counts = {
            s.object_id: s.tally
            for contest in result.contests.values()
            for s in contest.selections.values()
        }
    record("decrypt", totals, [])
    want = {
        f"sel-{c}-{o}": sum(
            1 for b in range(args.ballots) if o in {(b + j) % n_o for j in range(limit)}
        )
        for c in range(n_c)
        for o in range(n_o)
    }
    if any(counts.get(k) != v for k, v in want.items()):
        raise SystemExit(f"electionguard decrypted {counts}, expected {want}")

    import electionguard

    version = getattr(electionguard, "__version__", None)
    if version is None:
        from importlib.metadata import version as _v

        version = _v("electionguard")
    return {
        "electionguard": version,
        "python": platform.python_version(),
        "gmpy2": gmpy2.version(),
        "gmp": gmpy2.mp_version(),
        "workload": {
            "contests": n_c,
            "options": n_o,
            "limit": limit,
            "ballots": args.ballots,
            "trustees": args.trustees,
            "quorum": args.quorum,
            "repeat": args.repeat,
        },
        "setup_s": setup_s,
        "stages": stages,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the workload, run it, write the JSON result to --out (or stdout)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ballots", type=int, default=20)
    ap.add_argument("--contests", type=int, default=3)
    ap.add_argument("--options", type=int, default=3)
    ap.add_argument("--limit", type=int, default=1)
    ap.add_argument("--trustees", type=int, default=5)
    ap.add_argument("--quorum", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the JSON here (default: stdout)")
    args = ap.parse_args(argv)
    if not (args.ballots >= 1 and 1 <= args.quorum <= args.trustees and args.repeat >= 1):
        ap.error("need ballots >= 1, 1 <= quorum <= trustees, repeat >= 1")
    result = _workload(args)
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
