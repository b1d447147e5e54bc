"""Faults a real election meets, fed to the board and the verifier: a clock that steps back,
two processes whose clocks disagree, a process killed between an append and its head, a
record stripped of its log or re-signed under another key, a receipt the board dropped.

Each test fails on a board that stamps entries with the appending process's clock, signs
administrative heads after the commit, or lets the record name its own key.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bulletin.auth import Refusal, TokenAuthenticator
from bulletin.board import Board, BoardClock, export_record, load_signing_key, public_key_of
from bulletin.cli import open_board
from bulletin.clock import FixedClock, iso
from bulletin.jpki import (
    DirectoryEvidenceStore,
    JpkiAuthenticator,
    MemoryNonceStore,
    TrustConfig,
    load_anchors,
    load_crl,
)
from bulletin.store import Store, make_engine
from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.board import BoardEntry, TreeHead, TreeHeadBody, log_id
from e2e.errors import VerificationError
from e2e.hash import HashValue
from e2e.record import read_record
from e2e.rng import DeterministicRng
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from e2e.verify import verify_record
from sim.testca import SimulatedCard, TestCA, sign_submission
from tests.integration.board_helpers import KEY, TOKENS, counted, later, make_board, submission
from tests.unit.test_jpki import HANAKO, JST, key
from tohyo.cli import main
from trustees.decrypt import partial_decrypt

C = {"gyosei": ["internet-voting"], "healthcare": ["emergency-info"]}


def _decryptions(s, tally, trustees=(0, 1)) -> list[bytes]:
    commitments = trustee_commitments(s.board.publics())
    out = []
    for n in trustees:
        sec = s.secrets[n]
        x = public_share(s.election.group, commitments, sec.index)
        out.append(codec.encode(partial_decrypt(s.election, tally, sec, x, DeterministicRng("d"))))
    return out


def _finish(s) -> None:
    s.board.close()
    tally = s.board.post_tally()
    for d in _decryptions(s, tally):
        s.board.post_decryption(d)
    s.board.post_results()


def _entries(board: Board) -> list[BoardEntry]:
    return [codec.decode(d, BoardEntry) for _, _, d in board.store.entries(0, 10**6)]


def _heads(board: Board) -> list[TreeHead]:
    return [codec.decode(h, TreeHead) for h in board.store.tree_heads()]


# --- time -----------------------------------------------------------------------------------


def test_a_clock_stepped_back_between_appends_leaves_a_verifiable_log(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    t0 = s.clock.now()
    s.board.submit(submission(s.election, C, "token-1", "a"))
    s.clock.set(t0 - timedelta(milliseconds=1))  # an NTP correction of 1 ms
    s.board.submit(submission(s.election, C, "token-2", "b"))
    s.clock.set(t0 - timedelta(hours=1))  # a VM migrated to a host an hour behind
    s.board.submit(submission(s.election, C, "token-3", "c"))
    _finish(s)  # close, tally, decryptions and results under the same stepped clock
    entries = _entries(s.board)
    times = [e.time for e in entries]
    assert times == sorted(times) and times[-1] == iso(t0)  # never back, never invented
    for h in _heads(s.board):  # every head is at least as late as what it covers
        assert h.time >= entries[h.size - 1].time
    report = verify_record(read_record(export_record(s.board, tmp_path / "rec")))
    assert report.ballots == 3


def _process_votes(db: str, key_path: str, when: str, worker: int, n: int, out) -> None:
    board = Board(
        Store(make_engine(db)),
        load_signing_key(key_path),
        FixedClock(datetime.fromisoformat(when)),
        TokenAuthenticator(KEY, TOKENS),
    )
    for i in range(n):
        body = submission(board.election, C, f"token-{worker * n + i}", f"p{worker}-{i}")
        board.submit(body)
    out.put(worker)


def test_two_processes_with_clocks_two_seconds_apart(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    ahead = s.clock.now() + timedelta(seconds=2)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_process_votes,
            args=(db_url, str(s.key_path), when.isoformat(), w, 5, out),
        )
        for w, when in enumerate([ahead, s.clock.now()])  # host A 2 s ahead of host B
    ]
    for p in procs:
        p.start()
    assert sorted(out.get(timeout=240) for _ in procs) == [0, 1]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    _finish(s)  # the administrator's host is on B's time
    times = [e.time for e in _entries(s.board)]
    assert times == sorted(times)
    report = verify_record(read_record(export_record(s.board, tmp_path / "rec")))
    assert report.ballots == 10


def test_a_process_whose_clock_stepped_back_does_not_reopen_the_period_it_saw_end(tmp_path):
    # The floor is the log and what this process has seen: a process started afresh with a
    # clock stepped back into the period, when no entry records the end, cannot know it
    # (docs/protocol.md §8); the close event is what ends the period for every process.
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    end = s.election.manifest.end_time
    s.clock.set(end + timedelta(seconds=1))
    with pytest.raises(Refusal) as e:
        s.board.submit(submission(s.election, C, "token-1", "late"))
    assert e.value.code == "not_open"
    s.clock.set(end - timedelta(days=1))  # the clock steps back into the period
    with pytest.raises(Refusal) as e:
        s.board.submit(submission(s.election, C, "token-1", "late2"))
    assert e.value.code == "not_open"  # this process has seen the period end


def test_the_gate_judges_revocation_at_the_boards_time_not_a_stepped_clock(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    t0 = s.clock.now()
    authority = TestCA.create(not_before=datetime(2023, 1, 1, tzinfo=JST), key=key(130))
    issued = datetime(2024, 6, 1, tzinfo=JST)
    revoked = authority.issue(**{**HANAKO, "issued": issued, "key": key(0)})
    other = authority.issue(
        **{**HANAKO, "name": "筑波　太郎", "birth": "319790101", "issued": issued, "key": key(1)}
    )
    authority.revoke(revoked.serial_number, t0 + timedelta(hours=1))  # moved away at t0 + 1 h
    anchors = load_anchors(authority.pem)
    crl = load_crl(authority.crl(t0 + timedelta(hours=1), t0 + timedelta(days=2)), anchors)
    config = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    evidence = DirectoryEvidenceStore(tmp_path / "evidence")
    gate = JpkiAuthenticator(
        config, b"p" * 32, bytes(s.election.h_e), MemoryNonceStore(), evidence,
        BoardClock(s.board),
    )  # fmt: skip
    s.board.authenticator = gate

    def cast(cert, password: str, seed: str) -> dict:
        card = SimulatedCard.create(key_of[cert], cert, password, iterations=1000)
        ballot, _ = encrypt_ballot(s.election, C, DeterministicRng(seed))
        code = bytes(ballot.confirmation_code)
        challenge = gate.new_nonce().value
        auth = sign_submission(card, password, bytes(s.election.h_e), code, challenge)
        return s.board.submit({"ballot": codec.to_document(ballot), "auth": auth})

    key_of = {revoked: key(0), other: key(1)}
    s.clock.set(t0 + timedelta(hours=2))
    cast(other, "PASS01", "o")  # the log is now at t0 + 2 h, after the revocation
    s.clock.set(t0)  # the clock steps back to before the revocation
    with pytest.raises(Refusal) as e:
        cast(revoked, "PASS02", "r")
    assert e.value.code == "cert_revoked"
    # the evidence of the admitted ballot is never later than its entry (the audit's rule)
    (ev,) = list(evidence)
    entry = _entries(s.board)[-1]
    assert ev.received_at <= datetime.fromisoformat(entry.time)


# --- a process killed between an append and its head ------------------------------------

KILL = textwrap.dedent(
    """
    import os, signal, sys
    from contextlib import contextmanager
    from datetime import datetime
    from bulletin.board import Board, load_signing_key
    from bulletin.clock import FixedClock
    from bulletin.store import Store, make_engine
    db, key, when, step, point, data = sys.argv[1:7]
    def die():
        os.kill(os.getpid(), signal.SIGKILL)
    sign = Board.sign_head
    def sign_head(self, conn, appended):
        if point == "before-head":
            die()
        head = sign(self, conn, appended)
        if point == "after-head":
            die()  # the head is written, the transaction not committed
        return head
    Board.sign_head = sign_head
    write = Store.write
    @contextmanager
    def write_then_die(self):
        with write(self) as conn:
            yield conn
        if point == "after-commit":
            die()
    Store.write = write_then_die
    board = Board(Store(make_engine(db)), load_signing_key(key),
                  FixedClock(datetime.fromisoformat(when)))
    if step == "open":
        board.open()
    elif step == "close":
        board.close()
    elif step == "tally":
        board.post_tally()
    elif step == "decryption":
        board.post_decryption(open(data, "rb").read())
    elif step == "results":
        board.post_results()
    """
)


def _kill_in(s, step: str, point: str, data: str = "") -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILL, s.db, str(s.key_path), s.clock.now().isoformat(), step,
         point, data],
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


@pytest.mark.parametrize("point", ["before-head", "after-head", "after-commit"])
@pytest.mark.parametrize("step", ["open", "close", "tally", "decryption", "results"])
def test_a_kill_around_an_administrative_append_leaves_a_covered_log(tmp_path, step, point):
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path, open_it=step != "open")
    b = s.board
    if step != "open":
        b.submit(submission(s.election, C, "token-1", "k"))
    data = tmp_path / "decryption.json"
    if step in ("tally", "decryption", "results"):
        b.close()
    if step in ("decryption", "results"):
        tally = b.post_tally()
        first, second = _decryptions(s, tally)
        b.post_decryption(first)
        data.write_bytes(second)
    if step == "results":
        b.post_decryption(second)
    size = b.store.size()
    _kill_in(s, step, point, str(data))
    committed = point == "after-commit"
    assert b.store.size() == size + committed  # all of the step, or none of it
    assert b.latest_head().size == b.store.size()  # and a signed head covers the log
    if not committed:  # the administrator runs the step again; it goes through
        {
            "open": b.open,
            "close": b.close,
            "tally": b.post_tally,
            "decryption": lambda: b.post_decryption(data.read_bytes()),
            "results": b.post_results,
        }[step]()
    if step == "open":
        b.submit(submission(s.election, C, "token-1", "k"))
    if step in ("open", "close"):
        if step == "open":
            b.close()
        tally = b.post_tally()
        for d in _decryptions(s, tally):
            b.post_decryption(d)
    if step in ("open", "close", "tally"):
        if step == "tally":
            for d in _decryptions(s, b.tally()):
                b.post_decryption(d)
    if step != "results":
        b.post_results()
    verify_record(read_record(export_record(b, tmp_path / "rec")))


def test_opening_a_board_signs_the_head_an_older_version_left_unsigned(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    s.board.submit(submission(s.election, C, "token-1", "k"))
    s.board.close()
    # What a board that signed after the commit left when killed in between: an entry (the
    # tally) that no signed head covers.
    tally = codec.encode(
        __import__("e2e.tally", fromlist=["aggregate"]).aggregate(s.election, counted(s.board))
    )
    with s.board.store.write() as conn:
        s.board._append(conn, "tally", tally)
    assert s.board.latest_head().size == s.board.store.size() - 1
    b = open_board(s.db, str(s.key_path), clock=s.clock)  # tohyo board …, tohyo serve
    assert b.latest_head().size == b.store.size()
    assert b.recover() is None  # nothing more to sign
    for d in _decryptions(s, b.tally()):
        b.post_decryption(d)
    b.post_results()
    verify_record(read_record(export_record(b, tmp_path / "rec")))


# --- the record pinned to its board ------------------------------------------------------


@pytest.fixture
def finished(tmp_path):
    """A finished election on a board (a receipt kept for the second ballot), exported."""
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    receipts = []
    for n in range(4):
        later(s.clock)
        receipts.append(s.board.submit(submission(s.election, C, f"token-{n}", f"r{n}")))
    _finish(s)
    root = export_record(s.board, tmp_path / "rec")
    return s, root, receipts


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_a_board_election_without_its_log_fails(finished, tmp_path):
    s, root, _ = finished
    bare = tmp_path / "bare"
    shutil.copytree(root, bare)
    entries = _entries(s.board)
    (bare / "ballots.jsonl").write_bytes(
        b"".join(e.payload.encode() + b"\n" for e in entries if e.kind == "ballot")
    )
    shutil.rmtree(bare / "board")
    with pytest.raises(VerificationError, match="manifest names a bulletin board"):
        verify_record(read_record(bare))
    r = _run("verify", bare, "--jobs", "1")
    assert r.exit_code == 1 and "FAILED" in r.output and "no board log" in r.output


def test_a_log_re_signed_under_another_key_fails(finished):
    s, root, _ = finished
    forger = Ed25519PrivateKey.generate()
    new = public_key_of(forger)
    lines = []
    for h in _heads(s.board):
        body = TreeHeadBody(log_id(new), h.size, h.root, h.time)
        sig = forger.sign(codec.encode(body)).hex().upper()
        lines.append(codec.encode(TreeHead(body.log, body.size, body.root, body.time, sig)))
    (root / "board" / "tree-heads.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))
    (root / "board" / "key.json").write_bytes(codec.encode(new))
    with pytest.raises(VerificationError, match="not the board key .* of the manifest"):
        verify_record(read_record(root))


def test_verify_pins_and_prints_the_board_key(finished):
    s, root, _ = finished
    right = s.board.public.public_key.hex_upper()
    r = _run("verify", root, "--jobs", "1", "--board-key", right.lower())
    assert r.exit_code == 0, r.output
    assert f"board key: {right} (pinned by the manifest)" in r.output
    wrong = "00" * 32
    r = _run("verify", root, "--jobs", "1", "--board-key", wrong)
    assert r.exit_code == 1 and "of the --board-key" in r.output
    r = _run("verify", root, "--board-key", "not hex")
    assert r.exit_code == 2 and "64 hex digits" in r.output


def test_receipts_are_found_in_the_log(finished, tmp_path):
    s, root, receipts = finished
    saved = []
    for n, r in enumerate(receipts):
        path = tmp_path / f"receipt-{n}.json"
        path.write_text(json.dumps(r, indent=1))  # as the booth saves it
        saved.append(path)
    out = _run("verify", root, "--jobs", "1", *[x for p in saved for x in ("--receipt", p)])
    assert out.exit_code == 0, out.output
    assert "4 voters' receipts found in the log" in out.output
    # a receipt that is not one, and a receipt whose code is not its entry's
    (tmp_path / "junk.json").write_text("[1, 2]")
    out = _run("verify", root, "--receipt", tmp_path / "junk.json")
    assert out.exit_code == 1 and "is not a receipt" in out.output
    other = {**receipts[0], "confirmation_code": receipts[1]["confirmation_code"]}
    (tmp_path / "other.json").write_text(json.dumps(other))
    out = _run("verify", root, "--receipt", tmp_path / "other.json")
    assert out.exit_code == 1 and "not the cast ballot with this confirmation code" in out.output


def test_a_board_that_dropped_a_receipted_ballot_is_caught_by_the_receipt(tmp_path):
    # The honest board gives voter 1 a receipt; the board then shows a second log, signed
    # with the same (pinned) key, without that ballot: only the receipt can tell.
    honest = make_board(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    forged = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)  # same key, election
    assert forged.election.h_e == honest.election.h_e
    receipt = None
    for n in range(3):
        body = submission(honest.election, C, f"token-{n}", f"d{n}")
        r = honest.board.submit(body)
        if n == 1:
            receipt = r
        else:
            forged.board.submit(body)
    _finish(forged)
    root = export_record(forged.board, tmp_path / "forged")
    verify_record(read_record(root))  # on its own, the forged log verifies
    rec = [("receipt.json", json.dumps(receipt).encode())]
    with pytest.raises(VerificationError, match="not a state of this record's log"):
        verify_record(read_record(root), receipts=rec)
    _finish(honest)
    report = verify_record(read_record(export_record(honest.board, tmp_path / "h")), receipts=rec)
    assert report.receipts == 1


def test_a_board_opened_with_another_key_writes_nothing(finished, tmp_path):
    s, _, _ = finished
    other = tmp_path / "typo.key"
    # `tohyo serve` creates a key that does not exist (a typo): it then refuses to serve.
    r = _run("serve", "--db", s.db, "--key", other, "--port", "1")
    assert r.exit_code == 2 and "is not the board key" in r.output and "wrong --key" in r.output
    r = _run("board", "status", "--db", s.db, "--key", other)
    assert r.exit_code == 2 and "is not the board key" in r.output
    size, head = s.board.store.size(), s.board.latest_head()
    assert s.board.latest_head() == head and s.board.store.size() == size


def _resign(s, root, edit_entries=None, edit_head_time=None) -> None:
    """Rewrite the record's log as a hostile board would: entries edited, every head
    re-signed with the board's own (pinned) key over the edited tree."""
    from e2e.merkle import MerkleFrontier, leaf_hash

    path = root / "board" / "entries.jsonl"
    lines = path.read_bytes().split(b"\n")[:-1]
    if edit_entries:
        lines = edit_entries(lines)
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    tree, heads = MerkleFrontier(), []
    for n, line in enumerate(lines):
        tree.append(leaf_hash(line))
        when = json.loads(line)["time"]
        if edit_head_time and n == len(lines) - 1:
            when = edit_head_time(when)
        body = TreeHeadBody(s.board.log, n + 1, HashValue(tree.root()), when)
        sig = s.board.key.sign(codec.encode(body)).hex().upper()
        heads.append(codec.encode(TreeHead(body.log, body.size, body.root, body.time, sig)))
    (root / "board" / "tree-heads.jsonl").write_bytes(b"".join(h + b"\n" for h in heads))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("[]", "board entry {n}: payload is not a JSON object"),
        ("not json", "board entry {n}: payload is not a JSON object"),
        ('{"contests": "x"}', "board entry {n}: payload has no valid contests"),
        # well formed enough for the log, not a ballot with the receipt's code
        ('{"contests": []}', "r.json: board entry {n} is not the cast ballot"),
    ],
)
def test_hostile_entries_under_the_boards_own_key_are_named_not_a_traceback(
    finished, tmp_path, payload, message
):
    s, root, receipts = finished
    target = receipts[1]["entry"]

    def junk_payload(lines):
        doc = json.loads(lines[target])
        doc["payload"] = payload
        return [*lines[:target], codec.dumps(doc), *lines[target + 1 :]]

    _resign(s, root, junk_payload)
    # The voter's receipt as this board would have given it for the forged log: its head
    # and an inclusion proof of the forged entry.
    from e2e.merkle import inclusion_proof_from_leaves, leaf_hash

    lines = (root / "board" / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    head = json.loads((root / "board" / "tree-heads.jsonl").read_bytes().split(b"\n")[-2])
    proof = inclusion_proof_from_leaves(target, [leaf_hash(x) for x in lines])
    receipt = {
        **receipts[1],
        "tree_head": head,
        "inclusion_proof": [h.hex().upper() for h in proof],
    }
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps(receipt))
    out = _run("verify", str(root), "--jobs", "1", "--receipt", str(saved))
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert "FAILED: " in out.output and message.format(n=target) in out.output


def test_a_head_older_than_what_it_covers_fails(finished):
    s, root, _ = finished

    def earlier(when: str) -> str:
        return iso(datetime.fromisoformat(when) - timedelta(seconds=1))

    _resign(s, root, edit_head_time=earlier)
    size = s.board.store.size()
    with pytest.raises(VerificationError, match=f"tree head {size}: is older than the last entry"):
        verify_record(read_record(root))
