"""A batch waits for the submissions already being checked in the same process.

Under a steady load the first request parsed after a batch used to lead a batch of one
while the others were still being parsed; a batch of one costs about four times as much
per ballot as a batch of sixteen (docs/researchers.md)."""

from __future__ import annotations

import threading

from bulletin.batcher import Pipeline


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
    b.join(0.3)
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
    b.join(0.3)
    assert b.is_alive()
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
