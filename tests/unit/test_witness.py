"""The witness (watch/): C2SP tlog-witness add-checkpoint semantics, the promise kept on disk
across restarts and races, the evidence of forks, and the pull loop against a board that
forks, goes down or refuses."""

from __future__ import annotations

import base64
import http.server
import json
import multiprocessing
import os
import socket
import stat
import threading
import urllib.parse
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from e2e.checkpoint import (
    COSIGNATURE_V1,
    Checkpoint,
    Note,
    Signature,
    parse_note,
    parse_vkey,
    sign_checkpoint,
    verify_cosignatures,
    verify_witnessed,
    vkey,
)
from e2e.merkle import EMPTY_ROOT, consistency_proof_from_leaves, leaf_hash, root_from_leaves
from watch.cli import witness as witness_cli
from watch.witness import (
    MAX_PROOF,
    BoardRefused,
    BoardUnavailable,
    HttpBoard,
    Outcome,
    StateError,
    Witness,
    WitnessError,
    WitnessState,
    follow,
    public_bytes,
    step,
)

ORIGIN = "tohyo/test-election/1a2b3c4d"
NOW = 1_740_000_000


def key(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


BOARD = key(1)
BOARD_PUB = public_bytes(BOARD)


class Log:
    """A board's log: real leaves, real roots and proofs, real checkpoint signatures."""

    def __init__(self, leaves: list[bytes] | None = None, signer: Ed25519PrivateKey = BOARD):
        self.leaves = list(leaves or [])
        self.signer = signer

    def grow(self, n: int, tag: bytes = b"entry") -> Log:
        start = len(self.leaves)
        self.leaves += [leaf_hash(tag + i.to_bytes(4, "big")) for i in range(start, start + n)]
        return self

    def fork(self, at: int, n: int) -> Log:
        """The same first ``at`` entries, then ``n`` others: what a split view shows."""
        return Log(self.leaves[:at], self.signer).grow(n, b"forked")

    def root(self, size: int) -> bytes:
        return root_from_leaves(self.leaves[:size])

    def note(self, size: int, origin: str = ORIGIN) -> str:
        return sign_checkpoint(Checkpoint(origin, size, self.root(size)), self.signer).render()

    def proof(self, old: int, new: int) -> list[bytes]:
        return consistency_proof_from_leaves(old, self.leaves[:new])


@pytest.fixture
def log() -> Log:
    return Log().grow(40)


@pytest.fixture
def state_path(tmp_path):
    return tmp_path / "state.json"


def make_witness(state_path, n: int = 7, name: str = "witness.example.ac.jp/tohyo") -> Witness:
    return Witness(name, key(n), WitnessState(state_path), {ORIGIN: BOARD_PUB}, lambda: NOW)


@pytest.fixture
def w(state_path) -> Witness:
    return make_witness(state_path)


def refused(status: int, fn, *args) -> WitnessError:
    with pytest.raises(WitnessError) as e:
        fn(*args)
    assert e.value.status == status, e.value
    return e.value


# --- add-checkpoint: what gets cosigned -----------------------------------------------------


def test_cosigns_a_first_checkpoint_and_clients_accept_the_cosignature(w, log):
    sig = w.add_checkpoint(0, [], log.note(5))
    note = parse_note(log.note(5)).with_signatures([sig])
    witnessed = verify_witnessed(note, ORIGIN, BOARD_PUB, [(w.name, w.public_key)], 1)
    assert witnessed.checkpoint.size == 5
    assert witnessed.cosignatures[0].timestamp == NOW
    rec = w.state.latest(ORIGIN)
    assert (rec.size, rec.root, rec.note, rec.timestamp) == (5, log.root(5), log.note(5), NOW)


def test_cosigns_each_extension_proved_consistent(w, log):
    w.add_checkpoint(0, [], log.note(3))
    for old, new in [(3, 8), (8, 13), (13, 32), (32, 40)]:
        w.add_checkpoint(old, log.proof(old, new), log.note(new))
        assert w.state.latest(ORIGIN).size == new


def test_the_same_checkpoint_again_is_cosigned_again(w, log):
    w.add_checkpoint(0, [], log.note(6))
    sig = w.add_checkpoint(6, [], log.note(6).encode())
    assert verify_cosignatures(
        parse_note(log.note(6)).with_signatures([sig]), [(w.name, w.public_key)]
    )
    assert w.state.latest(ORIGIN).size == 6


# Key 8's verifier key has a "+" inside its base64: the city's `pin-manifest --witness`
# must still read it (signed-note splits at the first two "+" only).
@pytest.mark.parametrize("n", [7, 8])
def test_the_verifier_key_names_the_witness_key(state_path, n):
    w = make_witness(state_path, n, "w.example/w")
    assert parse_vkey(w.vkey()) == (w.name, COSIGNATURE_V1, w.public_key)


# --- add-checkpoint: every refusal, with its tlog-witness status ---------------------------


def test_unknown_origin_is_404(w, log):
    refused(404, w.add_checkpoint, 0, [], log.note(3, origin="tohyo/another/99999999"))


def test_checkpoint_without_the_boards_signature_is_403(w, log):
    impostor = Log(log.leaves, signer=key(9))
    refused(403, w.add_checkpoint, 0, [], impostor.note(3))
    note = parse_note(log.note(3))
    bad = note.signatures[0]
    forged = Note(note.text, (Signature(bad.name, bad.key_id, bytes(64)),))
    refused(403, w.add_checkpoint, 0, [], forged.render())
    assert w.state.latest(ORIGIN) is None


def test_malformed_requests_are_400(w, log):
    refused(400, w.add_checkpoint, 0, [], "not a note")
    refused(400, w.add_checkpoint, 0, [], "a\nb\n\n\u2014 x AAAAAAAA\n")
    refused(400, w.add_checkpoint, -1, [], log.note(3))
    refused(400, w.add_checkpoint, 0, [b"short"], log.note(3))


def test_old_size_beyond_the_checkpoint_is_400(w, log):
    w.add_checkpoint(0, [], log.note(3))
    refused(400, w.add_checkpoint, 5, [], log.note(4))


def test_more_than_63_proof_hashes_is_400(w, log):
    w.add_checkpoint(0, [], log.note(3))
    refused(400, w.add_checkpoint, 3, [log.root(1)] * (MAX_PROOF + 1), log.note(8))


def test_old_size_other_than_the_last_cosigned_is_409_with_that_size(w, log):
    e = refused(409, w.add_checkpoint, 4, log.proof(4, 8), log.note(8))
    assert e.size == 0  # never cosigned: the client should start from 0
    w.add_checkpoint(0, [], log.note(5))
    e = refused(409, w.add_checkpoint, 0, [], log.note(8))
    assert e.size == 5
    e = refused(409, w.add_checkpoint, 3, log.proof(3, 8), log.note(8))
    assert e.size == 5
    w.add_checkpoint(e.size, log.proof(e.size, 8), log.note(8))  # the client's retry works


def test_a_proof_that_does_not_verify_is_422(w, log):
    w.add_checkpoint(0, [], log.note(5))
    proof = log.proof(5, 12)
    bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    refused(422, w.add_checkpoint, 5, bad, log.note(12))
    refused(422, w.add_checkpoint, 5, proof[:-1], log.note(12))
    assert w.state.latest(ORIGIN).size == 5


def test_a_non_empty_proof_from_size_0_is_422(w, log):
    refused(422, w.add_checkpoint, 0, log.proof(3, 8), log.note(8))
    assert w.state.latest(ORIGIN) is None


def test_a_proof_between_equal_sizes_must_be_empty(w, log):
    w.add_checkpoint(0, [], log.note(8))
    refused(422, w.add_checkpoint, 8, log.proof(3, 8), log.note(8))


def test_a_fork_extending_a_prefix_is_refused_422(w, log):
    w.add_checkpoint(0, [], log.note(10))
    forked = log.fork(6, 10)  # shares 6 entries, then differs: no proof from 10 exists
    refused(422, w.add_checkpoint, 10, forked.proof(10, 16), forked.note(16))
    assert w.state.latest(ORIGIN).root == log.root(10)


def test_another_root_for_a_cosigned_size_is_409(w, log):
    w.add_checkpoint(0, [], log.note(10))
    forked = log.fork(6, 4)
    e = refused(409, w.add_checkpoint, 10, [], forked.note(10))
    assert e.size == 10
    assert w.state.latest(ORIGIN).root == log.root(10)


def test_an_empty_tree_with_another_root_is_409(w):
    rogue = sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32)), BOARD).render()
    refused(409, w.add_checkpoint, 0, [], rogue)
    w.add_checkpoint(0, [], sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), BOARD).render())


# --- evidence ------------------------------------------------------------------------------


def test_refused_checkpoints_signed_by_the_board_are_kept_as_evidence(w, log):
    w.add_checkpoint(0, [], log.note(10))
    forked = log.fork(6, 4)
    refused(409, w.add_checkpoint, 10, [], forked.note(10))
    refused(422, w.add_checkpoint, 10, forked.proof(10, 12), forked.note(12))
    ev = w.state.evidence()
    assert [(e["status"], e["size"], e["old_size"]) for e in ev] == [(409, 10, 10), (422, 12, 10)]
    assert ev[0]["origin"] == ORIGIN and ev[0]["time"] == NOW and ev[0]["reason"]
    # The evidence is the board's own signed note: anyone can check the board signed it,
    # and set it beside the cosigned one (kept in the state) to show the fork.
    assert ev[0]["note"] == forked.note(10)
    verify_witnessed(ev[0]["note"], ORIGIN, BOARD_PUB, [], 0)
    verify_witnessed(w.state.latest(ORIGIN).note, ORIGIN, BOARD_PUB, [], 0)
    assert os.path.exists(str(w.state.path) + ".evidence.jsonl")


def test_no_evidence_for_what_the_board_did_not_sign(w, log):
    refused(403, w.add_checkpoint, 0, [], Log(log.leaves, signer=key(9)).note(3))
    refused(404, w.add_checkpoint, 0, [], log.note(3, origin="tohyo/other/00000000"))
    refused(400, w.add_checkpoint, 0, [], "garbage")
    assert w.state.evidence() == []


# --- the promise survives restarts and races -------------------------------------------------


def test_a_restarted_witness_keeps_its_promise(state_path, log):
    make_witness(state_path).add_checkpoint(0, [], log.note(10))
    again = make_witness(state_path)  # a new process: new objects, the same file
    forked = log.fork(6, 4)
    assert refused(409, again.add_checkpoint, 10, [], forked.note(10)).size == 10
    assert refused(409, again.add_checkpoint, 0, [], log.note(5)).size == 10  # no going back
    refused(400, again.add_checkpoint, 10, [], log.note(5))
    refused(422, again.add_checkpoint, 10, forked.proof(10, 14), forked.note(14))
    again.add_checkpoint(10, log.proof(10, 20), log.note(20))
    assert make_witness(state_path).state.latest(ORIGIN).size == 20


def test_a_corrupt_state_is_an_error_not_a_fresh_start(state_path, log):
    w = make_witness(state_path)
    w.add_checkpoint(0, [], log.note(10))
    state_path.write_text('{"version": 1, "logs": {"' + ORIGIN + '": {"size": "ten"}}}')
    with pytest.raises(StateError):
        w.add_checkpoint(0, [], log.fork(6, 4).note(10))
    state_path.write_text("")
    with pytest.raises(StateError):
        w.state.latest(ORIGIN)


class RecordingState(WitnessState):
    """Records each write's sizes, in write order (``_write`` runs under the lock)."""

    def __init__(self, path, writes: list[int]) -> None:
        super().__init__(path)
        self.writes = writes

    def _write(self, logs):
        self.writes.append(logs[ORIGIN]["size"])
        super()._write(logs)


def cosign_up_to(w: Witness, log: Log, size: int) -> bool:
    """A client's add-checkpoint with the tlog-witness retry: start from 0, and on a 409
    retry from the size the witness names. False if the witness moved past ``size``."""
    old = 0
    while True:
        try:
            w.add_checkpoint(old, log.proof(old, size) if old else [], log.note(size))
            return True
        except WitnessError as e:
            if e.status != 409 or e.size is None or e.size > size:
                return False
            old = e.size


def test_racing_threads_never_roll_back(state_path, log):
    writes: list[int] = []
    sizes = [3, 9, 17, 18, 25, 31, 33, 40]
    issued: list[int] = []
    barrier = threading.Barrier(len(sizes))

    def run(size: int) -> None:
        w = Witness("w.example/w", key(7), RecordingState(state_path, writes), {ORIGIN: BOARD_PUB})
        barrier.wait()
        if cosign_up_to(w, log, size):
            issued.append(size)

    threads = [threading.Thread(target=run, args=(s,)) for s in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writes == sorted(writes), writes  # each cosignature was persisted before it left
    assert set(issued) == set(writes) and max(sizes) in issued
    assert WitnessState(state_path).latest(ORIGIN).size == max(sizes)


def _race_process(path: str, order: str, sizes: list[int], barrier) -> None:
    class Ordered(WitnessState):
        def _write(self, logs):
            with open(order, "a") as f:  # under the state's flock: the file is in write order
                f.write(f"{logs[ORIGIN]['size']}\n")
            super()._write(logs)

    log = Log().grow(40)
    w = Witness("w.example/w", key(7), Ordered(path), {ORIGIN: BOARD_PUB})
    barrier.wait()
    for s in sizes:
        cosign_up_to(w, log, s)


def test_racing_processes_never_roll_back(tmp_path):
    path, order = str(tmp_path / "state.json"), str(tmp_path / "order")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_race_process, args=(path, order, sizes, barrier))
        for sizes in ([2, 5, 9, 14, 20, 27, 35], [3, 6, 10, 15, 21, 28, 40])
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    with open(order) as f:
        writes = [int(line) for line in f]
    assert writes == sorted(writes) and writes[-1] == 40
    assert WitnessState(path).latest(ORIGIN).size == 40


# --- step() and follow() against an in-memory board ------------------------------------------


class FakeBoard:
    """An in-memory board: offers ``offer`` of ``log``, merges the witnesses' cosignatures
    into its offer, can be down or refuse posts."""

    def __init__(self, log: Log, witnesses: list[Witness]) -> None:
        self.log = log
        self.offer: int | None = None
        self.keys = [(x.name, x.public_key) for x in witnesses]
        self.cosigs: dict[tuple[int, bytes], set] = {}
        self.down = 0  # answer this many more requests with BoardUnavailable
        self.refuse: str | None = None
        self.posted: list[str] = []
        self.calls = 0
        self.stop_after: tuple[int, threading.Event] | None = None

    def _maybe_down(self) -> None:
        if self.down:
            self.down -= 1
            raise BoardUnavailable("connection refused")

    def checkpoint(self) -> str:
        self.calls += 1
        if self.stop_after and self.calls >= self.stop_after[0]:
            self.stop_after[1].set()  # this is the loop's last round
        self._maybe_down()
        if self.offer is None:
            raise BoardRefused(404, "not_found")
        note = parse_note(self.log.note(self.offer))
        return note.with_signatures(self.cosigs.get(self._head(), ())).render()

    def _head(self) -> tuple[int, bytes]:
        return (self.offer, self.log.root(self.offer))

    def consistency(self, first: int, second: int) -> list[bytes]:
        self._maybe_down()
        return self.log.proof(first, second)

    def submit(self, note: str) -> None:
        self._maybe_down()
        if self.refuse:
            raise BoardRefused(403, self.refuse)
        self.posted.append(note)
        n = parse_note(note)
        found = verify_cosignatures(n, self.keys)
        assert found, "a post without a valid cosignature"
        size = int(n.text.split("\n")[1])
        self.cosigs.setdefault((size, self.log.root(size)), set()).update(
            c.signature for c in found
        )


class Lines(list):
    """An echo for follow() that keeps (message, to stderr) pairs."""

    def __call__(self, message: str, err: bool = False) -> None:
        self.append((message, err))


def test_step_follows_a_growing_board(w, log):
    board = FakeBoard(log, [w])
    assert step(w, board, ORIGIN).outcome is Outcome.UNCHANGED  # no head yet
    board.offer = 4
    r = step(w, board, ORIGIN)
    assert (r.outcome, r.size) == (Outcome.COSIGNED, 4)
    witnessed = verify_witnessed(board.posted[-1], ORIGIN, BOARD_PUB, board.keys, 1)
    assert witnessed.checkpoint.size == 4
    board.offer = 19
    assert step(w, board, ORIGIN).outcome is Outcome.COSIGNED
    assert w.state.latest(ORIGIN).size == 19
    # The board has our cosignature: nothing to do, nothing posted.
    posts = len(board.posted)
    assert step(w, board, ORIGIN).outcome is Outcome.UNCHANGED
    assert len(board.posted) == posts
    # The board lost it (or never got it): cosigned and posted again.
    board.cosigs.clear()
    assert step(w, board, ORIGIN).outcome is Outcome.COSIGNED
    assert len(board.posted) == posts + 1
    # An older offer is skipped, never cosigned.
    board.offer = 10
    r = step(w, board, ORIGIN)
    assert r.outcome is Outcome.STALE and r.ok
    assert len(board.posted) == posts + 1 and w.state.latest(ORIGIN).size == 19


def test_step_posts_only_the_boards_line_and_its_own(state_path, log):
    a = make_witness(state_path, 7, "a.example/w")
    b = make_witness(state_path.with_name("b.json"), 8, "b.example/w")
    board = FakeBoard(log, [a, b])
    board.offer = 6
    step(a, board, ORIGIN)
    step(b, board, ORIGIN)
    names = [s.name for s in parse_note(board.posted[-1]).signatures]
    assert names == [ORIGIN, "b.example/w"]
    assert (
        len(verify_witnessed(board.checkpoint(), ORIGIN, BOARD_PUB, board.keys, 2).witnesses) == 2
    )


def test_step_refuses_a_checkpoint_of_another_board(w, log):
    board = FakeBoard(Log(log.leaves, signer=key(9)), [w])
    board.offer = 5
    r = step(w, board, ORIGIN)
    assert r.outcome is Outcome.REFUSED and not r.ok
    assert board.posted == [] and w.state.latest(ORIGIN) is None


def test_a_forking_board_is_refused_by_every_witness_loudly(tmp_path, log):
    witnesses = [make_witness(tmp_path / f"{i}.json", 10 + i, f"w{i}.example/w") for i in range(3)]
    honest = FakeBoard(log, witnesses)
    honest.offer = 12
    for x in witnesses:
        assert step(x, honest, ORIGIN).outcome is Outcome.COSIGNED
    # The board now shows a history that diverges after entry 8: a larger head, then a
    # head of the very size the witnesses cosigned.
    for forked_size in (20, 12):
        forked = FakeBoard(log.fork(8, 12), witnesses)
        forked.offer = forked_size
        for x in witnesses:
            lines = Lines()
            stop = threading.Event()
            forked.stop_after = (forked.calls + 3, stop)
            follow(x, forked, ORIGIN, 0, stop, lines)
            alerts = [m for m, err in lines if err and m.startswith("ALERT:")]
            assert len(alerts) == 3, lines  # every round, not only the first
            assert f"size {forked_size}" in alerts[0]
            assert x.state.latest(ORIGIN).size == 12
            assert x.state.latest(ORIGIN).root == log.root(12)
        assert forked.posted == []
    for x in witnesses:
        assert [e["size"] for e in x.state.evidence()] == [20] * 3 + [12] * 3


def test_a_board_that_is_down_is_reported_and_retried(w, log):
    board = FakeBoard(log, [w])
    board.offer = 7
    board.down = 3
    lines = Lines()
    stop = threading.Event()
    board.stop_after = (5, stop)
    follow(w, board, ORIGIN, 0, stop, lines)
    assert board.calls == 5
    errors = [m for m, err in lines if err]
    assert errors[0].startswith("board unavailable") and len(errors) == 2  # once, then back
    assert (f"cosigned {ORIGIN} size 7", False) in lines
    assert w.state.latest(ORIGIN).size == 7


def test_a_post_that_fails_is_made_again_next_round(w, log):
    board = FakeBoard(log, [w])
    board.offer = 7
    board.refuse = "unknown_witness"
    r = step(w, board, ORIGIN)
    assert r.outcome is Outcome.REFUSED and "unknown_witness" in r.message
    board.refuse = None
    board.down = 1
    board.offer = 9
    # down on the checkpoint request, then fine: the consistency proof from 7 is fetched
    assert step(w, board, ORIGIN).outcome is Outcome.UNAVAILABLE
    assert step(w, board, ORIGIN).outcome is Outcome.COSIGNED
    assert verify_witnessed(board.posted[-1], ORIGIN, BOARD_PUB, board.keys, 1).checkpoint.size == 9


def test_a_refusing_board_does_not_stop_the_loop(w, log):
    board = FakeBoard(log, [w])
    board.offer = 7
    board.refuse = "unknown_witness"
    lines = Lines()
    stop = threading.Event()
    board.stop_after = (4, stop)
    follow(w, board, ORIGIN, 0, stop, lines)
    assert board.calls == 4
    assert len([m for m, err in lines if err and "unknown_witness" in m]) == 1


# --- the HTTP client and the command line ----------------------------------------------------


class Api(http.server.BaseHTTPRequestHandler):
    """The board's three endpoints over a FakeBoard, and canned errors."""

    board: FakeBoard
    status: int | None = None  # answer every request with this error

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str) -> None:
        self._send(status, json.dumps({"error": code, "detail": "d"}).encode())

    def do_GET(self) -> None:
        if self.status:
            return self._error(self.status, "boom")
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/api/checkpoint":
            try:
                self._send(200, self.board.checkpoint().encode(), "text/plain; charset=utf-8")
            except BoardRefused as e:
                self._error(e.status, e.code)
        elif url.path == "/api/consistency":
            q = urllib.parse.parse_qs(url.query)
            first, second = int(q["first"][0]), int(q["second"][0])
            proof = [h.hex().upper() for h in self.board.consistency(first, second)]
            self._send(200, json.dumps({"first": first, "second": second, "proof": proof}).encode())
        else:
            self._error(404, "not_found")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.status:
            return self._error(self.status, "boom")
        assert self.headers["Content-Type"] == "text/plain; charset=utf-8"
        self.board.submit(body.decode())
        self._send(201, b'{"size": 0, "cosigned_by": [], "quorum": 1}')


@pytest.fixture
def served(log) -> Iterator[tuple[str, type[Api]]]:
    handler = type("Handler", (Api,), {"board": None, "status": None})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_http_board_round_trip_and_errors(served, w, log):
    url, handler = served
    handler.board = FakeBoard(log, [w])
    http_board = HttpBoard(url, timeout=5)
    with pytest.raises(BoardRefused) as e:
        http_board.checkpoint()
    assert (e.value.status, e.value.code) == (404, "not_found")
    handler.board.offer = 11
    assert step(w, http_board, ORIGIN).outcome is Outcome.COSIGNED
    handler.board.offer = 30
    assert http_board.consistency(11, 30) == log.proof(11, 30)
    assert step(w, http_board, ORIGIN).outcome is Outcome.COSIGNED
    assert w.has_cosigned(parse_note(http_board.checkpoint()))
    handler.status = 500
    with pytest.raises(BoardUnavailable):
        http_board.checkpoint()
    handler.status = 403
    with pytest.raises(BoardRefused) as e:
        http_board.submit("x")
    assert (e.value.status, e.value.code) == (403, "boom")
    with pytest.raises(BoardUnavailable):
        HttpBoard(f"http://127.0.0.1:{closed_port()}", timeout=5).checkpoint()


def invoke(*args):
    return CliRunner().invoke(witness_cli, [str(a) for a in args], catch_exceptions=False)


def test_keygen_writes_a_private_key_once_and_prints_the_manifest_keys(tmp_path):
    path = tmp_path / "witness.key"
    r = invoke("keygen", "--name", "witness.example.ac.jp/tohyo", "--key", path)
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = dict(line.split(":", 1) for line in r.stdout.splitlines())
    pub = public_bytes(serialization.load_pem_private_key(path.read_bytes(), password=None))
    assert lines["verifier key"].strip() == vkey("witness.example.ac.jp/tohyo", COSIGNATURE_V1, pub)
    assert lines["public key"].strip() == pub.hex().upper()
    before = path.read_bytes()
    r = invoke("keygen", "--name", "witness.example.ac.jp/tohyo", "--key", path)
    assert r.exit_code != 0 and path.read_bytes() == before


def test_run_once_exit_codes_and_show(served, tmp_path, log):
    url, handler = served
    key_path, state = tmp_path / "w.key", tmp_path / "state.json"
    out = invoke("keygen", "--name", "w.example/w", "--key", key_path).stdout
    pub = bytes.fromhex(out.split("public key:")[1].strip())
    handler.board = FakeBoard(log, [])
    handler.board.keys = [("w.example/w", pub)]
    run = ("run", "--key", key_path, "--name", "w.example/w", "--state", state, "--board", url)
    run += ("--origin", ORIGIN, "--board-key", BOARD_PUB.hex(), "--once")
    # No state file: refused unless told this is a new witness (a lost or mistyped state
    # must not read as "never cosigned anything").
    r = invoke(*run)
    assert r.exit_code == 2 and "--init" in r.stderr and not state.exists()
    run += ("--init",)
    assert invoke(*run).exit_code == 0  # no head yet: nothing new
    handler.board.offer = 9
    assert invoke(*run).exit_code == 0
    assert invoke(*run).exit_code == 0  # the board has it
    r = invoke("show", "--state", state)
    assert r.stdout.strip() == f"{ORIGIN} size 9 root {base64.b64encode(log.root(9)).decode()}"
    handler.board.log = log.fork(5, 10)
    r = invoke(*run)
    assert r.exit_code == 1 and r.stderr.startswith("ALERT:")
    handler.board.log = log
    handler.status = 503
    assert invoke(*run).exit_code == 2
    down = list(run)
    down[down.index(url)] = f"http://127.0.0.1:{closed_port()}"
    assert invoke(*down).exit_code == 2
