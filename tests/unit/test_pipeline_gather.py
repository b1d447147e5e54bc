"""A batch waits for the submissions already being checked in the same process.

Under a steady load the first request parsed after a batch used to lead a batch of one
while the others were still being parsed; a batch of one costs more than twice as much
per ballot as a batch of sixteen (docs/researchers.md)."""

from __future__ import annotations

import threading
import time

import pytest

from bulletin.batcher import Interrupted, Pipeline


def _recording() -> tuple[Pipeline[str], list[list[str]]]:
    batches: list[list[str]] = []

    def process(items: list[str]) -> list[str]:
        batches.append(list(items))
        return [f"ok {i}" for i in items]

    return Pipeline(process, wait=0, gather=30), batches


def _run(fn) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


def _until(cond) -> None:
    """Poll for a state another thread reaches (no sleep standing in for it)."""
    for _ in range(1000):
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError("the other thread never got there")


def _gathering(pipe: Pipeline, queued: int) -> bool:
    """A leader holds ``queued`` submissions and is waiting for more (it has read which
    announcements it waits for)."""
    with pipe._lock:
        return pipe._horizon is not None and len(pipe._queue) == queued


def test_a_leader_waits_for_an_announced_submission():
    pipe, batches = _recording()
    announced = threading.Event()
    release = threading.Event()
    results: dict[str, str] = {}

    def slow() -> None:  # announced, then still "parsing" when the other one leads
        with pipe.expecting() as ticket:
            announced.set()
            release.wait(10)
            results["slow"] = pipe.submit("slow", ticket)

    a = _run(slow)
    assert announced.wait(10)
    b = _run(lambda: results.__setitem__("fast", pipe.submit("fast")))
    _until(lambda: _gathering(pipe, 1))
    assert b.is_alive() and batches == []  # held for the announced one
    release.set()
    a.join(10)
    b.join(10)
    assert batches == [["fast", "slow"]]
    assert results == {"fast": "ok fast", "slow": "ok slow"}
    assert pipe.coming == 0


def test_a_withdrawn_announcement_releases_the_batch():
    pipe, batches = _recording()
    announced = threading.Event()
    refuse = threading.Event()

    def refused() -> None:  # announced, then refused before reaching the pipeline
        try:
            with pipe.expecting():
                announced.set()
                refuse.wait(10)
                raise ValueError("malformed")
        except ValueError:
            pass

    a = _run(refused)
    assert announced.wait(10)
    got: list[str] = []
    b = _run(lambda: got.append(pipe.submit("fast")))
    _until(lambda: _gathering(pipe, 1))
    assert b.is_alive() and batches == []
    refuse.set()
    b.join(10)  # far less than the 30 s gather bound
    a.join(10)
    assert not b.is_alive() and got == ["ok fast"] and batches == [["fast"]]
    assert pipe.coming == 0


def test_the_wait_is_bounded():
    batches: list[list[str]] = []
    pipe: Pipeline[str] = Pipeline(
        lambda items: batches.append(list(items)) or list(items), wait=0, gather=0.2
    )
    with pipe.expecting():  # announced and never submitted while the other one waits
        t = _run(lambda: pipe.submit("fast"))
        t.join(10)
        assert not t.is_alive() and batches == [["fast"]]
    assert pipe.coming == 0


def test_a_batch_does_not_wait_past_its_size():
    batches: list[list[str]] = []
    pipe: Pipeline[str] = Pipeline(
        lambda items: batches.append(list(items)) or list(items),
        wait=0,
        gather=30,
        max_items=1,
    )
    with pipe.expecting():  # would hold the batch, but the batch is already full
        t = _run(lambda: pipe.submit("only"))
        t.join(10)
        assert not t.is_alive() and batches == [["only"]]
    assert pipe.coming == 0


def test_a_submission_that_fills_the_batch_wakes_the_leader():
    pipe, batches = _recording()
    pipe.max_items = 2
    got: list[str] = []
    with pipe.expecting():  # holds the leader for 30 s unless the batch fills
        a = _run(lambda: got.append(pipe.submit("a")))
        _until(lambda: _gathering(pipe, 1))
        b = _run(lambda: got.append(pipe.submit("b")))  # not announced: fills the batch
        a.join(10)
        b.join(10)
        assert not a.is_alive() and not b.is_alive()
        assert batches == [["a", "b"]] and sorted(got) == ["ok a", "ok b"]


def test_a_leader_does_not_wait_for_submissions_announced_after_it_began():
    pipe, batches = _recording()
    got: list[str] = []
    release = threading.Event()

    def older() -> None:
        with pipe.expecting() as ticket:
            release.wait(10)
            got.append(pipe.submit("older", ticket))

    o = _run(older)
    _until(lambda: pipe.coming == 1)
    a = _run(lambda: got.append(pipe.submit("a")))
    _until(lambda: _gathering(pipe, 1))
    with pipe.expecting():  # announced while the leader gathers, never submitted
        release.set()  # the one it waits for arrives: the batch runs without the newer one
        o.join(10)
        a.join(10)
        assert not o.is_alive() and not a.is_alive()
        assert batches == [["a", "older"]]
    assert pipe.coming == 0


class _Interrupted(threading.Condition):
    """The leader's gathering wait, interrupted once (Ctrl-C where it runs in the main
    thread) when ``go`` is set."""

    def __init__(self, lock, go: threading.Event) -> None:
        super().__init__(lock)
        self.go = go
        self.fired = False

    def wait(self, timeout=None) -> bool:
        super().wait(min(timeout or 0.05, 0.05))
        if self.go.is_set() and not self.fired:
            self.fired = True
            raise KeyboardInterrupt
        return False


def test_an_interrupted_leader_hands_the_batch_on():
    pipe, batches = _recording()
    go = threading.Event()
    pipe._changed = _Interrupted(pipe._lock, go)
    outcome: dict[str, object] = {}

    def leader() -> None:
        try:
            outcome["a"] = pipe.submit("a")
        except KeyboardInterrupt:
            outcome["a"] = "interrupted"

    with pipe.expecting():  # the leader waits for it
        a = _run(leader)
        _until(lambda: _gathering(pipe, 1))
        b = _run(lambda: outcome.__setitem__("b", pipe.submit("b")))
        _until(lambda: _gathering(pipe, 2))
        go.set()
        a.join(10)
        assert outcome == {"a": "interrupted"}  # its ballot was never in a batch
    b.join(10)  # b leads now, and its batch no longer waits for the withdrawn one
    assert not b.is_alive() and outcome["b"] == "ok b" and batches == [["b"]]
    assert pipe._leader is None and pipe._queue == [] and pipe.coming == 0


def test_withdraw_after_submit_changes_nothing():
    pipe, _ = _recording()
    with pipe.expecting() as ticket:
        assert pipe.coming == 1
        assert pipe.submit("x", ticket) == "ok x"
        assert pipe.coming == 0
        pipe.withdraw(ticket)
        assert pipe.coming == 0
    with pytest.raises(ValueError), pipe.expecting():
        assert pipe.coming == 1
        raise ValueError
    assert pipe.coming == 0


def test_a_submission_waited_for_the_whole_bound_is_not_waited_for_again():
    """One slow card check holds one batch to the bound, not every batch after it; one
    announced while that batch gathered was not waited for yet, so the next leader waits."""
    batches: list[list[str]] = []

    def process(items: list[str]) -> list[str]:
        batches.append(list(items))
        return [f"ok {i}" for i in items]

    pipe = Pipeline(process, wait=0, gather=1.0)
    first_in, second_in = threading.Event(), threading.Event()
    release_first, release_second = threading.Event(), threading.Event()

    def slow_first() -> None:  # never done checking until the end of the test
        with pipe.expecting():
            first_in.set()
            release_first.wait(30)

    def slow_second() -> None:  # announced while the first batch gathers
        with pipe.expecting() as ticket:
            second_in.set()
            assert release_second.wait(30)
            pipe.submit("slow second", ticket)

    a = _run(slow_first)
    assert first_in.wait(10)
    first = _run(lambda: pipe.submit("first"))
    _until(lambda: _gathering(pipe, 1))
    b = _run(slow_second)
    assert second_in.wait(10)
    first.join(10)  # waited the whole bound for the slow first one, in vain
    assert not first.is_alive() and batches == [["first"]]
    pipe.gather = 30  # a leader waiting for the slow first one now would hold it for 30 s
    second = _run(lambda: pipe.submit("second"))
    _until(lambda: _gathering(pipe, 1))
    assert second.is_alive() and batches == [["first"]]  # it waits for the second one
    release_second.set()
    b.join(10)
    second.join(10)
    alive = second.is_alive()
    release_first.set()
    a.join(10)
    assert not alive and batches == [["first"], ["second", "slow second"]]
    assert pipe.coming == 0


def test_an_interrupted_leader_leaves_none_of_its_batch_waiting_and_keeps_an_outcome():
    """Interrupted between cutting its batch and running it: no request of the batch waits
    forever, and one that already has its outcome keeps it."""
    pipe = Pipeline(lambda items: [f"ok {i}" for i in items], wait=0, gather=30)
    announced, go = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def interrupted(batch) -> None:
        for s in batch:
            if s.item == "follower":
                s.result = "ok follower"  # its outcome came before the interruption
        raise KeyboardInterrupt

    pipe._run = interrupted  # type: ignore[method-assign]

    def follower() -> None:
        with pipe.expecting() as ticket:
            announced.set()
            assert go.wait(10)
            outcome["follower"] = pipe.submit("follower", ticket)

    def leader() -> None:
        try:
            pipe.submit("leader")
        except BaseException as e:
            outcome["leader"] = e

    f = _run(follower)
    assert announced.wait(10)
    lead = _run(leader)
    _until(lambda: _gathering(pipe, 1))
    go.set()
    lead.join(10)
    f.join(10)
    assert not f.is_alive() and outcome["follower"] == "ok follower"
    assert isinstance(outcome["leader"], KeyboardInterrupt)
    assert pipe._leader is None and pipe.coming == 0


def test_an_interrupted_batch_fails_its_followers_and_the_interruption_stays_with_the_leader():
    def process(items: list[str]) -> list[str]:
        raise KeyboardInterrupt  # as if the leader's thread were interrupted mid-batch

    pipe = Pipeline(process, wait=0, gather=30)
    announced, go = threading.Event(), threading.Event()
    outcome: dict[str, BaseException] = {}

    def run(name: str, announce: bool) -> None:
        try:
            if announce:
                with pipe.expecting() as ticket:
                    announced.set()
                    assert go.wait(10)
                    pipe.submit(name, ticket)
            else:
                pipe.submit(name)
        except BaseException as e:  # the test looks at which kind each one got
            outcome[name] = e

    follower = _run(lambda: run("follower", True))
    assert announced.wait(10)
    leader = _run(lambda: run("leader", False))
    _until(lambda: _gathering(pipe, 1))  # the leader waits for the follower: one batch
    go.set()
    leader.join(10)
    follower.join(10)
    assert isinstance(outcome["leader"], KeyboardInterrupt)
    assert type(outcome["follower"]) is Interrupted  # an ordinary error, not the interrupt
    assert pipe._leader is None and pipe.coming == 0


def test_an_interruption_right_after_announcing_or_queueing_leaves_nothing_behind():
    pipe, batches = _recording()

    class Interrupting(set):
        def add(self, seq: int) -> None:  # the announcement made, then the interruption
            super().add(seq)
            raise KeyboardInterrupt

    pipe._live = Interrupting()
    with pytest.raises(KeyboardInterrupt), pipe.expecting():
        pass
    assert pipe.coming == 0  # withdrawn: no leader will wait for it
    pipe._live = set()

    arrived = pipe._arrived

    def interrupted(ticket) -> None:  # queued, then the interruption
        arrived(ticket)
        raise KeyboardInterrupt

    pipe._arrived = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        pipe.submit("lost")
    pipe._arrived = arrived  # type: ignore[method-assign]
    assert pipe._queue == [] and pipe._leader is None
    assert pipe.submit("next") == "ok next" and batches == [["next"]]
