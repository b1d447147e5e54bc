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


class _HeldAuthenticator:
    """The real authenticator, held for one voter's token until ``release`` is set (a card
    check still under way when another submission leads a batch)."""

    def __init__(self, inner, token: str) -> None:
        self.inner, self.token = inner, token
        self.held, self.release = threading.Event(), threading.Event()

    def authenticate(self, auth, code, contests):
        if auth.get("token") == self.token:
            self.held.set()
            assert self.release.wait(30)
        return self.inner.authenticate(auth, code, contests)


def test_a_batch_waits_for_a_submission_still_being_checked(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    el, board = s.election, s.board
    board.pipeline.wait = 0
    board.pipeline.gather = 30  # far longer than the test: only the arrival ends the wait
    alone, slow_body, fast_body = (
        submission(el, {"gyosei": ["internet-voting"]}, f"token-{i}", f"t{i}") for i in range(3)
    )
    # A lone submission does not wait for itself: its own announcement ends at the queue.
    lone = threading.Thread(target=lambda: board.submit(alone), daemon=True)
    lone.start()
    lone.join(20)
    assert not lone.is_alive() and board.pipeline.batches == 1

    held = _HeldAuthenticator(board.authenticator, "token-1")
    board.authenticator = held
    results: dict[str, object] = {}
    slow = threading.Thread(
        target=lambda: results.__setitem__("slow", board.submit(slow_body)),
        daemon=True,
    )
    slow.start()
    assert held.held.wait(20)
    assert board.pipeline.coming == 1  # announced from the start, before its card check
    fast = threading.Thread(
        target=lambda: results.__setitem__("fast", board.submit(fast_body)),
        daemon=True,
    )
    fast.start()
    for _ in range(2000):  # until the fast one is queued and its leader gathers
        with board.pipeline._lock:
            if board.pipeline._queue and board.pipeline._horizon is not None:
                break
        threading.Event().wait(0.01)
    else:
        raise AssertionError("the fast one never led a gathering batch")
    assert fast.is_alive() and board.pipeline.batches == 1  # held for the slow one
    held.release.set()
    slow.join(20)
    fast.join(20)
    assert board.pipeline.batches == 2  # both in one batch
    entries = sorted(r["entry"] for r in results.values())  # type: ignore[index]
    assert len(entries) == 2 and entries[1] == entries[0] + 1
    assert board.pipeline.coming == 0


def test_a_retry_is_not_waited_for_while_its_receipt_is_built(tmp_path):
    """A retry never joins a batch: a leader must not hold its batch for one (the receipt of
    a retry is built outside the pipeline, and reads the database)."""
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    el, board = s.election, s.board
    board.pipeline.wait = 0
    first, fresh = (
        submission(el, {"gyosei": ["internet-voting"]}, f"token-{i}", f"t{i}") for i in range(2)
    )
    receipt = board.submit(first)
    board.pipeline.gather = 30  # far longer than the test: a wait for the retry would show
    building, release = threading.Event(), threading.Event()
    retry = board._retry

    def slow_retry(rows, voter, digest):
        if rows:  # the retry's receipt is being built
            building.set()
            assert release.wait(30)
        return retry(rows, voter, digest)

    board._retry = slow_retry
    results: dict[str, object] = {}
    again = threading.Thread(
        target=lambda: results.__setitem__("again", board.submit(first)), daemon=True
    )
    again.start()
    assert building.wait(20)
    new = threading.Thread(
        target=lambda: results.__setitem__("new", board.submit(fresh)), daemon=True
    )
    new.start()
    new.join(20)
    assert not new.is_alive()  # its batch ran while the retry's receipt was still held
    release.set()
    again.join(20)
    assert results["again"]["entry"] == receipt["entry"]  # type: ignore[index]
    assert results["new"]["entry"] == receipt["entry"] + 1  # type: ignore[index]
    assert board.pipeline.coming == 0
