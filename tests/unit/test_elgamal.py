import pytest

from e2e.dlog import DiscreteLog
from e2e.elgamal import (
    SecretKey,
    add,
    decrypt_to_power,
    decrypt_with_nonce_to_power,
    encrypt,
    keypair,
)
from e2e.errors import DecryptionError


def test_encrypt_decrypt_round_trip(group, rng, keys):
    sk, pk = keys
    dlog = DiscreteLog(pk.element, 1000)
    for v in (0, 1, 2, 17, 999):
        xi = group.random_scalar(rng)
        ct = encrypt(pk, v, xi)
        assert ct.alpha == group.g_pow(xi)
        assert dlog.solve(decrypt_to_power(ct, sk)) == v
        assert dlog.solve(decrypt_with_nonce_to_power(ct, pk, xi)) == v


def test_homomorphic_sum(group, rng, keys):
    sk, pk = keys
    values = [3, 0, 1, 5, 1]
    cts = [encrypt(pk, v, group.random_scalar(rng)) for v in values]
    total = add(cts, group)
    assert DiscreteLog(pk.element, 100).solve(decrypt_to_power(total, sk)) == sum(values)
    assert (cts[0] * cts[1]) == add(cts[:2], group)


def test_negative_values_refused(group, rng, keys):
    with pytest.raises(ValueError):
        encrypt(keys[1], -1, group.random_scalar(rng))


def test_secret_key_never_prints(group, rng):
    sk, _ = keypair(group, rng)
    assert str(int(sk.s)) not in repr(sk) and "hidden" in repr(sk)
    assert isinstance(sk, SecretKey)


def test_dlog_bounds(group, rng, keys):
    _, pk = keys
    dlog = DiscreteLog(pk.element, 10**7)
    for t in (0, 1, 3162, 3163, 10**6 + 7, 10**7):
        assert dlog.solve(pk.pow(t)) == t
    with pytest.raises(DecryptionError):
        dlog.solve(pk.pow(10**7 + 1))
    with pytest.raises(DecryptionError):
        DiscreteLog(pk.element, 50).solve(pk.pow(51))
