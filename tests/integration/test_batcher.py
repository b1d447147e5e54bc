"""Concurrent submissions are verified and appended in shared batches; a bad one is named."""

from __future__ import annotations

import json
import threading

import pytest

from bulletin.auth import Refusal
from tests.integration.board_helpers import make_board, submission


def test_batches_across_waiting_submissions_and_names_the_bad_one(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    el, board = s.election, s.board
    bodies = [
        submission(el, {"gyosei": ["internet-voting"]}, f"token-{i}", f"t{i}") for i in range(12)
    ]
    bad = json.loads(bodies[7])
    r = bad["ballot"]["contests"][0]["selections"][1]["proof"]["responses"]
    r[0] = format(int(r[0], 16) ^ 1, "X").rjust(len(r[0]), "0")
    bodies[7] = json.dumps(bad).encode()
    board.pipeline.wait = 0.05  # let every thread join the first batch
    results: dict[int, object] = {}
    barrier = threading.Barrier(len(bodies))

    def go(i: int) -> None:
        barrier.wait()
        try:
            results[i] = board.submit(bodies[i])
        except Refusal as e:
            results[i] = e

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = {i: r for i, r in results.items() if isinstance(r, Refusal)}
    assert list(refused) == [7]
    assert refused[7].code == "invalid_proof" and "contest 1 option 2" in refused[7].detail
    entries = sorted(r["entry"] for r in results.values() if isinstance(r, dict))
    assert len(entries) == 11 and entries == list(range(entries[0], entries[0] + 11))
    assert board.pipeline.batches < len(bodies)  # shared batches, not one per submission
    # A submission refused before the batch withdraws its announcement: no batch waits for it.
    with pytest.raises(Refusal):
        board.submit(b"not json")
    assert board.pipeline.coming == 0
