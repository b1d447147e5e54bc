"""``tohyo serve``: its options reach the app (waitress is replaced by a recorder), the
JPKI gate waits for the election before admitting anyone, and waitress' limits hold on a
real server (a subprocess on loopback): stalled connections, oversized bodies and headers."""

from __future__ import annotations

import contextlib
import json
import pathlib
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from bulletin.auth import Refusal
from bulletin.board import Board, load_signing_key, new_signing_key
from bulletin.clock import FixedClock
from bulletin.gate import DeferredJpkiGate
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.election import Election, base_hash
from e2e.group import TEST
from e2e.rng import DeterministicRng
from sim.demo import EXAMPLE, load_manifest
from sim.testca import SimulatedCard, TestCA, new_key, sign_submission
from tests.integration.board_helpers import free_port
from tohyo.cli import main
from trustees.ceremony import run_ceremony


@pytest.fixture
def served(monkeypatch) -> list[dict[str, Any]]:
    import waitress

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def test_serve_creates_the_board_key_and_trusts_only_the_named_proxy(served, tmp_path):
    key = tmp_path / "board.key"
    args = ["serve", "--db", f"sqlite:///{tmp_path / 'b.db'}", "--key", str(key)]
    r = CliRunner().invoke(main, [*args, "--trusted-proxy", "127.0.0.1", "--port", "8123"])
    assert r.exit_code == 0, r.output
    assert key.exists() and "created the board's signing key" in r.output
    assert "ballots cannot be cast" in r.output
    call = served[0]
    assert call["port"] == 8123 and call["trusted_proxy"] == "127.0.0.1"
    assert "x-forwarded-for" in call["trusted_proxy_headers"]
    assert call["app"].config["SITE"].submit_limit == "20 per minute"
    # Without --trusted-proxy no forwarded header is believed.
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "trusted_proxy" not in served[1]


def test_serve_refuses_unusable_options_with_a_message(served, tmp_path):
    db = f"sqlite:///{tmp_path / 'b.db'}"
    key = str(tmp_path / "board.key")
    pem = tmp_path / "ca.pem"
    pem.write_bytes(TestCA.create(not_before=datetime.now(UTC) - timedelta(days=1)).pem)
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"pseudonym_key": "00" * 32, "tokens": {}}))
    both = CliRunner().invoke(
        main, ["serve", "--db", db, "--key", key, "--tokens", str(tokens), "--anchor", str(pem)]
    )
    assert both.exit_code != 0 and "exclude each other" in both.output
    no_key = CliRunner().invoke(main, ["serve", "--db", db, "--key", key, "--anchor", str(pem)])
    assert no_key.exit_code != 0 and "--pseudonym-key-file" in no_key.output
    short = tmp_path / "short.key"
    short.write_text("00" * 8)
    r = CliRunner().invoke(
        main,
        [
            "serve",
            "--db",
            db,
            "--key",
            key,
            "--anchor",
            str(pem),
            "--pseudonym-key-file",
            str(short),
        ],
    )
    assert r.exit_code != 0 and "at least 32 bytes" in r.output and "Traceback" not in r.output
    assert not served


@pytest.mark.parametrize("command", [["serve"], ["board", "status"]])
def test_a_database_that_does_not_answer_is_one_line_not_a_traceback(command, served, tmp_path):
    """A web machine started before its PostgreSQL (or pointed at a wrong port): exit 2 and
    one line naming the database (its password hidden) and the driver's reason, so that
    the operator, or systemd's Restart=on-failure, knows what to wait for."""
    port = free_port()  # nothing listens there
    db = f"postgresql+psycopg://tohyo:sekrit@127.0.0.1:{port}/board"
    r = CliRunner().invoke(main, [*command, "--db", db, "--key", str(tmp_path / "board.key")])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "sekrit" not in r.output
    assert (
        f"error: cannot use the board's database postgresql+psycopg://tohyo:***@127.0.0.1:{port}/board"
        in r.output
    )
    assert "Connection refused" in r.output
    assert not served


def test_the_production_gate_trusts_the_shipped_jlis_roots_by_default(served, tmp_path):
    pk = tmp_path / "pseudonym.key"
    pk.write_text("AB" * 32)
    args = ["serve", "--db", f"sqlite:///{tmp_path / 'b.db'}", "--key", str(tmp_path / "k")]
    r = CliRunner().invoke(main, [*args, "--pseudonym-key-file", str(pk)])
    assert r.exit_code == 0, r.output
    assert "trusting the J-LIS roots sign_ca_2015.pem, sign_ca_2023.pem" in r.output
    gate = served[0]["app"].config["BOARD"].authenticator
    assert isinstance(gate, DeferredJpkiGate) and "2 anchors" in repr(gate)
    # The API-only load-test mode has no rate limits, and must be asked for as such.
    r = CliRunner().invoke(main, [*args, "--api-only"])
    assert r.exit_code == 2 and "--no-rate-limits" in r.output
    r = CliRunner().invoke(main, [*args, "--api-only", "--no-rate-limits"])
    assert r.exit_code == 0, r.output


def _board_in_period(tmp_path: pathlib.Path) -> tuple[Board, FixedClock]:
    """An empty board whose clock is a day into the example manifest's voting period."""
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    migrate(engine)
    new_signing_key(tmp_path / "board.key")
    clock = FixedClock(load_manifest(EXAMPLE).start_time + timedelta(days=1))
    return Board(Store(engine), load_signing_key(tmp_path / "board.key"), clock), clock


def _post_election(board: Board, seed: str) -> None:
    """The example election (3 trustees, quorum 2, pinned to this board) set up and open."""
    from dataclasses import replace

    manifest = replace(load_manifest(EXAMPLE), trustees=3, quorum=2, board=board.public)  # D7
    h_p, _ = base_hash(TEST, manifest)
    _, publics = run_ceremony(TEST, h_p, 3, 2, DeterministicRng(seed))
    election = Election(TEST, manifest, TEST.product(t.key for t in publics))
    board.setup(
        manifest.canonical_bytes(),
        codec.encode(election.parameters()),
        [codec.encode(t) for t in publics],
    )
    board.open()


def test_deferred_gate_admits_voters_only_once_the_election_is_set_up(tmp_path):
    board, clock = _board_in_period(tmp_path)
    start = clock.now()
    ca = TestCA.create(not_before=start - timedelta(days=400))
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    crl = ca.crl(start - timedelta(days=1), start + timedelta(days=60))
    (tmp_path / "crl.der").write_bytes(crl)
    files = ([tmp_path / "ca.pem"], [tmp_path / "crl.der"])
    gate = DeferredJpkiGate(board, *files, b"k" * 32, tmp_path / "evidence")
    board.authenticator = gate
    with pytest.raises(Refusal) as e:
        gate.new_nonce()
    assert e.value.code == "not_open"

    _post_election(board, "gate")
    key = new_key()
    cert = ca.issue(
        name="筑波　花子",
        birth="319800217",
        sex="2",
        address="茨城県つくば市研究学園1丁目1番地",
        issued=start - timedelta(days=30),
        key=key,
    )
    card = SimulatedCard.create(key, cert, "PASS1234", iterations=1000)
    ballot, _ = encrypt_ballot(board.election, {"gyosei": []}, DeterministicRng("b"))
    auth = sign_submission(
        card,
        "PASS1234",
        bytes(board.election.h_e),
        bytes(ballot.confirmation_code),
        gate.new_nonce().value,
    )
    receipt = board.submit({"ballot": codec.to_document(ballot), "auth": auth})
    assert receipt["confirmation_code"] == ballot.confirmation_code.hex().upper()
    assert len(list(pathlib.Path(tmp_path / "evidence").iterdir())) == 1


def test_a_crl_delivered_as_a_file_is_taken_by_the_running_gate(tmp_path, caplog, monkeypatch):
    """A voting period outlives a CRL's validity: once its nextUpdate has passed, every
    ballot is refused crl_unavailable. A new CRL, delivered by replacing the --crl file, is
    taken by the running gate (its watcher) with no restart; a delivery that does not load
    is refused and the CRL in use stays."""
    import logging
    import os

    board, clock = _board_in_period(tmp_path)
    start = clock.now()
    _post_election(board, "crl")
    ca = TestCA.create(not_before=start - timedelta(days=400))
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    crl_file = tmp_path / "crl.der"
    first_crl = ca.crl(start - timedelta(days=1), start + timedelta(days=1))
    crl_file.write_bytes(first_crl)
    gate = DeferredJpkiGate(
        board, [tmp_path / "ca.pem"], [crl_file], b"k" * 32, tmp_path / "ev", crl_check_seconds=0.05
    )
    board.authenticator = gate
    cards = []
    for n in range(3):
        key = new_key()
        cert = ca.issue(
            name=f"筑波　{n}郎", birth="319800217", sex="1",
            address=f"茨城県つくば市研究学園{n + 1}丁目1番地", issued=start - timedelta(days=30),
            key=key,
        )  # fmt: skip
        cards.append((SimulatedCard.create(key, cert, "PASS1234", iterations=1000), cert))

    def vote(n: int, seed: str) -> dict:
        ballot, _ = encrypt_ballot(board.election, {"gyosei": []}, DeterministicRng(seed))
        nonce = gate.new_nonce().value
        code = bytes(ballot.confirmation_code)
        auth = sign_submission(cards[n][0], "PASS1234", bytes(board.election.h_e), code, nonce)
        return board.submit({"ballot": codec.to_document(ballot), "auth": auth})

    def refused(n: int, seed: str) -> str:
        with pytest.raises(Refusal) as e:
            vote(n, seed)
        return e.value.code

    def deliver(data: bytes) -> None:
        # As an operator delivers a file: written beside it, then renamed over it.
        tmp = crl_file.with_suffix(".new")
        tmp.write_bytes(data)
        os.replace(tmp, crl_file)

    def until(check, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not check() and time.monotonic() < deadline:
            time.sleep(0.05)

    vote(0, "a1")
    clock.set(start + timedelta(days=2))  # the CRL's nextUpdate has passed
    assert refused(1, "b1") == "crl_unavailable"

    caplog.set_level(logging.INFO, logger="tohyo.jpki")
    # `tohyo serve` (run in-process by another test) gives the logger its own handler
    monkeypatch.setattr(logging.getLogger("tohyo.jpki"), "propagate", True)
    ca.revoke(int(cards[0][1].serial_number), start + timedelta(days=1, hours=12))
    deliver(ca.crl(start + timedelta(days=2) - timedelta(hours=1), start + timedelta(days=4)))
    until(lambda: "CRLs loaded" in caplog.text)
    assert "crl.der: 1 revoked" in caplog.text
    vote(1, "b2")  # admitted again, with no restart
    assert refused(0, "a2") == "cert_revoked"  # and the new revocation holds

    deliver(b"half a CRL")
    until(lambda: "not loaded" in caplog.text)
    assert "new CRLs not loaded (crl.der: a CRL cannot be read" in caplog.text
    vote(2, "c1")  # the CRL in use stayed
    assert refused(0, "a3") == "cert_revoked"
    # Yesterday's file delivered again: it would take the revocation back.
    caplog.clear()
    deliver(first_crl)
    until(lambda: "not loaded" in caplog.text)
    assert "is older than the one in use" in caplog.text
    assert refused(0, "a4") == "cert_revoked"


def test_a_crl_delivered_to_one_machine_revokes_on_every_machine(tmp_path, caplog, monkeypatch):
    """Each machine has its own --crl files, and a delivery reaches them one by one (or
    one not at all, or a machine is restored with an older file). The processes share the
    newest CRL they loaded through the board's database: a card revoked in a CRL delivered
    to machine A is refused on machine B, whose file is still the old one, and on a machine
    started again with the old file; a row in the database that does not verify under the
    anchors is not taken, and the database not answering keeps the CRL in use."""
    import logging

    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    from bulletin import schema

    board_a, clock = _board_in_period(tmp_path)
    start = clock.now()
    _post_election(board_a, "shared-crl")
    ca = TestCA.create(not_before=start - timedelta(days=400))
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    old = ca.crl(start - timedelta(days=1), start + timedelta(days=30))
    caplog.set_level(logging.INFO, logger="tohyo.jpki")
    monkeypatch.setattr(logging.getLogger("tohyo.jpki"), "propagate", True)

    def machine(name: str) -> tuple[Board, DeferredJpkiGate]:
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / "crl.der").write_bytes(old)
        board = Board(
            Store(make_engine(f"sqlite:///{tmp_path / 'b.db'}")),
            load_signing_key(tmp_path / "board.key"),
            clock,
        )
        gate = DeferredJpkiGate(
            board, [tmp_path / "ca.pem"], [tmp_path / name / "crl.der"], b"k" * 32,
            tmp_path / name / "evidence", crl_check_seconds=0,  # looked at by hand below
        )  # fmt: skip
        board.authenticator = gate
        return board, gate

    key = new_key()
    cert = ca.issue(
        name="筑波　花子", birth="319800217", sex="2", address="茨城県つくば市研究学園1丁目1番地",
        issued=start - timedelta(days=30), key=key,
    )  # fmt: skip
    card = SimulatedCard.create(key, cert, "PASS1234", iterations=1000)

    def vote(board: Board, gate: DeferredJpkiGate, seed: str) -> str:
        ballot, _ = encrypt_ballot(board.election, {"gyosei": []}, DeterministicRng(seed))
        code, nonce = bytes(ballot.confirmation_code), gate.new_nonce().value
        auth = sign_submission(card, "PASS1234", bytes(board.election.h_e), code, nonce)
        try:
            board.submit({"ballot": codec.to_document(ballot), "auth": auth})
        except Refusal as e:
            return e.code
        return "accepted"

    a, b = machine("a"), machine("b")
    assert vote(*b, "1") == "accepted"
    ca.revoke(int(cert.serial_number), start + timedelta(hours=12))
    clock.set(start + timedelta(days=1))
    new = ca.crl(start + timedelta(hours=13), start + timedelta(days=30))
    (tmp_path / "a" / "crl.der").write_bytes(new)  # delivered to machine A only
    assert a[1].reload_crls()
    assert b[1].reload_crls()  # B's file did not change: the database's CRL is newer
    assert "crl.der (from the database): 1 revoked" in caplog.text
    assert vote(*b, "2") == "cert_revoked"
    assert (tmp_path / "b" / "crl.der").read_bytes() == old  # B's own file is untouched
    c = machine("c")  # started again, with yesterday's file
    assert vote(*c, "3") == "cert_revoked"

    # A row that another process did not verify (written in the database by hand).
    caplog.clear()
    with b[0].store.operational() as conn:
        conn.execute(
            schema.jpki_crls.update().values(
                this_update=(start + timedelta(days=2)).isoformat(), data=b"junk"
            )
        )
    assert not b[1].reload_crls()
    assert "crl.der: the CRL in the database does not load" in caplog.text
    assert vote(*b, "4") == "cert_revoked"  # the CRL in use stayed
    # A row whose version does not even read (a time without its zone): replaced the same
    caplog.clear()
    with b[0].store.operational() as conn:
        conn.execute(schema.jpki_crls.update().values(this_update="2099-01-01T00:00:00"))
    assert not b[1].reload_crls()
    assert "crl.der: the CRL in the database does not load" in caplog.text
    # ... and B's own CRL took the row's place, so a newer delivery still goes round
    newest = ca.crl(start + timedelta(hours=20), start + timedelta(days=30))
    (tmp_path / "c" / "crl.der").write_bytes(newest)  # to machine C, this time
    assert c[1].reload_crls()
    assert b[1].reload_crls() and a[1].reload_crls()
    assert [g._crl_data for g in (a[1], b[1])] == [[newest], [newest]]

    # The database not answering: the CRLs in use stay, said once.
    def down(keys):
        raise PoolTimeoutError("no connection to the database in time")

    caplog.clear()
    monkeypatch.setattr(a[1]._shared, "versions", down)
    assert not a[1].reload_crls() and not a[1].reload_crls()
    said = {id(r) for r in caplog.records if "not shared with the other" in r.getMessage()}
    assert len(said) == 1  # (a record may reach caplog's handler twice: count records)
    assert vote(*a, "5") == "cert_revoked"
    monkeypatch.undo()
    caplog.set_level(logging.INFO, logger="tohyo.jpki")
    a[1].reload_crls()
    assert "CRLs shared with the other processes again" in caplog.text


def test_crls_of_different_kinds_are_shared_as_different_crls_and_deltas_not_at_all(tmp_path):
    """One root's CRLs of different kinds (a complete CRL, one limited to user certificates,
    an ARL, a delta) are not versions of one another: each is kept under a key of its own,
    none replaces another in use, and a delta CRL is not shared (without its base, a newer
    delta would drop the revocations of the older one)."""
    from cryptography import x509

    from bulletin import schema
    from tests.unit.test_jpki_crl_extensions import authority, complete, idp, mint

    board, _ = _board_in_period(tmp_path)
    (tmp_path / "ca.pem").write_bytes(authority().pem)
    kinds = {
        "complete.der": complete(),
        "users.der": mint([], [idp(user=True)], number=12),
        "arl.der": mint([], [idp(ca=True)], number=13),
        "delta.der": mint([], [(x509.DeltaCRLIndicator(10), True)], number=14),
    }
    for name, data in kinds.items():
        (tmp_path / name).write_bytes(data)
    paths = [tmp_path / name for name in kinds]
    gate = DeferredJpkiGate(board, [tmp_path / "ca.pem"], paths, b"k" * 32, tmp_path / "ev")
    gate.reload_crls()
    assert gate._crl_data == list(kinds.values())  # each file's own CRL stays in use
    with board.store.engine.connect() as conn:
        rows = {bytes(r.data) for r in conn.execute(schema.jpki_crls.select())}
    assert rows == {kinds["complete.der"], kinds["users.der"], kinds["arl.der"]}
    other = DeferredJpkiGate(board, [tmp_path / "ca.pem"], paths, b"k" * 32, tmp_path / "ev2")
    assert not other.reload_crls()  # the same versions: nothing to take
    assert other._crl_from == ["file"] * 4
    # The kind comes from the bytes as signed, not from how Python prints the parsed
    # distribution point (which differs between Python versions, machine to machine).
    from dataclasses import replace

    from bulletin.gate import crl_key

    users = gate._crls[1]
    assert crl_key(replace(users, scope=repr(users.scope))) == crl_key(users)
    assert len({crl_key(c) for c in gate._crls}) == 4


# --- waitress' limits (docs/admin.md, "Serving limits and the TLS proxy") -------------------


def test_serve_sets_every_waitress_limit_deliberately(served, tmp_path):
    from web.api import MAX_BODY

    args = ["serve", "--db", f"sqlite:///{tmp_path / 'b.db'}", "--key", str(tmp_path / "k")]
    assert CliRunner().invoke(main, args).exit_code == 0
    call = served[0]
    assert call["connection_limit"] == 200
    assert call["channel_timeout"] == 15 and call["cleanup_interval"] == 5
    assert MAX_BODY < call["max_request_body_size"] <= MAX_BODY + 64 * 1024
    assert call["max_request_header_size"] == 32 * 1024
    assert call["inbuf_overflow"] == 512 * 1024
    assert call["asyncore_use_poll"] is True and call["expose_tracebacks"] is False
    site = call["app"].config["SITE"]
    assert site.challenged_limit == "600 per hour" and site.sign_requests_per_address == 20
    more = [
        *("--connection-limit", "50", "--channel-timeout", "2", "--max-request-body", "4096"),
        *("--max-request-header", "8192", "--inbuf-overflow", "2048"),
        *("--challenged-limit", "10 per minute", "--sign-requests-per-address", "3"),
    ]
    r = CliRunner().invoke(main, [*args, *more])
    assert r.exit_code == 0, r.output
    call = served[1]
    assert (call["connection_limit"], call["channel_timeout"], call["cleanup_interval"]) == (
        50,
        2,
        1,
    )
    assert call["max_request_body_size"] == 4096 and call["max_request_header_size"] == 8192
    assert call["inbuf_overflow"] == 2048
    site = call["app"].config["SITE"]
    assert site.challenged_limit == "10 per minute" and site.sign_requests_per_address == 3
    bad = CliRunner().invoke(main, [*args, "--challenged-limit", "lots"])
    assert bad.exit_code != 0 and "not a rate limit" in bad.output
    zero = CliRunner().invoke(main, [*args, "--channel-timeout", "0"])
    assert zero.exit_code != 0 and len(served) == 2


ROOT = pathlib.Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serving(tmp_path: pathlib.Path, *options: str) -> Iterator[int]:
    """`tohyo serve` in a subprocess on a loopback port (an empty board: the pages and the
    API's errors are all these tests need); yields the port."""
    port = free_port()
    cmd = [sys.executable, "-m", "tohyo", "serve", "--db", f"sqlite:///{tmp_path / 'b.db'}"]
    cmd += ["--key", str(tmp_path / "board.key"), "--port", str(port), "--threads", "2"]
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([*cmd, *options], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("tohyo serve did not start:\n" + _log(tmp_path))
                    time.sleep(0.1)
            time.sleep(0.2)  # the probe's connection is closed and forgotten
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _log(tmp_path: pathlib.Path) -> str:
    return (tmp_path / "serve.log").read_text(errors="replace")


def _connect(port: int, timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def _status(s: socket.socket) -> int:
    """The status code of the response on ``s`` (the socket's timeout bounds the wait)."""
    head = b""
    while b"\r\n" not in head:
        part = s.recv(4096)
        if not part:
            break
        head += part
    assert head.startswith(b"HTTP/1."), head[:200]
    return int(head.split()[1])


STALL = (
    b"POST /api/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n{"
)


def test_stalled_connections_hold_the_server_only_until_the_channel_timeout(tmp_path):
    """Connections that send their headers and stall fill every slot; they are closed after
    the channel timeout (plus at most one cleanup interval), and a normal request is
    answered then, not after waitress' default 120 s (+30 s)."""
    limit, timeout = 8, 2
    options = ("--connection-limit", str(limit), "--channel-timeout", str(timeout))
    with serving(tmp_path, *options) as port:
        stalled = []
        try:
            for _ in range(limit):  # waitress counts its own two sockets too: all slots
                s = _connect(port)
                s.sendall(STALL)
                stalled.append(s)
            time.sleep(0.2)
            start = time.monotonic()
            with _connect(port, timeout=30) as c:
                c.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                assert _status(c) == 200
            waited = time.monotonic() - start
            cleanup = max(1, timeout // 3)
            assert 1.0 <= waited <= timeout + cleanup + 3, waited  # held, then released
            for s in stalled:  # each stalled connection is closed without an answer
                s.settimeout(2 * (timeout + cleanup) + 3)
                try:
                    assert s.recv(100) == b""
                except ConnectionResetError:
                    pass
        finally:
            for s in stalled:
                s.close()
        assert "connection limit" in _log(tmp_path)


def test_a_body_over_the_limit_is_refused_before_it_is_sent(tmp_path):
    """With the default limits: a 300 MiB Content-Length gets 413 at once, without a byte of
    the body (waitress' default 1 GiB limit waited for it and spooled it to a file); a
    chunked body is cut off near the limit, long before the client has sent it all; a body
    just over the API's own limit still gets the API's JSON error."""
    from web.api import MAX_BODY

    with serving(tmp_path) as port:
        with _connect(port) as s:
            s.sendall(
                b"POST /api/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 314572800\r\n\r\n"
            )
            assert _status(s) == 413

        total, sent, answered = 64 * 1024 * 1024, 0, False
        piece = 64 * 1024
        chunk = b"%x\r\n" % piece + b"x" * piece + b"\r\n"
        with _connect(port) as s:
            s.sendall(
                b"POST /api/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            s.settimeout(5)
            while sent < total:
                if select.select([s], [], [], 0)[0]:
                    answered = True  # the server answered (or closed) mid-body
                    break
                try:
                    s.sendall(chunk)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    answered = True
                    break
                sent += piece
            assert answered and sent < 16 * 1024 * 1024, sent
            try:
                assert _status(s) == 413
            except (ConnectionResetError, AssertionError):
                pass  # closed before the answer could be read: refused all the same

        body = b"[" + b"0," * ((MAX_BODY + 1000) // 2) + b"0]"
        with _connect(port) as s:
            s.sendall(
                b"POST /api/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            s.sendall(body)
            data = b""
            while part := s.recv(65536):
                data += part
            assert data.startswith(b"HTTP/1.1 413")
            assert json.loads(data.split(b"\r\n\r\n", 1)[1])["error"] == "too_large"


def test_headers_over_the_limit_are_refused(tmp_path):
    with serving(tmp_path) as port:
        with _connect(port) as s:
            big = b"X-Filler: " + b"a" * (40 * 1024) + b"\r\n"
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big + b"\r\n")
            assert _status(s) == 431
        with _connect(port) as s:  # and ordinary headers are fine
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert _status(s) == 200


def test_processes_offering_crls_at_once_keep_the_newest(db_url):
    """Two processes offer CRLs of one kind at the same moment (on PostgreSQL both may find
    no row and insert: the second's insert fails and it compares again): the newest is
    kept, whichever came first, and an older one offered later does not replace it."""
    import threading

    from bulletin import schema
    from bulletin.gate import SharedCrls, crl_key
    from bulletin.jpki import load_anchors, load_crl
    from tests.unit.test_jpki_crl_extensions import authority, complete

    engine = make_engine(db_url)
    migrate(engine)
    shared = SharedCrls(Store(engine))
    anchors = load_anchors(authority().pem)
    older, newer = complete(number=20), complete(number=21)
    crls = [(load_crl(d, anchors), d) for d in (older, newer)]
    errors: list[Exception] = []

    def offer(start: threading.Barrier, crl, data) -> None:
        start.wait()
        try:
            shared.offer(crl, data)
        except Exception as e:  # the test reports it
            errors.append(e)

    for _ in range(5):
        with engine.begin() as conn:
            conn.execute(schema.jpki_crls.delete())
        start = threading.Barrier(2)
        threads = [threading.Thread(target=offer, args=(start, *c)) for c in crls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert shared.data(crl_key(crls[0][0]))[1] == newer
    assert not shared.offer(*crls[0])  # the older, later: not kept
    assert shared.data(crl_key(crls[0][0]))[1] == newer
