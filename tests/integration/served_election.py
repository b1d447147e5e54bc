"""An election for tests that run real `tohyo serve` processes with the JPKI gate: posted
and opened on a database in its voting period, a stand-in CA with its CRL and simulated
cards of residents; and, at the end, the board's own close, tally, decryption by a quorum
and the exported record verified with every receipt. Shared by the deployment test and
the database-restart test."""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from bulletin.board import export_record
from bulletin.cli import open_board
from e2e import codec
from e2e.election import Election, base_hash
from e2e.group import TEST
from e2e.record import read_record
from e2e.rng import SystemRng
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from e2e.verify import Report, verify_record
from sim.demo import EXAMPLE, load_manifest
from sim.rehearsal import open_in_period, pinned
from sim.testca import SimulatedCard, TestCA, new_key
from trustees.ceremony import run_ceremony
from trustees.decrypt import partial_decrypt

HOLDER = dict(birth="319800217", sex="2")


@dataclass
class ServedElection:
    election: Election
    secrets: list
    offset: float  # seconds the board's clock runs ahead (tohyo serve --clock-offset)
    cards: list[tuple[SimulatedCard, str]]  # each card and its password
    key: pathlib.Path
    anchor: pathlib.Path  # the stand-in CA (--anchor)
    crl: pathlib.Path  # its CRL (--crl)


def served_election(db: str, work: pathlib.Path, town: str, cards: int) -> ServedElection:
    """The election on ``db``, its board key, CA and CRL in ``work``; ``cards`` residents of
    つくば市 ``town`` (a 丁目 each)."""
    key = work / "board.key"
    manifest = pinned(replace(load_manifest(EXAMPLE), trustees=3, quorum=2), key)
    h_p, _ = base_hash(TEST, manifest)
    secrets, publics = run_ceremony(TEST, h_p, 3, 2, SystemRng())
    election = Election(TEST, manifest, TEST.product(t.key for t in publics))
    board, offset = open_in_period(db, key, election, publics)
    start = board.clock.now()
    board.store.engine.dispose()
    ca = TestCA.create(not_before=start - timedelta(days=1000))
    out = []
    for n in range(cards):
        k = new_key()
        cert = ca.issue(
            **HOLDER,
            name=f"筑波　{'一二三四五六七八九'[n]}郎",
            address=f"茨城県つくば市{town}{n + 1}丁目1番地1",
            issued=start - timedelta(days=30),
            key=k,
        )
        password = f"PASS{n:04d}"
        out.append((SimulatedCard.create(k, cert, password, iterations=1000), password))
    (work / "ca.pem").write_bytes(ca.pem)
    (work / "crl.der").write_bytes(ca.crl(start - timedelta(days=1), start + timedelta(days=60)))
    return ServedElection(election, secrets, offset, out, key, work / "ca.pem", work / "crl.der")


def close_and_verify(
    db: str,
    key: pathlib.Path,
    election: Election,
    secrets: list,
    receipts: list[dict[str, Any]],
    out: pathlib.Path,
) -> Report:
    """The administrator closes, two trustees decrypt and the results are posted (by the
    board's own commands); the exported record, verified with every receipt."""
    board = open_board(db, str(key))
    board.close()
    tally = board.post_tally()
    commitments = trustee_commitments(board.publics())
    for sec in secrets[:2]:
        x = public_share(election.group, commitments, sec.index)
        board.post_decryption(codec.encode(partial_decrypt(election, tally, sec, x, SystemRng())))
    board.post_results()
    rec = [(f"r{n}", json.dumps(r).encode()) for n, r in enumerate(receipts)]
    return verify_record(read_record(export_record(board, out)), receipts=rec)
