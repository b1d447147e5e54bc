"""Reading and writing the election record directory (or .zip): the edge of ``e2e``.

This is the only module of the core that touches files. Layout (docs/record.md):

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
from e2e.errors import CodecError


class RecordError(CodecError):
    """A file of the record is missing or unreadable."""


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
            if "manifest.json" not in names:
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

    board = "board/entries.jsonl" in files
    return RecordFiles(
        manifest=need("manifest.json"),
        parameters=need("parameters.json"),
        trustees=folder("trustees"),
        ballots=[] if board else _lines(need("ballots.jsonl")),
        challenged=[] if board else _lines(files.get("challenged.jsonl", b"")),
        tally=need("tally.json"),
        decryptions=folder("decryptions"),
        results=files.get("results.json"),
        board_entries=_lines(files["board/entries.jsonl"]) if board else None,
        board_heads=_lines(need("board/tree-heads.jsonl")) if board else None,
        board_key=need("board/key.json") if board else None,
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
    (root / "trustees").mkdir(exist_ok=True)
    (root / "decryptions").mkdir(exist_ok=True)
    (root / "manifest.json").write_bytes(manifest)
    (root / "parameters.json").write_bytes(codec.encode(parameters))
    for t in trustees:
        (root / "trustees" / f"trustee-{t.index}.json").write_bytes(codec.encode(t))  # type: ignore[attr-defined]
    with open(root / "ballots.jsonl", "wb") as f:
        for line in ballots:
            f.write(line + b"\n")
    with open(root / "challenged.jsonl", "wb") as f:
        for line in challenged:
            f.write(line + b"\n")
    (root / "tally.json").write_bytes(codec.encode(tally))
    for d in decryptions:
        (root / "decryptions" / f"trustee-{d.trustee}.json").write_bytes(codec.encode(d))  # type: ignore[attr-defined]
    (root / "results.json").write_bytes(codec.encode(results))
    return root
