"""The JPKI gate plugged into a real board (SQLite): signed ballots are accepted, re-votes
supersede, and the board's entries carry only the pseudonym.

The card signs the ballot's confirmation code H_C, which ``Board.submit`` hands to the
authenticator.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

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
    s, gate, evidence = _remote_board(tmp_path)
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


# --- a challenge handed to another device (web/signing.py) signs a first vote, no re-vote ---


def _remote_board(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'board.db'}", tmp_path)
    now = s.clock.now()
    anchors = load_anchors(ca(0).pem)
    crl = load_crl(ca(0).crl(now - timedelta(hours=1), now + timedelta(days=2)), anchors)
    config = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    evidence = DirectoryEvidenceStore(tmp_path / "evidence")
    challenges = DatabaseNonceStore(s.board.store)
    gate = JpkiAuthenticator(
        config, PKEY, bytes(s.election.h_e), challenges, evidence, s.clock, s.board.voted_in
    )
    s.board.authenticator = gate
    return s, gate, evidence


def _signed(s, who, choices: dict, seed: str, challenge: bytes) -> dict:
    ballot, _ = encrypt_ballot(s.election, choices, DeterministicRng(seed))
    code = bytes(ballot.confirmation_code)
    auth = sign_submission(who, "ABC123", bytes(s.election.h_e), code, challenge)
    return {"ballot": codec.to_document(ballot), "auth": auth}


def test_a_remote_challenge_signs_a_first_vote_but_never_replaces_one(tmp_path):
    """The phishing of issue 16: an attacker makes a signing request for their own ballot and
    sends the victim the link; the victim's card signs it. It may not replace the victim's
    vote in that category; it may be the first vote in another, as a voter's own hand-off is."""
    s, gate, evidence = _remote_board(tmp_path)
    hanako = card(0, issue(k=0))
    now = s.clock.now()
    own = gate.new_nonce().value
    first = s.board.submit(_signed(s, hanako, {"gyosei": ["internet-voting"]}, "own", own))

    attack = gate.new_nonce().value
    assert gate.challenges.mark_remote(attack, now)  # what POST /api/sign-requests does
    phished = _signed(s, hanako, {"gyosei": ["digital-counter"]}, "attacker", attack)
    with pytest.raises(Refusal) as e:
        s.board.submit(phished)
    assert e.value.code == "revote_other_device" and e.value.general == "not_eligible"
    assert "この端末" in e.value.ja and "this device" in e.value.en
    assert s.board.store.size() == first["entry"] + 1  # nothing appended
    assert len(list(evidence)) == 1  # refused before the evidence and the challenge

    # A first vote in another category through another device: accepted, and its retry
    # (the same ballot again, now that it is on the log) is the idempotent receipt.
    other = gate.new_nonce().value
    assert gate.challenges.mark_remote(other, now)
    body = _signed(s, hanako, {"mobility": ["tsukumobi"]}, "phone", other)
    receipt = s.board.submit(body)
    assert s.board.submit(body)["entry"] == receipt["entry"]

    # The refused one left its challenge unspent (the voter's, had they made the request).
    assert gate.challenges.is_remote(attack)

    # The voter's own re-vote on this device (a challenge never handed out) is accepted.
    again = gate.new_nonce().value
    s.board.submit(_signed(s, hanako, {"gyosei": ["digital-counter"]}, "mine", again))
    # ... and a re-vote in "mobility" too; the remote first vote's retry still gets its
    # receipt: a spent challenge comes back only as the retry of its own ballot.
    s.board.submit(
        _signed(s, hanako, {"mobility": ["smart-mobility"]}, "m2", gate.new_nonce().value)
    )
    assert s.board.submit(body)["entry"] == receipt["entry"]


def test_only_a_live_unused_challenge_can_be_handed_to_another_device(tmp_path):
    s, gate, _ = _remote_board(tmp_path)
    now = s.clock.now()
    assert not gate.challenges.mark_remote(b"\x01" * 32, now)  # never issued
    late = gate.new_nonce()
    assert not gate.challenges.mark_remote(late.value, late.expires + timedelta(seconds=1))
    used = gate.new_nonce().value
    s.board.submit(_signed(s, card(0, issue(k=0)), {"gyosei": ["internet-voting"]}, "u", used))
    assert not gate.challenges.mark_remote(used, now)
    assert not gate.challenges.is_remote(used)


def test_the_memory_store_marks_remote_challenges_too():
    store = MemoryNonceStore()
    now = datetime(2025, 3, 1, tzinfo=UTC)
    n = store.issue(now)
    assert not store.is_remote(n.value) and store.mark_remote(n.value, now)
    assert store.is_remote(n.value)
    assert not store.mark_remote(b"\x02" * 32, now)
    assert not store.mark_remote(store.issue(now).value, now + timedelta(hours=1))


# --- whether a challenge can still sign (the hand-off asks before the app reads the card) ---


@pytest.mark.parametrize("kind", ["database", "memory"])
def test_a_challenge_is_live_until_it_expires_or_is_used(tmp_path, kind):
    from bulletin.jpki.nonce import MemoryNonceStore

    s = make_board(f"sqlite:///{tmp_path / 'board.db'}", tmp_path)
    store = DatabaseNonceStore(s.board.store) if kind == "database" else MemoryNonceStore()
    now = s.clock.now()
    nonce = store.issue(now)
    assert store.is_live(nonce.value, now)
    assert store.is_live(nonce.value, nonce.expires)  # to the last instant redeem accepts
    assert not store.is_live(nonce.value, nonce.expires + timedelta(seconds=1))
    assert not store.is_live(b"\x00" * len(nonce.value), now)  # never issued
    store.redeem(nonce.value, b"binding", now)
    assert not store.is_live(nonce.value, now)  # used: no other ballot may take it
