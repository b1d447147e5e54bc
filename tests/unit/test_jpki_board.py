"""The JPKI gate plugged into a real board (SQLite): signed ballots are accepted, re-votes
supersede, and the board's entries carry only the pseudonym.

The card signs the ballot's confirmation code H_C, which ``Board.submit`` hands to the
authenticator.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bulletin.auth import Refusal
from bulletin.jpki import (
    DirectoryEvidenceStore,
    JpkiAuthenticator,
    MemoryNonceStore,
    TrustConfig,
    load_anchors,
    load_crl,
)
from bulletin.nonces import DatabaseNonceStore
from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.rng import DeterministicRng
from sim.testca import sign_submission
from tests.integration.board_helpers import make_board
from tests.unit.test_jpki import PKEY, ca, card, issue, key


def test_board_accepts_signed_ballots(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'board.db'}", tmp_path)
    now = s.clock.now()
    anchors = load_anchors(ca(0).pem)
    crl = load_crl(ca(0).crl(now - timedelta(hours=1), now + timedelta(days=2)), anchors)
    config = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    evidence = DirectoryEvidenceStore(tmp_path / "evidence")
    gate = JpkiAuthenticator(
        config, PKEY, bytes(s.election.h_e), MemoryNonceStore(), evidence, s.clock
    )
    s.board.authenticator = gate
    hanako = card(0, issue(k=0))

    def vote(choices: dict, seed: str) -> dict:
        ballot, _ = encrypt_ballot(s.election, choices, DeterministicRng(seed))
        challenge = gate.new_nonce().value
        code = bytes(ballot.confirmation_code)
        auth = sign_submission(hanako, "ABC123", bytes(s.election.h_e), code, challenge)
        return s.board.submit({"ballot": codec.to_document(ballot), "auth": auth})

    first = vote({"gyosei": ["internet-voting"]}, "a")
    second = vote({"gyosei": ["digital-counter"]}, "b")  # a re-vote with the same card
    assert second["entry"] > first["entry"]
    entries = [json.loads(s.board.store.entry(i)) for i in (first["entry"], second["entry"])]
    assert entries[0]["voter"] == entries[1]["voter"]
    text = json.dumps(entries, ensure_ascii=False)
    assert "筑波" not in text and "certificate" not in text
    assert len(list(evidence)) == 2


def test_a_strangers_submission_does_not_burn_a_challenge_in_the_database(tmp_path):
    # The web server's gate keeps challenges in the board's database (shared by workers).
    s = make_board(f"sqlite:///{tmp_path / 'board.db'}", tmp_path)
    now = s.clock.now()
    anchors = load_anchors(ca(0).pem)
    crl = load_crl(ca(0).crl(now - timedelta(hours=1), now + timedelta(days=2)), anchors)
    config = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    evidence = DirectoryEvidenceStore(tmp_path / "evidence")
    challenges = DatabaseNonceStore(s.board.store)
    gate = JpkiAuthenticator(config, PKEY, bytes(s.election.h_e), challenges, evidence, s.clock)
    s.board.authenticator = gate
    challenge = gate.new_nonce().value  # in the voter's signing-request link

    def submission(who, seed: str) -> dict:
        ballot, _ = encrypt_ballot(
            s.election, {"gyosei": ["internet-voting"]}, DeterministicRng(seed)
        )
        code = bytes(ballot.confirmation_code)
        auth = sign_submission(who, "ABC123", bytes(s.election.h_e), code, challenge)
        return {"ballot": codec.to_document(ballot), "auth": auth}

    for stranger in (card(6, issue(k=6, signer=key(6))), card(7, issue(ca(2), k=7))):
        with pytest.raises(Refusal) as e:
            s.board.submit(submission(stranger, "stranger"))
        assert e.value.code == "cert_untrusted" and e.value.general == "unauthenticated"
    assert not list(evidence)
    receipt = s.board.submit(submission(card(0, issue(k=0)), "voter"))
    assert receipt["entry"] and len(list(evidence)) == 1
