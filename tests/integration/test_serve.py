"""``tohyo serve``: its options reach the app (waitress is replaced by a recorder), and the
JPKI gate waits for the election before admitting anyone."""

from __future__ import annotations

import json
import pathlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from bulletin.auth import Refusal
from bulletin.board import Board, load_signing_key, new_signing_key
from bulletin.clock import FixedClock
from bulletin.jpki.testca import SimulatedCard, TestCA, new_key, sign_submission
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.election import Election, base_hash
from e2e.group import TEST
from e2e.rng import DeterministicRng
from trustees.ceremony import run_ceremony
from web.cli import main
from web.demo import EXAMPLE, load_manifest
from web.gate import DeferredJpkiGate


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


def test_deferred_gate_admits_voters_only_once_the_election_is_set_up(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    migrate(engine)
    new_signing_key(tmp_path / "board.key")
    manifest = load_manifest(EXAMPLE)
    clock = FixedClock(manifest.start_time + timedelta(days=1))
    board = Board(Store(engine), load_signing_key(tmp_path / "board.key"), clock)
    start = clock.now()
    ca = TestCA.create(not_before=start - timedelta(days=400))
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    crl = ca.crl(start - timedelta(days=1), start + timedelta(days=60))
    (tmp_path / "crl.der").write_bytes(crl)
    files = ([tmp_path / "ca.pem"], [tmp_path / "crl.der"])
    gate = DeferredJpkiGate(board, *files, b"k" * 32, tmp_path / "evidence")
    board.authenticator = gate
    with pytest.raises(Refusal) as e:
        gate.new_challenge()
    assert e.value.code == "not_open"

    from dataclasses import replace

    manifest = replace(manifest, trustees=3, quorum=2)
    h_p, _ = base_hash(TEST, manifest)
    _, publics = run_ceremony(TEST, h_p, 3, 2, DeterministicRng("gate"))
    election = Election(TEST, manifest, TEST.product(t.key for t in publics))
    board.setup(
        manifest.canonical_bytes(),
        codec.encode(election.parameters()),
        [codec.encode(t) for t in publics],
    )
    board.open()
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
        gate.new_challenge().value,
    )
    receipt = board.submit({"ballot": codec.to_document(ballot), "auth": auth})
    assert receipt["confirmation_code"] == ballot.confirmation_code.hex().upper()
    assert len(list(pathlib.Path(tmp_path / "evidence").iterdir())) == 1
