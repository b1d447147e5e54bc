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

import os
import pathlib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
) -> pathlib.Path:
    """Write a record from a board's log: every entry in order (streamed, one leaf per line),
    each payload that is a file of the record, every signed tree head and the board's key.
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
    return root


@dataclass(frozen=True)
class RecordFiles:
    """The raw bytes of a record, before any parsing."""

    manifest: bytes
    parameters: bytes
    trustees: dict[str, bytes]
    ballots: list[bytes]
    challenged: list[bytes]
    tally: bytes
    decryptions: dict[str, bytes]
    results: bytes | None  # None before the trustees have decrypted
    board_entries: list[bytes] | None = None  # board/entries.jsonl: every log entry
    board_heads: list[bytes] | None = None  # board/tree-heads.jsonl: signed tree heads
    board_key: bytes | None = None  # board/key.json: the board's public key


def _lines(data: bytes) -> list[bytes]:
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise RecordError("a .jsonl file must end with a newline")
    return data[:-1].split(b"\n") if data != b"\n" else []


def read_record(path: str | os.PathLike[str]) -> RecordFiles:
    """Read a record directory or .zip; raises RecordError naming a missing file."""
    p = pathlib.Path(path)
    if p.is_file() and zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
            prefix = ""
            if Layout.MANIFEST not in names:
                tops = {n.split("/", 1)[0] for n in names if "/" in n}
                if len(tops) == 1:
                    prefix = tops.pop() + "/"
            files = {
                n[len(prefix) :]: z.read(n)
                for n in names
                if n.startswith(prefix) and not n.endswith("/")
            }
    elif p.is_dir():
        files = {
            str(f.relative_to(p)).replace(os.sep, "/"): f.read_bytes()
            for f in sorted(p.rglob("*"))
            if f.is_file()
        }
    else:
        raise RecordError(f"{path}: no such record directory or zip file")

    def need(name: str) -> bytes:
        if name not in files:
            raise RecordError(f"the record has no {name}")
        return files[name]

    def folder(name: str) -> dict[str, bytes]:
        return {k: v for k, v in sorted(files.items()) if k.startswith(name + "/")}

    board = Layout.BOARD_ENTRIES in files
    return RecordFiles(
        manifest=need(Layout.MANIFEST),
        parameters=need(Layout.PARAMETERS),
        trustees=folder(Layout.TRUSTEES),
        ballots=[] if board else _lines(need(Layout.BALLOTS)),
        challenged=[] if board else _lines(files.get(Layout.CHALLENGED, b"")),
        tally=need(Layout.TALLY),
        decryptions=folder(Layout.DECRYPTIONS),
        results=files.get(Layout.RESULTS),
        board_entries=_lines(files[Layout.BOARD_ENTRIES]) if board else None,
        board_heads=_lines(need(Layout.BOARD_HEADS)) if board else None,
        board_key=need(Layout.BOARD_KEY) if board else None,
    )


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
