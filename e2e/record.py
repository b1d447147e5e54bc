"""Reading and writing the election record directory (or .zip): the edge of ``e2e``.

This is the only module of the core that touches files, and the one owner of the record's
layout: :class:`Layout` names every path, and every writer (the board's export, a trustee's
download, records made without a board) writes through this module. Layout
(docs/record.md):

    manifest.json               the canonical manifest (hashed into H_B)
    parameters.json             ElectionParameters: group, n, k, H_P, H_B, K, H_E
    trustees/trustee-<i>.json   TrusteePublicKey of each trustee
    board/entries.jsonl         every bulletin-board entry in order (one leaf per line)
    board/tree-heads.jsonl      the board's signed tree heads
    board/key.json              the board's public signing key
    ballots.jsonl               (records made without a board) the cast ballots
    challenged.jsonl            (records made without a board) challenged ballots
    tally.json                  EncryptedTally
    decryptions/trustee-<i>.json PartialDecryption of each available trustee
    results.json                Results

Every file holds canonical tohyo/1 documents; a ``.jsonl`` file holds one per line.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import pathlib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from e2e import codec
from e2e.board import Entry, kind_of
from e2e.errors import CodecError


class RecordError(CodecError):
    """A file of the record is missing or unreadable."""


class Layout:
    """Every path of the record, relative to its root (``/``-separated, as in a .zip)."""

    MANIFEST = "manifest.json"
    PARAMETERS = "parameters.json"
    TRUSTEES = "trustees"
    BOARD = "board"
    BOARD_ENTRIES = "board/entries.jsonl"
    BOARD_HEADS = "board/tree-heads.jsonl"
    BOARD_KEY = "board/key.json"
    #: The log's final head as a C2SP checkpoint with the witnesses' cosignatures (an
    #: election whose manifest names witnesses; docs/record.md).
    BOARD_CHECKPOINT = "board/checkpoint.txt"
    BALLOTS = "ballots.jsonl"
    CHALLENGED = "challenged.jsonl"
    TALLY = "tally.json"
    DECRYPTIONS = "decryptions"
    RESULTS = "results.json"
    FOLDERS = (TRUSTEES, DECRYPTIONS)

    @staticmethod
    def trustee(index: int) -> str:
        return f"trustees/trustee-{index}.json"

    @staticmethod
    def decryption(trustee: int) -> str:
        return f"decryptions/trustee-{trustee}.json"

    @staticmethod
    def trustee_files(root: pathlib.Path) -> list[pathlib.Path]:
        """The trustees' public key files of a record directory, in order of name."""
        return sorted((root / Layout.TRUSTEES).glob("trustee-*.json"))


#: The log's entry kinds whose payload is also a file of the record, byte for byte.
_SINGLE_FILES = {
    "manifest": Layout.MANIFEST,
    "parameters": Layout.PARAMETERS,
    "tally": Layout.TALLY,
    "results": Layout.RESULTS,
}


def payload_path(entry: Entry) -> str | None:
    """Where the record keeps a log entry's payload beside the log (None: only in the log)."""
    if entry.kind in _SINGLE_FILES:
        return _SINGLE_FILES[entry.kind]
    if entry.kind == "trustee":
        return Layout.trustee(entry.trustee)
    if entry.kind == "decryption":
        return Layout.decryption(entry.trustee)
    return None


def write_board_record(
    path: str | os.PathLike[str],
    entries: Iterable[bytes],
    heads: Iterable[bytes],
    board_key: bytes,
    checkpoint: bytes | None = None,
) -> pathlib.Path:
    """Write a record from a board's log: every entry in order (streamed, one leaf per line),
    each payload that is a file of the record, every signed tree head and the board's key,
    and ``checkpoint``, the final head's cosigned checkpoint, if there are witnesses.
    The verifier checks that the files equal the log's payloads."""
    root = pathlib.Path(path)
    for d in (Layout.BOARD, *Layout.FOLDERS):
        (root / d).mkdir(parents=True, exist_ok=True)
    with open(root / Layout.BOARD_ENTRIES, "wb") as f:
        for raw in entries:
            f.write(raw + b"\n")
            if kind_of(raw) in ("ballot", "challenged"):
                continue  # the bulk of the log: only in entries.jsonl, never parsed here
            entry = Entry(raw)
            name = payload_path(entry)
            if name is not None:
                (root / name).write_bytes(entry.payload)
    with open(root / Layout.BOARD_HEADS, "wb") as f:
        for raw in heads:
            f.write(raw + b"\n")
    (root / Layout.BOARD_KEY).write_bytes(board_key)
    if checkpoint is not None:
        (root / Layout.BOARD_CHECKPOINT).write_bytes(checkpoint)
    return root


class Lines:
    """The lines of a ``.jsonl`` file of the record, read as a stream each time they are
    iterated (so a record of any size is read in bounded memory, and may be read twice).

    Built from a directory's file, a member of a .zip (decompressed as it is read, never
    unpacked whole) or, for tests and callers that hold the bytes, a list. Iteration yields
    each line without its newline and raises RecordError if the file does not end with one.
    """

    #: bytes read at a time (a line longer than this is gathered in pieces)
    BLOCK = 1 << 22
    #: the longest line accepted (a hostile record cannot make the reader hold more)
    MAX_LINE = 1 << 26

    def __init__(
        self,
        opener: Callable[[], IO[bytes]] | None = None,
        name: str = "",
        size: int = 0,
        lines: Sequence[bytes] | None = None,
    ) -> None:
        self._open = opener
        self._lines = list(lines) if lines is not None else None
        self.name = name
        #: the file's size in bytes (for progress); 0 if unknown or held in memory
        self.size = size

    @classmethod
    def of(cls, lines: Iterable[bytes]) -> Lines:
        return lines if isinstance(lines, Lines) else cls(lines=list(lines))

    def __iter__(self) -> Iterator[bytes]:
        if self._lines is not None:
            yield from self._lines
            return
        # A file that is one newline holds no line (as an empty file), as it always has.
        it = self._read()
        first = next(it, None)
        if first is None:
            return
        if first == b"":
            second = next(it, None)
            if second is None:
                return
            yield first
            yield second
        else:
            yield first
        yield from it

    def _read(self) -> Iterator[bytes]:
        assert self._open is not None
        # Blocks of 4 MB split on newlines: about three times faster than a buffered
        # file's line iterator on lines of 60 kB (measured: 0.75 s → 0.25 s for 200 MB).
        # A line longer than a block is gathered in pieces (never re-copied per block), up
        # to MAX_LINE: a ballot of a very large manifest is megabytes, never more.
        pieces: list[bytes] = []
        held = 0
        with self._open() as f:
            while block := f.read(self.BLOCK):
                if b"\n" not in block:
                    pieces.append(block)
                    held += len(block)
                    if held > self.MAX_LINE:
                        raise RecordError(
                            f"{self.name}: a line is longer than {self.MAX_LINE:,} bytes"
                        )
                    continue
                lines = block.split(b"\n")
                if pieces:
                    pieces.append(lines[0])
                    lines[0] = b"".join(pieces)
                    pieces, held = [], 0
                    if len(lines[0]) > self.MAX_LINE:
                        raise RecordError(
                            f"{self.name}: a line is longer than {self.MAX_LINE:,} bytes"
                        )
                rest = lines.pop()
                if rest:
                    pieces.append(rest)
                    held = len(rest)
                yield from lines
        if pieces:
            raise RecordError(f"{self.name}: a .jsonl file must end with a newline")

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None

    def count(self, stop: int | None = None) -> int:
        """The number of lines, or ``stop`` if there are at least that many (read in
        blocks, nothing parsed: for sizing shards and progress)."""
        if self._lines is not None:
            return len(self._lines) if stop is None else min(stop, len(self._lines))
        assert self._open is not None
        n = 0
        with self._open() as f:
            while block := f.read(1 << 20):
                n += block.count(b"\n")
                if stop is not None and n >= stop:
                    return stop
        return n


@dataclass(frozen=True)
class RecordFiles:
    """The raw bytes of a record, before any parsing. The small files are held; the bulk
    (ballots, challenged ballots, the board's entries) are :class:`Lines`, read as streams."""

    manifest: bytes
    parameters: bytes
    trustees: dict[str, bytes]
    ballots: Lines
    challenged: Lines
    tally: bytes
    decryptions: dict[str, bytes]
    results: bytes | None  # None before the trustees have decrypted
    board_entries: Lines | None = None  # board/entries.jsonl: every log entry
    board_heads: Lines | None = None  # board/tree-heads.jsonl: signed tree heads
    board_key: bytes | None = None  # board/key.json: the board's public key
    board_checkpoint: bytes | None = None  # board/checkpoint.txt: the final head, cosigned

    def __post_init__(self) -> None:
        # Callers (tests, the trustees' tools) may give lists; the verifier reads Lines.
        for name in ("ballots", "challenged", "board_entries", "board_heads"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Lines):
                object.__setattr__(self, name, Lines.of(value))


#: The record's bulk files, read as streams; every other file is small and read whole.
_STREAMED = (Layout.BOARD_ENTRIES, Layout.BOARD_HEADS, Layout.BALLOTS, Layout.CHALLENGED)


def read_record(path: str | os.PathLike[str]) -> RecordFiles:
    """Open a record directory or .zip; raises RecordError naming a missing file.

    The small files are read; the ballots and the board's entries are not: they are
    streamed (from the directory's files, or decompressed from the .zip as they are read)
    each time the verifier iterates them, so memory does not grow with the record."""
    p = pathlib.Path(path)
    streams: dict[str, Lines] = {}
    if p.is_file() and zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as z:
            infos = {i.filename: i for i in z.infolist()}
            prefix = ""
            if Layout.MANIFEST not in infos:
                tops = {n.split("/", 1)[0] for n in infos if "/" in n}
                if len(tops) == 1:
                    prefix = tops.pop() + "/"
            files: dict[str, bytes] = {}
            for n, info in infos.items():
                if not n.startswith(prefix) or n.endswith("/"):
                    continue
                rel = n[len(prefix) :]
                if rel in _STREAMED:
                    streams[rel] = Lines(_zip_opener(p, n), rel, info.file_size)
                else:
                    files[rel] = z.read(n)
    elif p.is_dir():
        files = {}
        for f in sorted(p.rglob("*")):
            if not f.is_file():
                continue
            rel = str(f.relative_to(p)).replace(os.sep, "/")
            if rel in _STREAMED:
                streams[rel] = Lines(functools.partial(open, f, "rb"), rel, f.stat().st_size)
            else:
                files[rel] = f.read_bytes()
    else:
        raise RecordError(f"{path}: no such record directory or zip file")

    def need(name: str) -> bytes:
        if name not in files:
            raise RecordError(f"the record has no {name}")
        return files[name]

    def stream(name: str, required: bool) -> Lines:
        if name not in streams:
            if required:
                raise RecordError(f"the record has no {name}")
            return Lines(lines=[], name=name)
        return streams[name]

    def folder(name: str) -> dict[str, bytes]:
        return {k: v for k, v in sorted(files.items()) if k.startswith(name + "/")}

    board = Layout.BOARD_ENTRIES in streams
    empty = Lines(lines=[])
    return RecordFiles(
        manifest=need(Layout.MANIFEST),
        parameters=need(Layout.PARAMETERS),
        trustees=folder(Layout.TRUSTEES),
        ballots=empty if board else stream(Layout.BALLOTS, True),
        challenged=empty if board else stream(Layout.CHALLENGED, False),
        tally=need(Layout.TALLY),
        decryptions=folder(Layout.DECRYPTIONS),
        results=files.get(Layout.RESULTS),
        board_entries=streams[Layout.BOARD_ENTRIES] if board else None,
        board_heads=stream(Layout.BOARD_HEADS, True) if board else None,
        board_key=need(Layout.BOARD_KEY) if board else None,
        board_checkpoint=files.get(Layout.BOARD_CHECKPOINT) if board else None,
    )


@dataclass(frozen=True)
class MonitorCopy:
    """A monitor's offline copy of a board (``tohyo monitor --out DIR``): the entries and
    signed heads it saw, in the record's ``board/`` layout, and the witnessed checkpoints
    (``witnessed.jsonl``: {"size", "note"} per line)."""

    entries: Lines
    heads: Lines
    witnessed: list[tuple[int, str]]


def read_monitor_copy(path: str | os.PathLike[str]) -> MonitorCopy:
    """Open a monitor's copy directory; RecordError if it has no entries."""
    root = pathlib.Path(path)

    def lines(rel: str) -> Lines:
        f = root / rel
        if not f.is_file():
            return Lines(lines=[], name=rel)
        return Lines(functools.partial(open, f, "rb"), rel, f.stat().st_size)

    if not (root / Layout.BOARD_ENTRIES).is_file():
        raise RecordError(f"{path}: no monitor copy ({Layout.BOARD_ENTRIES} missing)")
    witnessed: list[tuple[int, str]] = []
    for n, line in enumerate(lines("witnessed.jsonl")):
        try:
            doc = json.loads(line)
            size, note = doc["size"], doc["note"]
            if type(size) is not int or not isinstance(note, str):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise RecordError(
                f"{path}: witnessed.jsonl line {n + 1} is not {{size, note}}"
            ) from None
        witnessed.append((size, note))
    return MonitorCopy(lines(Layout.BOARD_ENTRIES), lines(Layout.BOARD_HEADS), witnessed)


def _zip_opener(path: pathlib.Path, member: str) -> Callable[[], IO[bytes]]:
    """Open a member of the .zip for reading (its own handle each time: decompressed as it
    is read, so the verifier can read it twice, and in bounded memory)."""

    @contextlib.contextmanager
    def opener() -> Iterator[IO[bytes]]:
        with zipfile.ZipFile(path) as z, z.open(member) as f:
            yield io.BufferedReader(f, 1 << 20)  # type: ignore[arg-type]

    return opener  # type: ignore[return-value]


def write_record(
    path: str | os.PathLike[str],
    manifest: bytes,
    parameters: object,
    trustees: Iterable[object],
    ballots: Iterable[bytes],
    challenged: Iterable[bytes],
    tally: object,
    decryptions: Sequence[object],
    results: object,
) -> pathlib.Path:
    """Write a record directory. ``ballots`` and ``challenged`` are encoded lines."""
    root = pathlib.Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for d in Layout.FOLDERS:
        (root / d).mkdir(exist_ok=True)
    (root / Layout.MANIFEST).write_bytes(manifest)
    (root / Layout.PARAMETERS).write_bytes(codec.encode(parameters))
    for t in trustees:
        (root / Layout.trustee(t.index)).write_bytes(codec.encode(t))  # type: ignore[attr-defined]
    with open(root / Layout.BALLOTS, "wb") as f:
        for line in ballots:
            f.write(line + b"\n")
    with open(root / Layout.CHALLENGED, "wb") as f:
        for line in challenged:
            f.write(line + b"\n")
    (root / Layout.TALLY).write_bytes(codec.encode(tally))
    for d in decryptions:
        (root / Layout.decryption(d.trustee)).write_bytes(codec.encode(d))  # type: ignore[attr-defined]
    (root / Layout.RESULTS).write_bytes(codec.encode(results))
    return root
