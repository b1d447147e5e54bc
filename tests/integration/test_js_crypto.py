"""The browser's crypto (web/static/js/tohyo-crypto.js, run by Node) makes ballots with
fresh randomness that Python's codec and verifier accept — beyond the fixed vectors."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

from e2e import codec
from e2e.ballot import (
    ChallengedBallot,
    EncryptedBallot,
    describe_choices,
    verify_ballot,
    verify_challenged,
)
from e2e.election import Election
from e2e.group import STANDARD, TEST, Group
from e2e.manifest import manifest_from_json
from e2e.rng import DeterministicRng

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "web" / "static" / "js" / "tohyo-crypto.js"

# Reads {election, ballots: [{choices, device}]} on stdin; prints, per ballot, the canonical
# ballot and challenged ballot, each encrypted with fresh randomness from WebCrypto.
SCRIPT = """
const T = require(process.argv[1]);
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', async () => {
  const job = JSON.parse(input);
  const election = await T.loadElection(job.election);
  const out = [];
  for (const b of job.ballots) {
    const enc = await T.encryptBallot(election, b.choices, { device: b.device });
    const challenged = T.challengeBallot(enc.ballot, enc.secret).canonical;
    out.push({ ballot: enc.canonical, challenged });
  }
  process.stdout.write(JSON.stringify(out));
});
"""

BALLOTS = [
    {"choices": {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["food-lifestyle"]}},
    {"choices": {"mobility": ["hands-free-ticket"]}, "device": "booth-2"},
]


def run_node(election: Election, ballots: list[dict]) -> list[dict[str, str]]:
    node = shutil.which("node")
    assert node, "Node.js (20 or later) is required for the browser crypto tests: install nodejs"
    job = {
        "election": {
            "state": "open",
            "manifest": codec.to_document(election.manifest),
            "parameters": codec.to_document(election.parameters()),
        },
        "ballots": ballots,
    }
    done = subprocess.run(
        [node, "-e", SCRIPT, str(LIBRARY)],
        input=json.dumps(job, ensure_ascii=False),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"node failed:\n{done.stderr}"
    return json.loads(done.stdout)


def check(group: Group, seed: str) -> None:
    manifest = manifest_from_json((ROOT / "examples" / "tsukuba-2025.json").read_bytes())
    key = group.g_pow(group.random_scalar(DeterministicRng(seed)))
    election = Election(group, manifest, key)
    for spec, out in zip(BALLOTS, run_node(election, BALLOTS), strict=True):
        ballot = codec.decode(out["ballot"].encode(), EncryptedBallot, group)
        verify_ballot(election, ballot)
        assert ballot.device == spec.get("device", "tohyo")
        cb = codec.decode(out["challenged"].encode(), ChallengedBallot, group)
        assert cb.ballot == ballot
        verify_challenged(election, cb)
        assert describe_choices(election, cb) == spec["choices"]


def test_js_ballots_pass_the_python_verifier():
    check(TEST, "js-crypto")


@pytest.mark.standard
def test_js_ballots_pass_the_python_verifier_standard_group():
    check(STANDARD, "js-crypto-standard")
