"""Cast ballots per contest over time, read incrementally from the public log.

Shared by the board browser (per day) and the administrator's dashboard (per day or hour),
both in the election's time zone (:func:`web.i18n.election_zone`). Only an entry's kind,
time and the ballot's contest indices are read (through :class:`e2e.board.Entry`); never
the voter.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, tzinfo

from flask import current_app

from bulletin.board import Board
from e2e.board import Entry

SLOT_MINUTES = 15  # every UTC offset in use is a whole number of quarter hours


class Turnout:
    """Cast ballots per (UTC quarter hour, contest index), read incrementally from the log.

    Quarter hours rather than hours, so that hours and days in a zone whose offset is not a
    whole number of hours (e.g. +05:30) are counted exactly.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = 0
        self._counts: Counter[tuple[datetime, int]] = Counter()

    def counts(self, board: Board) -> Counter[tuple[datetime, int]]:
        """(the UTC quarter hour, 1-based contest index) → cast ballots covering that
        contest."""
        with self._lock:
            size = board.store.size()
            while self._size < size:
                rows = board.store.entries(self._size, 1000)
                if not rows:
                    break
                for idx, kind, data in rows:
                    if kind == "ballot":
                        entry = Entry(data)
                        when = datetime.fromisoformat(entry.time).astimezone(UTC)
                        minute = when.minute - when.minute % SLOT_MINUTES
                        key = when.replace(minute=minute, second=0, microsecond=0)
                        for ci in entry.contests:
                            self._counts[(key, ci)] += 1
                    self._size = idx + 1
            return Counter(self._counts)


def turnout(board: Board, tz: tzinfo, by: str = "day") -> Counter[tuple[datetime, int]]:
    """This app's counts per (start of the day or hour in ``tz``, 1-based contest index)."""
    counter = current_app.extensions.setdefault("tohyo_turnout", Turnout())
    out: Counter[tuple[datetime, int]] = Counter()
    for (slot, ci), n in counter.counts(board).items():
        local = slot.astimezone(tz).replace(minute=0)
        out[(local if by == "hour" else local.replace(hour=0), ci)] += n
    return out
