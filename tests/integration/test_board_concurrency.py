"""Several processes append to one log; a process killed mid-burst loses no receipted entry."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

from bulletin.auth import TokenAuthenticator
from bulletin.board import Board, export_record, load_signing_key
from bulletin.clock import FixedClock
from bulletin.store import Store, make_engine
from e2e.record import read_record
from e2e.verify import verify_record
from tests.integration.board_helpers import KEY, TOKENS, finish, make_board, submission

C = {"gyosei": ["internet-voting"], "healthcare": ["emergency-info"]}


def _voter_process(db: str, key: str, when: str, worker: int, n: int, out) -> None:
    from datetime import datetime

    board = Board(
        Store(make_engine(db)),
        load_signing_key(key),
        FixedClock(datetime.fromisoformat(when)),
        TokenAuthenticator(KEY, TOKENS),
    )
    election = board.election
    entries = []
    for i in range(n):
        r = board.submit(submission(election, C, f"token-{worker * n + i}", f"w{worker}-{i}"))
        entries.append(r["entry"])
    out.put(entries)


def _finish_and_verify(s) -> None:
    finish(s, "c")
    b = s.board
    return verify_record(read_record(export_record(b, s.key_path.parent / "record")))


def test_several_processes_append_one_linear_log(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    start = s.board.store.size()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_voter_process,
            args=(db_url, str(s.key_path), s.clock.now().isoformat(), w, 6, out),
        )
        for w in range(3)
    ]
    for p in procs:
        p.start()
    receipts = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    entries = sorted(e for r in receipts for e in r)
    assert entries == list(range(start, start + 18))  # no gap, no fork, no duplicate
    report = _finish_and_verify(s)
    assert report.ballots == 18


KILL_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from datetime import datetime
    from bulletin.auth import TokenAuthenticator
    from bulletin.board import Board, load_signing_key
    from bulletin.clock import FixedClock
    from bulletin.store import Store, make_engine
    from tests.integration.board_helpers import KEY, TOKENS, submission
    db, key, when, out = sys.argv[1:5]
    board = Board(Store(make_engine(db)), load_signing_key(key),
                  FixedClock(datetime.fromisoformat(when)), TokenAuthenticator(KEY, TOKENS))
    election = board.election
    C = {"gyosei": ["internet-voting"], "mobility": []}
    with open(out, "a") as f:
        for i in range(10**6):
            r = board.submit(submission(election, C, f"token-{i % 50}", f"k{i}"))
            f.write(json.dumps({"entry": r["entry"], "code": r["confirmation_code"]}) + "\\n")
            f.flush()
            os.fsync(f.fileno())
    """
)


def test_sigkill_during_a_burst_loses_no_receipted_entry(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    out = tmp_path / "receipts.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILL_SCRIPT,
            db_url,
            str(s.key_path),
            s.clock.now().isoformat(),
            str(out),
        ],
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if out.exists() and len(out.read_text().splitlines()) >= 12:
            break
        assert proc.poll() is None, "the submitting process died on its own"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    receipts = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(receipts) >= 12
    # a fresh board process finds every receipted entry, and the log still verifies
    fresh = Board(
        Store(make_engine(db_url)),
        load_signing_key(s.key_path),
        s.clock,
        TokenAuthenticator(KEY, TOKENS),
    )
    for r in receipts:
        again = fresh.receipt_by_code(r["code"])
        assert again["entry"] == r["entry"]
    s.board = fresh
    report = _finish_and_verify(s)
    assert report.ballots >= len(receipts)
