"""Concurrent submissions are verified in shared batches, and a bad one is still named."""

from __future__ import annotations

import threading
from dataclasses import replace

from bulletin.batcher import ProofBatcher
from e2e.ballot import ballot_claims, encrypt_ballot
from e2e.errors import InvalidProof
from e2e.rng import DeterministicRng
from tests.integration.board_helpers import make_board


def test_batches_across_waiting_submissions_and_names_the_bad_one(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    el = s.election
    ballots = [
        encrypt_ballot(el, {"gyosei": ["internet-voting"]}, DeterministicRng(f"t{i}"))[0]
        for i in range(12)
    ]
    bad = ballots[7]
    contest = bad.contests[0]
    sel = contest.selections[1]
    broken = replace(
        sel,
        proof=replace(sel.proof, responses=(sel.proof.responses[0] + 1, sel.proof.responses[1])),
    )
    ballots[7] = replace(
        bad,
        contests=(
            replace(contest, selections=(contest.selections[0], broken, contest.selections[2])),
        ),
    )
    batcher = ProofBatcher(el.group, wait=0.05)
    results: dict[int, Exception | None] = {}
    barrier = threading.Barrier(len(ballots))

    def go(i: int) -> None:
        claims = ballot_claims(el, ballots[i])
        barrier.wait()
        try:
            batcher.check(claims)
            results[i] = None
        except InvalidProof as e:
            results[i] = e

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(ballots))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [i for i, r in results.items() if r is not None] == [7]
    assert "contest 1 option 2" in str(results[7])
    assert batcher.batches < len(ballots)  # shared batches, not one per submission
