"""Witnesses as their operators run them (`tohyo witness keygen`, `tohyo witness run` as
processes) against a board served over HTTP on loopback: receipts become witnessed, a
witness killed and restarted keeps its promise, a board that forks is refused by every
witness and by the verifier, an offline witness delays confirmation but never voting."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time
from typing import Any

import pytest
import waitress.server

from bulletin.auth import TokenAuthenticator
from bulletin.board import Board, export_record, load_signing_key
from bulletin.cosigning import PATIENCE
from bulletin.store import Store, make_engine
from e2e.checkpoint import (
    COSIGNATURE_V1,
    parse_checkpoint,
    parse_note,
    parse_vkey,
    verify_board_signature,
    verify_cosignatures,
    verify_witnessed,
)
from e2e.errors import VerificationError
from e2e.hash import HashValue
from e2e.manifest import Witnessing, WitnessKey
from e2e.record import read_record
from e2e.verify import verify_record
from tests.integration.board_helpers import (
    KEY,
    TOKENS,
    Setup,
    finish,
    free_port,
    later,
    make_board,
    serve_in_thread,
    submission,
)
from web.api import create_app

ORIGIN = "tsukuba.example/tohyo/witness-test"
NAMES = ("witness.university.example/w", "witness.newspaper.example/w")
C1 = {"mobility": ["tsukumobi"]}
TOHYO = [sys.executable, "-m", "tohyo"]


def tohyo(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TOHYO, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


class Party:
    """One witness's files: its key (made by `tohyo witness keygen`) and its state."""

    def __init__(self, tmp: pathlib.Path, name: str) -> None:
        self.name = name
        self.key = tmp / f"{name.split('/')[0]}.key"
        self.state = tmp / f"{name.split('/')[0]}.state.json"
        out = tohyo("witness", "keygen", "--name", name, "--key", str(self.key))
        assert out.returncode == 0, out.stderr
        line = next(x for x in out.stdout.splitlines() if x.startswith("verifier key:"))
        self.vkey = line.split(":", 1)[1].strip()

    def args(self, url: str, board_key: str) -> list[str]:
        return [
            "witness", "run", "--init", "--key", str(self.key), "--name", self.name,
            "--state", str(self.state), "--board", url, "--origin", ORIGIN,
            "--board-key", board_key,
        ]  # fmt: skip

    def once(self, url: str, board_key: str, *extra: str) -> subprocess.CompletedProcess:
        return tohyo(*self.args(url, board_key), "--once", *extra)


class Served:
    """The board's API on loopback (``app``: the API with a view changed by the test)."""

    def __init__(self, board: Board, app: Any = None) -> None:
        self.board = board
        self.port = free_port()
        self.server = waitress.server.create_server(
            app or create_app(board), host="127.0.0.1", port=self.port, threads=4
        )
        serve_in_thread(self.server)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def election(tmp_path: pathlib.Path):
    parties = [Party(tmp_path, n) for n in NAMES]
    keys = []
    for p in parties:
        name, kind, pub = parse_vkey(p.vkey)
        assert kind == COSIGNATURE_V1 and name == p.name
        keys.append(WitnessKey(name, HashValue(pub)))
    witnessing = Witnessing(ORIGIN, 2, tuple(keys))
    s = make_board(f"sqlite:///{tmp_path / 'board.db'}", tmp_path, witnessing=witnessing)
    s.board.cosigning.interval = 0.2
    served = Served(s.board)
    yield s, parties, served
    served.close()


def hexkey(s: Setup) -> str:
    return s.board.public.public_key.hex_upper()


def witnessed(s: Setup, receipt: dict) -> None:
    verify_witnessed(
        receipt["checkpoint"],
        ORIGIN,
        bytes(s.board.public.public_key),
        s.board.manifest.witnessing.keys(),
        2,
    )


def test_a_fork_is_refused_by_every_witness_and_the_verifier(election, tmp_path):
    s, parties, served = election
    b = s.board
    first = b.submit(submission(s.election, C1, "token-1", "v1"))
    for p in parties:
        out = p.once(served.url, hexkey(s))
        assert out.returncode == 0, out.stderr
    witnessed(s, b.receipt_by_code(first["confirmation_code"]))

    # The board keeps a copy of its log as it is now, and later signs two continuations.
    fork_db = tmp_path / "fork.db"
    with sqlite3.connect(tmp_path / "board.db") as src, sqlite3.connect(fork_db) as dst:
        src.backup(dst)
    later(s.clock)
    second = b.submit(submission(s.election, C1, "token-2", "v2"))

    # Witness 1 follows the board as a long-running process, is killed (SIGKILL: no
    # chance to save anything more) once it has cosigned the new head, and is restarted.
    proc = subprocess.Popen(
        [*TOHYO, *parties[0].args(served.url, hexkey(s)), "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    size = second["tree_head"]["size"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if parties[0].name in _cosigned_by(b, size):
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert parties[0].name in _cosigned_by(b, size)
    out = parties[1].once(served.url, hexkey(s))
    assert out.returncode == 0, out.stderr
    witnessed(s, b.receipt_by_code(second["confirmation_code"]))

    # The fork: the same key signs another head of the same size.
    fork = Board(
        Store(make_engine(f"sqlite:///{fork_db}")),
        load_signing_key(s.key_path),
        s.clock,
        TokenAuthenticator(KEY, TOKENS),
    )
    fork.cosigning.interval = 0.2
    other = fork.submit(submission(s.election, C1, "token-3", "v3"))
    assert other["tree_head"]["size"] == size
    assert other["tree_head"]["root"] != second["tree_head"]["root"]
    forked = Served(fork)
    try:
        for p in parties:  # witness 1 restarted after the kill: its promise held
            out = p.once(forked.url, hexkey(s))
            assert out.returncode == 1, (p.name, out.stdout, out.stderr)
            assert "ALERT:" in out.stderr
            evidence = [json.loads(x) for x in open(f"{p.state}.evidence.jsonl")]
            assert evidence and evidence[-1]["size"] == size
        # Every client refuses the fork's head: nobody cosigned it.
        with pytest.raises(VerificationError, match="cosigned by 0 of the 2"):
            witnessed(s, fork.receipt_by_code(other["confirmation_code"]))
        # The fork carried on to the count: its record cannot be witnessed either.
        finish(Setup(fork, s.election, s.secrets, s.clock, s.key_path, str(fork_db)))
        for p in parties:
            assert p.once(forked.url, hexkey(s)).returncode == 1
        record = export_record(fork, tmp_path / "fork-record")
        with pytest.raises(VerificationError, match="cosigned by 0 of the 2"):
            verify_record(read_record(record))
    finally:
        forked.close()
    # The honest board goes on being witnessed.
    later(s.clock)
    third = b.submit(submission(s.election, C1, "token-4", "v4"))
    time.sleep(0.25)  # the offer moves on after its interval
    for p in parties:
        out = p.once(served.url, hexkey(s))
        assert out.returncode == 0, out.stderr
    for p in parties:  # the first to cosign may have done it before the offer moved
        p.once(served.url, hexkey(s))
    witnessed(s, b.receipt_by_code(third["confirmation_code"]))


def _cosigned_by(b: Board, size: int) -> list[str]:
    note = b.cosigning.note(size)
    return [c.witness for c in verify_cosignatures(note, b.manifest.witnessing.keys())]


def test_an_offline_witness_delays_confirmation_never_voting(election, tmp_path):
    s, parties, served = election
    b = s.board
    up, down = parties
    receipts = []
    # The offer's clock runs ahead by its patience at each ballot: an offer only witness 1
    # cosigned waits PATIENCE intervals for witness 2, and how long a witness process takes
    # to start must not decide whether the last offer is the latest head.
    ahead = [0.0]
    b.cosigning.clock = lambda: time.time() + ahead[0]
    for i in range(3):  # voting goes on while witness 2 is offline
        later(s.clock)
        receipts.append(b.submit(submission(s.election, C1, f"token-{i}", f"v{i}")))
        ahead[0] += PATIENCE * b.cosigning.interval
        assert up.once(served.url, hexkey(s)).returncode == 0
    assert b.cosigning.witnessed_size() is None
    for r in receipts:  # stored, with a receipt, but not witnessed
        got = b.receipt_by_code(r["confirmation_code"])
        with pytest.raises(VerificationError, match="cosigned by 1 of the 2"):
            witnessed(s, got)
    # The offer moved on without witness 2 (it was offered, cosigned by 1, then replaced).
    offered = parse_checkpoint(parse_note(b.cosigning.offer().render()).text).size
    assert offered == b.store.size()
    # Witness 2 comes back: it cosigns the current offer from size 0, witness 1 follows.
    # It publishes what it cosigned itself, so a board withholding it would be seen.
    published = tmp_path / "published.txt"
    assert down.once(served.url, hexkey(s), "--publish", str(published)).returncode == 0
    note = parse_note(published.read_text(encoding="utf-8"))
    cp = verify_board_signature(note, ORIGIN, bytes(b.public.public_key))
    mine = verify_cosignatures(note, b.manifest.witnessing.keys())
    assert [c.witness for c in mine] == [down.name]
    assert mine[0].signature in b.cosigning.note(cp.size).signatures  # the board's copy
    assert up.once(served.url, hexkey(s)).returncode == 0
    assert b.cosigning.witnessed_size() == b.store.size()
    for r in receipts:
        witnessed(s, b.receipt_by_code(r["confirmation_code"]))
    # A board that is down: the witness says so and exits 2 (`run` would retry).
    served.close()
    out = up.once(served.url, hexkey(s))
    assert out.returncode == 2, out.stderr


def test_a_monitor_follows_the_vote_and_its_copy_is_checked_with_the_record(election, tmp_path):
    s, parties, served = election
    b = s.board
    copy = tmp_path / "monitor"
    watch = ["monitor", served.url, "--out", str(copy), "--board-key", hexkey(s), "--once"]
    for i in range(2):
        later(s.clock)
        b.submit(submission(s.election, C1, f"token-{i}", f"v{i}"))
        time.sleep(0.25)
        for p in parties:
            assert p.once(served.url, hexkey(s)).returncode == 0
        out = tohyo(*watch)
        assert out.returncode == 0, out.stderr
    finish(s)
    time.sleep(0.25)
    for _ in range(2):
        for p in parties:
            p.once(served.url, hexkey(s))
    assert b.cosigning.witnessed_size() == b.store.size()
    record = export_record(b, tmp_path / "record")
    out = tohyo("verify", str(record), "--monitor", str(copy), "--board-key", hexkey(s))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "a monitor's copy: its" in out.stdout
    assert "cosigned by 2 witnesses" in out.stdout


def test_pin_manifest_names_the_witnesses_from_their_verifier_keys(tmp_path):
    from tests.integration.board_helpers import EXAMPLE

    parties = [Party(tmp_path, n) for n in NAMES]
    out_file = tmp_path / "pinned.json"
    args = ["board", "pin-manifest", str(EXAMPLE), "--key", str(tmp_path / "board.key")]
    args += ["--out", str(out_file)]
    out = tohyo(*args, "--witness", parties[0].vkey, "--witness", parties[1].vkey)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out_file.read_text(encoding="utf-8"))
    w = doc["witnessing"]
    assert w["quorum"] == 2 and [x["name"] for x in w["witnesses"]] == list(NAMES)
    assert (
        w["origin"] == f"tohyo/tsukuba-2025-citizens-vote/{doc['board']['public_key'][:8].lower()}"
    )
    assert f"quorum 2; origin {w['origin']}" in out.stdout
    # A key that is not a witness's, a broken one, a quorum without witnesses: refused.
    bad = parties[0].vkey[:-4] + "AAAA"
    for extra, message in (
        (["--witness", bad], "id does not match"),
        (["--witness", parties[0].vkey, "--witness-quorum", "2"], "witnessing.quorum"),
        (["--witness-quorum", "1"], "need --witness"),
    ):
        out = tohyo(*args, *extra)
        assert out.returncode == 2, (extra, out.stdout, out.stderr)
        assert message in out.stderr, (extra, out.stderr)


def test_a_witness_killed_between_its_promise_and_its_post_cosigns_again(election, tmp_path):
    """The crash that matters: the new head is in the witness's state file, the board never
    got the cosignature. Restarted, the witness gives the same head again (never another
    of that size), and the board's copy of the log is witnessed."""
    import threading

    s, parties, served = election
    b = s.board
    receipt = b.submit(submission(s.election, C1, "token-1", "v1"))
    size = receipt["tree_head"]["size"]
    # A board whose cosignature endpoint never answers: the witness hangs in its post.
    hang = threading.Event()
    app = create_app(b)
    app.view_functions["api.cosignatures"] = lambda: (hang.wait(60), ("", 503))[1]
    stuck = Served(b, app)
    w = parties[0]
    proc = subprocess.Popen(
        [*TOHYO, *w.args(stuck.url, hexkey(s)), "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if w.state.exists() and json.loads(w.state.read_text()).get("logs", {}).get(ORIGIN):
                break
            time.sleep(0.05)
        state = json.loads(w.state.read_text())["logs"][ORIGIN]
        assert state["size"] == size
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        hang.set()
        stuck.close()
    assert _cosigned_by(b, size) == []  # the board never got it
    out = w.once(served.url, hexkey(s))  # restarted, against the board that answers
    assert out.returncode == 0, out.stderr
    assert _cosigned_by(b, size) == [w.name]
    again = json.loads(w.state.read_text())["logs"][ORIGIN]
    assert (again["size"], again["root"]) == (state["size"], state["root"])  # the same head
