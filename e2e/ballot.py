"""Ballot encryption, confirmation codes and challenged ballots (ElectionGuard 2.1 §3.3–3.4).

A ballot covers any non-empty subset of the manifest's contests (difference D5: voters
vote per category), in ascending contest order; a covered contest holds every option.

For a ballot with selection encryption identifier id_B and secret ballot nonce ξ_B:

    H_I     = H(H_E; 0x20, b(id_B, 32))                         (eq. 32)
    ξ_{i,j} = H_q(H_I; 0x21, i, j, b(ξ_B, 32))                  (eq. 33)
    (α, β)  = (g^ξ, K^(σ+ξ)) with a 0/1 range proof              (§3.3.5–3.3.7)
    limit proof on (∏α, ∏β) with nonce Σξ, range 0..L            (§3.3.8)
    χ_i     = H(H_I; 0x28, i, α_1, β_1, …, α_m, β_m)            (eq. 70, no contest data: D3)
    H_DI    = H(H_E; 0x2A, device)                               (eq. 72)
    H_C     = H(H_I; 0x29, χ_…, b(0, 4) ∥ H_DI)                  (eq. 71, 73: no chaining)

A challenged ballot publishes ξ_B; anyone recomputes every nonce and reads the choices.

The device label is the only free text a ballot carries into the public log, and a
challenged ballot is posted without authentication: it is 1 to 64 printable ASCII
characters (:data:`DEVICE_MAX`), checked when a ballot is encrypted and when it is checked
against the election, so the board refuses any other label (invalid_ballot) and the
verifier refuses a record holding one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from e2e.batch import Claim, verify_claims
from e2e.codec import public
from e2e.election import Election
from e2e.elgamal import Ciphertext, encrypt
from e2e.errors import TohyoError, VerificationError
from e2e.group import ElementModQ
from e2e.hash import DOMAIN, H, H_q, HashValue
from e2e.range_proof import RangeProof, prove_range, range_claim
from e2e.rng import Rng

Choices = Mapping[str, Collection[str]]
"""A voter's plaintext: contest id → the chosen option ids (empty = blank contest)."""


class BallotError(TohyoError, ValueError):
    """A plaintext breaks the manifest; refused before anything is encrypted."""


#: The longest device label (H_DI's input): room for a product name and version, and no
#: room to fill the public log with text (challenged ballots need no authentication).
DEVICE_MAX = 64


def device_problem(device: str) -> str | None:
    """Why a device label is not allowed, or None: 1 to DEVICE_MAX characters from space to
    tilde. Printable ASCII only: no control characters, line breaks or lookalike letters
    reach the log, and a label has one byte form (no Unicode normalisation question)."""
    if not 1 <= len(device) <= DEVICE_MAX:
        return f"device label: 1 to {DEVICE_MAX} characters, got {len(device)}"
    if not all(" " <= ch <= "~" for ch in device):
        return "device label: printable ASCII characters only"
    return None


@public
@dataclass(frozen=True)
class EncryptedSelection:
    option: int
    ciphertext: Ciphertext
    proof: RangeProof


@public
@dataclass(frozen=True)
class EncryptedContest:
    contest: int
    selections: tuple[EncryptedSelection, ...]
    limit_proof: RangeProof
    contest_hash: HashValue


@public
@dataclass(frozen=True)
class EncryptedBallot:
    """A ballot as published: no secret, no voter identity."""

    ballot_id: HashValue
    device: str
    contests: tuple[EncryptedContest, ...]
    confirmation_code: HashValue


@public
@dataclass(frozen=True)
class ChallengedBallot:
    """A challenged (spoiled) ballot with its revealed nonce and the choices it encrypts."""

    ballot: EncryptedBallot
    ballot_nonce: HashValue
    choices: tuple[tuple[int, ...], ...]  # per covered contest: 0/1 per option


class BallotSecret:
    """The ballot nonce ξ_B: stays on the voter's device unless the ballot is challenged."""

    __slots__ = ("nonce", "values")

    def __init__(self, nonce: HashValue, values: tuple[tuple[int, ...], ...]) -> None:
        self.nonce = nonce
        self.values = values

    def __repr__(self) -> str:
        return "BallotSecret(<hidden>)"


def plaintext_values(election: Election, choices: Choices) -> dict[int, tuple[int, ...]]:
    """Check a plaintext against the manifest; contest index → 0/1 per option."""
    manifest = election.manifest
    if not choices:
        raise BallotError("a ballot must cover at least one contest")
    out: dict[int, tuple[int, ...]] = {}
    for contest_id, chosen in choices.items():
        try:
            ci = manifest.contest_index(contest_id)
        except KeyError:
            raise BallotError(f"unknown contest {contest_id!r}") from None
        contest = manifest.contest(ci)
        chosen = list(chosen)
        ids = [o.id for o in contest.options]
        for option_id in chosen:
            if option_id not in ids:
                raise BallotError(f"unknown option {option_id!r} in contest {contest_id!r}")
        if len(set(chosen)) != len(chosen):
            raise BallotError(f"an option is chosen twice in contest {contest_id!r}")
        if len(chosen) > contest.limit:
            raise BallotError(
                f"contest {contest_id!r} allows at most {contest.limit} choice(s), "
                f"got {len(chosen)}"
            )
        out[ci] = tuple(1 if o in chosen else 0 for o in ids)
    return dict(sorted(out.items()))


def identifier_hash(election: Election, ballot_id: HashValue) -> HashValue:
    return H(election.h_e, DOMAIN["selection_identifier"], ballot_id)


def selection_nonce(
    election: Election, h_i: HashValue, contest: int, option: int, ballot_nonce: HashValue
) -> ElementModQ:
    return H_q(election.group, h_i, DOMAIN["selection_nonce"], contest, option, ballot_nonce)


def contest_hash(h_i: HashValue, contest: int, cts: Sequence[Ciphertext]) -> HashValue:
    items = [x for ct in cts for x in (ct.alpha, ct.beta)]
    return H(h_i, DOMAIN["contest_hash"], contest, *items)


def confirmation_code(
    election: Election, h_i: HashValue, device: str, contest_hashes: Sequence[HashValue]
) -> HashValue:
    h_di = H(election.h_e, DOMAIN["device_hash"], device)
    chaining = b"\x00\x00\x00\x00" + bytes(h_di)
    return H(h_i, DOMAIN["confirmation_code"], *contest_hashes, chaining)


def encrypt_ballot(
    election: Election,
    choices: Choices,
    rng: Rng,
    device: str = "tohyo",
) -> tuple[EncryptedBallot, BallotSecret]:
    """Encrypt a voter's choices with all proofs; returns the ballot and its secret."""
    values = plaintext_values(election, choices)
    ballot_id = HashValue(rng.randbits(256).to_bytes(32, "big"))
    nonce = HashValue(rng.randbits(256).to_bytes(32, "big"))
    return encrypt_ballot_with(election, values, ballot_id, nonce, rng, device)


def encrypt_ballot_with(
    election: Election,
    values: Mapping[int, Sequence[int]],
    ballot_id: HashValue,
    ballot_nonce: HashValue,
    rng: Rng,
    device: str,
) -> tuple[EncryptedBallot, BallotSecret]:
    """The core of :func:`encrypt_ballot`, from checked values and a given id and nonce."""
    problem = device_problem(device)
    if problem is not None:  # the board would refuse the ballot: say so before encrypting
        raise BallotError(problem)
    key = election.key
    h_i = identifier_hash(election, ballot_id)
    contests = []
    for ci, row in sorted(values.items()):
        limit = election.manifest.contest(ci).limit
        selections = []
        total_nonce = election.group.scalar_from_int(0)
        cts = []
        for oi, v in enumerate(row, start=1):
            xi = selection_nonce(election, h_i, ci, oi, ballot_nonce)
            ct = encrypt(key, v, xi)
            proof = prove_range(key, h_i, (ci, oi), ct, xi, v, 1, rng)
            selections.append(EncryptedSelection(oi, ct, proof))
            total_nonce = total_nonce + xi
            cts.append(ct)
        agg = _product(cts)
        limit_proof = prove_range(key, h_i, (ci,), agg, total_nonce, sum(row), limit, rng)
        contests.append(
            EncryptedContest(ci, tuple(selections), limit_proof, contest_hash(h_i, ci, cts))
        )
    code = confirmation_code(election, h_i, device, [c.contest_hash for c in contests])
    ballot = EncryptedBallot(ballot_id, device, tuple(contests), code)
    return ballot, BallotSecret(ballot_nonce, tuple(tuple(r) for _, r in sorted(values.items())))


def challenge(ballot: EncryptedBallot, secret: BallotSecret) -> ChallengedBallot:
    """Reveal the nonce of a ballot the voter chose to challenge instead of casting."""
    return ChallengedBallot(ballot, secret.nonce, secret.values)


def _product(cts: Sequence[Ciphertext]) -> Ciphertext:
    out = cts[0]
    for ct in cts[1:]:
        out = out * ct
    return out


# --- verification --------------------------------------------------------------------------


def ballot_claims(
    election: Election, ballot: EncryptedBallot, where: str | None = None
) -> list[Claim]:
    """Check a ballot's structure and hashes (Verifications 5.B, 6, 7, confirmation code);
    return the proof equations to batch. Raises VerificationError naming the ballot."""
    where = where or f"ballot {ballot.ballot_id.hex_upper()[:16]}"
    manifest = election.manifest
    problem = device_problem(ballot.device)
    if problem is not None:
        raise VerificationError(problem, where)
    if not ballot.contests:
        raise VerificationError("ballot covers no contest", where)
    indices = [c.contest for c in ballot.contests]
    if indices != sorted(set(indices)) or not all(
        1 <= i <= len(manifest.contests) for i in indices
    ):
        raise VerificationError("contest indices not ascending, unique and in the manifest", where)
    h_i = identifier_hash(election, ballot.ballot_id)
    claims = []
    for c in ballot.contests:
        spec = manifest.contest(c.contest)
        cw = f"{where} contest {c.contest}"
        if [s.option for s in c.selections] != list(range(1, len(spec.options) + 1)):
            raise VerificationError("selections do not match the manifest's options", cw)
        cts = [s.ciphertext for s in c.selections]
        if contest_hash(h_i, c.contest, cts) != c.contest_hash:
            raise VerificationError("contest hash is wrong", cw)
        for s in c.selections:
            claims.append(
                range_claim(
                    election.key,
                    h_i,
                    (c.contest, s.option),
                    s.ciphertext,
                    s.proof,
                    1,
                    f"{cw} option {s.option}",
                )
            )
        claims.append(
            range_claim(
                election.key,
                h_i,
                (c.contest,),
                _product(cts),
                c.limit_proof,
                spec.limit,
                cw,
                parts=cts,
            )
        )
    code = confirmation_code(
        election, h_i, ballot.device, [c.contest_hash for c in ballot.contests]
    )
    if code != ballot.confirmation_code:
        raise VerificationError("confirmation code is wrong", where)
    return claims


def verify_ballot(election: Election, ballot: EncryptedBallot, rng: Rng | None = None) -> None:
    """Verify one ballot (all its proofs in one batch); raises VerificationError."""
    verify_claims(election.group, ballot_claims(election, ballot), rng)


def verify_challenged(election: Election, cb: ChallengedBallot, where: str | None = None) -> None:
    """Recompute every encryption of a challenged ballot from its nonce (no proof needed)."""
    ballot = cb.ballot
    where = where or f"challenged ballot {ballot.ballot_id.hex_upper()[:16]}"
    if len(cb.choices) != len(ballot.contests):
        raise VerificationError("revealed choices do not match the ballot's contests", where)
    h_i = identifier_hash(election, ballot.ballot_id)
    g = election.group
    for c, row in zip(ballot.contests, cb.choices, strict=True):
        cw = f"{where} contest {c.contest}"
        if len(row) != len(c.selections) or any(v not in (0, 1) for v in row):
            raise VerificationError("revealed choices are not 0/1 for each option", cw)
        if sum(row) > election.manifest.contest(c.contest).limit:
            raise VerificationError("revealed choices exceed the contest limit", cw)
        for s, v in zip(c.selections, row, strict=True):
            xi = selection_nonce(election, h_i, c.contest, s.option, cb.ballot_nonce)
            if s.ciphertext.alpha != g.g_pow(xi) or s.ciphertext.beta != election.key.pow(xi + v):
                raise VerificationError(
                    "the revealed nonce and choice do not reproduce the encryption",
                    f"{cw} option {s.option}",
                )


def describe_choices(election: Election, cb: ChallengedBallot) -> dict[str, list[str]]:
    """Contest id → chosen option ids of a (verified) challenged ballot."""
    out = {}
    for c, row in zip(cb.ballot.contests, cb.choices, strict=True):
        spec = election.manifest.contest(c.contest)
        out[spec.id] = [o.id for o, v in zip(spec.options, row, strict=True) if v]
    return out
