"""``tohyo demo``: a whole simulated election on the Tsukuba manifest, verified at the end.

5 trustees with quorum 3 hold the key (one of them absent at decryption); 1,000 simulated
voters cast ballots covering all or some categories, some contests blank, a few ballots
challenged first; the counted ballots are tallied, the present trustees decrypt, the record
is written and then verified by the independent verifier, and the results are printed
beside the totals the simulation cast — which must be equal.
"""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from e2e import codec
from e2e.ballot import challenge, encrypt_ballot
from e2e.cli import print_report, run_verify
from e2e.election import Election, base_hash, group_name
from e2e.group import GROUPS, Group, release_gil
from e2e.manifest import Manifest, manifest_from_canonical, manifest_from_json
from e2e.record import write_record
from e2e.rng import DeterministicRng, Rng, SystemRng
from e2e.tally import Products, accumulate, combine, tally_from_products, trustee_commitments
from e2e.threshold import public_share
from trustees.ceremony import run_ceremony
from trustees.decrypt import partial_decrypt

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "tsukuba-2025.json"


@dataclass
class Chunk:
    """What a worker returns for a range of simulated voters."""

    lines: list[bytes]
    challenged: list[bytes]
    tally: Products
    counts: dict[int, int]
    cast: dict[tuple[str, str], int]


def simulated_choices(manifest: Manifest, rng: Rng) -> dict[str, list[str]]:
    """One voter's choices: usually every category, sometimes a subset; some blank."""
    contests = list(manifest.contests)
    if rng.randbelow(100) < 25:  # a quarter vote only some categories (one at a time)
        k = 1 + rng.randbelow(len(contests))
        picked = []
        while len(picked) < k:
            c = contests[rng.randbelow(len(contests))]
            if c not in picked:
                picked.append(c)
        contests = [c for c in manifest.contests if c in picked]
    out: dict[str, list[str]] = {}
    for c in contests:
        if rng.randbelow(100) < 12:
            out[c.id] = []  # blank
        else:
            # a skewed preference, so the results are not uniform
            weights = [5 + 3 * (len(c.options) - j) for j in range(len(c.options))]
            x = rng.randbelow(sum(weights))
            for o, w in zip(c.options, weights, strict=True):
                if x < w:
                    out[c.id] = [o.id]
                    break
                x -= w
    return out


_ELECTION: Election | None = None


def _init(group: str, manifest: bytes, key_hex: str) -> None:
    global _ELECTION
    release_gil()
    g = GROUPS[group]
    _ELECTION = Election(g, manifest_from_canonical(manifest), g.element(int(key_hex, 16)))


def _voters(args: tuple[int, int, str | None, int]) -> Chunk:
    """Simulate voters [start, stop): encrypt, sometimes challenge first, then cast."""
    start, stop, seed, challenge_every = args
    election = _ELECTION
    assert election is not None
    lines, challenged = [], []
    cast: dict[tuple[str, str], int] = {}
    ballots = []
    for v in range(start, stop):
        rng: Rng = DeterministicRng(f"{seed}/voter/{v}") if seed is not None else SystemRng()
        choices = simulated_choices(election.manifest, rng)
        if challenge_every and v % challenge_every == challenge_every - 1:
            ballot, secret = encrypt_ballot(election, choices, rng, device="demo-booth")
            challenged.append(codec.encode(challenge(ballot, secret)))
        ballot, _ = encrypt_ballot(election, choices, rng, device="demo-booth")
        ballots.append(ballot)
        lines.append(codec.encode(ballot))
        for contest_id, chosen in choices.items():
            for option_id in chosen:
                cast[(contest_id, option_id)] = cast.get((contest_id, option_id), 0) + 1
    acc: Products = {}
    counts: dict[int, int] = {}
    accumulate(election, ballots, acc, counts)
    return Chunk(lines, challenged, acc, counts, cast)


def run_demo(
    group: Group,
    manifest: Manifest,
    voters: int,
    trustees: int,
    quorum: int,
    absent: int,
    seed: str | None,
    out: pathlib.Path,
    jobs: int,
    echo: Callable[[str], None],
) -> bool:
    """Run the simulated election; returns True if the verified results equal the cast totals."""
    t0 = time.perf_counter()
    manifest = replace(manifest, trustees=trustees, quorum=quorum)
    if absent > trustees - quorum:
        raise SystemExit(f"--absent {absent} leaves fewer than the quorum {quorum} of {trustees}")
    rng: Rng = DeterministicRng(f"{seed}/ceremony") if seed is not None else SystemRng()
    h_p, _ = base_hash(group, manifest)
    echo(f"election: {manifest.title.ja} / {manifest.title.en}")
    echo(f"group: {group.name}")
    echo(f"key ceremony: {trustees} trustees, quorum {quorum}")
    secrets_list, publics = run_ceremony(group, h_p, trustees, quorum, rng)
    key = group.product(t.key for t in publics)
    election = Election(group, manifest, key)
    echo(f"  joint key K ready; H_E = {election.h_e.hex_upper()[:32]}…")

    t1 = time.perf_counter()
    challenge_every = 97
    per = max(1, min(250, voters // (4 * jobs) or 1))
    ranges = [(s, min(s + per, voters), seed, challenge_every) for s in range(0, voters, per)]
    args = (group_name(group), manifest.canonical_bytes(), key.hex())
    lines: list[bytes] = []
    challenged: list[bytes] = []
    acc: Products = {}
    counts: dict[int, int] = {}
    cast: dict[tuple[str, str], int] = {}
    p = group.p
    with ProcessPoolExecutor(jobs, initializer=_init, initargs=args) as pool:
        for chunk in pool.map(_voters, ranges):
            lines += chunk.lines
            challenged += chunk.challenged
            for k, (a, b) in chunk.tally.items():
                a0, b0 = acc.get(k, (1, 1))
                acc[k] = (a0 * a % p, b0 * b % p)
            for k, v in chunk.counts.items():
                counts[k] = counts.get(k, 0) + v
            for k, v in chunk.cast.items():
                cast[k] = cast.get(k, 0) + v
    echo(
        f"voting: {voters} voters cast {len(lines)} ballots, {len(challenged)} challenged first "
        f"({time.perf_counter() - t1:.1f} s, {jobs} processes)"
    )

    tally = tally_from_products(election, acc, counts)
    present = [s for s in secrets_list if s.index not in _absent(trustees, absent)]
    echo(
        f"decryption: trustees {[s.index for s in present]} present, "
        f"{sorted(_absent(trustees, absent)) or 'none'} absent"
    )
    commitments = trustee_commitments(publics)
    partials = [
        partial_decrypt(
            election,
            tally,
            s,
            public_share(group, commitments, s.index),
            DeterministicRng(f"{seed}/decrypt/{s.index}") if seed is not None else SystemRng(),
        )
        for s in present
    ]
    results = combine(election, tally, partials)
    write_record(
        out,
        manifest.canonical_bytes(),
        election.parameters(),
        publics,
        lines,
        challenged,
        tally,
        partials,
        results,
    )
    echo(f"record written to {out}")

    echo("verifying the record independently (tohyo verify)…")
    t2 = time.perf_counter()
    report = run_verify(str(out), jobs, echo, show_progress=False)
    print_report(report, time.perf_counter() - t2, echo)

    ok = True
    echo("")
    echo(f"{'contest':<12} {'option':<22} {'decrypted':>9} {'cast':>6}")
    for c in report.results.contests if report.results else ():
        for o in c.options:
            want = cast.get((c.contest, o.option), 0)
            ok &= want == o.votes
            mark = "" if want == o.votes else "  MISMATCH"
            echo(f"{c.contest:<12} {o.option:<22} {o.votes:>9} {want:>6}{mark}")
    echo(f"{'all equal' if ok else 'RESULTS DIFFER'}; total {time.perf_counter() - t0:.1f} s")
    return ok


def _absent(n: int, absent: int) -> set[int]:
    """Which trustees stay away: trustee 2 onwards, so the quorum is not simply 1..k."""
    return set(range(2, 2 + absent)) if absent else set()


def demo_defaults() -> dict[str, object]:
    return {"jobs": os.cpu_count() or 1, "manifest": EXAMPLE}


def load_manifest(path: pathlib.Path) -> Manifest:
    return manifest_from_json(path.read_text(encoding="utf-8"))
