"""The verifier reads the record as a stream (issue 13): memory that does not grow with the
ballots, a .zip verified without unpacking it, local processes with a bounded window, and
records made by ``tohyo bench record`` (re-votes and challenged ballots in them)."""

from __future__ import annotations

import dataclasses
import gc
import io
import json
import pathlib
import shutil
import tracemalloc
import zipfile

import pytest
from click.testing import CliRunner

from benchmarks.record import generate
from bulletin.board import load_signing_key
from e2e import codec
from e2e.board import TreeHead, TreeHeadBody
from e2e.cli import Meter, duration, run_verify
from e2e.errors import VerificationError
from e2e.hash import HashValue
from e2e.merkle import MerkleFrontier, leaf_hash
from e2e.record import Lines, RecordError, read_record
from e2e.verify import verify_record
from sim.demo import EXAMPLE, load_manifest
from tohyo.cli import main

SMALL, LARGE = 150, 600  # voters


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> dict[int, pathlib.Path]:
    root = tmp_path_factory.mktemp("streaming")
    manifest = load_manifest(EXAMPLE)
    return {n: generate(root / f"r{n}", n, manifest, "test", jobs=1).path for n in (SMALL, LARGE)}


def _peak(fn) -> tuple[int, object]:
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, out


def test_generated_record_verifies_with_revotes_and_challenged(records):
    report = verify_record(read_record(records[LARGE]))
    assert report.ballots > LARGE  # the re-votes are cast ballots too
    assert report.superseded == report.ballots - LARGE  # each re-vote replaces one contest
    assert report.challenged == LARGE // 97
    assert report.results is not None
    assert report.board_key_pinned == "manifest"
    for contest in report.results.contests:
        assert sum(o.votes for o in contest.options) <= contest.ballots <= LARGE


@pytest.fixture
def small_blocks(monkeypatch):
    """The reader's block (4 MB) scaled down with the records (a few MB), as the shards are:
    the bound is block + shards, and a test record must be larger than that."""
    monkeypatch.setattr(Lines, "BLOCK", 1 << 16)


def test_peak_memory_does_not_grow_with_the_ballots(records, small_blocks):
    """Four times the ballots: the peak grows by the kept per-ballot state only (ids and
    confirmation codes, the re-vote rule: well under 2 kB a ballot), not by the record
    (each ballot's entry is several kB even in the small test group). Both sizes are
    verified in shards of 50, so both hold full shards (the shard is the bound)."""
    peaks = {}
    reports = {}
    for n, path in records.items():
        read_record(path)  # imports and tables warmed outside the measurement
        peaks[n], reports[n] = _peak(lambda p=path: verify_record(read_record(p), shard=50))
    extra = reports[LARGE].ballots - reports[SMALL].ballots
    entries = records[LARGE] / "board" / "entries.jsonl"
    per_ballot_record = entries.stat().st_size / reports[LARGE].ballots
    assert per_ballot_record > 3000  # the record does grow: this is what must not be held
    growth = peaks[LARGE] - peaks[SMALL]
    assert growth < 2000 * extra, (peaks, growth / extra)
    assert peaks[LARGE] < entries.stat().st_size  # never the whole log at once


def test_zip_is_verified_as_a_stream_without_unpacking(
    records, tmp_path, monkeypatch, small_blocks
):
    src = records[LARGE]
    z = tmp_path / "record.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as out:
        for f in sorted(src.rglob("*")):
            if f.is_file():
                out.write(f, "record/" + str(f.relative_to(src)))
    files = read_record(z)
    assert isinstance(files.board_entries, Lines) and files.board_entries.size > 0

    def no_extract(*a, **k):
        raise AssertionError("the verifier must not unpack the zip")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", no_extract)
    monkeypatch.setattr(zipfile.ZipFile, "extract", no_extract)
    peak, report = _peak(lambda: verify_record(read_record(z), shard=50))
    assert report.results == verify_record(read_record(src)).results
    assert peak < (src / "board" / "entries.jsonl").stat().st_size


def test_a_tampered_zip_names_the_same_entry_as_the_directory(records, tmp_path):
    src = tmp_path / "dir"
    shutil.copytree(records[SMALL], src)
    path = src / "board" / "entries.jsonl"
    lines = path.read_bytes().splitlines()
    lines[40], lines[41] = lines[41], lines[40]  # two ballots swapped: the log has a fork
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    z = tmp_path / "r.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as out:
        for f in sorted(src.rglob("*")):
            if f.is_file():
                out.write(f, str(f.relative_to(src)))
    for where in (src, z):
        with pytest.raises(VerificationError, match="board entry 40: has index 41"):
            verify_record(read_record(where))


def test_a_log_without_its_last_newline_is_refused(records, tmp_path):
    src = tmp_path / "dir"
    shutil.copytree(records[SMALL], src)
    path = src / "board" / "entries.jsonl"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(Exception, match="must end with a newline"):
        verify_record(read_record(src))


def test_local_processes_give_the_same_report_as_one(records):
    one = run_verify(str(records[LARGE]), 1, show_progress=False)
    two = run_verify(str(records[LARGE]), 2, show_progress=False)
    assert (two.ballots, two.challenged, two.superseded, two.proofs, two.results) == (
        one.ballots,
        one.challenged,
        one.superseded,
        one.proofs,
        one.results,
    )


def test_a_bad_ballot_stops_the_processes_and_is_named(records, tmp_path):
    src = tmp_path / "dir"
    shutil.copytree(records[LARGE], src)
    path = src / "board" / "entries.jsonl"
    lines = path.read_bytes().splitlines()
    n = next(i for i, line in enumerate(lines) if b'"kind":"ballot"' in line and i > 400)
    # A digit of the ballot's first contest hash changed: the entry is still canonical.
    k = lines[n].index(b"contest_hash") + len(b'contest_hash\\":\\"')
    old = lines[n][k : k + 1]
    lines[n] = lines[n][:k] + (b"1" if old != b"1" else b"2") + lines[n][k + 1 :]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    # The board (whose key is kept beside the generated record) signs the edited log.
    resign(src, records[LARGE].parent / f".{records[LARGE].name}.board.key")
    with pytest.raises(VerificationError, match="contest hash") as e:
        run_verify(str(src), 2, show_progress=False)
    ballot_id = json.loads(json.loads(lines[n])["payload"])["ballot_id"]
    assert e.value.where.startswith(f"ballot {ballot_id[:16]}")


def resign(record: pathlib.Path, key_path: pathlib.Path) -> None:
    """Sign new heads (same sizes and times) over the record's edited entries."""
    key = load_signing_key(key_path)
    heads = [
        codec.decode(h, TreeHead)
        for h in (record / "board" / "tree-heads.jsonl").read_bytes().splitlines()
    ]
    sizes = {h.size: h for h in heads}
    tree = MerkleFrontier()
    out = []
    for i, raw in enumerate((record / "board" / "entries.jsonl").read_bytes().splitlines()):
        tree.append(leaf_hash(raw))
        if i + 1 in sizes:
            h = sizes[i + 1]
            body = TreeHeadBody(h.log, h.size, HashValue(tree.root()), h.time)
            sig = key.sign(codec.encode(body)).hex().upper()
            out.append(codec.encode(TreeHead(h.log, h.size, body.root, h.time, sig)))
    (record / "board" / "tree-heads.jsonl").write_bytes(b"".join(h + b"\n" for h in out))


def test_bench_record_command_writes_a_verifiable_record(tmp_path):
    out = tmp_path / "rec"
    r = CliRunner().invoke(
        main,
        ["bench", "record", "--ballots", "40", "--group", "test", "--out", str(out), "-j", "1"],
    )
    assert r.exit_code == 0, r.output
    assert "JPKI skipped" in r.output and "40 voters" in r.output
    v = CliRunner().invoke(main, ["verify", str(out), "-j", "1"])
    assert v.exit_code == 0, v.output
    assert "PASS" in v.output


def test_meter_shows_rate_and_time_left():
    clock = iter([0.0, 10.0, 20.0])
    stream = io.StringIO()
    m = Meter(stream, lambda: next(clock))
    m("ballots", 0, 1000)
    m("ballots", 250, 1000)
    m("ballots", 1000, 1000)
    m.close()
    text = stream.getvalue()
    assert "verifying cast ballots: 250/1,000 ballots, 25.0 ballots/s, 30 s left" in text
    assert "1,000/1,000 ballots, 50.0 ballots/s" in text and text.endswith("\n")
    assert duration(3725) == "1 h 2 min" and duration(65) == "1 min 5 s"


def test_a_log_that_changes_between_the_passes_is_refused(records):
    """The ballots are read again after the log was checked: if the file changes between
    the reads (a mount the record's owner controls), the second read is refused, not
    verified under the first read's re-vote rule."""
    src = records[SMALL]
    original = (src / "board" / "entries.jsonl").read_bytes()
    lines = original.split(b"\n")[:-1]
    n = next(i for i, line in enumerate(lines) if b'"kind":"ballot"' in line)
    # Later reads see one more line before the first ballot: every ballot one line later.
    shifted = b"".join(x + b"\n" for x in lines[:n] + [lines[n - 1]] + lines[n:])
    opened = []

    def opener():
        opened.append(1)
        return io.BytesIO(original if len(opened) == 1 else shifted)

    files = read_record(src)
    changing = dataclasses.replace(files, board_entries=Lines(opener, "board/entries.jsonl"))
    with pytest.raises(VerificationError, match="the log changed while it was read"):
        verify_record(changing)
    assert len(opened) >= 2


def test_reader_limits(tmp_path, monkeypatch):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\n")  # one newline: no line, as an empty file
    assert list(Lines(lambda: open(path, "rb"), "x.jsonl")) == []
    path.write_bytes(b"\n\n")
    assert list(Lines(lambda: open(path, "rb"), "x.jsonl")) == [b"", b""]
    monkeypatch.setattr(Lines, "MAX_LINE", 1000)
    monkeypatch.setattr(Lines, "BLOCK", 100)
    path.write_bytes(b"a" * 999 + b"\n" + b"b" * 1001 + b"\n")
    with pytest.raises(RecordError, match="longer than 1,000 bytes"):
        list(Lines(lambda: open(path, "rb"), "x.jsonl"))
