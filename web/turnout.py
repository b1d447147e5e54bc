"""Cast ballots per hour and contest, read incrementally from the public log.

Shared by the board browser (per day) and the administrator's dashboard (per day or hour).
Only an entry's kind, time and the ballot's contest indices are read; never the voter.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime

from flask import current_app

from bulletin.board import Board


class Turnout:
    """Cast ballots per (UTC hour, contest index), read incrementally from the log.

    Only ``kind``, ``time`` and the ballot's contest indices are read; never the voter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = 0
        self._counts: Counter[tuple[str, int]] = Counter()

    def counts(self, board: Board) -> Counter[tuple[str, int]]:
        """(``YYYY-MM-DDTHH`` in UTC, 1-based contest index) → cast ballots covering it."""
        with self._lock:
            size = board.store.size()
            while self._size < size:
                rows = board.store.entries(self._size, 1000)
                if not rows:
                    break
                for idx, kind, data in rows:
                    if kind == "ballot":
                        entry = json.loads(data)
                        hour = datetime.fromisoformat(entry["time"]).astimezone(UTC)
                        key = hour.strftime("%Y-%m-%dT%H")
                        for c in json.loads(entry["payload"])["contests"]:
                            self._counts[(key, int(c["contest"]))] += 1
                    self._size = idx + 1
            return Counter(self._counts)


def turnout(board: Board) -> Counter[tuple[str, int]]:
    """This app's counts: (``YYYY-MM-DDTHH`` in UTC, 1-based contest index) → ballots."""
    counter = current_app.extensions.setdefault("tohyo_turnout", Turnout())
    return counter.counts(board)
