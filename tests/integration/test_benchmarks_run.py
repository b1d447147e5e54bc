"""The benchmark commands still run (tiny sizes, test group). Nothing here measures speed."""

from __future__ import annotations

from benchmarks.board import run_log
from benchmarks.core import run_core
from benchmarks.election import run_election
from benchmarks.gate import run_gate
from e2e.group import TEST
from web.demo import EXAMPLE, load_manifest


def test_benchmarks_run(tmp_path):
    rows = run_core(TEST, proofs=12, repeat=1)
    assert {r["stage"].split()[0] for r in rows} >= {"powmod", "encrypt", "verify"}
    rows = run_election(TEST, load_manifest(EXAMPLE), ballots=8, tally_ballots=20)
    assert any("tally" in r["stage"] for r in rows)
    gate = run_gate(revoked=50, submissions=3)
    assert gate["submissions"] == 3
    log = run_log(f"sqlite:///{tmp_path / 'log.db'}", sizes=(10, 40))
    assert [r["entries"] for r in log] == [10, 40]
