import hashlib
import hmac

import pytest

from e2e.group import STANDARD, TEST
from e2e.hash import DOMAIN, VERSION, H, H_q, HashValue, hash_bytes, parameter_base_hash


def test_parameter_base_hash_matches_an_independent_implementation():
    # The same value is pinned in the test suite of Microsoft's electionguard-rust
    # (H_P for the standard parameters, n = 5, k = 3).
    assert (
        parameter_base_hash(STANDARD, 5, 3).hex()
        == "944286970eafdb6f347f4eb93b30d48fa3edcc89bfbaea6f5ae8f29afb05ddce"
    )


def test_parameter_base_hash_is_hmac_of_the_spec_bytes():
    b1 = (
        b"\x00"
        + int(STANDARD.p).to_bytes(512, "big")
        + int(STANDARD.q).to_bytes(32, "big")
        + int(STANDARD.g).to_bytes(512, "big")
        + (3).to_bytes(4, "big")
        + (2).to_bytes(4, "big")
    )
    assert len(b1) == 1065  # len(B1) in §5.5.1
    assert VERSION == b"v2.1.0" + bytes(26)
    assert parameter_base_hash(STANDARD, 3, 2) == hmac.new(VERSION, b1, hashlib.sha256).digest()


def test_encodings():
    key = bytes(32)
    x = STANDARD.g_pow(3)
    s = STANDARD.scalar(7)
    data = hash_bytes(key, 0x24, 1, 2, x, s, "ab", b"pk_vote", HashValue(bytes(range(32))))
    assert data[0] == 0x24
    assert data[1:9] == b"\x00\x00\x00\x01\x00\x00\x00\x02"
    assert data[9:521] == int(x).to_bytes(512, "big")
    assert data[521:553] == (7).to_bytes(32, "big")
    assert data[553:559] == b"\x00\x00\x00\x02ab"  # variable string: 4-byte length prefix
    assert data[559:566] == b"pk_vote"  # fixed label: as it is
    assert data[566:] == bytes(range(32))


def test_no_separator_ambiguity():
    key = bytes(32)
    assert H(key, 1, "a|b") != H(key, 1, "a", "b")
    assert H(key, 1, "ab", "c") != H(key, 1, "a", "bc")
    assert H(key, 1, 1) != H(key, 2, 1)  # domain separation


def test_small_integer_and_key_limits():
    with pytest.raises(ValueError):
        H(bytes(32), 0, 2**31)
    with pytest.raises(ValueError):
        H(bytes(32), 0, -1)
    with pytest.raises(ValueError):
        H(bytes(31), 0, 1)
    with pytest.raises(TypeError):
        H(bytes(32), 0, True)
    with pytest.raises(TypeError):
        H(bytes(32), 0, 1.5)


def test_hash_to_q_reduces():
    h = H(bytes(32), 5, 1)
    assert int(H_q(TEST, bytes(32), 5, 1)) == int.from_bytes(h, "big") % TEST.q


def test_domain_bytes_are_distinct():
    assert len(set(DOMAIN.values())) == len(DOMAIN)
