"""Verification and tally on a Dask cluster give what one machine gives.

A ``distributed.LocalCluster`` with 2 worker processes (one thread each) on 127.0.0.1
verifies two records: one made through the bulletin board by the demo (the log, the
re-vote rule, challenged ballots) and one written directly with 60 ballots; then a copy of
the second with one corrupted proof, whose culprit must be named exactly as on one
machine. The cluster runs real processes, so the per-process cache of the election's
tables is checked too.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import socket

import distributed
import pytest
from click.testing import CliRunner

from e2e import codec
from e2e.ballot import EncryptedBallot
from e2e.dask_runner import SchedulerError, _cached_elections, connect, dask_map
from e2e.errors import InvalidProof
from e2e.group import TEST
from e2e.record import read_record
from e2e.rng import DeterministicRng
from e2e.verify import verify_record, verify_tally_inputs
from sim.demo import EXAMPLE, run_demo
from sim.demo import load_manifest as demo_manifest
from tests.integration.test_election import VOTES, build_election, load_manifest
from tohyo.cli import main


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def client(cluster):
    c = connect(cluster)
    yield c
    c.close()


@pytest.fixture(scope="module")
def board_record(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("dask-demo") / "record"
    ok = run_demo(TEST, demo_manifest(EXAMPLE), 30, 3, 2, 1, "dask", out, 1, lambda s: None)
    assert ok
    return out


@pytest.fixture(scope="module")
def plain_record(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("dask-plain") / "record"
    votes = (VOTES * 5)[:60]
    build_election(TEST, load_manifest(), votes, {}, (1, 3, 4), out, "dask")
    return out


def _report_fields(r):
    d = dataclasses.asdict(r)
    d.pop("warnings")
    return d


@pytest.mark.parametrize("which", ["board_record", "plain_record"])
def test_dask_verdict_and_tally_equal_one_machine(request, which, client):
    files = read_record(request.getfixturevalue(which))
    local = verify_record(files, rng=DeterministicRng("v"), shard=7)
    remote = verify_record(files, dask_map(client), rng=DeterministicRng("v"), shard=7)
    assert _report_fields(remote) == _report_fields(local)
    assert remote.ballots > 7  # several shards, so both workers had some
    t_local = verify_tally_inputs(files, shard=7).tally
    t_remote = verify_tally_inputs(files, dask_map(client, window=1), shard=7).tally
    assert codec.encode(t_remote) == codec.encode(t_local) == files.tally
    # both worker processes did shards, built this election's tables and kept them
    h_e = verify_tally_inputs(files, shard=7).election.h_e.hex_upper()
    held = client.run(_cached_elections)
    assert len(held) == 2 and all(h_e in keys for keys in held.values())


def _corrupt(path: pathlib.Path, index: int) -> str:
    """Change one proof response of ballot ``index`` (canonically re-encoded); its name."""
    lines = (path / "ballots.jsonl").read_bytes().splitlines()
    b = codec.decode(lines[index], EncryptedBallot, TEST)
    c = b.contests[0]
    s = c.selections[1]
    proof = dataclasses.replace(
        s.proof, responses=(s.proof.responses[0] + 1,) + s.proof.responses[1:]
    )
    sels = (c.selections[0], dataclasses.replace(s, proof=proof), *c.selections[2:])
    bad = dataclasses.replace(
        b, contests=(dataclasses.replace(c, selections=sels), *b.contests[1:])
    )
    lines[index] = codec.encode(bad)
    (path / "ballots.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return f"ballot {b.ballot_id.hex_upper()[:16]}"


def test_dask_names_the_bad_ballot_as_one_machine(plain_record, client, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(plain_record, bad)
    name = _corrupt(bad, 41)
    files = read_record(bad)
    with pytest.raises(InvalidProof) as local:
        verify_record(files, shard=7)
    with pytest.raises(InvalidProof) as remote:
        verify_record(files, dask_map(client), shard=7)
    assert str(remote.value) == str(local.value)
    assert str(local.value).startswith(f"{name} contest 1 option 2: range proof")


def _traceback(r) -> str:
    import traceback

    return "".join(traceback.format_exception(*r.exc_info)) if r.exc_info else ""


def test_cli_verify_and_tally_on_dask(plain_record, cluster, tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["verify", str(plain_record), "--dask", cluster])
    assert r.exit_code == 0, r.output + _traceback(r)
    assert "PASS" in r.output and "verified 60 cast" in r.output
    out = tmp_path / "tally.json"
    r = runner.invoke(main, ["tally", str(plain_record), "--dask", cluster, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == (plain_record / "tally.json").read_bytes()
    local = runner.invoke(main, ["tally", str(plain_record), "-j", "1"])
    assert local.exit_code == 0
    sha = [line for line in r.output.splitlines() if "SHA-256" in line]
    assert sha and sha == [line for line in local.output.splitlines() if "SHA-256" in line]

    bad = tmp_path / "bad"
    shutil.copytree(plain_record, bad)
    _corrupt(bad, 3)
    on_dask = runner.invoke(main, ["verify", str(bad), "--dask", cluster])
    alone = runner.invoke(main, ["verify", str(bad), "-j", "1"])
    assert on_dask.exit_code == alone.exit_code == 1
    assert on_dask.output == alone.output and "FAILED" in alone.output
    tally_bad = runner.invoke(main, ["tally", str(bad), "--dask", cluster])
    assert tally_bad.exit_code == 1 and tally_bad.output == alone.output


def test_unreachable_scheduler_is_a_clear_error(plain_record):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(SchedulerError, match="cannot reach the Dask scheduler"):
        connect(address, timeout=0.5)
    r = CliRunner().invoke(
        main, ["verify", str(plain_record), "--dask", address, "--dask-timeout", "0.5"]
    )
    assert r.exit_code == 2
    assert "error: cannot reach the Dask scheduler at" in r.output
    assert "Traceback" not in r.output
