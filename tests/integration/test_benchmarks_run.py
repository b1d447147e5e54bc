"""The benchmark commands still run (tiny sizes, test group), and the exponentiation counts
of `tohyo bench` match what the code does by hand. Nothing here measures speed."""

from __future__ import annotations

import json

import gmpy2
import pytest
from click.testing import CliRunner

from benchmarks import compare
from benchmarks.board import run_board, run_log
from benchmarks.core import run_core
from benchmarks.counting import calibrate, counting
from benchmarks.election import run_election
from benchmarks.gate import run_gate
from benchmarks.report import format_table
from benchmarks.stages import Workload, choices, make_manifest, run_workload
from e2e import codec
from e2e import group as group_module
from e2e.ballot import EncryptedBallot, ballot_claims, encrypt_ballot
from e2e.batch import verify_claims, verify_claims_one_by_one
from e2e.election import Election
from e2e.group import TEST, FixedBase
from e2e.rng import DeterministicRng
from sim.demo import EXAMPLE, load_manifest
from tohyo.cli import main


def test_benchmarks_run(tmp_path):
    rows = run_core(TEST, proofs=12, repeat=1)
    assert {r["stage"].split()[0] for r in rows} >= {"powmod", "Jacobi", "encrypt", "verify"}
    rows = run_election(TEST, load_manifest(EXAMPLE), ballots=8, tally_ballots=20)
    assert any("tally" in r["stage"] for r in rows)
    gate = run_gate(revoked=50, submissions=3)
    assert gate["submissions"] == 3
    log = run_log(f"sqlite:///{tmp_path / 'log.db'}", sizes=(10, 40))
    assert [r["entries"] for r in log] == [10, 40]


def test_board_benchmark_through_the_proxy():
    """`tohyo bench board --proxy`: two server processes behind nginx; every ballot is
    accepted, and the CPU and serial-append figures come from the servers themselves."""
    r = run_board(
        str(EXAMPLE), "test", None, ballots=24, clients=4, workers=2, threads=4, proxy=True
    )
    assert r["accepted"] == 24 and r["proxy"] == "nginx" and r["server_processes"] == 2
    assert r["server_cpu_ms_per_ballot"] > 0 and r["append_ms_per_ballot"] > 0
    # every accepted ballot went through some batch of the servers' pipelines
    assert 1 <= r["mean_batch_size"] <= 24


# --- tohyo bench: the full-stage workload, exponentiation counts, comparisons ------------


def _election_3x3():
    rng = DeterministicRng("counts")
    m = make_manifest(Workload("test", 3, 3, 1, 1, 1))
    election = Election(TEST, m, TEST.g_pow(TEST.random_scalar(rng)))
    return election, m, rng


def test_exponentiation_counts_of_one_3x3_ballot():
    election, m, rng = _election_3x3()
    # Encryption: per option (g^ξ, K^(ξ+σ)) and a 0/1 range proof with two commitment
    # pairs (g^u_j, K^t_j): 2 + 4 = 6 fixed-base; per contest a limit proof with L + 1 = 2
    # pairs: 4. So 3 × (3 × 6 + 4) = 66, and nothing else.
    with counting() as n:
        ballot, _ = encrypt_ballot(election, choices(m, 0), rng)
    assert (n.fixed, n.powmod, n.multiexps, n.terms) == (66, 0, 0, 0)

    # One by one: a range proof has 4 equations, each one fixed-base power and one power
    # of α or β: 4 + 4 per option; a limit proof's 4 equations take the contest's three
    # ciphertexts as bases: 4 fixed + 12 powmod. So 3 × (3 × 4 + 4) = 48 fixed-base and
    # 3 × (3 × 4 + 12) = 72 powmod.
    with counting() as n:
        verify_claims_one_by_one(TEST, ballot_claims(election, ballot))
    assert (n.fixed, n.powmod, n.terms) == (48, 72, 0)

    # Batched: one multi-exponentiation of the 48 commitments (64-bit weights) and the 18
    # merged α, β bases, and one fixed-base power for each of g and K.
    with counting() as n:
        verify_claims(TEST, ballot_claims(election, ballot), rng)
    assert (n.fixed, n.powmod, n.multiexps, n.terms) == (2, 0, 1, 66)
    assert 48 * 40 < n.term_bits <= 48 * 64 + 18 * TEST.q.bit_length()

    # Parsing the published bytes: range and Jacobi checks, then one batched subgroup test
    # of the 18 ciphertext elements (a multi-exponentiation, then one power to q).
    with counting() as n:
        codec.decode(codec.encode(ballot), EncryptedBallot, TEST, rng)
    assert (n.fixed, n.powmod, n.multiexps, n.terms) == (0, 1, 1, 18)


def test_counting_restores_what_it_wrapped():
    pow_raw = FixedBase.pow_raw
    with counting():
        assert group_module._powmod is not gmpy2.powmod
    assert FixedBase.pow_raw is pow_raw
    assert group_module._powmod is gmpy2.powmod
    assert group_module.multiexp_raw.__module__ == "e2e.group"


def test_workload_stages_and_limits():
    w = Workload("test", 2, 3, 2, 3, 2, jobs=2, repeat=1, one_by_one_max=3, board_threads=4)
    costs = calibrate(TEST, "test", terms=50)
    assert 0 < costs.fixed_s < costs.powmod_s
    stages = run_workload(w, 5, costs)
    rows = {s.key: s.row(costs) for s in stages}
    assert list(rows) == [
        "encrypt",
        "verify_one",
        "verify_batched",
        "board",
        "tally",
        "decrypt",
        "record",
        "coordinator",
    ]
    # 2 contests of 3 options, limit 2: 2 × (3 × 6 + 2 × 3) fixed-base per ballot
    assert rows["encrypt"]["exps_per_unit"]["fixed"] == 48
    assert rows["verify_one"]["units_per_run"] == 3
    assert rows["tally"]["exps_per_unit"]["fixed"] == 0
    for r in rows.values():
        assert r["per_unit_ms"] > 0 and r["limit_per_unit_ms"] >= 0
    text = format_table(list(rows.values()), {"measured": False, "reason": "no browser"})
    assert "verify batched" in text and "not measured: no browser" in text


def test_bench_command_json_and_subcommands(tmp_path):
    runner = CliRunner()
    out = tmp_path / "bench.json"
    args = ["bench", "--group", "test", "--ballots", "4,6", "--repeat", "1", "--one-by-one", "2"]
    r = runner.invoke(main, [*args, "--trustees", "3", "--quorum", "2", "--json", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert {"cpu", "cores", "python", "gmpy2", "gmp"} <= set(doc["machine"])
    assert [run["ballots"] for run in doc["runs"]] == [4, 6]
    assert doc["browser"]["measured"] in (True, False)
    assert "6 ballots" in r.output and "browser encrypt" in r.output
    r = runner.invoke(main, ["bench", "core", "--group", "test", "--proofs", "6", "--repeat", "1"])
    assert r.exit_code == 0 and "powmod" in r.output
    r = runner.invoke(main, ["bench", "--ballots", "x"])
    assert r.exit_code == 2 and "--ballots" in r.output
    r = runner.invoke(main, ["bench", "--group", "test", "--quorum", "9"])
    assert r.exit_code == 2 and "quorum" in r.output


def _runners_replaced(monkeypatch) -> list[tuple]:
    """Each benchmark's runner replaced by one that records its arguments and stops."""
    import benchmarks.accept
    import benchmarks.batches
    import benchmarks.board

    started: list[tuple] = []

    def record(*a, **k):
        started.append(a)
        raise SystemExit(0)

    for mod, name in (
        (benchmarks.board, "run_board"),
        (benchmarks.batches, "run_batches"),
        (benchmarks.accept, "run_accept"),
    ):
        monkeypatch.setattr(mod, name, record)
    return started


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["board", "--workers", "1,x"], "numbers separated by commas"),
        (["board", "--workers", "0"], "at least one server process"),
        (["board", "--workers", "1 2"], "numbers separated by commas"),
        (["board", "--workers", "1_2"], "numbers separated by commas"),
        (["board", "--ballots", "0"], "x>=1"),
        (["board", "--clients", "0"], "x>=1"),
        (["board", "--threads", "0"], "x>=1"),
        (["batch", "--sizes", "0,8"], "batch sizes are at least 1"),
        (["accept", "--threads", "four"], "numbers separated by commas"),
        (["accept", "--threads", ","], "at least one thread"),
        (["accept", "--ballots", "0"], "x>=1"),
    ],
)
def test_bench_counts_refused_before_any_work(args, says, monkeypatch):
    """A mistyped list of counts is refused at once, naming the option, before a
    benchmark spends minutes setting up."""
    started = _runners_replaced(monkeypatch)
    r = CliRunner().invoke(main, ["bench", *args])
    assert r.exit_code == 2 and says in r.output and args[1] in r.output, r.output
    assert not started


def test_bench_counts_taken_in_the_order_given(monkeypatch):
    started = _runners_replaced(monkeypatch)
    r = CliRunner().invoke(main, ["bench", "accept", "--threads", "16, 4,"])
    assert r.exit_code == 0, r.output
    assert started[0][2] == (16, 4)  # spaces and a trailing comma are not counts


def test_plot_or_a_clear_message(tmp_path):
    try:
        import matplotlib  # noqa: F401

        have = True
    except ImportError:
        have = False
    args = ["bench", "--group", "test", "--ballots", "3,4", "--repeat", "1", "--one-by-one", "1"]
    r = CliRunner().invoke(main, [*args, "--no-browser", "--plot", str(tmp_path / "plots")])
    if have:
        assert r.exit_code == 0, r.output
        assert (tmp_path / "plots" / "cost-vs-ballots.png").stat().st_size > 1000
    else:
        assert r.exit_code == 2 and "tohyo[bench]" in r.output


def test_electionguard_not_available_is_clear(tmp_path):
    args = ["bench", "--compare", "electionguard", "--eg-python", str(tmp_path / "no-python")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1
    assert "electionguard: not available: no electionguard environment at" in r.output
    r = CliRunner().invoke(main, ["bench", "--compare", "electionguard", "--group", "test"])
    assert r.exit_code == 1 and "standard group" in r.output


def test_ratios_against_electionguard():
    eg = {
        "workload": {"ballots": 10},
        "stages": {
            "encrypt": {"samples_s": [1.5, 1.6, 1.4]},  # 150 ms per ballot (median run)
            "verify": {"samples_s": [3.0]},
            "decrypt": {"samples_s": [2.0]},  # per election
        },
    }
    rows = [
        {"stage": "encrypt", "per_unit_ms": 10.0},
        {"stage": "verify_batched", "per_unit_ms": 10.0},
        {"stage": "decrypt", "per_unit_ms": 100.0},
        {"stage": "record", "per_unit_ms": 5.0},
    ]
    compare.add_ratios(rows, eg)
    assert rows[0]["times_faster"] == 15.0 and rows[0]["target_times_faster"] == 15.0
    assert rows[1]["times_faster"] == 30.0 and rows[1]["target_times_faster"] == 35.0
    assert rows[2]["times_faster"] == 20.0 and "target_times_faster" not in rows[2]
    assert "times_faster" not in rows[3]


def test_bench_card_times_each_way_to_the_virtual_card(tmp_path):
    """`tohyo bench card` through our own pcscd: every way signs, and the card's own time
    is split from ours."""
    out = tmp_path / "card.json"
    r = CliRunner().invoke(main, ["bench", "card", "--signatures", "2", "--json", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert set(doc["modes"]) == {"in_process", "pcscd", "pcscd_open_each", "signer_page"}
    for mode in doc["modes"].values():
        assert mode["apdus"] == 14  # select, counter, VERIFY, certificate, key, SIGN
        assert mode["card_s"]["median"] > 0 and mode["total_s"]["median"] > mode["card_s"]["median"]
    assert "signer_page" in r.output and "1000 ms" in r.output


def test_bench_witness_measures_each_head_and_the_receipts_wait(tmp_path):
    """`tohyo bench witness`: a witness's cost per head at each log size, and every entry
    appended while two witnesses follow the board ends up witnessed."""
    out = tmp_path / "witness.json"
    args = ["bench", "witness", "--max", "1000", "--seconds", "1", "--json", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    [row] = doc["per_head"]
    assert row["log_entries"] == 1000 and row["consistency_proof_hashes"] == 10
    delay = doc["receipt_delay"]
    assert delay["entries"] == delay["witnessed"] > 0
    assert 0 < delay["delay_p50_s"] <= delay["delay_p99_s"] <= delay["delay_max_s"]


def test_bench_batch_verifies_each_batch_size(tmp_path):
    """`tohyo bench batch`: every size's batches are verified (a valid ballot failing would
    stop it) and reported per ballot; a bad size list is refused by name."""
    out = tmp_path / "batch.json"
    args = ["bench", "batch", "--group", "test", "--sizes", "1,3", "--json", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    rows = doc["rows"]
    assert [(x["batch_size"], x["batches"]) for x in rows] == [(1, 3), (3, 1)]
    assert all(x["cpu_ms_per_ballot"] > 0 for x in rows)
    # and what each request pays before the batch, in its own thread
    assert [x["step"] for x in doc["steps"]] == ["parse", "claims"]
    assert all(x["cpu_ms_per_ballot"] > 0 for x in doc["steps"])
    bad = CliRunner().invoke(main, ["bench", "batch", "--sizes", "0"])
    assert bad.exit_code != 0 and "--sizes" in bad.output


def test_bench_accept_reports_the_batches_each_thread_count_formed(tmp_path):
    """`tohyo bench accept`: every ballot accepted for each thread count, the batch sizes
    adding up to the ballots; one thread forms batches of one; bad lists refused by name."""
    out = tmp_path / "accept.json"
    args = ["bench", "accept", "--group", "test", "--threads", "1,3", "--ballots", "6"]
    r = CliRunner().invoke(main, [*args, "--json", str(out)])
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text())["rows"]
    assert [x["threads"] for x in rows] == [1, 3]
    for x in rows:
        assert sum(int(k) * v for k, v in x["batch_sizes"].items()) == 6
        assert x["cpu_ms_per_ballot"] > 0 and x["ballots_per_second"] > 0
    assert rows[0]["batch_sizes"] == {"1": 6} and rows[0]["mean_batch_size"] == 1
    for bad in (["--threads", "0"], ["--threads", "a"], ["--ballots", "0"]):
        r = CliRunner().invoke(main, ["bench", "accept", *bad])
        assert r.exit_code != 0 and bad[0] in r.output
