"""The record's .jsonl reader (e2e.record.Lines) gives back exactly the lines written,
however the file's reads are cut, and refuses a file without its last newline."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e2e.record import Lines, RecordError

line = st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"x"))


class Chopped(io.BytesIO):
    """A file whose reads return at most the next of ``sizes`` bytes (cycled)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        super().__init__(data)
        self.sizes, self.k = sizes, 0

    def read(self, n: int | None = -1) -> bytes:
        size = self.sizes[self.k % len(self.sizes)]
        self.k += 1
        return super().read(size)


@given(st.lists(line, max_size=30), st.lists(st.integers(1, 700), min_size=1, max_size=5))
def test_lines_round_trip_whatever_the_reads(lines, sizes):
    data = b"".join(x + b"\n" for x in lines)
    got = Lines(lambda: Chopped(data, sizes), "f.jsonl", len(data))
    # A file that is one newline holds no line, as an empty file (as the reader always had)
    want = [] if lines == [b""] else lines
    assert list(got) == want
    assert list(got) == want  # a second pass reads the same
    assert got.count() == data.count(b"\n")  # what the shards are sized by


@given(st.lists(line, min_size=1, max_size=10), line.filter(bool), st.integers(1, 50))
def test_a_last_line_without_newline_is_refused(lines, last, size):
    data = b"".join(x + b"\n" for x in lines) + last
    with pytest.raises(RecordError, match="must end with a newline"):
        list(Lines(lambda: Chopped(data, [size]), "f.jsonl"))
