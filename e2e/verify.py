"""The verifier: every check of ElectionGuard 2.1 §6 that applies to a tohyo record.

Pure: it takes the record's bytes (:class:`e2e.record.RecordFiles`) and returns a
:class:`Report`, or raises :class:`~e2e.errors.VerificationError` (or a ParseError) naming
the first failed check and the object. Ballots are verified in shards with one batch per
shard; a caller may run the shards in other processes (``tohyo verify --jobs``) by passing
``map_shards``.

Checks, with the spec's Verification numbers:
 1. parameters: the named group's p, q, r, g (V1); H_P and H_B recomputed (V1, eq. 4–5)
 2. trustee public keys: one per trustee 1..n, each Schnorr proof (V2)
 3. the joint key K = ∏ K_i and H_E (V3, V4)
 4. ballots: unique ids (V5.A) and confirmation codes, H_I (V5.B), contest structure
    against the manifest, every selection range proof (V6) and limit proof (V7),
    contest hashes and confirmation codes (V8)
 5. challenged ballots: the same, and every encryption recomputed from the revealed nonce
    and choices (V14)
 6. the encrypted tally is the product of exactly the counted ballots (V9)
 7. partial decryptions: a quorum of distinct trustees, each proof against the trustee's
    public share g^(P(i)) (V10, difference D4)
 8. results: M = ∏ M_i^(w_i), T = B/M = K^t for each published t, labels and ballot
    counts as in the manifest (V10.C, V11)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from e2e import codec
from e2e.ballot import ChallengedBallot, EncryptedBallot, ballot_claims, verify_challenged
from e2e.batch import verify_claims
from e2e.dlog import DiscreteLog
from e2e.election import (
    Election,
    ElectionParameters,
    TrusteePublicKey,
    base_hash,
    check_trustee_keys,
    extended_base_hash,
    group_constants,
    joint_key,
)
from e2e.errors import VerificationError
from e2e.group import GROUPS, Group
from e2e.manifest import Manifest, manifest_from_canonical
from e2e.record import RecordFiles
from e2e.rng import Rng, SystemRng
from e2e.tally import (
    EncryptedTally,
    PartialDecryption,
    Products,
    Results,
    accumulate,
    check_quorum,
    combine,
    partial_claims,
    tally_from_products,
    trustee_commitments,
)

SHARD = 400  # ballots per batch: large enough to amortise the multi-exponentiation


@dataclass
class Report:
    """What was checked; ``warnings`` are not failures (e.g. the insecure test group)."""

    group: str = ""
    trustees: int = 0
    quorum: int = 0
    ballots: int = 0
    challenged: int = 0
    proofs: int = 0
    decrypting_trustees: tuple[int, ...] = ()
    results: Results | None = None
    checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ShardSummary:
    """What one shard of ballots contributes: ids, codes, proofs checked, partial tally."""

    ids: list[bytes]
    codes: list[bytes]
    proofs: int
    tally: Products
    counts: dict[int, int]


def _group_of(parameters: bytes) -> Group:
    try:
        name = json.loads(parameters).get("group")
    except (ValueError, AttributeError):
        name = None
    if name not in GROUPS:
        raise VerificationError(f"unknown group {name!r}", "parameters")
    return GROUPS[name]


def load_election(files: RecordFiles) -> tuple[Election, ElectionParameters, Manifest]:
    """Parse and check parameters and manifest (check 1); builds the Election context."""
    group = _group_of(files.parameters)
    params = codec.decode(files.parameters, ElectionParameters, group)
    for k, v in group_constants(group).items():
        if getattr(params, k) != v:
            raise VerificationError(
                f"constant {k} is not that of the {params.group} group", "parameters"
            )
    manifest = manifest_from_canonical(files.manifest)
    if (manifest.trustees, manifest.quorum) != (params.trustees, params.quorum):
        raise VerificationError("trustees/quorum differ from the manifest", "parameters")
    h_p, h_b = base_hash(group, manifest)
    if h_p != params.parameter_base_hash:
        raise VerificationError("parameter base hash H_P is wrong", "parameters")
    if h_b != params.base_hash:
        raise VerificationError(
            "base hash H_B does not match the manifest (was the manifest edited?)", "parameters"
        )
    return Election(group, manifest, params.election_key), params, manifest


def verify_shard(
    election: Election, lines: Sequence[bytes], rng: Rng | None = None
) -> ShardSummary:
    """Parse and verify a shard of cast ballots in one batch; summarise it for the tally."""
    ballots = codec.decode_many(list(lines), EncryptedBallot, election.group, rng)
    claims = []
    for b in ballots:
        claims.extend(ballot_claims(election, b))
    verify_claims(election.group, claims, rng)
    tally: Products = {}
    counts: dict[int, int] = {}
    accumulate(election, ballots, tally, counts)
    return ShardSummary(
        [bytes(b.ballot_id) for b in ballots],
        [bytes(b.confirmation_code) for b in ballots],
        len(claims),
        tally,
        counts,
    )


MapShards = Callable[[Election, list[list[bytes]]], Iterable[ShardSummary]]


def _serial_map(election: Election, shards: list[list[bytes]]) -> Iterable[ShardSummary]:
    for shard in shards:
        yield verify_shard(election, shard)


def shard_lines(lines: Sequence[bytes], size: int = SHARD) -> list[list[bytes]]:
    return [list(lines[i : i + size]) for i in range(0, len(lines), size)]


@dataclass
class Verified:
    """What checks 1–6 established, for the trustees (decrypt) and for checks 7–8."""

    election: Election
    publics: list[TrusteePublicKey]
    tally: EncryptedTally
    report: Report


def verify_tally_inputs(
    files: RecordFiles,
    map_shards: MapShards | None = None,
    progress: Callable[[int], None] | None = None,
    rng: Rng | None = None,
    shard: int = SHARD,
) -> Verified:
    """Checks 1–6: everything up to and including the encrypted tally.

    Trustees run this before they decrypt (EG §3.6.1); the verifier continues with 7–8.
    """
    rng = rng or SystemRng()
    report = Report()
    election, params, manifest = load_election(files)
    group = election.group
    report.group = params.group
    report.trustees, report.quorum = manifest.trustees, manifest.quorum
    if params.group != "standard":
        report.warnings.append(f"the record uses the {params.group} group: NOT secure")
    report.checks.append("parameters, H_P and H_B (manifest) recomputed")

    # 2-3. trustee keys, joint key, H_E
    publics = codec.decode_many(list(files.trustees.values()), TrusteePublicKey, group, rng)
    for name, t in zip(files.trustees, publics, strict=True):
        if name != f"trustees/trustee-{t.index}.json":
            raise VerificationError(f"file {name} holds trustee {t.index}", "trustees")
    check_trustee_keys(
        group, params.parameter_base_hash, manifest.trustees, manifest.quorum, publics
    )
    if joint_key(group, publics) != params.election_key:
        raise VerificationError(
            "the election key K is not the product of the trustee keys", "parameters"
        )
    if extended_base_hash(params.base_hash, params.election_key) != params.extended_base_hash:
        raise VerificationError("extended base hash H_E is wrong", "parameters")
    report.checks.append(f"{len(publics)} trustee public keys and proofs; K = ∏ K_i; H_E")

    # 4. cast ballots, sharded
    shards = shard_lines(files.ballots, shard)
    seen_ids: dict[bytes, str] = {}
    seen_codes: dict[bytes, str] = {}
    tally_acc: dict[tuple[int, int], tuple[int, int]] = {}
    counts: dict[int, int] = {}
    p = group.p
    for summary in (map_shards or _serial_map)(election, shards):
        for bid, code in zip(summary.ids, summary.codes, strict=True):
            name = f"ballot {bid.hex().upper()[:16]}"
            if bid in seen_ids:
                raise VerificationError("duplicate ballot id", name)
            if code in seen_codes:
                raise VerificationError("duplicate confirmation code", name)
            seen_ids[bid] = name
            seen_codes[code] = name
        for k, (a, b) in summary.tally.items():
            a0, b0 = tally_acc.get(k, (1, 1))
            tally_acc[k] = (a0 * a % p, b0 * b % p)
        for k, v in summary.counts.items():
            counts[k] = counts.get(k, 0) + v
        report.proofs += summary.proofs
        report.ballots += len(summary.ids)
        if progress:
            progress(len(summary.ids))
    report.checks.append(
        f"{report.ballots} cast ballots: ids, proofs (batched), contest hashes, confirmation codes"
    )

    # 5. challenged ballots
    challenged = codec.decode_many(files.challenged, ChallengedBallot, group, rng)
    claims = []
    for cb in challenged:
        bid = bytes(cb.ballot.ballot_id)
        name = f"challenged ballot {bid.hex().upper()[:16]}"
        if bid in seen_ids:
            raise VerificationError("ballot id also used by another ballot", name)
        seen_ids[bid] = name
        claims.extend(ballot_claims(election, cb.ballot, name))
        verify_challenged(election, cb, name)
    verify_claims(group, claims, rng)
    report.challenged = len(challenged)
    report.proofs += len(claims)
    report.checks.append(f"{len(challenged)} challenged ballots re-encrypted from their nonces")

    # 6. tally
    tally = codec.decode(files.tally, EncryptedTally, group, rng)
    expected = tally_from_products(election, tally_acc, counts)
    if [c.contest for c in tally.contests] != [c.contest for c in expected.contests]:
        raise VerificationError("the tally does not cover the manifest's contests", "tally")
    for got, want in zip(tally.contests, expected.contests, strict=True):
        where = f"tally contest {got.contest}"
        if got.ballots != want.ballots:
            raise VerificationError(
                f"counts {got.ballots} ballots, the board has {want.ballots}", where
            )
        if got.selections != want.selections:
            raise VerificationError(
                "is not the product of the counted ballots (a ballot added or removed?)", where
            )
    report.checks.append("encrypted tally = product of the counted ballots")
    return Verified(election, publics, tally, report)


def check_partials(
    v: Verified, files: RecordFiles, rng: Rng | None = None
) -> list[PartialDecryption]:
    """Check 7: a quorum of distinct trustees, and every partial decryption proof."""
    election, group, report = v.election, v.election.group, v.report
    partials = codec.decode_many(list(files.decryptions.values()), PartialDecryption, group, rng)
    for name, d in zip(files.decryptions, partials, strict=True):
        if name != f"decryptions/trustee-{d.trustee}.json":
            raise VerificationError(f"file {name} holds trustee {d.trustee}", "decryptions")
    check_quorum(election, [d.trustee for d in partials])
    commitments = trustee_commitments(v.publics)
    claims = []
    for d in partials:
        claims.extend(partial_claims(election, v.tally, d, commitments))
    verify_claims(group, claims, rng)
    report.proofs += len(claims) + len(v.publics)
    report.decrypting_trustees = tuple(sorted(d.trustee for d in partials))
    report.checks.append(
        f"partial decryptions of trustees {list(report.decrypting_trustees)} and their proofs"
    )
    return partials


def verify_record(
    files: RecordFiles,
    map_shards: MapShards | None = None,
    progress: Callable[[int], None] | None = None,
    rng: Rng | None = None,
    shard: int = SHARD,
) -> Report:
    """Verify a whole record; returns a Report or raises naming the first failure."""
    rng = rng or SystemRng()
    v = verify_tally_inputs(files, map_shards, progress, rng, shard)
    election, tally, report = v.election, v.tally, v.report
    group = election.group

    # 7. partial decryptions
    partials = check_partials(v, files, rng)

    # 8. results
    if files.results is None:
        raise VerificationError("the record has no results.json", "results")
    results = codec.decode(files.results, Results, group)
    bound = max([c.ballots for c in tally.contests] + [1])
    want = combine(election, tally, partials, DiscreteLog(election.key.element, bound))
    if results.trustees != want.trustees:
        raise VerificationError("lists other trustees than those who decrypted", "results")
    if len(results.contests) != len(want.contests):
        raise VerificationError("does not list every contest", "results")
    for got, exp in zip(results.contests, want.contests, strict=True):
        if got.contest != exp.contest:
            raise VerificationError(
                f"contest {got.contest!r} where {exp.contest!r} was expected", "results"
            )
        if got.ballots != exp.ballots:
            raise VerificationError("ballot count differs from the tally", f"results {got.contest}")
        if [o.option for o in got.options] != [o.option for o in exp.options]:
            raise VerificationError("options differ from the manifest", f"results {got.contest}")
        for o, e in zip(got.options, exp.options, strict=True):
            if o.votes != e.votes:
                raise VerificationError(
                    f"says {o.votes} votes, the decryption gives {e.votes}",
                    f"results {got.contest}/{o.option}",
                )
    report.results = results
    report.checks.append("results: M = ∏ M_i^w_i, B/M = K^t for every published count")
    return report
