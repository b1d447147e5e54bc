"""Property tests of the JPKI gate: corrupted certificates, signatures, CRLs and auth objects
are refused with the gate's own error, never an arbitrary exception."""

from __future__ import annotations

import base64
import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulletin.jpki import (
    AddressRule,
    JpkiConfigError,
    JpkiRefusal,
    check_certificate,
    load_anchors,
    load_crl,
)
from bulletin.jpki.address import normalize
from sim.testca import sign_submission
from tests.unit.test_jpki import CODE, H_E, T, ca, card, default_config, fresh_crl, gate, issue

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def good_cert() -> bytes:
    return issue()


@functools.cache
def good_crl() -> bytes:
    return fresh_crl()


@functools.cache
def gate_and_card():  # one gate, one card: challenges are issued per example
    return gate(), card()


def corruptions(data_len: int) -> st.SearchStrategy:
    """(kind, position, value): flip bits, delete, insert, or truncate."""
    return st.tuples(
        st.sampled_from(["xor", "delete", "insert", "truncate"]),
        st.integers(0, data_len - 1),
        st.integers(1, 255),
        st.integers(1, 16),
    )


def corrupt(data: bytes, how: tuple[str, int, int, int]) -> bytes:
    kind, pos, value, length = how
    if kind == "xor":
        return data[:pos] + bytes([data[pos] ^ value]) + data[pos + 1 :]
    if kind == "delete":
        return data[:pos] + data[pos + length :]
    if kind == "insert":
        return data[:pos] + bytes([value]) * length + data[pos:]
    return data[:pos]


@SETTINGS
@given(how=corruptions(1400))
def test_corrupted_certificate_is_refused(how):
    data = good_cert()
    bad = corrupt(data, (how[0], how[1] % len(data), how[2], how[3]))
    try:
        check_certificate(bad, default_config(), T)
    except JpkiRefusal:
        return
    raise AssertionError(f"a corrupted certificate was accepted: {how}")


@SETTINGS
@given(how=corruptions(256))
def test_corrupted_signature_is_refused(how):
    g, c = gate_and_card()
    auth = sign_submission(c, "ABC123", H_E, CODE, g.new_nonce().value)
    signature = base64.b64decode(auth["signature"])
    bad = corrupt(signature, how)
    auth["signature"] = base64.b64encode(bad).decode()
    try:
        g.authenticate(auth, CODE)
    except JpkiRefusal as e:
        assert e.code in {"signature_invalid", "auth_malformed"}
        return
    raise AssertionError(f"a corrupted signature was accepted: {how}")


@SETTINGS
@given(how=corruptions(700))
def test_corrupted_crl_is_a_configuration_error(how):
    data = good_crl()
    bad = corrupt(data, (how[0], how[1] % len(data), how[2], how[3]))
    try:
        load_crl(bad, load_anchors(ca(0).pem))
    except JpkiConfigError:
        return
    raise AssertionError(f"a corrupted CRL was accepted: {how}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=8,
)


@SETTINGS
@given(
    auth=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"certificate": json_values, "signature": json_values, "challenge": json_values}
        ),
        st.fixed_dictionaries(
            {
                "certificate": st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
                "signature": st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
                "challenge": st.binary(min_size=32, max_size=32).map(bytes.hex),
            }
        ),
    )
)
def test_arbitrary_auth_objects_are_refused(auth):
    g, _ = gate_and_card()
    try:
        g.authenticate(auth, CODE)
    except JpkiRefusal:
        return
    raise AssertionError("an arbitrary auth object was accepted")


RULE = AddressRule(["茨城県つくば市"])


@SETTINGS
@given(
    address=st.one_of(
        st.text(max_size=40),
        st.text(alphabet="茨城県つくばみらい市１2－- 　", max_size=20),
        st.text(max_size=20).map(lambda t: "茨城県つくば市" + t),
    ),
    seed=st.integers(0, 2**32),
)
def test_address_rule_only_admits_the_prefix(address, seed):
    flags = "".join("1" if (seed >> (i % 32)) & 1 else "0" for i in range(len(address)))
    for f in ("0" * len(address), flags):
        try:
            RULE.check(address, f)
        except JpkiRefusal as e:
            assert e.code in {"address_not_eligible", "address_substitute"}
            continue
        assert normalize(address).startswith("茨城県つくば市")
