"""Proof verification that batches across the submissions waiting at the same moment.

The first thread to arrive becomes the leader: it waits a moment for others to join, then
checks every waiting submission's proofs in one batch (e2e.batch). If the batch fails, each
submission is checked alone, so only the bad ones are refused, each with its own error.
Meanwhile newcomers queue for the leader's next round.
"""

from __future__ import annotations

import threading
import time

from e2e.batch import Claim, verify_claims, verify_claims_one_by_one
from e2e.errors import VerificationError
from e2e.group import Group


class _Item:
    __slots__ = ("claims", "done", "error")

    def __init__(self, claims: list[Claim]) -> None:
        self.claims = claims
        self.done = threading.Event()
        self.error: VerificationError | None = None


class ProofBatcher:
    """Verify submissions' claims, batched across concurrent callers."""

    def __init__(self, group: Group, wait: float = 0.002, max_items: int = 200) -> None:
        self.group = group
        self.wait = wait
        self.max_items = max_items
        self._lock = threading.Lock()
        self._queue: list[_Item] = []
        self._leader = False
        self.batches = 0  # for tests and benchmarks: how many batches were run

    def check(self, claims: list[Claim]) -> None:
        """Return if the claims hold; raise the submission's own VerificationError if not."""
        item = _Item(claims)
        with self._lock:
            self._queue.append(item)
            lead = not self._leader
            if lead:
                self._leader = True
        if lead:
            if self.wait:
                time.sleep(self.wait)
            self._lead()
        item.done.wait()
        if item.error is not None:
            raise item.error

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue[: self.max_items], self._queue[self.max_items :]
                if not batch:
                    self._leader = False
                    return
            self._run(batch)

    def _run(self, batch: list[_Item]) -> None:
        self.batches += 1
        try:
            verify_claims(self.group, [c for item in batch for c in item.claims])
        except VerificationError:
            for item in batch:
                try:
                    verify_claims_one_by_one(self.group, item.claims)
                except VerificationError as e:
                    item.error = e
        except BaseException as e:  # never leave a follower waiting forever
            for item in batch:
                item.error = VerificationError(f"verification failed: {type(e).__name__}")
        for item in batch:
            item.done.set()
