"""waitress warns "Task queue depth is N" for every request that waits for a thread; under a
burst that is one line per request. `tohyo serve` lets one through every ten seconds and
says how many it held back."""

from __future__ import annotations

import logging

import pytest
from waitress.task import ThreadedTaskDispatcher

from web.logfilter import EveryFewSeconds
from web.server import quiet_queue_warnings


def _record(msg: str = "Task queue depth is %d") -> logging.LogRecord:
    return logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, msg, (3,), None)


def test_one_warning_in_ten_seconds_and_the_next_says_how_many_were_held() -> None:
    now = [100.0]
    only = EveryFewSeconds(10.0, clock=lambda: now[0])
    first = _record()
    assert only.filter(first) and first.getMessage() == "Task queue depth is 3"
    for step in (0.0, 1.0, 9.9):
        now[0] = 100.0 + step
        assert not only.filter(_record())
    now[0] = 110.0
    after = _record()
    assert only.filter(after)
    assert after.getMessage() == (
        "Task queue depth is 3 (and 3 more such warnings in the 10 s before it, not shown)"
    )
    # The count starts again after each record let through; a late one says how long the
    # quiet lasted, so a count is never taken for a burst of the last moments.
    now[0] = 111.0
    assert not only.filter(_record())
    now[0] = 400.0
    late = _record()
    assert only.filter(late)
    assert late.getMessage() == (
        "Task queue depth is 3 (and 1 more such warning in the 290 s before it, not shown)"
    )
    now[0] = 420.5
    quiet = _record()
    assert only.filter(quiet) and quiet.getMessage() == "Task queue depth is 3"


@pytest.fixture
def queue_log():
    """waitress' logger as waitress leaves it (a site served in this process earlier in the
    run has already quietened it), restored afterwards."""
    log = logging.getLogger("waitress.queue")
    before = list(log.filters)
    log.filters[:] = [f for f in before if not isinstance(f, EveryFewSeconds)]
    yield log
    log.filters[:] = before


def test_installed_once_however_often_it_is_called(queue_log: logging.Logger) -> None:
    quiet_queue_warnings()
    quiet_queue_warnings()
    assert sum(isinstance(f, EveryFewSeconds) for f in queue_log.filters) == 1


def test_waitress_own_dispatcher_warns_once_for_a_burst(
    queue_log: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    """The real dispatcher with no free thread: each task added to its queue would warn."""

    class Task:
        def service(self) -> None:  # never run: the dispatcher has no threads
            pass

        def cancel(self) -> None:
            pass

    dispatcher = ThreadedTaskDispatcher()
    caplog.set_level(logging.WARNING, logger="waitress.queue")
    for _ in range(5):
        dispatcher.add_task(Task())
    unfiltered = [r for r in caplog.records if r.name == "waitress.queue"]
    assert len(unfiltered) == 5  # waitress itself: one warning per queued task
    caplog.clear()
    quiet_queue_warnings()
    for _ in range(50):
        dispatcher.add_task(Task())
    warned = [r for r in caplog.records if r.name == "waitress.queue"]
    assert len(warned) == 1 and "Task queue depth is" in warned[0].getMessage()
