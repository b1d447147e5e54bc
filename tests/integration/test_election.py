"""A whole election on the TEST group, then one attack per test on a copy of its record.

The module builds one complete, valid record (Tsukuba manifest, 5 trustees with quorum 3,
12 voters, 2 challenged ballots, trustee 2 absent at decryption). Each attack copies the
record directory, edits it the way an attacker would (re-encoding canonically so that the
edit is not caught by the codec alone) and checks that the verifier refuses it with the
right exception, naming the object that was tampered with.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
from dataclasses import replace

import pytest

from e2e import codec
from e2e.ballot import (
    BallotError,
    ChallengedBallot,
    EncryptedBallot,
    challenge,
    confirmation_code,
    contest_hash,
    encrypt_ballot,
    identifier_hash,
)
from e2e.election import Election, TrusteePublicKey, base_hash, check_trustee_keys
from e2e.elgamal import Ciphertext
from e2e.errors import InvalidElement, InvalidProof, VerificationError
from e2e.group import STANDARD, TEST
from e2e.hash import HashValue
from e2e.manifest import (
    Manifest,
    ManifestError,
    manifest_from_canonical,
    manifest_from_json,
)
from e2e.record import read_record, write_record
from e2e.rng import DeterministicRng
from e2e.schnorr import SchnorrProof
from e2e.tally import (
    EncryptedTally,
    PartialDecryption,
    QuorumError,
    Results,
    aggregate,
    combine,
    trustee_commitments,
)
from e2e.threshold import public_share
from e2e.verify import verify_record
from trustees.ceremony import (
    ShareError,
    TrusteeSecrets,
    check_public_keys,
    decrypt_share,
    encrypt_share,
    new_trustee,
    run_ceremony,
)
from trustees.decrypt import partial_decrypt

MANIFEST = pathlib.Path(__file__).resolve().parents[2] / "examples" / "tsukuba-2025.json"

N, K = 5, 3
PRESENT = (1, 3, 4, 5)  # trustee 2 is absent at decryption

# The cast ballots (12 voters): some contests blank, voter 9 covers only one contest.
VOTES: list[dict[str, list[str]]] = [
    {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": ["emergency-info"]},
    {"gyosei": ["internet-voting"], "mobility": ["smart-mobility"], "healthcare": []},
    {"gyosei": ["digital-counter"], "mobility": [], "healthcare": ["online-home-care"]},
    {"gyosei": [], "mobility": ["tsukumobi"], "healthcare": ["emergency-info"]},
    {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": ["food-lifestyle"]},
    {"gyosei": ["ai-citizen-voice"], "mobility": ["hands-free-ticket"], "healthcare": []},
    {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": ["emergency-info"]},
    {"gyosei": [], "mobility": [], "healthcare": []},
    {"mobility": ["smart-mobility"]},
    {"gyosei": ["digital-counter"], "mobility": ["tsukumobi"], "healthcare": ["emergency-info"]},
    {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["online-home-care"]},
    {"gyosei": ["ai-citizen-voice"], "mobility": ["smart-mobility"], "healthcare": []},
]
# Two voters challenge a ballot first (choices that are never counted), then cast.
CHALLENGED_BY = {2: VOTES[0], 6: {"gyosei": ["ai-citizen-voice"], "healthcare": ["food-lifestyle"]}}


def load_manifest(trustees: int = N, quorum: int = K) -> Manifest:
    manifest = manifest_from_json(MANIFEST.read_text(encoding="utf-8"))
    return replace(manifest, trustees=trustees, quorum=quorum)


def cast_totals(manifest: Manifest, votes: list[dict[str, list[str]]]) -> dict:
    """contest id → (ballots covering it, {option id: votes})."""
    out = {c.id: [0, {o.id: 0 for o in c.options}] for c in manifest.contests}
    for choices in votes:
        for contest_id, chosen in choices.items():
            out[contest_id][0] += 1
            for option_id in chosen:
                out[contest_id][1][option_id] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def results_as_totals(results: Results) -> dict:
    return {
        c.contest: (c.ballots, {o.option: o.votes for o in c.options}) for c in results.contests
    }


@dataclasses.dataclass
class Built:
    path: pathlib.Path
    manifest: Manifest
    election: Election
    secrets: dict[int, TrusteeSecrets]
    publics: list[TrusteePublicKey]
    ballots: list[EncryptedBallot]
    challenged: list[ChallengedBallot]
    tally: EncryptedTally
    partials: dict[int, PartialDecryption]  # all five, though the record has only PRESENT
    results: Results
    cast: dict


def build_election(group, manifest, votes, challenged_by, present, out, seed):
    """Run a whole election in one process and write its record to ``out``."""
    h_p, _ = base_hash(group, manifest)
    rng = DeterministicRng(f"{seed}/ceremony")
    secrets, publics = run_ceremony(group, h_p, manifest.trustees, manifest.quorum, rng)
    election = Election(group, manifest, group.product(t.key for t in publics))
    ballots, challenged = [], []
    for v, choices in enumerate(votes):
        vrng = DeterministicRng(f"{seed}/voter/{v}")
        if v in challenged_by:
            spoiled, secret = encrypt_ballot(election, challenged_by[v], vrng, device="booth-1")
            challenged.append(challenge(spoiled, secret))
        ballots.append(encrypt_ballot(election, choices, vrng, device="booth-1")[0])
    tally = aggregate(election, ballots)
    commitments = trustee_commitments(publics)
    partials = {
        s.index: partial_decrypt(
            election,
            tally,
            s,
            public_share(group, commitments, s.index),
            DeterministicRng(f"{seed}/decrypt/{s.index}"),
        )
        for s in secrets
    }
    results = combine(election, tally, [partials[i] for i in present])
    write_record(
        out,
        manifest.canonical_bytes(),
        election.parameters(),
        publics,
        [codec.encode(b) for b in ballots],
        [codec.encode(c) for c in challenged],
        tally,
        [partials[i] for i in present],
        results,
    )
    return Built(
        out,
        manifest,
        election,
        {s.index: s for s in secrets},
        publics,
        ballots,
        challenged,
        tally,
        partials,
        results,
        cast_totals(manifest, votes),
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    out = tmp_path_factory.mktemp("election") / "record"
    return build_election(TEST, load_manifest(), VOTES, CHALLENGED_BY, PRESENT, out, "tsukuba")


@pytest.fixture
def record(built, tmp_path) -> pathlib.Path:
    """A private copy of the valid record, for one attack."""
    dst = tmp_path / "record"
    shutil.copytree(built.path, dst)
    return dst


def verify(path):
    return verify_record(read_record(path), rng=DeterministicRng("verifier"))


def read_lines(path: pathlib.Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def write_lines(path: pathlib.Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def prefix(ballot: EncryptedBallot) -> str:
    """How the verifier names a ballot."""
    return ballot.ballot_id.hex_upper()[:16]


def edit_ballot(record, n, edit):
    """Decode line n of ballots.jsonl, apply ``edit``, write it back canonically."""
    path = record / "ballots.jsonl"
    lines = read_lines(path)
    ballot = codec.decode(lines[n], EncryptedBallot, TEST)
    lines[n] = codec.encode(edit(ballot))
    write_lines(path, lines)


def set_selection(ballot, ci, oi, **changes):
    """A copy of the ballot with contest position ci, option position oi changed."""
    contests = list(ballot.contests)
    sels = list(contests[ci].selections)
    sels[oi] = replace(sels[oi], **changes)
    contests[ci] = replace(contests[ci], selections=tuple(sels))
    return replace(ballot, contests=tuple(contests))


# --- 1. the valid record --------------------------------------------------------------------


def test_valid_record_verifies_and_results_equal_the_cast_votes(built):
    report = verify(built.path)
    assert report.group == "test" and report.warnings  # the insecure group is flagged
    assert (report.trustees, report.quorum) == (N, K)
    assert report.ballots == len(VOTES) == 12
    assert report.challenged == 2
    assert report.decrypting_trustees == PRESENT
    assert report.results == built.results
    assert report.results.trustees == PRESENT
    assert results_as_totals(report.results) == built.cast
    # the ballot that covered only "mobility" is counted there and nowhere else
    assert built.cast["mobility"][0] == 12 and built.cast["gyosei"][0] == 11
    # challenged ballots are not counted: ai-citizen-voice got 2 cast votes, not 3
    assert built.cast["gyosei"][1]["ai-citizen-voice"] == 2
    assert report.proofs > 12 * 3 * 4


# --- 2. a ciphertext changed ----------------------------------------------------------------


def test_ciphertext_multiplied_by_g_names_the_ballot(built, record):
    g = TEST.generator
    target = built.ballots[4]

    def attack(b):
        ct = b.contests[0].selections[0].ciphertext
        return set_selection(b, 0, 0, ciphertext=Ciphertext(ct.alpha * g, ct.beta))

    edit_ballot(record, 4, attack)
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == f"ballot {prefix(target)} contest 1"
    assert "contest hash" in e.value.reason


def test_ciphertext_changed_with_hashes_recomputed_fails_the_range_proof(built, record):
    """An attacker who also recomputes the contest hash and confirmation code still fails."""
    election = built.election
    target = built.ballots[4]

    def attack(b):
        ct = b.contests[1].selections[2].ciphertext
        b = set_selection(b, 1, 2, ciphertext=Ciphertext(ct.alpha, ct.beta * election.key.element))
        h_i = identifier_hash(election, b.ballot_id)
        contests = tuple(
            replace(
                c, contest_hash=contest_hash(h_i, c.contest, [s.ciphertext for s in c.selections])
            )
            for c in b.contests
        )
        code = confirmation_code(election, h_i, b.device, [c.contest_hash for c in contests])
        return replace(b, contests=contests, confirmation_code=code)

    edit_ballot(record, 4, attack)
    with pytest.raises(InvalidProof) as e:
        verify(record)
    assert e.value.where.startswith(f"ballot {prefix(target)} contest 2")
    assert "proof" in str(e.value)


def test_raw_hex_digit_flip_in_a_ciphertext_is_refused(record):
    path = record / "ballots.jsonl"
    lines = read_lines(path)
    doc = json.loads(lines[7])
    alpha = doc["contests"][0]["selections"][1]["ciphertext"]["alpha"]
    digit = alpha[40]
    flipped = alpha[:40] + ("7" if digit != "7" else "8") + alpha[41:]
    lines[7] = lines[7].replace(alpha.encode(), flipped.encode())
    assert lines[7] != read_lines(path)[7]
    write_lines(path, lines)
    ballot_id = doc["ballot_id"][:16]
    with pytest.raises((InvalidElement, VerificationError)) as e:
        verify(record)
    # The culprit is named: by its line and field (subgroup test at parse) or, if the
    # flipped value is still a member, by its ballot (the contest hash no longer matches).
    assert ballot_id in str(e.value) or "[7]EncryptedBallot.contests[0]" in str(e.value)


def test_raw_hex_digit_flip_in_a_contest_hash_names_the_ballot(built, record):
    path = record / "ballots.jsonl"
    lines = read_lines(path)
    h = built.ballots[3].contests[2].contest_hash.hex_upper()
    flipped = ("0" if h[0] != "0" else "1") + h[1:]
    lines[3] = lines[3].replace(h.encode(), flipped.encode())
    write_lines(path, lines)
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == f"ballot {prefix(built.ballots[3])} contest 3"


# --- 3. a proof moved to another ballot -------------------------------------------------------


def test_range_proof_moved_to_another_ballot_names_the_receiving_ballot(built, record):
    a, b = built.ballots[0], built.ballots[1]
    # the same plaintext (1 for internet-voting) in both: the proof is honest, but for A
    assert VOTES[0]["gyosei"] == VOTES[1]["gyosei"] == ["internet-voting"]
    stolen = a.contests[0].selections[0].proof
    edit_ballot(record, 1, lambda ballot: set_selection(ballot, 0, 0, proof=stolen))
    with pytest.raises(InvalidProof) as e:
        verify(record)
    assert e.value.where == f"ballot {prefix(b)} contest 1 option 1"
    assert "range proof" in str(e.value)


def test_limit_proof_moved_to_another_ballot(built, record):
    a, b = built.ballots[0], built.ballots[6]
    stolen = a.contests[2].limit_proof

    def attack(ballot):
        contests = list(ballot.contests)
        contests[2] = replace(contests[2], limit_proof=stolen)
        return replace(ballot, contests=tuple(contests))

    edit_ballot(record, 6, attack)
    with pytest.raises(InvalidProof) as e:
        verify(record)
    assert e.value.where == f"ballot {prefix(b)} contest 3"
    assert "selection-limit proof" in str(e.value)


# --- 4. a ballot removed or added after aggregation ------------------------------------------


def test_ballot_removed_after_aggregation_fails_the_tally_check(record):
    path = record / "ballots.jsonl"
    lines = read_lines(path)
    del lines[5]  # covers all three contests
    write_lines(path, lines)
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "tally contest 1"
    assert "counts 11 ballots, the board has 10" in str(e.value)


def test_ballot_swapped_for_another_valid_ballot_fails_the_tally_check(built, record):
    """Same count, different ballot: only the product of the ciphertexts can tell."""
    path = record / "ballots.jsonl"
    lines = read_lines(path)
    other, _ = encrypt_ballot(built.election, VOTES[5], DeterministicRng("ballot stuffer"))
    lines[5] = codec.encode(other)
    write_lines(path, lines)
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "tally contest 1"
    assert "not the product" in str(e.value)


# --- 5. a changed result ----------------------------------------------------------------------


def test_changed_result_names_contest_and_option(record):
    path = record / "results.json"
    results = codec.decode(path.read_bytes(), Results, TEST)
    contests = list(results.contests)
    options = list(contests[1].options)
    assert options[0].option == "tsukumobi"
    options[0] = replace(options[0], votes=options[0].votes + 1)
    contests[1] = replace(contests[1], options=tuple(options))
    path.write_bytes(codec.encode(replace(results, contests=tuple(contests))))
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "results mobility/tsukumobi"
    assert "says 6 votes, the decryption gives 5" in str(e.value)


def test_changed_ballot_count_in_results_names_the_contest(record):
    path = record / "results.json"
    results = codec.decode(path.read_bytes(), Results, TEST)
    contests = list(results.contests)
    contests[2] = replace(contests[2], ballots=contests[2].ballots + 1)
    path.write_bytes(codec.encode(replace(results, contests=tuple(contests))))
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "results healthcare"


# --- 6. a wrong partial decryption ------------------------------------------------------------


def test_wrong_partial_decryption_names_trustee_3(record):
    path = record / "decryptions" / "trustee-3.json"
    d = codec.decode(path.read_bytes(), PartialDecryption, TEST)
    contests = list(d.contests)
    sels = list(contests[1].selections)
    sels[2] = replace(sels[2], value=sels[2].value * TEST.generator)  # proof kept
    contests[1] = replace(contests[1], selections=tuple(sels))
    path.write_bytes(codec.encode(replace(d, contests=tuple(contests))))
    with pytest.raises(InvalidProof) as e:
        verify(record)
    assert e.value.where == "trustee 3 contest 2 option 3"
    assert "partial decryption proof" in str(e.value)


def test_decryption_file_renamed_names_the_file(record):
    (record / "decryptions" / "trustee-3.json").rename(record / "decryptions" / "trustee-2.json")
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "decryptions"
    assert "decryptions/trustee-2.json holds trustee 3" in str(e.value)


# --- 7. a trustee key swapped -----------------------------------------------------------------


def test_trustee_commitment_replaced_fails_trustee_2_proof(built, record):
    path = record / "trustees" / "trustee-2.json"
    t2 = codec.decode(path.read_bytes(), TrusteePublicKey, TEST)
    t4 = next(t for t in built.publics if t.index == 4)
    path.write_bytes(codec.encode(replace(t2, coefficient_commitments=t4.coefficient_commitments)))
    with pytest.raises(InvalidProof) as e:
        verify(record)
    assert e.value.where == "trustee 2"
    assert "Schnorr" in str(e.value)


def test_two_trustee_files_swapped_names_the_file(record):
    t = record / "trustees"
    a, b = (t / "trustee-2.json").read_bytes(), (t / "trustee-4.json").read_bytes()
    (t / "trustee-2.json").write_bytes(b)
    (t / "trustee-4.json").write_bytes(a)
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "trustees"
    assert "trustees/trustee-2.json holds trustee 4" in str(e.value)


def test_trustee_key_replaced_by_a_valid_new_key_breaks_the_joint_key(built, record):
    """A fresh key for trustee 2 with a valid proof: the proof holds but K = ∏ K_i does not."""
    _, fresh = new_trustee(TEST, built.election.h_p, 2, K, DeterministicRng("impostor"))
    (record / "trustees" / "trustee-2.json").write_bytes(codec.encode(fresh))
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "parameters"
    assert "product of the trustee keys" in str(e.value)


# --- 8. the manifest edited after the ceremony ------------------------------------------------


def test_manifest_label_edited_fails_on_h_b(record):
    path = record / "manifest.json"
    manifest = manifest_from_canonical(path.read_bytes())
    contests = list(manifest.contests)
    options = list(contests[0].options)
    options[1] = replace(options[1], label=replace(options[1].label, en="Digital counters"))
    contests[0] = replace(contests[0], options=tuple(options))
    edited = replace(manifest, contests=tuple(contests)).canonical_bytes()
    assert edited != path.read_bytes()
    path.write_bytes(edited)
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "parameters"
    assert "H_B" in str(e.value)


# --- 9. a challenged ballot's revealed choices changed ----------------------------------------


def test_challenged_choices_changed_names_the_challenged_ballot(built, record):
    path = record / "challenged.jsonl"
    lines = read_lines(path)
    cb = codec.decode(lines[1], ChallengedBallot, TEST)
    assert cb.choices[0] == (0, 0, 1)  # ai-citizen-voice
    lines[1] = codec.encode(replace(cb, choices=((1, 0, 0), *cb.choices[1:])))
    write_lines(path, lines)
    with pytest.raises(VerificationError) as e:
        verify(record)
    name = f"challenged ballot {prefix(built.challenged[1].ballot)}"
    assert e.value.where == f"{name} contest 1 option 1"
    assert "do not reproduce" in str(e.value)


def test_challenged_nonce_changed_names_the_challenged_ballot(built, record):
    path = record / "challenged.jsonl"
    lines = read_lines(path)
    cb = codec.decode(lines[0], ChallengedBallot, TEST)
    lines[0] = codec.encode(replace(cb, ballot_nonce=HashValue(bytes(32))))
    write_lines(path, lines)
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where.startswith(f"challenged ballot {prefix(built.challenged[0].ballot)}")


# --- 10. duplicated ballot ids ----------------------------------------------------------------


def test_duplicated_cast_ballot_is_refused(built, record):
    path = record / "ballots.jsonl"
    lines = read_lines(path)
    write_lines(path, [*lines, lines[3]])
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == f"ballot {prefix(built.ballots[3])}"
    assert "duplicate ballot id" in str(e.value)


def test_cast_ballot_id_reused_in_challenged_is_refused(built, record):
    path = record / "challenged.jsonl"
    lines = read_lines(path)
    cb = codec.decode(lines[0], ChallengedBallot, TEST)
    stolen = built.ballots[8].ballot_id
    lines[0] = codec.encode(replace(cb, ballot=replace(cb.ballot, ballot_id=stolen)))
    write_lines(path, lines)
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == f"challenged ballot {stolen.hex_upper()[:16]}"
    # the verifier words it "also used by another ballot", not "duplicate"
    assert "ballot id also used by another ballot" in str(e.value)


def test_challenged_ballot_published_twice_is_refused(built, record):
    path = record / "challenged.jsonl"
    lines = read_lines(path)
    write_lines(path, [*lines, lines[0]])
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == f"challenged ballot {prefix(built.challenged[0].ballot)}"


# --- 11. quorum edge cases --------------------------------------------------------------------


@pytest.mark.parametrize("trustees", [(1, 2, 3), (2, 4, 5), (3, 4, 5), (1, 2, 3, 4, 5)])
def test_any_quorum_decrypts_to_the_same_results(built, trustees):
    results = combine(built.election, built.tally, [built.partials[i] for i in trustees])
    assert results.trustees == trustees
    assert results_as_totals(results) == built.cast


@pytest.mark.parametrize("trustees", [(2, 4, 5), (1, 2, 3, 4, 5)])
def test_record_with_exactly_k_or_all_n_trustees_verifies(built, tmp_path, trustees):
    partials = [built.partials[i] for i in trustees]
    results = combine(built.election, built.tally, partials)
    out = write_record(
        tmp_path / "record",
        built.manifest.canonical_bytes(),
        built.election.parameters(),
        built.publics,
        [codec.encode(b) for b in built.ballots],
        [codec.encode(c) for c in built.challenged],
        built.tally,
        partials,
        results,
    )
    report = verify(out)
    assert report.decrypting_trustees == trustees
    assert results_as_totals(report.results) == built.cast


def test_combine_refuses_fewer_than_k_trustees(built):
    with pytest.raises(QuorumError, match=r"only 2 trustee\(s\) decrypted; the quorum is 3 of 5"):
        combine(built.election, built.tally, [built.partials[1], built.partials[4]])
    with pytest.raises(QuorumError, match="appears twice"):
        combine(built.election, built.tally, [built.partials[i] for i in (1, 3, 3)])
    stranger = replace(built.partials[5], trustee=6)
    with pytest.raises(QuorumError, match="trustee 6 is not one of the election's 5 trustees"):
        combine(built.election, built.tally, [built.partials[1], built.partials[3], stranger])


def test_record_with_two_decryptions_fails_on_the_quorum(record):
    (record / "decryptions" / "trustee-4.json").unlink()
    (record / "decryptions" / "trustee-5.json").unlink()
    with pytest.raises(QuorumError, match="only 2 trustee.*quorum is 3 of 5"):
        verify(record)


def test_results_naming_other_trustees_are_refused(built, record):
    path = record / "results.json"
    results = codec.decode(path.read_bytes(), Results, TEST)
    path.write_bytes(codec.encode(replace(results, trustees=(1, 2, 3, 4))))
    with pytest.raises(VerificationError) as e:
        verify(record)
    assert e.value.where == "results"
    assert "other trustees" in str(e.value)


# --- 12. the key ceremony ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ceremony():
    """Three trustees (quorum 2) after step 1 of the ceremony."""
    manifest = load_manifest(3, 2)
    h_p, _ = base_hash(TEST, manifest)
    rng = DeterministicRng("ceremony")
    pairs = [new_trustee(TEST, h_p, i, 2, rng) for i in (1, 2, 3)]
    return h_p, {s.index: s for s, _ in pairs}, {p.index: p for _, p in pairs}


def test_honest_shares_decrypt(ceremony):
    h_p, secrets, publics = ceremony
    share = encrypt_share(TEST, h_p, secrets[3], publics[1], DeterministicRng("s"))
    value = decrypt_share(TEST, h_p, secrets[1], share, publics[3])
    assert TEST.g_pow(value) == public_share(TEST, [publics[3].coefficient_commitments], 1)


@pytest.mark.parametrize("sender,recipient", [(1, 2), (3, 1)])
def test_tampered_encrypted_share_names_the_sender(ceremony, sender, recipient):
    h_p, secrets, publics = ceremony
    share = encrypt_share(TEST, h_p, secrets[sender], publics[recipient], DeterministicRng("s"))
    data = bytearray(share.data)
    data[31] ^= 1
    bad = replace(share, data=HashValue(bytes(data)))
    with pytest.raises(ShareError) as e:
        decrypt_share(TEST, h_p, secrets[recipient], bad, publics[sender])
    assert e.value.trustee == sender
    assert str(e.value).startswith(f"trustee {sender}:")


def test_share_off_the_committed_polynomial_names_the_sender(ceremony):
    """A correctly encrypted share of a polynomial other than the one committed to."""
    h_p, secrets, publics = ceremony
    honest = secrets[2]
    cheat = TrusteeSecrets(2, [a + 1 for a in honest.coefficients], honest.zeta)
    share = encrypt_share(TEST, h_p, cheat, publics[3], DeterministicRng("s"))
    with pytest.raises(ShareError, match="commitments") as e:
        decrypt_share(TEST, h_p, secrets[3], share, publics[2])
    assert e.value.trustee == 2


def test_bad_trustee_schnorr_proof_names_the_trustee(ceremony):
    h_p, _, publics = ceremony
    t2 = publics[2]
    responses = (t2.proof.responses[0] + 1, *t2.proof.responses[1:])
    bad = replace(t2, proof=SchnorrProof(t2.proof.commitments, responses))
    keys = [publics[1], bad, publics[3]]
    with pytest.raises(InvalidProof) as e:
        check_trustee_keys(TEST, h_p, 3, 2, keys)
    assert e.value.where == "trustee 2"
    with pytest.raises(ShareError) as e2:
        check_public_keys(TEST, h_p, 3, 2, keys)
    assert e2.value.trustee == 2
    # honest keys pass; a missing key is named too
    assert list(check_trustee_keys(TEST, h_p, 3, 2, list(publics.values()))) == [1, 2, 3]
    with pytest.raises(VerificationError) as e3:
        check_trustee_keys(TEST, h_p, 3, 2, [publics[1], publics[3]])
    assert e3.value.where == "trustee 2"


# --- 13. plaintexts that break the manifest ---------------------------------------------------


class RefusingRng:
    """An Rng that fails the test if anything is drawn (nothing may be encrypted)."""

    def randbits(self, k):
        raise AssertionError("randomness drawn for a refused ballot")

    def randbelow(self, n):
        raise AssertionError("randomness drawn for a refused ballot")


@pytest.mark.parametrize(
    "choices,message",
    [
        ({"gyosei": ["internet-voting", "digital-counter"]}, "'gyosei' allows at most 1"),
        ({"mobility": ["teleport"]}, "unknown option 'teleport' in contest 'mobility'"),
        ({"gyosei": [], "sports": ["soccer"]}, "unknown contest 'sports'"),
        ({}, "at least one contest"),
        ({"healthcare": ["food-lifestyle", "food-lifestyle"]}, "chosen twice in contest"),
    ],
)
def test_bad_plaintext_is_refused_before_encryption(built, choices, message):
    with pytest.raises(BallotError, match=message):
        encrypt_ballot(built.election, choices, RefusingRng())


# --- 14. bad manifests ------------------------------------------------------------------------


def _dup_contest(m):
    m["contests"][1]["id"] = m["contests"][0]["id"]


def _dup_option(m):
    m["contests"][0]["options"][2]["id"] = m["contests"][0]["options"][0]["id"]


def _limit_too_big(m):
    m["contests"][1]["limit"] = 4


def _limit_zero(m):
    m["contests"][0]["limit"] = 0


def _empty_contest(m):
    m["contests"][2]["options"] = []


def _end_before_start(m):
    m["end"] = "2025-02-19T23:59:59+09:00"


def _no_timezone(m):
    m["start"] = "2025-02-20T00:00:00"


def _quorum_too_big(m):
    m["quorum"] = m["trustees"] + 1


@pytest.mark.parametrize(
    "edit,field",
    [
        (_dup_contest, "contests[1].id"),
        (_dup_option, "contests[0].options[2].id"),
        (_limit_too_big, "contests[1].limit"),
        (_limit_zero, "contests[0].limit"),
        (_empty_contest, "contests[2].options"),
        (_end_before_start, "end"),
        (_no_timezone, "start"),
        (_quorum_too_big, "quorum"),
    ],
)
def test_bad_manifest_names_the_field(edit, field):
    m = json.loads(MANIFEST.read_text(encoding="utf-8"))
    edit(m)
    with pytest.raises(ManifestError) as e:
        manifest_from_json(json.dumps(m, ensure_ascii=False))
    assert e.value.field == field
    assert str(e.value).startswith(f"manifest field {field}:")


def test_example_manifest_is_valid():
    m = manifest_from_json(MANIFEST.read_text(encoding="utf-8"))
    assert [c.id for c in m.contests] == ["gyosei", "mobility", "healthcare"]
    assert manifest_from_canonical(m.canonical_bytes()) == m


# --- a contest no counted ballot covers: its tally is (1, 1), which is legitimate -----------


def test_record_with_an_uncovered_contest_verifies(tmp_path):
    votes = [{"gyosei": ["internet-voting"]}, {"gyosei": [], "mobility": ["tsukumobi"]}]
    b = build_election(TEST, load_manifest(3, 2), votes, {}, (1, 2), tmp_path / "r", "uncovered")
    assert results_as_totals(b.results) == b.cast  # combine itself is right
    report = verify(b.path)
    assert results_as_totals(report.results) == b.cast


# --- 15. the standard group, end to end -------------------------------------------------------


@pytest.mark.standard
def test_standard_group_election_end_to_end(tmp_path):
    votes = [
        {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": []},
        {"gyosei": ["digital-counter"], "mobility": [], "healthcare": ["emergency-info"]},
        {"mobility": ["tsukumobi"]},
    ]
    b = build_election(
        STANDARD, load_manifest(3, 2), votes, {0: votes[1]}, (1, 3), tmp_path / "r", "standard"
    )
    report = verify(b.path)
    # A record made without a board passes, and says what it lacks; nothing else to warn of.
    assert report.group == "standard"
    assert [w for w in report.warnings if "no bulletin board log" not in w] == []
    assert len(report.warnings) == 1
    assert (report.ballots, report.challenged) == (3, 1)
    assert report.decrypting_trustees == (1, 3)
    assert results_as_totals(report.results) == b.cast
    assert (
        len(
            json.loads((b.path / "tally.json").read_bytes())["contests"][0]["selections"][0][
                "alpha"
            ]
        )
        == 1024
    )

    # and one attack on the real group: a result changed
    path = b.path / "results.json"
    results = codec.decode(path.read_bytes(), Results, STANDARD)
    first = results.contests[0]
    opt = replace(first.options[0], votes=first.options[0].votes + 1)
    changed = replace(first, options=(opt, *first.options[1:]))
    path.write_bytes(codec.encode(replace(results, contests=(changed, *results.contests[1:]))))
    with pytest.raises(VerificationError) as e:
        verify(b.path)
    assert e.value.where == "results gyosei/internet-voting"


def test_a_manifest_with_witnesses_needs_the_boards_log(tmp_path):
    """Witnesses cosign a board's heads: a record without the log cannot show they did."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from e2e.hash import HashValue
    from e2e.manifest import Witnessing, WitnessKey
    from watch.witness import public_bytes

    raw = public_bytes(Ed25519PrivateKey.generate())
    witnessing = Witnessing("city.example/vote", 1, (WitnessKey("w.example/w", HashValue(raw)),))
    manifest = replace(load_manifest(3, 2), witnessing=witnessing)
    votes = [{"mobility": ["tsukumobi"]}]
    b = build_election(TEST, manifest, votes, {}, (1, 2), tmp_path / "r", "witnessed")
    with pytest.raises(VerificationError, match="has no board log"):
        verify(b.path)
