"""The monitor (``tohyo monitor``): a real board on SQLite served by its Flask app, read
through the test client; faults are made in the board's database or in what the fake
network answers."""

from __future__ import annotations

import json
import pathlib
import threading
from collections.abc import Callable

import pytest
import waitress.server
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update

from bulletin import schema
from bulletin.board import export_record
from e2e import codec
from e2e.ballot import challenge, encrypt_ballot
from e2e.board import BoardEntry, BoardEvent, TreeHead, TreeHeadBody
from e2e.checkpoint import Checkpoint, cosign, sign_checkpoint
from e2e.errors import VerificationError
from e2e.hash import HashValue
from e2e.record import Layout, read_monitor_copy, read_record
from e2e.rng import DeterministicRng
from e2e.verify import verify_record
from tests.integration.board_helpers import (
    Setup,
    Witnesses,
    ballot_doc,
    finish,
    free_port,
    later,
    make_board,
    serve_in_thread,
    submission,
)
from watch import monitor as monitor_module
from watch.monitor import (
    ALERTS,
    STATE,
    WITNESSED,
    BoardUnreachable,
    Monitor,
    MonitorError,
    run,
)
from web.api import create_app

C1 = {"mobility": ["tsukumobi"]}
C2 = {"gyosei": ["digital-counter"], "healthcare": []}
ORIGIN = "tsukuba.example/tohyo/monitor-test"


class Net:
    """The fake network: GET through the board's Flask test client, every path recorded;
    ``answers[prefix]`` replaces the board's answer for paths starting with ``prefix``."""

    def __init__(self, setup: Setup) -> None:
        self.client = create_app(setup.board).test_client()
        self.paths: list[str] = []
        self.answers: dict[str, Callable[[str], tuple[int, bytes]]] = {}
        self.down = False

    def __call__(self, path: str) -> tuple[int, bytes]:
        self.paths.append(path)
        if self.down:
            raise BoardUnreachable("connection refused")
        for prefix, answer in self.answers.items():
            if path.startswith(prefix):
                return answer(path)
        r = self.client.get(path)
        return r.status_code, r.get_data()


class Said:
    """What the monitor printed."""

    def __init__(self) -> None:
        self.err: list[str] = []
        self.out: list[str] = []

    def __call__(self, message: str, err: bool = False) -> None:
        (self.err if err else self.out).append(message)


@pytest.fixture
def board(tmp_path: pathlib.Path) -> Setup:
    return make_board(f"sqlite:///{tmp_path / 'board.db'}", tmp_path)


def key_of(s: Setup) -> bytes:
    return bytes(s.board.public.public_key)


def new_monitor(s: Setup, net: Net, out: pathlib.Path, **kw) -> tuple[Monitor, Said]:
    said = Said()
    kw.setdefault("board_key", key_of(s))
    m = Monitor("http://board.test", out, fetch=net, echo=said, **kw)
    return m, said


def vote(s: Setup, n: int, first: int = 0, choices: dict = C1, tag: str = "") -> None:
    """``n`` cast ballots, by the voters of tokens ``first``…"""
    for i in range(first, first + n):
        later(s.clock)
        s.board.submit(submission(s.election, choices, f"token-{i}", f"seed-{tag}{i}"))


def challenged(s: Setup, seed: str) -> None:
    ballot, secret = encrypt_ballot(s.election, C2, DeterministicRng(seed))
    later(s.clock)
    s.board.submit_challenged({"challenged": codec.to_document(challenge(ballot, secret))})


def kinds(alerts) -> list[str]:
    return [a.kind for a in alerts]


def same_as_export(s: Setup, out: pathlib.Path, tmp: pathlib.Path) -> pathlib.Path:
    """The copy's board/ files are the board's export's, byte for byte."""
    record = export_record(s.board, tmp / "record")
    for rel in (Layout.BOARD_ENTRIES, Layout.BOARD_HEADS, Layout.BOARD_KEY):
        assert (out / rel).read_bytes() == (record / rel).read_bytes(), rel
    return record


def append_raw(s: Setup, kind: str, voter: str, payload: str, root: bytes | None = None) -> int:
    """Append an entry to the board's log as a hostile board would (no checks) and sign its
    head, over the real root or over ``root``."""
    b = s.board

    def make(index: int, when: str) -> bytes:
        return codec.encode(BoardEntry(index, kind, when, voter, payload))

    later(s.clock)
    with b.store.write() as conn:
        a = b.store.append(conn, kind, make, b.clock.now())
        if root is not None:
            a = type(a)(a.index, a.size, root, a.time)
        b.sign_head(conn, a)
    return a.index


def signed_head(s: Setup, size: int, root: bytes, time: str) -> TreeHead:
    b = s.board
    body = TreeHeadBody(b.log, size, HashValue(root), time)
    return TreeHead(body.log, size, body.root, time, b.key.sign(codec.encode(body)).hex().upper())


def answer_head(head: TreeHead) -> Callable[[str], tuple[int, bytes]]:
    return lambda path: (200, codec.encode(head))


# --- a good board -----------------------------------------------------------------------


def test_a_good_board_raises_no_alert_and_the_copy_is_the_boards_export(board, tmp_path):
    s = board
    net = Net(s)
    out = tmp_path / "copy"
    m, said = new_monitor(s, net, out)
    assert m.poll() == []
    assert m.size == s.board.store.size() == 6  # manifest, 3 trustees, parameters, open
    vote(s, 3)
    challenged(s, "c1")
    vote(s, 2, first=0, choices=C2, tag="again")  # re-votes of the same voters, other contests
    assert m.poll() == []
    assert m.election is not None and m.events == ["open"]
    assert m.size == s.board.store.size()
    assert m.root() == bytes(s.board.latest_head().root)
    same_as_export(s, out, tmp_path / "mid")
    finish(s)
    assert m.poll() == []
    assert said.err == [] and not (out / ALERTS).exists()
    record = same_as_export(s, out, tmp_path / "end")
    # The verifier's side: the copy is the record's first entries and its heads are states.
    report = verify_record(read_record(record), monitor=read_monitor_copy(out))
    assert any("monitor's copy" in c for c in report.checks)
    state = json.loads((out / STATE).read_text())
    assert state["size"] == m.size and state["root"] == m.root().hex().upper()


def test_pages_smaller_than_the_log_give_the_same_copy(board, tmp_path):
    s = board
    vote(s, 6)
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy", page=2)
    assert m.poll() == []
    assert any("limit=2" in p for p in net.paths if p.startswith("/api/entries?"))
    same_as_export(s, tmp_path / "copy", tmp_path)


def test_without_a_pinned_key_the_manifests_key_is_used_with_a_warning(board, tmp_path):
    s = board
    m, said = new_monitor(s, Net(s), tmp_path / "copy", board_key=None)
    assert m.poll() == []
    assert m.key == s.board.public and m.key_by == "manifest"
    assert any("NOT pinned" in line for line in said.err)
    assert not any(line.startswith("ALERT") for line in said.err)


def test_a_pinned_key_that_is_not_the_manifests_is_an_alert(board, tmp_path):
    s = board
    other = Ed25519PrivateKey.generate().public_key()
    raw = other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    m, said = new_monitor(s, Net(s), tmp_path / "copy", board_key=raw)
    alerts = m.poll()
    # Every head is signed by the board's real key: none verifies under the pinned one.
    assert "head-signature" in kinds(alerts)
    assert m.size == 0
    assert any(line.startswith("ALERT: head-signature") for line in said.err)


# --- heads ------------------------------------------------------------------------------


def test_a_head_whose_root_is_not_the_entries_is_an_alert(board, tmp_path):
    s = board
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy")
    assert m.poll() == []
    close = codec.encode(BoardEvent("close")).decode()
    bad = append_raw(s, "event", "", close, root=b"\x07" * 32)
    alerts = m.poll()
    assert "head-root" in kinds(alerts)
    detail = next(a.detail for a in alerts if a.kind == "head-root")
    assert f"size {bad + 1}" in detail and "07070707" in detail
    # The monitor keeps going, and keeps the board's signed evidence in its copy.
    assert m.size == bad + 1
    lines = (tmp_path / "copy" / Layout.BOARD_HEADS).read_bytes().splitlines()
    heads = [codec.decode(h, TreeHead) for h in lines]
    assert any(bytes(h.root) == b"\x07" * 32 for h in heads)
    lines = (tmp_path / "copy" / ALERTS).read_text().splitlines()
    assert any(json.loads(line)["kind"] == "head-root" for line in lines)


def test_a_smaller_head_and_another_root_at_the_same_size_are_forks(board, tmp_path):
    s = board
    vote(s, 2)
    net = Net(s)
    out = tmp_path / "copy"
    m, said = new_monitor(s, net, out)
    assert m.poll() == []
    latest = s.board.latest_head()
    size = latest.size
    # A head of a smaller size (a log that went back), signed by the board.
    net.answers["/api/tree-heads/latest"] = answer_head(
        signed_head(s, size - 1, b"\x01" * 32, latest.time)
    )
    alerts = m.poll()
    assert "fork" in kinds(alerts)
    assert any(f"size {size - 1}" in a.detail and f"size {size}" in a.detail for a in alerts)
    # Another root at the same size.
    net.answers["/api/tree-heads/latest"] = answer_head(
        signed_head(s, size, b"\x02" * 32, latest.time)
    )
    alerts = m.poll()
    assert kinds(alerts).count("fork") == 1 and "two signed heads" in alerts[0].detail
    # The board's signed evidence is in the copy, so the final record's check fails on it.
    del net.answers["/api/tree-heads/latest"]
    assert m.poll() == []  # back to the real log: no new alert, the monitor went on
    vote(s, 1, first=5)
    assert m.poll() == []
    finish(s)
    m.poll()
    record = export_record(s.board, tmp_path / "record")
    with pytest.raises(VerificationError, match="not a state of this record's log"):
        verify_record(read_record(record), monitor=read_monitor_copy(out))
    # went back, its root is not the log's at that size, two roots at one size
    assert sum(line.startswith("ALERT: fork") for line in said.err) == 3


def test_a_head_not_signed_by_the_board_is_an_alert_and_not_kept(board, tmp_path):
    s = board
    net = Net(s)
    out = tmp_path / "copy"
    m, _ = new_monitor(s, net, out)
    m.poll()
    before = (out / Layout.BOARD_HEADS).read_bytes()
    latest = s.board.latest_head()
    forged = TreeHead(latest.log, latest.size + 1, latest.root, latest.time, "AB" * 64)
    net.answers["/api/tree-heads/latest"] = answer_head(forged)
    assert kinds(m.poll()) == ["head-signature"]
    assert (out / Layout.BOARD_HEADS).read_bytes() == before


def test_a_head_time_going_back_is_an_alert(board, tmp_path):
    s = board
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy")
    m.poll()
    latest = s.board.latest_head()
    earlier = signed_head(s, latest.size, bytes(latest.root), "2025-01-01T00:00:00+00:00")
    net.answers["/api/tree-heads/latest"] = answer_head(earlier)
    assert "head-time" in kinds(m.poll())


def test_a_bad_consistency_proof_is_an_alert(board, tmp_path):
    s = board
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy")
    m.poll()
    vote(s, 1)
    net.answers["/api/consistency"] = lambda path: (200, b'{"proof": ["' + b"00" * 32 + b'"]}')
    alerts = m.poll()
    assert kinds(alerts) == ["consistency"]


def test_a_head_covering_entries_the_board_does_not_serve_is_an_alert(board, tmp_path):
    s = board
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy")
    m.poll()
    vote(s, 2)
    net.answers["/api/entries?"] = lambda path: (200, b'{"entries": [], "next": null}')
    assert "missing" in kinds(m.poll())
    del net.answers["/api/entries?"]
    assert m.poll() == []
    assert m.size == s.board.store.size()


# --- entries ----------------------------------------------------------------------------


def test_an_entry_changed_after_it_was_seen_is_an_alert(board, tmp_path):
    s = board
    vote(s, 3)
    net = Net(s)
    out = tmp_path / "copy"
    m, _ = new_monitor(s, net, out)
    assert m.poll() == []
    # The board's operator edits a stored ballot in place (another voter's pseudonym); its
    # tree keeps the old nodes, so its next heads still match the monitor's roots: only
    # reading the entry again shows it.
    index = 6
    raw = s.board.store.entry(index)
    doc = json.loads(raw)
    doc["voter"] = "0" * 64
    with s.board.store.engine.begin() as conn:
        conn.execute(
            update(schema.entries)
            .where(schema.entries.c.idx == index)
            .values(data=codec.dumps(doc))
        )
    alerts = m.poll()
    assert kinds(alerts) == ["rewritten"]
    assert f"board entry {index} " in alerts[0].detail
    # And a monitor restarted on the copy finds it on its first poll.
    m2, said = new_monitor(s, net, out)
    assert kinds(m2.poll()) == ["rewritten"]
    assert said.err[-1].startswith(f"ALERT: rewritten: board entry {index} ")


def test_the_audit_moves_on_and_wraps_around(board, tmp_path):
    s = board
    vote(s, 3)
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy", audit=3)
    m.poll()  # catches up to 9 entries, then audits 0-2
    starts = []
    for _ in range(3):
        net.paths.clear()
        m.poll()
        starts += [p for p in net.paths if p.startswith("/api/entries?")]
    assert starts == [
        "/api/entries?start=3&limit=3",
        "/api/entries?start=6&limit=3",
        "/api/entries?start=0&limit=3",
    ]


def test_a_ballot_with_a_bad_proof_is_an_alert_naming_its_entry(board, tmp_path):
    s = board
    vote(s, 2)
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy")
    assert m.poll() == []
    # A well-formed ballot whose first two range proofs were swapped: each proof is valid
    # for the other selection only.
    doc = ballot_doc(s.election, C1, "bad")
    sel = doc["contests"][0]["selections"]
    sel[0]["proof"], sel[1]["proof"] = sel[1]["proof"], sel[0]["proof"]
    bad = append_raw(s, "ballot", "F" * 64, codec.dumps(doc).decode())
    vote(s, 1, first=10)  # a good ballot after it, in the same page
    # A challenged ballot whose revealed choices are not what it encrypts.
    ballot, secret = encrypt_ballot(s.election, C2, DeterministicRng("cb"))
    cdoc = codec.to_document(challenge(ballot, secret))
    cdoc["choices"] = [[0, 1, 0], [1, 0, 0]]
    lie = append_raw(s, "challenged", "", codec.dumps(cdoc).decode())
    alerts = m.poll()
    assert kinds(alerts) == ["ballot", "ballot"]
    assert alerts[0].detail.startswith(f"board entry {bad}: ")
    assert "proof" in alerts[0].detail
    assert alerts[1].detail.startswith(f"board entry {lie}: ")
    assert "do not reproduce the encryption" in alerts[1].detail
    assert m.size == s.board.store.size()


def test_entries_breaking_the_logs_rules_are_alerts(board, tmp_path):
    s = board
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy")
    m.poll()
    doc = ballot_doc(s.election, C1, "novoter")
    at = append_raw(s, "ballot", "", codec.dumps(doc).decode())  # no voter pseudonym
    again = append_raw(s, "parameters", "", "{}")  # a setup entry after the setup
    append_raw(s, "event", "", codec.encode(BoardEvent("close")).decode())
    late = append_raw(
        s, "ballot", "A" * 64, codec.dumps(ballot_doc(s.election, C1, "late")).decode()
    )
    reopen = append_raw(s, "event", "", codec.encode(BoardEvent("open")).decode())
    alerts = m.poll()
    details = [a.detail for a in alerts]
    assert any(d.startswith(f"board entry {at}: a voter pseudonym") for d in details)
    assert any(d.startswith(f"board entry {again}: a parameters entry after") for d in details)
    assert f"board entry {late}: a ballot outside the open period of the log" in details
    assert any(d.startswith(f"board entry {reopen} is the event 'open'") for d in details)
    assert set(kinds(alerts)) == {"entry", "setup"}  # the ballots' proofs themselves verify


def test_an_entry_that_is_not_canonical_is_kept_as_stored_and_alerted(board, tmp_path):
    s = board
    net = Net(s)
    out = tmp_path / "copy"
    m, _ = new_monitor(s, net, out)
    m.poll()
    # An entry stored with a space: the page's JSON re-encodes to other bytes.
    b = s.board
    later(s.clock)
    with b.store.write() as conn:
        a = b.store.append(
            conn,
            "event",
            lambda i, when: json.dumps({"index": i, "kind": "event"}).encode(),
            b.clock.now(),
        )
        b.sign_head(conn, a)
    alerts = m.poll()
    assert kinds(alerts) == ["entry"] and f"board entry {a.index} " in alerts[0].detail
    last = (out / Layout.BOARD_ENTRIES).read_bytes().splitlines()[-1]
    assert last == s.board.store.entry(a.index)  # the exact leaf bytes: the roots agree
    assert m.root() == bytes(s.board.latest_head().root)


# --- resuming ---------------------------------------------------------------------------


def test_a_restarted_monitor_resumes_from_its_copy_without_fetching_it_again(board, tmp_path):
    s = board
    vote(s, 3)
    net = Net(s)
    out = tmp_path / "copy"
    m, _ = new_monitor(s, net, out)
    assert m.poll() == []
    size, root = m.size, m.root()
    vote(s, 2, first=3)
    challenged(s, "c")
    net.paths.clear()
    m2, _ = new_monitor(s, net, out, audit=0)
    assert (m2.size, m2.root()) == (size, root)
    assert m2.election is not None and m2.events == ["open"]
    assert m2.poll() == []
    entry_reads = [p for p in net.paths if p.startswith("/api/entries")]
    assert entry_reads == [f"/api/entries?start={size}&limit={s.board.store.size() - size}"]
    heads = [p for p in net.paths if p.startswith("/api/tree-heads?")]
    assert heads == [f"/api/tree-heads?from_size={size + 1}&limit=1000"]
    same_as_export(s, out, tmp_path)


def test_lines_beyond_the_committed_state_are_cut_off_on_resume(board, tmp_path):
    s = board
    net = Net(s)
    out = tmp_path / "copy"
    m, _ = new_monitor(s, net, out)
    m.poll()
    # A page whose commit did not finish: its lines are written, state.json is not.
    with open(out / Layout.BOARD_ENTRIES, "ab") as f:
        f.write(b'{"half":"written')
    with open(out / Layout.BOARD_HEADS, "ab") as f:
        f.write(b"{}\n")
    m2, _ = new_monitor(s, net, out)
    vote(s, 1)
    assert m2.poll() == []
    same_as_export(s, out, tmp_path)


def test_a_copy_changed_on_disk_is_refused(board, tmp_path):
    s = board
    vote(s, 1)
    net = Net(s)
    out = tmp_path / "copy"
    m, _ = new_monitor(s, net, out)
    m.poll()
    path = out / Layout.BOARD_ENTRIES
    lines = path.read_bytes().splitlines()
    lines[1] = lines[1].replace(b'"index":1', b'"index":9')
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    with pytest.raises(MonitorError, match="changed"):
        new_monitor(s, net, out)
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(MonitorError, match="changed"):
        new_monitor(s, net, out)


def test_a_copy_of_another_board_is_refused(board, tmp_path):
    s = board
    out = tmp_path / "copy"
    m, _ = new_monitor(s, Net(s), out)
    m.poll()
    with pytest.raises(MonitorError, match="not"):
        new_monitor(s, Net(s), out, board_key=b"\x01" * 32)


# --- witnesses --------------------------------------------------------------------------


def test_witnessed_checkpoints_are_checked_and_kept(tmp_path):
    w = Witnesses(ORIGIN)
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path, witnessing=w.config)
    s.board.cosigning.clock = lambda: 1_800_000_000.0
    net = Net(s)
    out = tmp_path / "copy"
    m, _ = new_monitor(s, net, out)
    assert m.poll() == []  # no witnessed head yet: a 404, no alert
    assert not (out / WITNESSED).exists()
    vote(s, 2)
    w.cosign_latest(s)
    assert m.poll() == []
    copy = read_monitor_copy(out)
    assert [size for size, _ in copy.witnessed] == [s.board.store.size()]
    vote(s, 1, first=2)
    w.cosign_latest(s)
    assert m.poll() == []
    assert len(read_monitor_copy(out).witnessed) == 2

    # A note the board and the witnesses signed, of a root that is not the log's.
    board_note = sign_checkpoint(Checkpoint(ORIGIN, m.size, b"\x05" * 32), s.board.key)
    sigs = [cosign(board_note.text, n, k, 1_800_000_000) for n, k in w.keys.items()]
    forked = board_note.with_signatures(sigs).render().encode()
    net.answers["/api/checkpoint/witnessed"] = lambda path: (200, forked)
    alerts = m.poll()
    assert kinds(alerts) == ["witnessed"] and "another log" in alerts[0].detail
    # One cosignature short of the quorum.
    short = board_note.with_signatures(sigs[:1]).render().encode()
    net.answers["/api/checkpoint/witnessed"] = lambda path: (200, short)
    alerts = m.poll()
    assert kinds(alerts) == ["witnessed"] and "does not verify" in alerts[0].detail


# --- the loop and the command -------------------------------------------------------------


def test_run_rides_out_a_board_that_is_down(board, tmp_path):
    s = board
    net = Net(s)
    m, _ = new_monitor(s, net, tmp_path / "copy")
    stop = threading.Event()
    said = Said()
    polls = []
    poll = m.poll

    def counted():
        polls.append(1)
        net.down = len(polls) in (1, 2)
        if len(polls) == 4:
            stop.set()
        return poll()

    m.poll = counted
    run(m, 0.001, stop, echo=said)
    assert len(polls) == 4
    assert sum("does not answer" in line for line in said.err) == 1  # said once
    assert "the board answers again" in said.err
    assert m.size == s.board.store.size()


def test_the_command_exits_by_what_it_found(board, tmp_path, monkeypatch):
    s = board
    net = Net(s)
    monkeypatch.setattr(monitor_module, "http_fetch", lambda url: net)
    out = str(tmp_path / "copy")
    key = key_of(s).hex()
    runner = CliRunner()
    args = ["http://board.test", "--out", out, "--board-key", key, "--once"]
    r = runner.invoke(monitor_module.monitor, args)
    assert r.exit_code == 0, r.output
    assert "log size 6" in r.output
    net.down = True
    r = runner.invoke(monitor_module.monitor, args)
    assert r.exit_code == 2 and "does not answer" in r.output
    net.down = False
    net.answers["/api/consistency"] = lambda path: (200, b'{"proof": []}')
    vote(s, 1)
    r = runner.invoke(monitor_module.monitor, args)
    assert r.exit_code == 1 and "ALERT: consistency" in r.output
    del net.answers["/api/consistency"]
    r = runner.invoke(monitor_module.monitor, args)  # nothing new, but alerts.jsonl has one
    assert r.exit_code == 1
    r = runner.invoke(monitor_module.monitor, ["http://board.test", "--out", out, "--once",
                                               "--board-key", "12"])  # fmt: skip
    assert r.exit_code == 2 and "64 hex digits" in r.output


def test_over_http(board, tmp_path):
    """The real fetch (urllib) against the board's app served on the loopback."""
    s = board
    vote(s, 2)
    port = free_port()
    server = waitress.server.create_server(
        create_app(s.board), host="127.0.0.1", port=port, threads=2
    )
    serve_in_thread(server)
    try:
        url = f"http://127.0.0.1:{port}/"
        m = Monitor(url, tmp_path / "copy", key_of(s), echo=Said())
        assert m.poll() == []
        same_as_export(s, tmp_path / "copy", tmp_path)
        fetch = monitor_module.http_fetch(url)
        assert fetch("/api/entries/999")[0] == 404
    finally:
        server.close()
    with pytest.raises(BoardUnreachable):
        fetch("/api/tree-heads/latest")
    with pytest.raises(ValueError):
        monitor_module.http_fetch("ftp://board.test")
