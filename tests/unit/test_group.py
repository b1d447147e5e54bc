import gmpy2
import pytest

from e2e.errors import InvalidElement, InvalidScalar
from e2e.group import STANDARD, TEST, FixedBase, multiexp_raw
from e2e.rng import DeterministicRng


@pytest.mark.parametrize("g", [STANDARD, TEST], ids=["standard", "test"])
def test_parameters_are_consistent(g):
    assert gmpy2.is_prime(g.p, 30) and gmpy2.is_prime(g.q, 30)
    assert g.p - 1 == g.q * g.r
    assert g.r % 2 == 0 and gmpy2.is_prime(g.r // 2, 30)  # r = 2·r', r' prime (batch tests)
    assert g.g == gmpy2.powmod(2, g.r, g.p)
    assert 1 < g.g < g.p and gmpy2.powmod(g.g, g.q, g.p) == 1


def test_standard_parameters_match_the_spec():
    s = STANDARD
    assert s.q == 2**256 - 189
    assert s.p.bit_length() == 4096 and s.p_bytes == 512 and s.q_bytes == 32
    # first and last 256 bits of p are ones (§3.1.1)
    assert s.p >> 3840 == 2**256 - 1 and s.p % 2**256 == 2**256 - 1
    # p = 2^4096 − 2^3840 + 2^256(⌊2^3584 ln 2⌋ + δ) + (2^256 − 1), δ from the spec
    delta = 287975203778583638958138611533602521491887169409704874643524560756486080635197037903
    with gmpy2.context(gmpy2.get_context(), precision=4000):
        ln2_bits = int(gmpy2.floor(gmpy2.log(2) * gmpy2.mpfr(2) ** 3584))
    assert s.p == 2**4096 - 2**3840 + 2**256 * (ln2_bits + delta) + (2**256 - 1)
    assert gmpy2.is_prime((s.p - 1) // (2 * s.q), 30)


def _bad_values(g):
    x = gmpy2.powmod(7, 2 * g.q, g.p)  # a quadratic residue of order r' (not in the subgroup)
    non_residue = next(v for v in range(2, 100) if gmpy2.jacobi(v, g.p) == -1)
    return {
        "zero": 0,
        "p-1": int(g.p - 1),
        "p": int(g.p),
        "p+1": int(g.p + 1),
        "negative": -5,
        "non-residue": non_residue,
        "residue outside subgroup": int(x),
    }


@pytest.mark.parametrize("g", [STANDARD, TEST], ids=["standard", "test"])
def test_parser_rejects_non_members(g):
    for name, v in _bad_values(g).items():
        with pytest.raises(InvalidElement):
            g.element(v)
        with pytest.raises(InvalidElement):
            g.elements([int(g.g), v])
        assert name


def test_parser_rejects_non_integers():
    for v in (True, 2.0, "5", None):
        with pytest.raises(InvalidElement):
            TEST.element(v)
        with pytest.raises(InvalidScalar):
            TEST.scalar(v)


def test_identity_is_a_member():
    # an empty tally is the ciphertext (1, 1); keys equal to 1 are refused by the codec
    assert int(TEST.element(1)) == 1 and int(STANDARD.element(1)) == 1


def test_parser_accepts_members(rng):
    xs = [int(TEST.g_pow(TEST.random_scalar(rng))) for _ in range(20)]
    assert [int(e) for e in TEST.elements(xs)] == xs
    assert int(TEST.element(xs[0])) == xs[0]


def test_batch_membership_names_the_bad_item(rng):
    xs = [int(TEST.g_pow(TEST.random_scalar(rng))) for _ in range(20)]
    xs[13] = int(gmpy2.powmod(7, 2 * TEST.q, TEST.p))
    with pytest.raises(InvalidElement, match="item 13"):
        TEST.elements(xs, rng)


def test_scalar_range():
    assert int(TEST.scalar(0)) == 0
    assert int(TEST.scalar(int(TEST.q) - 1)) == TEST.q - 1
    for v in (-1, int(TEST.q), int(TEST.q) + 1):
        with pytest.raises(InvalidScalar):
            TEST.scalar(v)


def test_fixed_base_matches_powmod(rng):
    for g in (TEST, STANDARD):
        table = FixedBase(g.generator, 5)
        for e in [0, 1, 2, int(g.q) - 1, rng.randbelow(int(g.q))]:
            assert table.pow_raw(e) == gmpy2.powmod(g.g, e, g.p)
            assert g.g_pow(e).value == gmpy2.powmod(g.g, e, g.p)


@pytest.mark.parametrize("n", [0, 1, 5, 6, 40, 300])
def test_multiexp_matches_product_of_powers(n, rng):
    p = TEST.p
    bases = [TEST.g_pow(TEST.random_scalar(rng)).value for _ in range(n)]
    exps = [rng.randbits(rng.randbelow(200) + 1) for _ in range(n)]
    expected = gmpy2.mpz(1)
    for b, e in zip(bases, exps, strict=True):
        expected = expected * gmpy2.powmod(b, e, p) % p
    assert multiexp_raw(p, bases, exps) == expected


def test_elements_are_immutable_and_typed(rng):
    x = TEST.g_pow(5)
    with pytest.raises(AttributeError):
        x.value = 3
    s = TEST.scalar(5)
    with pytest.raises(AttributeError):
        s.value = 3
    assert x != s and (x * x) == TEST.g_pow(10) and (s + s) == TEST.scalar(10)
    assert x.hex() == format(int(x), "X").rjust(128, "0")
    assert STANDARD.g_pow(1).hex().startswith("36036FED") and len(STANDARD.g_pow(1).hex()) == 1024


def test_deterministic_rng_is_reproducible_and_uniformish():
    a, b = DeterministicRng("s"), DeterministicRng("s")
    assert [a.randbits(64) for _ in range(5)] == [b.randbits(64) for _ in range(5)]
    assert DeterministicRng("t").randbits(64) != DeterministicRng("s").randbits(64)
    vals = [DeterministicRng(str(i)).randbelow(10) for i in range(2000)]
    assert set(vals) == set(range(10))
