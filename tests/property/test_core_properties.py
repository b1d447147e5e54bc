"""Property tests on the small test group, with strategies that corrupt valid objects."""

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from e2e import codec
from e2e.batch import verify_claims
from e2e.chaum_pedersen import DecryptionProof, prove_decryption, verify_decryption
from e2e.dlog import DiscreteLog
from e2e.elgamal import Ciphertext, add, decrypt_to_power, encrypt, keypair
from e2e.errors import InvalidProof, ParseError
from e2e.group import TEST
from e2e.hash import H
from e2e.range_proof import RangeProof, prove_range, range_claim, verify_range
from e2e.rng import DeterministicRng
from e2e.schnorr import SchnorrProof, prove_schnorr, verify_schnorr

G = TEST
RNG = DeterministicRng("property")
SK, PK = keypair(G, RNG)
DLOG = DiscreteLog(PK.element, 10**4)
H_I = H(bytes(32), 0x20, 42)
H_E = H(bytes(32), 0x14, 42)

scalars = st.integers(min_value=1, max_value=int(G.q) - 1).map(G.scalar)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(value=st.integers(0, 1000), nonce=scalars)
def test_round_trip(value, nonce):
    ct = encrypt(PK, value, nonce)
    assert DLOG.solve(decrypt_to_power(ct, SK)) == value
    assert codec.decode(codec.encode(ct), Ciphertext, G) == ct


@SETTINGS
@given(values=st.lists(st.integers(0, 50), min_size=1, max_size=12), seed=st.binary(max_size=8))
def test_homomorphic_sums(values, seed):
    rng = DeterministicRng(seed)
    cts = [encrypt(PK, v, G.random_scalar(rng)) for v in values]
    assert DLOG.solve(decrypt_to_power(add(cts, G), SK)) == sum(values)


def _range_item(seed: bytes, limit: int, value: int):
    rng = DeterministicRng(seed)
    xi = G.random_scalar(rng)
    ct = encrypt(PK, value, xi)
    return ct, prove_range(PK, H_I, (1, 2), ct, xi, value, limit, rng)


@st.composite
def range_items(draw):
    limit = draw(st.integers(1, 4))
    value = draw(st.integers(0, limit))
    return limit, _range_item(draw(st.binary(max_size=8)), limit, value)


@SETTINGS
@given(item=range_items())
def test_honest_range_proofs_verify(item):
    limit, (ct, proof) = item
    verify_range(PK, H_I, (1, 2), ct, proof, limit)
    assert codec.decode(codec.encode(proof), RangeProof, G) == proof


def _corrupt_scalar(s, delta):
    return s + delta


@st.composite
def corruptions(draw):
    """(field, j, delta): which part of a range proof or its ciphertext to change."""
    field = draw(st.sampled_from(["alpha", "beta", "a", "b", "challenge", "response", "swap"]))
    j = draw(st.integers(0, 1))
    delta = draw(st.integers(1, int(G.q) - 1))
    return field, j, delta


def _apply(ct, proof, corruption):
    field, j, delta = corruption
    g_d = G.g_pow(delta)
    if field == "alpha":
        return Ciphertext(ct.alpha * g_d, ct.beta), proof
    if field == "beta":
        return Ciphertext(ct.alpha, ct.beta * g_d), proof
    coms = list(proof.commitments)
    if field in ("a", "b"):
        a, b = coms[j]
        coms[j] = (a * g_d, b) if field == "a" else (a, b * g_d)
        return ct, replace(proof, commitments=tuple(coms))
    if field == "swap":
        coms[0], coms[1] = coms[1], coms[0]
        return ct, replace(proof, commitments=tuple(coms))
    seq = list(proof.challenges if field == "challenge" else proof.responses)
    seq[j] = seq[j] + delta
    key = "challenges" if field == "challenge" else "responses"
    return ct, replace(proof, **{key: tuple(seq)})


@SETTINGS
@given(seed=st.binary(max_size=8), value=st.integers(0, 1), corruption=corruptions())
def test_corrupted_range_proofs_are_refused(seed, value, corruption):
    ct, proof = _range_item(seed, 1, value)
    bad_ct, bad_proof = _apply(ct, proof, corruption)
    with pytest.raises(InvalidProof):
        verify_range(PK, H_I, (1, 2), bad_ct, bad_proof, 1)


@SETTINGS
@given(
    seeds=st.lists(st.binary(max_size=8), min_size=2, max_size=8, unique=True),
    victim=st.integers(0, 7),
    corruption=corruptions(),
)
def test_batch_names_the_corrupted_proof(seeds, victim, corruption):
    victim %= len(seeds)
    items = [_range_item(s, 1, i % 2) for i, s in enumerate(seeds)]
    items[victim] = _apply(*items[victim], corruption)
    claims = []
    with pytest.raises(InvalidProof) as e:
        for i, (ct, pr) in enumerate(items):
            claims.append(range_claim(PK, H_I, (1, 2), ct, pr, 1, f"proof {i}"))
        verify_claims(G, claims, DeterministicRng(seeds[0]))
    assert e.value.where == f"proof {victim}"


@st.composite
def byte_mutations(draw):
    kind = draw(st.sampled_from(["flip", "delete", "insert"]))
    pos = draw(st.integers(0, 10**6))
    char = draw(st.sampled_from(list(b'0123456789ABCDEFabcdef ",:{}[]x')))
    return kind, pos, char


def _mutate_bytes(data: bytes, m) -> bytes:
    kind, pos, char = m
    pos %= len(data)
    if kind == "flip":
        return data[:pos] + bytes([data[pos] ^ (1 + char % 7)]) + data[pos + 1 :]
    if kind == "delete":
        return data[:pos] + data[pos + 1 :]
    return data[:pos] + bytes([char]) + data[pos:]


@SETTINGS
@given(seed=st.binary(max_size=8), m=byte_mutations())
def test_corrupted_bytes_never_pass(seed, m):
    """Any byte-level change is refused by the parser or by the verifier."""
    ct, proof = _range_item(seed, 1, 1)
    data_ct, data_pr = codec.encode(ct), codec.encode(proof)
    which = m[1] % 2
    if which:
        data_pr = _mutate_bytes(data_pr, m)
    else:
        data_ct = _mutate_bytes(data_ct, m)
    with pytest.raises((ParseError, InvalidProof)):
        c = codec.decode(data_ct, Ciphertext, G)
        p = codec.decode(data_pr, RangeProof, G)
        verify_range(PK, H_I, (1, 2), c, p, 1)


@SETTINGS
@given(n=st.integers(1, 4), seed=st.binary(max_size=8), j=st.integers(0, 4), delta=scalars)
def test_schnorr_properties(n, seed, j, delta):
    rng = DeterministicRng(seed)
    xs = [G.random_scalar(rng) for _ in range(n)]
    pubs = [G.g_pow(x) for x in xs]
    proof = prove_schnorr(G, bytes(32), 3, xs, rng)
    verify_schnorr(bytes(32), 3, pubs, proof)
    assert codec.decode(codec.encode(proof), SchnorrProof, G) == proof
    j %= n
    bad = replace(
        proof, responses=tuple(v + delta if i == j else v for i, v in enumerate(proof.responses))
    )
    with pytest.raises(InvalidProof):
        verify_schnorr(bytes(32), 3, pubs, bad)
    bad = replace(
        proof,
        commitments=tuple(
            h * G.g_pow(delta) if i == j else h for i, h in enumerate(proof.commitments)
        ),
    )
    with pytest.raises(InvalidProof):
        verify_schnorr(bytes(32), 3, pubs, bad)


@SETTINGS
@given(value=st.integers(0, 100), seed=st.binary(max_size=8), delta=scalars, part=st.integers(0, 3))
def test_decryption_proof_properties(value, seed, delta, part):
    rng = DeterministicRng(seed)
    ct = encrypt(PK, value, G.random_scalar(rng))
    m, proof = prove_decryption(H_E, (2, 1), ct, SK, rng)
    verify_decryption(H_E, (2, 1), PK, ct, m, proof)
    assert DLOG.solve(ct.beta / m) == value
    assert codec.decode(codec.encode(proof), DecryptionProof, G) == proof
    g_d = G.g_pow(delta)
    bad = [
        (m * g_d, proof),
        (m, replace(proof, commitment_a=proof.commitment_a * g_d)),
        (m, replace(proof, commitment_b=proof.commitment_b * g_d)),
        (m, replace(proof, response=proof.response + delta)),
    ][part]
    with pytest.raises(InvalidProof):
        verify_decryption(H_E, (2, 1), PK, ct, *bad)
