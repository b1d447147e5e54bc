"""Cast ballots per hour and contest, read incrementally from the public log.

Shared by the board browser (per day) and the administrator's dashboard (per day or hour).
Only an entry's kind, time and the ballot's contest indices are read; never the voter.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, tzinfo

from flask import current_app

from bulletin.board import Board


class Turnout:
    """Cast ballots per (UTC hour, contest index), read incrementally from the log.

    Only ``kind``, ``time`` and the ballot's contest indices are read; never the voter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = 0
        self._counts: Counter[tuple[datetime, int]] = Counter()

    def counts(self, board: Board) -> Counter[tuple[datetime, int]]:
        """(the UTC hour, 1-based contest index) → cast ballots covering that contest."""
        with self._lock:
            size = board.store.size()
            while self._size < size:
                rows = board.store.entries(self._size, 1000)
                if not rows:
                    break
                for idx, kind, data in rows:
                    if kind == "ballot":
                        entry = json.loads(data)
                        when = datetime.fromisoformat(entry["time"]).astimezone(UTC)
                        key = when.replace(minute=0, second=0, microsecond=0)
                        for c in json.loads(entry["payload"])["contests"]:
                            self._counts[(key, int(c["contest"]))] += 1
                    self._size = idx + 1
            return Counter(self._counts)


def turnout(board: Board, tz: tzinfo | None, by: str = "day") -> Counter[tuple[datetime, int]]:
    """This app's counts per (start of the day or hour in ``tz``, 1-based contest index)."""
    counter = current_app.extensions.setdefault("tohyo_turnout", Turnout())
    out: Counter[tuple[datetime, int]] = Counter()
    for (hour, ci), n in counter.counts(board).items():
        local = hour.astimezone(tz)
        out[(local if by == "hour" else local.replace(hour=0), ci)] += n
    return out
