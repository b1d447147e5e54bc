"""`tohyo rehearsal finish` and the board's commands after the administrator has done part
of the ending from /admin, on the rehearsal's clock (issue: the admin pages and the
commands work on the same election in any order, with the same clock)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from e2e import codec
from e2e.board import Entry
from e2e.group import TEST
from e2e.rng import SystemRng
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from sim import rehearsal
from sim.demo import EXAMPLE, load_manifest
from tohyo.cli import main
from trustees import keystore
from trustees.decrypt import partial_decrypt


@pytest.fixture
def where(tmp_path):
    d = tmp_path / "r"
    rehearsal.prepare(d, TEST, load_manifest(EXAMPLE), lambda _: None)
    return d


def _decrypt(where, board, trustee: int) -> None:
    """What a trustee does from the trustee page: post a partial decryption."""
    election, tally = board.election, board.tally()
    key = keystore.load(where / "trustees" / f"trustee-{trustee}.key", rehearsal.PASSPHRASE)
    share = public_share(election.group, trustee_commitments(board.publics()), trustee)
    board.post_decryption(
        codec.encode(partial_decrypt(election, tally, key.secrets, share, SystemRng()))
    )


def _decryptions(board) -> list[int]:
    return sorted(Entry(d).trustee for _, _, d in board.store.kinds(["decryption"]))


def _finish_and_verify(where) -> None:
    r = CliRunner().invoke(main, ["rehearsal", "finish", str(where)])
    assert r.exit_code == 0, r.output
    v = CliRunner().invoke(main, ["verify", str(where / "record")])
    assert v.exit_code == 0, v.output


def test_finish_after_the_results_were_published_from_admin(where):
    board = rehearsal.open_board(where)
    board.close()
    board.post_tally()
    _decrypt(where, board, 2)  # trustees 2 and 3, not 1: finish must not add trustee 1
    _decrypt(where, board, 3)
    board.post_results()
    _finish_and_verify(where)
    assert _decryptions(board) == [2, 3]


def test_finish_completes_a_quorum_that_admin_started(where):
    board = rehearsal.open_board(where)
    board.close()
    board.post_tally()
    _decrypt(where, board, 3)
    _finish_and_verify(where)
    assert _decryptions(board) == [1, 3]  # one more, to the quorum of 2, and no further
    assert board.store.kinds(["results"])


def test_finish_twice_is_harmless(where):
    _finish_and_verify(where)
    _finish_and_verify(where)
    assert _decryptions(rehearsal.open_board(where)) == [1, 2]


def test_board_commands_take_the_rehearsals_clock(where):
    """`tohyo board close --clock-offset` as `tohyo serve --clock-offset` runs: the close is
    at the rehearsal's time, inside the voting period, not at this machine's time."""
    cfg = rehearsal.settings(where)
    args = ["--db", cfg["db"], "--key", str(where / "board.key")]
    offset = ["--clock-offset", str(cfg["offset"])]
    r = CliRunner().invoke(main, ["board", "close", *args, *offset])
    assert r.exit_code == 0, r.output
    board = rehearsal.open_board(where)
    [(_, _, close)] = [k for k in board.store.kinds(["event"]) if Entry(k[2]).event == "close"]
    at = datetime.fromisoformat(Entry(close).time)
    expected = datetime.now(at.tzinfo) + timedelta(seconds=cfg["offset"])
    assert abs((at - expected).total_seconds()) < 120
    assert board.manifest.start_time <= at <= board.manifest.end_time
    status = CliRunner().invoke(main, ["board", "status", *args, *offset])
    assert json.loads(status.output)["state"] == "closed"


def test_finish_that_cannot_decrypt_ends_in_a_message(where):
    """A trustee key that is missing: `rehearsal finish` says so and exits 1, with no
    traceback (the command's errors go through the same guard as every tohyo command)."""
    (where / "trustees" / "trustee-1.key").unlink()
    r = CliRunner().invoke(main, ["rehearsal", "finish", str(where)])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit)
    assert "error:" in r.output and "trustee-1.key" in r.output
