"""Election-level benchmarks on the Tsukuba 3×3 manifest: ``tohyo bench election``.

Per 3×3 ballot (three contests, three options, vote for one): encryption with all proofs,
verification one by one and batched (from the published bytes, including the subgroup
checks), the tally of many ballots, decryption by 3 of 5 trustees (partial decryptions with
proofs, their verification, and the combination).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from benchmarks.core import _row, _time
from e2e import codec
from e2e.ballot import ballot_claims, encrypt_ballot, verify_ballot
from e2e.batch import verify_claims_one_by_one
from e2e.election import Election, base_hash
from e2e.group import Group
from e2e.manifest import Manifest
from e2e.rng import SystemRng
from e2e.tally import aggregate, combine, partial_claims, trustee_commitments
from e2e.threshold import public_share
from e2e.verify import verify_shard
from trustees.ceremony import run_ceremony
from trustees.decrypt import partial_decrypt

CHOICES = {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["emergency-info"]}


def run_election(
    group: Group, manifest: Manifest, ballots: int = 400, tally_ballots: int = 100_000
) -> list[dict[str, Any]]:
    """Measure the per-ballot and per-election stages; rows of median/spread in ms."""
    rng = SystemRng()
    manifest = replace(manifest, trustees=5, quorum=3)
    h_p, _ = base_hash(group, manifest)
    secrets_list, publics = run_ceremony(group, h_p, 5, 3, rng)
    election = Election(group, manifest, group.product(t.key for t in publics))
    group.g_pow(1)  # builds the g table (K's is built with the Election) before timing
    rows = []
    rows.append(
        _row(
            "encrypt 3×3 ballot with all proofs",
            _time(lambda: encrypt_ballot(election, CHOICES, rng), 50),
        )
    )
    enc = [encrypt_ballot(election, CHOICES, rng)[0] for _ in range(ballots)]
    lines = [codec.encode(b) for b in enc]
    rows.append(
        _row(
            "verify one 3×3 ballot, proof by proof",
            _time(lambda: verify_claims_one_by_one(group, ballot_claims(election, enc[0])), 5),
        )
    )
    rows.append(
        _row(
            "verify one 3×3 ballot alone (one batch)",
            _time(lambda: verify_ballot(election, enc[0]), 10),
        )
    )
    rows.append(
        _row(
            f"parse + verify {ballots} ballots batched, per ballot",
            _time(lambda: verify_shard(election, [(line, None, None) for line in lines]), 3),
            ballots,
        )
    )
    reps = (tally_ballots + len(enc) - 1) // len(enc)
    many = (enc * reps)[:tally_ballots]
    rows.append(
        _row(
            f"tally of {tally_ballots} ballots (total)",
            _time(lambda: aggregate(election, many), 3),
        )
    )
    tally = aggregate(election, enc)
    commitments = trustee_commitments(publics)
    present = secrets_list[:3]
    shares = {s.index: public_share(group, commitments, s.index) for s in present}
    partials = []

    def decrypt_all() -> None:
        partials.clear()
        partials.extend(partial_decrypt(election, tally, s, shares[s.index], rng) for s in present)

    rows.append(_row("3 partial decryptions of the tally (total)", _time(decrypt_all, 3)))

    def check_and_combine() -> None:
        for d in partials:
            verify_claims_one_by_one(group, partial_claims(election, tally, d, commitments))
        combine(election, tally, partials)

    rows.append(_row("verify 3 partial decryptions + combine (total)", _time(check_and_combine, 3)))
    return rows
