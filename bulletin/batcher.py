"""Group work across the submissions waiting at the same moment (leader/follower).

The first thread to arrive becomes the leader: it waits a moment for others to join, then
hands every waiting item to ``process`` at once — the board verifies all their proofs in
one batch (e2e.batch; a failing batch is re-checked per submission, so only the bad ones
are refused, each with its own error) and appends the good ones in one transaction (one
commit, one signed tree head). Newcomers queue for the leader's next round.

A batch's verification costs less per ballot the more ballots it holds (docs/researchers.md:
about 16.6 ms a ballot alone, 7.4 ms in a batch of 16, 4.9 ms in one of 200), so a leader
also waits, for at most ``gather`` seconds, for the submissions that were already being
parsed and checked in this process when it began to gather (announced with
:meth:`Pipeline.expecting`). It does not wait for those announced later (they join the
batch only if they reach the queue before it runs), so a stream of arrivals cannot hold a
batch for the whole bound; and once a leader has waited the whole bound for a submission,
no later leader waits for it, so one slow card check cannot hold every batch. Without the
wait, under a steady load
the batches alternated between one ballot and all the others: the first request parsed
after a batch led alone while the rest were still being parsed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from e2e.batch import Batch, Claim, verify_claims_one_by_one
from e2e.codec import PendingMembership
from e2e.errors import ParseError, TohyoError, VerificationError
from e2e.group import Group
from e2e.rng import SystemRng

T = TypeVar("T")


class _Slot:
    __slots__ = ("item", "done", "result", "error", "lead")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.lead = False  # woken to lead the next batch, not with a result


class Interrupted(RuntimeError):
    """The batch this submission was in was interrupted (its leader's thread stopped, the
    process is shutting down): its outcome is unknown, and a retry will tell."""


def _interrupted(slot: _Slot) -> None:
    """A slot whose batch was interrupted: unless it has its outcome, an ordinary error. The
    batch may have been appended before the interruption, so the voter is told to retry (a
    retry returns the receipt if the ballot is on the board)."""
    if slot.error is None and slot.result is None:
        slot.error = Interrupted("the batch was interrupted: its outcome is unknown, retry")


class Ticket:
    """A submission announced to a :class:`Pipeline` and not yet queued or given up."""

    __slots__ = ("live", "seq")

    def __init__(self, seq: int) -> None:
        self.live = True
        self.seq = seq  # the order of announcement: a leader waits only for earlier ones


class Pipeline(Generic[T]):
    """Run ``process(items) -> [result or exception]`` over whatever is waiting.

    ``observe``, if given, is told the size of each batch before it runs (for metrics); an
    exception it raises is ignored, so an observer can never hold up or fail a batch.
    """

    def __init__(
        self,
        process: Callable[[list[T]], Sequence[Any]],
        wait: float = 0.003,
        max_items: int = 200,
        observe: Callable[[int], None] | None = None,
        gather: float = 0.1,
    ) -> None:
        self.process = process
        self.wait = wait
        self.max_items = max_items
        self.observe = observe
        self.gather = gather
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a submission arrived or withdrew
        self._queue: list[_Slot] = []
        self._leader: _Slot | None = None  # the request whose thread runs the next batch
        self._issued = 0  # tickets handed out so far
        self._live: set[int] = set()  # announced (being parsed and checked), not yet queued
        self._waived = 0  # tickets before this one were waited for the whole bound already
        self._horizon: int | None = None  # while a leader gathers: the tickets it waits for
        self.batches = 0  # how many batches were run (for tests and benchmarks)

    @property
    def coming(self) -> int:
        """Submissions announced and not yet queued or withdrawn."""
        with self._lock:
            return len(self._live)

    @contextlib.contextmanager
    def expecting(self) -> Iterator[Ticket]:
        """Announce a submission that will reach :meth:`submit` soon (pass it the ticket),
        so that a leader holds its batch for it; leaving the block without submitting (a
        refusal, an error) withdraws it."""
        ticket: Ticket | None = None
        try:
            # Inside the try: an interruption right after the announcement still withdraws it.
            with self._lock:
                ticket = Ticket(self._issued)
                self._issued += 1
                self._live.add(ticket.seq)
            yield ticket
        finally:
            if ticket is not None:
                self.withdraw(ticket)

    def withdraw(self, ticket: Ticket) -> None:
        """Stop holding batches for this submission (it will not be submitted after all);
        again, or after :meth:`submit`, it does nothing."""
        with self._lock:
            self._arrived(ticket)
            self._changed.notify_all()

    def _arrived(self, ticket: Ticket | None) -> None:
        """With the lock held: count an announced submission as queued or given up, once."""
        if ticket is not None and ticket.live:
            ticket.live = False
            self._live.discard(ticket.seq)

    def submit(self, item: T, ticket: Ticket | None = None) -> Any:
        """Return this item's result, or raise its own exception. ``ticket``: from
        :meth:`expecting`, when the submission was announced."""
        slot = _Slot(item)
        try:
            with self._lock:
                self._queue.append(slot)
                self._arrived(ticket)
                self._changed.notify_all()  # a gathering leader's batch may be full now
                lead = self._leader is None
                if lead:
                    self._leader = slot
            if lead:
                if self.wait:
                    time.sleep(self.wait)
                self._lead_once()
            while True:
                slot.done.wait()
                if not slot.lead:
                    break
                # Leadership was handed to this waiting request: run one batch (its own is
                # in it).
                slot.lead = False
                slot.done.clear()
                self._lead_once()
        except BaseException:
            self._abandon(slot)
            raise
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _awaited(self, horizon: int) -> bool:
        """With the lock held: is a submission this leader waits for still being checked?"""
        return any(self._waived <= seq < horizon for seq in self._live)

    def _lead_once(self) -> None:
        """Run one batch, then hand leadership to the oldest waiting request, so that no
        request waits for batches that are not its own."""
        batch: list[_Slot] = []
        try:
            with self._lock:
                # Hold the batch for the submissions that were already being checked in this
                # process (parsing, the card's gate): the queued ones wait a little, and
                # every ballot in the larger batch costs less CPU. Those announced after
                # this point are not waited for, so arrivals cannot hold it to the bound.
                horizon = self._horizon = self._issued
                deadline = time.monotonic() + self.gather
                while self._awaited(horizon) and len(self._queue) < self.max_items:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        # Waited the whole bound: the later leaders do not wait for these.
                        self._waived = horizon
                        break
                    self._changed.wait(left)
                self._horizon = None
                batch = self._queue[: self.max_items]
                self._queue = self._queue[self.max_items :]
            if batch:
                self._run(batch)
        finally:
            # Whatever interrupted this leader, no request of its batch waits forever; one
            # that already has its outcome keeps it.
            for s in batch:
                if not s.done.is_set():
                    _interrupted(s)
                    s.done.set()
            with self._lock:
                self._horizon = None
                self._hand_off()

    def _hand_off(self) -> None:
        """With the lock held: give the next batch to the oldest waiting request, if any."""
        if self._queue:
            nxt = self._queue[0]
            self._leader = nxt
            nxt.lead = True
            nxt.done.set()
        else:
            self._leader = None

    def _abandon(self, slot: _Slot) -> None:
        """This request was interrupted (a KeyboardInterrupt where it runs in the main
        thread) before its batch ran: take it out of the queue and pass on the leadership
        if it holds it, so that nobody behind it waits forever."""
        with self._lock:
            if slot in self._queue:
                self._queue.remove(slot)
            if self._leader is slot:
                slot.lead = False
                self._hand_off()

    def _run(self, batch: list[_Slot]) -> None:
        try:
            self.batches += 1
            if self.observe is not None:
                # A failing observer must not become every item's error.
                with contextlib.suppress(Exception):
                    self.observe(len(batch))
            results = self.process([s.item for s in batch])
            for s, r in zip(batch, results, strict=True):
                if isinstance(r, BaseException):
                    s.error = r
                else:
                    s.result = r
        except Exception as e:  # never leave a follower waiting forever
            for s in batch:
                s.error = e
        # An interruption (a BaseException) goes on up in the leader's thread alone:
        # _lead_once completes the batch's other requests.
        for s in batch:
            s.done.set()


def verify_each(
    group: Group,
    claims: Sequence[list[Claim]],
    members: Sequence[PendingMembership] | None = None,
) -> list[TohyoError | None]:
    """Verify several submissions in one batch — their proofs, and the subgroup membership
    of their elements when ``members`` is given; on failure, find the bad ones."""
    rng = SystemRng()
    batch = Batch(group)
    for cs in claims:
        for c in cs:
            batch.add_claim(c, rng)  # range proofs stay packed (e2e.batch)
    for m in members or ():
        batch.add_members(m.values, rng)
    if batch.holds():
        return [None] * len(claims)
    out: list[TohyoError | None] = []
    for n, cs in enumerate(claims):
        try:
            if members is not None:
                members[n].check(rng)
            verify_claims_one_by_one(group, cs)
            out.append(None)
        except (VerificationError, ParseError) as e:
            out.append(e)
    return out
