"""The board's clock is injected, so tests and simulations control the receipt time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """The machine's clock shifted by a fixed offset, the same in every process (demo and
    rehearsals outside the real voting period)."""

    def __init__(self, offset: float) -> None:
        self.offset = timedelta(seconds=offset)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FixedClock:
    """A clock that says what it is told (tests, simulations)."""

    def __init__(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("the clock needs a time zone")
        self.when = when

    def now(self) -> datetime:
        return self.when

    def set(self, when: datetime) -> None:
        self.when = when


def iso(t: datetime) -> str:
    """The board's time format: ISO 8601 in UTC with microseconds."""
    return t.astimezone(UTC).isoformat(timespec="microseconds")
