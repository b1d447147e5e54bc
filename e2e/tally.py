"""Tally and decryption maths (ElectionGuard 2.1 §3.5–3.6).

The encrypted tally is the component-wise product of the counted ballots' selections
(per contest and option). Each available trustee i publishes M_i = A^(z_i) with its own
proof (difference D4); M = ∏ M_i^(w_i) (eq. 86), T = B·M^(−1) = K^t (eq. 80) and t is the
discrete logarithm. At least k trustees must take part; any k or more of n will do.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from e2e.ballot import EncryptedBallot
from e2e.batch import Claim
from e2e.chaum_pedersen import DecryptionProof, decryption_claim
from e2e.codec import public
from e2e.dlog import DiscreteLog
from e2e.election import Election, TrusteePublicKey
from e2e.elgamal import Ciphertext
from e2e.errors import VerificationError
from e2e.group import ElementModP
from e2e.threshold import combine_partials, public_share


class QuorumError(VerificationError):
    """Fewer than k trustees, or an unknown or repeated trustee."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "decryptions")

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return (type(self), (self.reason,))


@public
@dataclass(frozen=True)
class TallyContest:
    contest: int
    ballots: int  # how many counted ballots covered this contest
    selections: tuple[Ciphertext, ...]


@public
@dataclass(frozen=True)
class EncryptedTally:
    contests: tuple[TallyContest, ...]


@public
@dataclass(frozen=True)
class PartialSelection:
    value: ElementModP  # M_i = A^(z_i)
    proof: DecryptionProof


@public
@dataclass(frozen=True)
class PartialContest:
    contest: int
    selections: tuple[PartialSelection, ...]


@public
@dataclass(frozen=True)
class PartialDecryption:
    """Trustee i's partial decryption of the whole tally, with a proof per selection."""

    trustee: int
    contests: tuple[PartialContest, ...]


@public
@dataclass(frozen=True)
class OptionResult:
    option: str
    votes: int


@public
@dataclass(frozen=True)
class ContestResult:
    contest: str
    ballots: int
    options: tuple[OptionResult, ...]


@public
@dataclass(frozen=True)
class Results:
    trustees: tuple[int, ...]  # the available trustees whose partial decryptions were used
    contests: tuple[ContestResult, ...]


Products = dict[tuple[int, int], tuple[int, int]]


def accumulate(
    election: Election,
    ballots: Iterable[EncryptedBallot | tuple[EncryptedBallot, Collection[int]]],
    acc: Products,
    counts: dict[int, int],
) -> None:
    """Multiply ballots into running products per (contest, option); count per contest.

    An item may be a ballot (all its contests count) or (ballot, contests that count) —
    with re-voting, a ballot counts only for the contests it was not superseded in.
    """
    p = election.group.p
    for item in ballots:
        ballot, only = item if isinstance(item, tuple) else (item, None)
        for c in ballot.contests:
            if only is not None and c.contest not in only:
                continue
            counts[c.contest] = counts.get(c.contest, 0) + 1
            for s in c.selections:
                a, b = acc.get((c.contest, s.option), (1, 1))
                acc[(c.contest, s.option)] = (
                    a * s.ciphertext.alpha.value % p,
                    b * s.ciphertext.beta.value % p,
                )


def aggregate(
    election: Election,
    ballots: Iterable[EncryptedBallot | tuple[EncryptedBallot, Collection[int]]],
) -> EncryptedTally:
    """Multiply the counted ballots' ciphertexts per contest and option (§3.5)."""
    acc: Products = {}
    counts: dict[int, int] = {}
    accumulate(election, ballots, acc, counts)
    return tally_from_products(election, acc, counts)


def tally_from_products(
    election: Election, acc: Products, counts: dict[int, int]
) -> EncryptedTally:
    """The tally document from products per (contest, option) and ballots per contest."""
    group = election.group
    contests = []
    for ci, c in enumerate(election.manifest.contests, start=1):
        cts = []
        for oi in range(1, len(c.options) + 1):
            a, b = acc.get((ci, oi), (1, 1))
            cts.append(Ciphertext(group._p(a), group._p(b)))
        contests.append(TallyContest(ci, counts.get(ci, 0), tuple(cts)))
    return EncryptedTally(tuple(contests))


def check_quorum(election: Election, trustees: Sequence[int]) -> None:
    """Raise QuorumError unless the trustees are distinct, valid and at least k."""
    n, k = election.manifest.trustees, election.manifest.quorum
    if len(set(trustees)) != len(trustees):
        raise QuorumError("a trustee appears twice among the partial decryptions")
    bad = [i for i in trustees if not 1 <= i <= n]
    if bad:
        raise QuorumError(f"trustee {bad[0]} is not one of the election's {n} trustees")
    if len(trustees) < k:
        raise QuorumError(f"only {len(trustees)} trustee(s) decrypted; the quorum is {k} of {n}")


def partial_claims(
    election: Election,
    tally: EncryptedTally,
    partial: PartialDecryption,
    commitments: Sequence[Sequence[ElementModP]],
) -> list[Claim]:
    """Check the shape of trustee i's partial decryption and return its proof equations."""
    i = partial.trustee
    where = f"trustee {i}"
    if [c.contest for c in partial.contests] != [c.contest for c in tally.contests]:
        raise VerificationError("partial decryption does not cover the tally's contests", where)
    x_i = public_share(election.group, commitments, i)
    claims = []
    for tc, pc in zip(tally.contests, partial.contests, strict=True):
        if len(pc.selections) != len(tc.selections):
            raise VerificationError("wrong number of selections", f"{where} contest {tc.contest}")
        for oi, (ct, ps) in enumerate(zip(tc.selections, pc.selections, strict=True), start=1):
            claims.append(
                decryption_claim(
                    election.h_e,
                    (tc.contest, oi),
                    x_i,
                    ct,
                    ps.value,
                    ps.proof,
                    f"{where} contest {tc.contest} option {oi}",
                    trustee=i,
                )
            )
    return claims


def combine(
    election: Election,
    tally: EncryptedTally,
    partials: Sequence[PartialDecryption],
    dlog: DiscreteLog | None = None,
) -> Results:
    """Combine (already verified) partial decryptions into the results."""
    check_quorum(election, [p.trustee for p in partials])
    by_trustee = {p.trustee: p for p in partials}
    available = sorted(by_trustee)
    bound = max((tc.ballots for tc in tally.contests), default=0)
    dlog = dlog or DiscreteLog(election.key.element, max(bound, 1))
    contests = []
    for n, tc in enumerate(tally.contests):
        spec = election.manifest.contest(tc.contest)
        options = []
        for oi, ct in enumerate(tc.selections):
            m = combine_partials(
                election.group,
                {i: by_trustee[i].contests[n].selections[oi].value for i in available},
            )
            votes = dlog.solve(ct.beta / m)
            options.append(OptionResult(spec.options[oi].id, votes))
        contests.append(ContestResult(spec.id, tc.ballots, tuple(options)))
    return Results(tuple(available), tuple(contests))


def trustee_commitments(publics: Sequence[TrusteePublicKey]) -> list[tuple[ElementModP, ...]]:
    """All trustees' coefficient commitments, in trustee order (for public shares)."""
    return [t.coefficient_commitments for t in sorted(publics, key=lambda t: t.index)]
