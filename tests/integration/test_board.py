"""The bulletin board on SQLite and on a real PostgreSQL: acceptance, refusals, re-voting,
receipts and proofs, export and verification."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bulletin.auth import Refusal
from bulletin.board import BoardError, export_record
from e2e import codec
from e2e.board import TreeHead, verify_tree_head
from e2e.errors import VerificationError
from e2e.merkle import LogProofError, leaf_hash, verify_consistency, verify_inclusion
from e2e.record import read_record
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from e2e.verify import verify_record
from tests.integration.board_helpers import ballot_doc, counted, later, make_board, submission
from trustees.decrypt import partial_decrypt

C1 = {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": []}


def _check_receipt(board, receipt):
    head = codec.from_document(receipt["tree_head"], TreeHead)
    verify_tree_head(board.public, head)
    data = board.store.entry(receipt["entry"])
    proof = [bytes.fromhex(h) for h in receipt["inclusion_proof"]]
    verify_inclusion(receipt["entry"], head.size, leaf_hash(data), proof, bytes(head.root))
    return head


def test_accept_receipt_and_proofs(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    b = s.board
    first = b.submit(submission(s.election, C1, "token-1", "v1"))
    head1 = _check_receipt(b, first)
    later(s.clock)
    second = b.submit(submission(s.election, {"mobility": []}, "token-2", "v2"))
    head2 = _check_receipt(b, second)
    assert second["entry"] == first["entry"] + 1
    # a fresh inclusion proof for the first ballot against the latest head
    fresh = b.receipt_by_code(first["confirmation_code"])
    assert _check_receipt(b, fresh).size == head2.size
    # consistency between the two heads
    proof = b.consistency(head1.size, head2.size)
    verify_consistency(head1.size, head2.size, bytes(head1.root), bytes(head2.root), proof)
    with pytest.raises(LogProofError):
        verify_consistency(head1.size, head2.size, bytes(head2.root), bytes(head1.root), proof)


def test_retry_returns_the_first_receipt(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    body = submission(s.election, C1, "token-1", "retry")
    r1 = s.board.submit(body)
    size = s.board.store.size()
    r2 = s.board.submit(body)
    assert r2["entry"] == r1["entry"] and s.board.store.size() == size


def _refused(fn, code):
    with pytest.raises(Refusal) as e:
        fn()
    assert e.value.code == code, e.value
    return e.value


def test_each_refusal(db_url, tmp_path):
    s = make_board(db_url, tmp_path, open_it=False)
    b, el = s.board, s.election
    body = submission(el, C1, "token-1", "r1")
    _refused(lambda: b.submit(body), "not_open")  # not opened yet
    b.open()
    _refused(lambda: b.submit(b"{not json"), "malformed")
    _refused(lambda: b.submit(b"[]"), "malformed")
    _refused(lambda: b.submit({"ballot": {"format": "tohyo/1"}}), "malformed")
    doc = ballot_doc(el, C1, "r2")
    lower = json.loads(json.dumps(doc))
    lower["contests"][0]["selections"][0]["ciphertext"]["alpha"] = lower["contests"][0][
        "selections"
    ][0]["ciphertext"]["alpha"].lower()
    _refused(lambda: b.submit({"ballot": lower, "auth": {"token": "token-1"}}), "malformed")
    _refused(lambda: b.submit({"ballot": doc, "auth": {"token": "nobody"}}), "unauthenticated")
    _refused(lambda: b.submit({"ballot": doc}), "unauthenticated")
    bad = json.loads(json.dumps(doc))
    r = bad["contests"][1]["selections"][2]["proof"]["responses"]
    r[0] = format(int(r[0], 16) ^ 1, "X").rjust(len(r[0]), "0")
    e = _refused(lambda: b.submit({"ballot": bad, "auth": {"token": "token-1"}}), "invalid_proof")
    assert "contest 2 option 3" in e.detail  # the bad proof is named
    wrong_code = json.loads(json.dumps(doc))
    wrong_code["confirmation_code"] = "00" * 32
    _refused(
        lambda: b.submit({"ballot": wrong_code, "auth": {"token": "token-1"}}), "invalid_ballot"
    )
    b.submit({"ballot": doc, "auth": {"token": "token-1"}})
    # the same ballot under another voter: a copy
    _refused(lambda: b.submit({"ballot": doc, "auth": {"token": "token-2"}}), "copy")
    # the election period is checked against the injected clock
    s.clock.set(el.manifest.end_time + timedelta(seconds=1))
    _refused(lambda: b.submit(submission(el, C1, "token-3", "r3")), "not_open")
    s.clock.set(el.manifest.start_time + timedelta(days=3))
    b.close()
    _refused(lambda: b.submit(submission(el, C1, "token-3", "r4")), "not_open")
    with pytest.raises(BoardError):
        b.open()


def test_revoting_counts_the_last_ballot_per_contest(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    b, el = s.board, s.election
    b.submit(submission(el, {"gyosei": ["internet-voting"]}, "token-1", "a"))
    later(s.clock)
    b.submit(submission(el, {"mobility": ["tsukumobi"]}, "token-1", "b"))  # category 2
    later(s.clock)
    b.submit(submission(el, {"gyosei": ["digital-counter"]}, "token-1", "c"))  # re-vote 1
    later(s.clock)
    b.submit(submission(el, {"gyosei": ["ai-citizen-voice"]}, "token-2", "d"))
    rule = [(tuple(c.contest for c in bal.contests), sorted(cs)) for bal, cs in counted(b)]
    assert rule == [((1,), []), ((2,), [2]), ((1,), [1]), ((1,), [1])]
    b.close()
    tally = b.post_tally()
    assert [c.ballots for c in tally.contests] == [2, 1, 0]
    commitments = trustee_commitments(b.publics())
    for sec in s.secrets[:2]:
        x = public_share(el.group, commitments, sec.index)
        from e2e.rng import DeterministicRng

        b.post_decryption(codec.encode(partial_decrypt(el, tally, sec, x, DeterministicRng("d"))))
    results = b.post_results()
    votes = {(c.contest, o.option): o.votes for c in results.contests for o in c.options}
    assert votes[("gyosei", "internet-voting")] == 0  # superseded by the re-vote
    assert votes[("gyosei", "digital-counter")] == 1
    assert votes[("gyosei", "ai-citizen-voice")] == 1
    assert votes[("mobility", "tsukumobi")] == 1  # not erased by the category-1 re-vote
    record = export_record(b, tmp_path / "record")
    report = verify_record(read_record(record))
    assert report.superseded == 1 and report.ballots == 4


def test_decryptions_once_per_trustee_and_never_after_the_results(db_url, tmp_path):
    from e2e.rng import DeterministicRng

    s = make_board(db_url, tmp_path)
    b, el = s.board, s.election
    b.submit(submission(el, C1, "token-1", "once"))
    b.close()
    partials = []
    tally = b.post_tally()
    commitments = trustee_commitments(b.publics())
    for sec in s.secrets:
        x = public_share(el.group, commitments, sec.index)
        partials.append(codec.encode(partial_decrypt(el, tally, sec, x, DeterministicRng("o"))))
    b.post_decryption(partials[0])
    with pytest.raises(BoardError, match="already posted"):
        b.post_decryption(partials[0])
    b.post_decryption(partials[1])
    b.post_results()
    with pytest.raises(BoardError, match="already published"):
        b.post_decryption(partials[2])
    with pytest.raises(BoardError, match="already published"):
        b.post_results()
    verify_record(read_record(export_record(b, tmp_path / "rec")))


def test_two_concurrent_tallies_post_one(db_url, tmp_path, monkeypatch):
    import threading
    import time

    import bulletin.board as board_module

    s = make_board(db_url, tmp_path)
    b = s.board
    b.submit(submission(s.election, C1, "token-1", "t"))
    b.close()
    slow = board_module.Board.encrypted_tally

    def encrypted_tally(*args):
        time.sleep(0.3)  # both requests get past the first check before either appends
        return slow(*args)

    monkeypatch.setattr(board_module.Board, "encrypted_tally", encrypted_tally)
    outcomes: list[str] = []

    def tally() -> None:
        try:
            b.post_tally()
            outcomes.append("posted")
        except BoardError as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=tally) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["posted", "the tally is already on the board"]
    assert len(b.store.kinds(["tally"])) == 1


def test_export_verifies_and_tampering_is_caught(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    b, el = s.board, s.election
    for i in range(5):
        b.submit(submission(el, C1, f"token-{i}", f"e{i}"))
        later(s.clock)
    b.close()
    tally = b.post_tally()
    commitments = trustee_commitments(b.publics())
    from e2e.rng import DeterministicRng

    for sec in s.secrets[1:]:
        x = public_share(el.group, commitments, sec.index)
        b.post_decryption(codec.encode(partial_decrypt(el, tally, sec, x, DeterministicRng("x"))))
    b.post_results()
    root = export_record(b, tmp_path / "rec")
    verify_record(read_record(root))

    entries = (root / "board" / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    heads = (root / "board" / "tree-heads.jsonl").read_bytes()

    def with_entries(lines):
        (root / "board" / "entries.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))

    # an entry removed (gap): names the entry
    with_entries(entries[:7] + entries[8:])
    with pytest.raises(VerificationError, match="board entry 7"):
        verify_record(read_record(root))
    # an entry rewritten with a valid-looking document: the signed heads no longer match
    doc = json.loads(entries[7])
    doc["payload"] = doc["payload"].replace('"device":"', '"device":"x', 1)
    assert codec.dumps(doc) != entries[7]  # in order, well formed: only the heads can tell
    with_entries(entries[:7] + [codec.dumps(doc)] + entries[8:])
    with pytest.raises(VerificationError, match="tree head"):
        verify_record(read_record(root))
    # an entry's time set back (or without a UTC offset): named before the heads are checked
    doc = json.loads(entries[7])
    doc["time"] = doc["time"][:-1] + "1"  # +00:01, a minute earlier than +00:00
    with_entries(entries[:7] + [codec.dumps(doc)] + entries[8:])
    with pytest.raises(VerificationError, match="board entry 7: is older than the entry"):
        verify_record(read_record(root))
    for bad in (doc["time"][:-6], "yesterday", "2025-02-30T00:00:00+00:00"):
        doc["time"] = bad
        with_entries(entries[:7] + [codec.dumps(doc)] + entries[8:])
        with pytest.raises(VerificationError, match="board entry 7: time"):
            verify_record(read_record(root))
    with_entries(entries)
    # a forged tree head signature
    lines = heads.split(b"\n")[:-1]
    h = json.loads(lines[-1])
    h["signature"] = ("00" if h["signature"][:2] != "00" else "11") + h["signature"][2:]
    (root / "board" / "tree-heads.jsonl").write_bytes(
        b"\n".join(lines[:-1] + [codec.dumps(h)]) + b"\n"
    )
    with pytest.raises(VerificationError, match="signature"):
        verify_record(read_record(root))
    (root / "board" / "tree-heads.jsonl").write_bytes(heads)
    verify_record(read_record(root))


def test_setup_refuses_inconsistent_parameters(db_url, tmp_path):
    s = make_board(db_url, tmp_path)
    with pytest.raises(BoardError):
        s.board.setup(b"", b"", [])


def test_challenged_ballots(db_url, tmp_path):
    from e2e.ballot import challenge, encrypt_ballot
    from e2e.rng import DeterministicRng

    s = make_board(db_url, tmp_path)
    ballot, secret = encrypt_ballot(s.election, C1, DeterministicRng("ch"))
    cb = challenge(ballot, secret)
    doc = codec.to_document(cb)
    lie = json.loads(json.dumps(doc))
    lie["choices"][0] = [0, 1, 0]  # claims another choice than the one encrypted
    _refused(lambda: s.board.submit_challenged({"challenged": lie}), "invalid_ballot")
    receipt = s.board.submit_challenged({"challenged": doc})
    _check_receipt(s.board, receipt)
    # a challenged ballot cannot then be cast: its id is on the board
    _refused(
        lambda: s.board.submit({"ballot": codec.to_document(ballot), "auth": {"token": "token-1"}}),
        "copy",
    )
    assert counted(s.board) == []


def test_element_outside_the_subgroup_is_refused_and_named(db_url, tmp_path):
    """An element that passes the range and Jacobi checks but lies outside the subgroup, in a
    ballot whose hashes the attacker recomputed, is caught by the batched membership test."""
    from dataclasses import replace

    import gmpy2

    from e2e.ballot import (
        EncryptedBallot,
        confirmation_code,
        contest_hash,
        identifier_hash,
    )
    from e2e.elgamal import Ciphertext
    from e2e.group import ElementModP
    from e2e.range_proof import range_challenge

    s = make_board(db_url, tmp_path)
    el = s.election
    g = el.group
    doc = ballot_doc(el, C1, "outside")
    ballot, _ = codec.from_document_deferred(doc, EncryptedBallot, g)
    y = gmpy2.powmod(7, 2 * g.q, g.p)  # order r': passes the range and Jacobi checks
    c = ballot.contests[2]
    sel = c.selections[1]
    bad_ct = Ciphertext(sel.ciphertext.alpha, ElementModP(sel.ciphertext.beta.value * y % g.p, g))
    h_i = identifier_hash(el, ballot.ballot_id)

    def rechallenge(proof, indices, ct):  # the challenges add up again; the equations do not
        c_all = range_challenge(h_i, indices, ct, proof.commitments)
        rest = proof.challenges[1:]
        return replace(proof, challenges=(c_all - sum(rest, g.scalar(0)), *rest))

    bad_sel = replace(sel, ciphertext=bad_ct, proof=rechallenge(sel.proof, (3, 2), bad_ct))
    sels = (c.selections[0], bad_sel, c.selections[2])
    agg = sels[0].ciphertext * sels[1].ciphertext * sels[2].ciphertext
    c = replace(c, limit_proof=rechallenge(c.limit_proof, (3,), agg))
    c2 = replace(
        c, selections=sels, contest_hash=contest_hash(h_i, 3, [x.ciphertext for x in sels])
    )
    contests = (*ballot.contests[:2], c2)
    code = confirmation_code(el, h_i, ballot.device, [x.contest_hash for x in contests])
    forged = replace(ballot, contests=contests, confirmation_code=code)
    body = {"ballot": codec.to_document(forged), "auth": {"token": "token-1"}}
    e = _refused(lambda: s.board.submit(body), "malformed")
    assert "contests[2].selections[1].ciphertext.beta" in e.detail
    # and the verifier, where the same test rides in each shard's proof batch
    from e2e.errors import InvalidElement
    from e2e.verify import verify_shard

    good = codec.encode(ballot)
    with pytest.raises(InvalidElement, match=r"\[1\]EncryptedBallot.contests\[2\].selections\[1\]"):
        verify_shard(el, [(good, None, None), (codec.encode(forged), None, None)])


def test_loading_the_election_builds_both_window_tables(db_url, tmp_path, monkeypatch):
    """`tohyo serve` loads the election before it serves. That must leave no table for a
    request to build: the first ballot after a start once built g's table (0.6 s of one
    core with the standard group) while every other request thread waited on its lock."""
    import dataclasses

    import bulletin.board
    from e2e.group import GROUPS, FixedBase

    s = make_board(db_url, tmp_path)
    fresh = dataclasses.replace(GROUPS["test"], _cache={})  # as in a new process
    monkeypatch.setitem(bulletin.board.GROUPS, "test", fresh)
    board = bulletin.board.Board(s.board.store, s.board.key, s.clock, s.board.authenticator)
    built: list[object] = []
    real_init = FixedBase.__init__

    def counting(self, base, window=8):
        built.append(base)
        real_init(self, base, window)

    monkeypatch.setattr(FixedBase, "__init__", counting)
    assert board.election.group is fresh
    assert len(built) == 2  # K's and g's
    board.submit(submission(board.election, C1, "token-1", "warm"))
    assert len(built) == 2, "a request built a window table"
