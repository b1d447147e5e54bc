"""The board reads its log in pages (issue 13, item 2): the export, /record.zip and the tally
of a board with more entries than one page give what reading it whole gives, and the
tally's memory does not grow with the number of ballots."""

from __future__ import annotations

import io
import pathlib
import tracemalloc
import zipfile
from typing import Any

import pytest

from bulletin.board import BoardError, export_record, write_record_zip
from e2e import codec
from e2e.ballot import challenge, encrypt_ballot
from e2e.board import Entry, TreeHead
from e2e.record import read_record
from e2e.rng import DeterministicRng
from e2e.tally import EncryptedTally, aggregate
from e2e.verify import verify_record
from tests.integration.board_helpers import (
    Setup,
    counted,
    finish,
    later,
    make_board,
    submission,
)
from web.app import SiteSettings, create_site

ALL = {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": []}


def _vote(s: Setup) -> None:
    """Ballots of four voters, one of whom re-votes in one of the two contests of her first
    ballot (superseded there, still counted in the other), and a challenged ballot."""
    b, el = s.board, s.election
    votes = [
        (ALL, "token-1"),
        ({"gyosei": ["digital-counter"]}, "token-2"),
        ({"mobility": []}, "token-3"),
        ({"gyosei": ["ai-citizen-voice"]}, "token-1"),  # re-vote: gyosei only
        (ALL, "token-4"),
    ]
    for n, (choices, token) in enumerate(votes):
        b.submit(submission(el, choices, token, f"s{n}"))
        later(s.clock)
    ballot, secret = encrypt_ballot(el, ALL, DeterministicRng("spoiled"))
    b.submit_challenged({"challenged": codec.to_document(challenge(ballot, secret))})
    later(s.clock)


def _whole_list_tally(s: Setup) -> EncryptedTally:
    """The tally as it was computed before streaming: every cast ballot decoded at once, the
    re-vote rule over all of them, one aggregate."""
    return aggregate(s.election, counted(s.board))


def _files(root: pathlib.Path) -> dict[str, bytes]:
    return {
        str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()
    }


def test_export_of_a_board_with_more_entries_than_one_page(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    _vote(s)
    finish(s)
    size = s.board.store.size()
    assert size > 2 * 7 and len(s.board.store.tree_heads()) > 7
    pages: list[int] = []
    small = export_record(s.board, tmp_path / "small", progress=pages.append, page=7)
    whole = export_record(s.board, tmp_path / "whole")
    assert _files(small) == _files(whole)
    assert pages == [7] * (size // 7) + ([size % 7] if size % 7 else [])
    lines = (small / "board" / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    assert [Entry(x).index for x in lines] == list(range(size))
    heads = (small / "board" / "tree-heads.jsonl").read_bytes().split(b"\n")[:-1]
    assert heads == s.board.store.tree_heads()
    report = verify_record(read_record(small))
    assert report.ballots == 5 and report.challenged == 1 and report.superseded == 1


def test_streamed_tally_equals_the_whole_list_aggregate(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    _vote(s)
    s.board.submit(submission(s.election, {"mobility": ["tsukumobi"]}, "token-1", "third"))
    expected = codec.encode(_whole_list_tally(s))
    # token-1's first ballot (all three contests) is replaced for gyosei by her second and
    # for mobility by her third: it still counts for healthcare
    first, _, _, second, _, third = (i for i, _, _ in s.board.store.kinds(["ballot"]))
    assert s.board.revote_rule() == {
        first: frozenset({3}),
        second: frozenset({1}),
        third: frozenset({2}),
    }
    for page in (1, 2, 3, 500):
        assert codec.encode(s.board.encrypted_tally(page=page)) == expected
    s.board.close()
    tally = s.board.post_tally()
    assert codec.encode(tally) == expected
    assert [c.ballots for c in tally.contests] == [3, 3, 2]
    assert Entry(s.board.store.kinds(["tally"])[0][2]).payload == expected


def test_tally_refuses_a_ballot_index_that_disagrees_with_the_log(tmp_path):
    """The re-vote rule's voters come from the ballot index: a row that names another voter
    than its entry is caught, not counted."""
    from bulletin import schema

    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    _vote(s)
    first = s.board.store.kinds(["ballot"])[0][0]
    with s.board.store.write() as conn:
        conn.execute(
            schema.ballots.update().where(schema.ballots.c.entry == first).values(voter="other")
        )
    with pytest.raises(BoardError, match=f"disagrees with the log at entry {first}"):
        s.board.encrypted_tally(page=2)


def _finished_site(tmp_path: pathlib.Path) -> tuple[Setup, Any]:
    """A board with its results posted, and its site with the zip cache in ``tmp_path``."""
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    _vote(s)
    finish(s)
    app = create_site(s.board)
    app.config["RECORD_CACHE"] = str(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    return s, app


def test_a_record_zip_being_written_is_a_503_to_retry_not_a_held_thread(tmp_path, monkeypatch):
    """A city's zip takes minutes to write. One thread writes it; a request waits a few
    seconds, then is told (503, Retry-After, in the page's language) that the record is
    being prepared. A write that fails is started again by the next request."""
    import threading

    import web.pages

    s, app = _finished_site(tmp_path)
    monkeypatch.setattr(web.pages, "ZIP_WAIT_SECONDS", 0.2)
    release, calls = threading.Event(), []
    real = web.pages.write_record_zip

    def slow(board, out):
        calls.append(out)
        if len(calls) == 1:
            raise OSError("the disk is full")  # the first try fails
        release.wait(30)
        return real(board, out)

    monkeypatch.setattr(web.pages, "write_record_zip", slow)
    client = app.test_client()
    first = client.get("/record.zip")
    assert first.status_code == 503 and first.headers["Retry-After"] == "30"
    assert first.headers["Cache-Control"] == "no-store"
    assert "選挙記録を準備しています" in first.get_data(as_text=True)
    for _ in range(3):  # tried again, and written once however often it is asked for
        r = client.get("/record.zip?lang=en")
        assert r.status_code == 503
    assert "The election record is being prepared" in r.get_data(as_text=True)
    assert len(calls) == 2
    release.set()
    for _ in range(100):
        done = client.get("/record.zip")
        if done.status_code == 200:
            break
    assert done.status_code == 200 and len(calls) == 2
    (tmp_path / "rec.zip").write_bytes(done.data)
    assert verify_record(read_record(tmp_path / "rec.zip")).ballots


SECRET = b"the site's secret key, shared by its processes"


def _default_cache(s: Setup, tmp: pathlib.Path) -> pathlib.Path:
    """Where a site without --record-cache keeps the zip, with the system's temporary
    directory at ``tmp`` and the site's secret key :data:`SECRET`."""
    import hashlib
    import hmac

    tag = hmac.new(SECRET, b"tohyo/record-cache/v1\0" + bytes(s.election.h_e), hashlib.sha256)
    return tmp / f"tohyo-record-{tag.hexdigest()[:32]}"


def _site(s: Setup) -> Any:
    """A site of the board as one more process of the machine would serve it."""
    return create_site(s.board, SiteSettings(secret_key=SECRET))


def test_the_processes_of_a_machine_write_one_record_zip_and_reuse_it(tmp_path, monkeypatch):
    """A city's zip is gigabytes. Each process once wrote its own, in a directory of its
    own that nothing removed: N workers wrote it N times, and every restart left one more
    behind. Now one directory per machine (in the temporary directory, named from the
    election and the site's secret key): the zip is written once, found by a process
    started later, and a build that a killed process left half-written, or an older zip,
    is removed."""
    import tempfile

    import web.pages

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    _vote(s)
    finish(s)
    cache = _default_cache(s, tmp_path)
    cache.mkdir(mode=0o700)
    (cache / "election-record-5-0123456789abcdef.zip").write_bytes(b"an older zip")
    (cache / "election-record-7-fedcba9876543210.zip.x1y2.part").write_bytes(b"cut short")
    calls = []
    real = web.pages.write_record_zip
    monkeypatch.setattr(
        web.pages, "write_record_zip", lambda b, out: (calls.append(out), real(b, out))[1]
    )
    first = _site(s).test_client().get("/record.zip")
    assert first.status_code == 200 and len(calls) == 1
    assert calls[0].name.endswith(".part")
    assert [p.name for p in cache.iterdir()] == [web.pages._zip_path(s.board, cache).name]
    restarted = _site(s).test_client().get("/record.zip")  # another process, or a restart
    assert restarted.status_code == 200 and restarted.data == first.data and len(calls) == 1
    assert [p for p in tmp_path.iterdir() if p.name.startswith("tohyo-record-")] == [cache]
    (tmp_path / "rec.zip").write_bytes(first.data)
    assert verify_record(read_record(tmp_path / "rec.zip")).ballots


def test_a_record_zip_another_process_is_writing_is_not_written_again(tmp_path, monkeypatch):
    """Another process of the machine holds the cache's lock while it writes the zip: this
    one answers "being prepared", then serves the zip that process wrote, without writing
    its own."""
    import subprocess
    import sys

    import web.pages

    s, app = _finished_site(tmp_path)
    cache = tmp_path / "cache"
    theirs = write_record_zip(s.board, tmp_path / "theirs.zip")
    monkeypatch.setattr(web.pages, "ZIP_WAIT_SECONDS", 0.2)
    calls = []
    monkeypatch.setattr(web.pages, "write_record_zip", lambda b, out: calls.append(out))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
            str(cache),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        client = app.test_client()
        waiting = client.get("/record.zip")
        assert waiting.status_code == 503 and waiting.headers["Retry-After"] == "30"
        builder = web.pages._ZIP_BUILDS[cache]  # this process's writer, waiting for the lock
        assert builder.is_alive()
        # what the other process wrote, under the name of the log as it stands
        theirs.replace(web.pages._zip_path(s.board, cache))
    finally:
        holder.stdin.close()
        holder.wait(10)
    builder.join(30)  # it took the lock, found the zip, and wrote nothing
    assert not builder.is_alive() and calls == []
    done = client.get("/record.zip")
    assert done.status_code == 200 and calls == []
    (tmp_path / "rec.zip").write_bytes(done.data)
    assert verify_record(read_record(tmp_path / "rec.zip")).ballots


@pytest.mark.parametrize("planted", ["writable by all", "another user's", "a symbolic link"])
def test_a_record_cache_that_is_not_ours_alone_is_not_used(tmp_path, monkeypatch, planted):
    """A directory of the default cache's name that another user made, that anyone may
    write to, or a symbolic link put there in its place, could hold a zip of theirs under
    the expected name: it is refused, and that zip is never served."""
    import os
    import tempfile

    import web.pages

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    _vote(s)
    finish(s)
    cache = _default_cache(s, tmp_path)
    if planted == "a symbolic link":  # to a directory the planter may write to
        (tmp_path / "theirs").mkdir()
        cache.symlink_to(tmp_path / "theirs")
    else:
        cache.mkdir(mode=0o700)
    if planted == "writable by all":
        cache.chmod(0o777)
    if planted == "another user's":  # the site runs as another user than the directory's
        me = os.geteuid()
        monkeypatch.setattr(web.pages.os, "geteuid", lambda: me + 1)
    web.pages._zip_path(s.board, cache).write_bytes(b"not the record")
    app = _site(s)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    z = app.test_client().get("/record.zip")
    assert z.status_code == 500 and b"not the record" not in z.data


def test_record_zip_unzips_to_the_exported_files(tmp_path):
    s, app = _finished_site(tmp_path)
    z = app.test_client().get("/record.zip")
    assert z.status_code == 200
    exported = {
        f"record/{name}": data
        for name, data in _files(export_record(s.board, tmp_path / "r")).items()
    }
    with zipfile.ZipFile(io.BytesIO(z.data)) as zf:
        assert zf.namelist() == sorted(exported)  # the order of a zip of the directory
        assert {n: zf.read(n) for n in zf.namelist()} == exported
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".zip"]  # no .part left
    # written a page of 3 at a time, the same zip content
    small = write_record_zip(s.board, tmp_path / "small.zip", page=3)
    with zipfile.ZipFile(small) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == exported
    assert verify_record(read_record(small)).ballots == 5


def test_tally_memory_does_not_grow_with_the_ballots(tmp_path):
    """Twice the ballots, about the same peak: the tally holds one page, not the log (the
    whole-list decode it replaced needs about twice as much for twice the ballots)."""
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    b, el = s.board, s.election

    def cast(first: int, n: int) -> None:
        for i in range(first, first + n):
            b.submit(submission(el, ALL, f"token-{i}", f"m{i}"))

    def peak(fn) -> int:
        fn()  # warm: the election, compiled statements
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    cast(0, 12)
    streamed = peak(lambda: b.encrypted_tally(page=3))
    whole = peak(lambda: counted(b))
    cast(12, 12)
    streamed_twice = peak(lambda: b.encrypted_tally(page=3))
    whole_twice = peak(lambda: counted(b))
    assert whole_twice > 1.6 * whole  # the measure sees a log held whole
    assert streamed_twice < 1.2 * streamed
    assert streamed_twice < whole_twice / 2


@pytest.mark.parametrize("writer", ["directory", "zip"])
def test_an_export_while_ballots_arrive_is_one_state_of_the_log(tmp_path, writer):
    """Ballots appended while the export is being written (voting still open) are left out
    with their heads: the record is the log at one size, covered by a signed head."""
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    _vote(s)
    size = s.board.store.size()
    arrivals = iter(range(3))

    def meanwhile(n: int) -> None:  # after each page: another voter casts a ballot
        k = next(arrivals, None)
        if k is not None:
            s.board.submit(submission(s.election, ALL, f"token-{10 + k}", f"late{k}"))
            later(s.clock)

    if writer == "directory":
        root = export_record(s.board, tmp_path / "rec", progress=meanwhile, page=3)
        entries = (root / "board" / "entries.jsonl").read_bytes().split(b"\n")[:-1]
        heads = (root / "board" / "tree-heads.jsonl").read_bytes().split(b"\n")[:-1]
    else:
        z = write_record_zip(s.board, tmp_path / "rec.zip", page=3, progress=meanwhile)
        with zipfile.ZipFile(z) as f:
            entries = f.read("record/board/entries.jsonl").split(b"\n")[:-1]
            heads = f.read("record/board/tree-heads.jsonl").split(b"\n")[:-1]
    assert s.board.store.size() == size + 3  # the ballots did arrive during the export
    assert len(entries) == size
    assert max(codec.decode(h, TreeHead).size for h in heads) == size
