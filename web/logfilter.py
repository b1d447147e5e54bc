"""A logging filter that lets a warning through at most once every few seconds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class EveryFewSeconds(logging.Filter):
    """Let a record through at most once every ``every`` seconds, saying how many were held
    back. For warnings that come once per request when something is wrong for a while:
    waitress warns "Task queue depth is N" each time a request has to wait for a
    thread: under a burst that is one line per request (thousands a minute at 50 clients
    on 16 threads), which buries the access log without saying more than the first."""

    def __init__(self, every: float = 10.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.every, self.clock = every, clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        with self._lock:
            if self._last is not None and now - self._last < self.every:
                self._held += 1
                return False
            held, since = self._held, self._last
            self._held, self._last = 0, now
        if held and since is not None:
            # Formatted here, so that nothing in the message is taken for a % field.
            such = "such warning" if held == 1 else "such warnings"
            record.msg = (
                f"{record.getMessage()} (and {held} more {such} in the {now - since:.0f} s"
                " before it, not shown)"
            )
            record.args = None
        return True


__all__ = ["EveryFewSeconds"]
