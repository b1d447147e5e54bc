"""CRLs that are not complete CRLs (RFC 5280 §5.2, §5.3, §6.3.3) never vouch for a certificate.

A delta CRL, a CRL with an unrecognised critical extension (of the CRL or of one entry), and a
CRL whose issuingDistributionPoint limits it to some reasons, to CA or attribute
certificates, or marks it indirect, cannot show that a certificate is *not* revoked: with
only such CRLs the gate refuses ``crl_unavailable`` (it fails closed), and a plain complete
CRL still revokes and admits as before. Each CRL here is minted with ``cryptography`` under a
stand-in CA's key, the way :meth:`sim.testca.TestCA.crl` does.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from bulletin.jpki import JpkiRefusal, TrustConfig, check_certificate, load_anchors, load_crl
from sim.testca import TestCA
from tests.unit.test_jpki import JST, T, issue, key

RULE = ["茨城県つくば市"]
UNKNOWN = x509.ObjectIdentifier("1.2.3.4.99")
AFFILIATION = x509.ReasonFlags.affiliation_changed
Entry = tuple[int, datetime, Sequence[tuple[x509.ExtensionType, bool]]]


@functools.cache
def authority() -> TestCA:
    return TestCA.create(not_before=datetime(2023, 1, 1, tzinfo=JST), key=key(130))


@functools.cache
def revoked_cert() -> bytes:
    """Revoked three days before T (the holder moved away)."""
    return issue(authority(), k=0)


@functools.cache
def good_cert() -> bytes:
    return issue(authority(), k=1, name="筑波　次郎")


def serial(cert: bytes) -> int:
    return x509.load_der_x509_certificate(cert).serial_number


def revocation(cert: bytes, when: datetime = T - timedelta(days=3), *exts) -> Entry:
    return serial(cert), when, exts


def our_point() -> x509.Name:
    """The directoryName CRL distribution point our certificates name."""
    dps = x509.load_der_x509_certificate(good_cert()).extensions.get_extension_for_class(
        x509.CRLDistributionPoints
    )
    return dps.value[0].full_name[0].value


def mint(
    entries: Sequence[Entry] = (),
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    *,
    number: int = 10,
    this_update: datetime = T - timedelta(hours=1),
    next_update: datetime = T + timedelta(days=1),
    reason: x509.ReasonFlags = AFFILIATION,
) -> bytes:
    """A CRL (DER) of the stand-in CA with the given entries and extra extensions."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority().certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    for number_, when, entry_exts in entries:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(number_)
            .revocation_date(when)
            .add_extension(x509.CRLReason(reason), critical=False)
        )
        for ext, critical in entry_exts:
            entry = entry.add_extension(ext, critical=critical)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(authority().key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def complete(*entries: Entry, **kw) -> bytes:
    """A plain complete CRL: no delta indicator, no issuingDistributionPoint."""
    return mint(entries, **kw)


def idp(
    *,
    point: bool = True,
    user: bool = False,
    ca: bool = False,
    reasons: frozenset[x509.ReasonFlags] | None = None,
    indirect: bool = False,
    attribute: bool = False,
) -> tuple[x509.ExtensionType, bool]:
    names = [x509.DirectoryName(our_point())] if point else None
    ext = x509.IssuingDistributionPoint(names, None, user, ca, reasons, indirect, attribute)
    return ext, True  # RFC 5280 §5.2.5: always critical


def config(*crls: bytes) -> TrustConfig:
    anchors = load_anchors(authority().pem)
    return TrustConfig.build(anchors, [load_crl(c, anchors) for c in crls], address_prefixes=RULE)


def refused(code: str, cert: bytes, *crls: bytes, at: datetime = T) -> JpkiRefusal:
    with pytest.raises(JpkiRefusal) as e:
        check_certificate(cert, config(*crls), at)
    assert e.value.code == code, e.value
    return e.value


def admitted(cert: bytes, *crls: bytes, at: datetime = T) -> None:
    assert check_certificate(cert, config(*crls), at).revocation_checked


# --- a complete CRL ----------------------------------------------------------------------


def test_a_plain_complete_crl_revokes_and_admits():
    crl = complete(revocation(revoked_cert()))
    refused("cert_revoked", revoked_cert(), crl)
    admitted(good_cert(), crl)


def test_a_crl_for_our_distribution_point_and_user_certificates_is_complete():
    for ext in (idp(), idp(user=True), idp(point=False, user=True)):
        crl = mint([revocation(revoked_cert())], [ext])
        refused("cert_revoked", revoked_cert(), crl)
        admitted(good_cert(), crl)


def test_a_non_critical_unknown_extension_is_ignored():
    unknown = x509.UnrecognizedExtension(UNKNOWN, b"\x05\x00")
    crl = mint([revocation(revoked_cert(), T - timedelta(days=3), (unknown, False))])
    refused("cert_revoked", revoked_cert(), crl)
    crl = mint([revocation(revoked_cert())], [(unknown, False)])
    refused("cert_revoked", revoked_cert(), crl)
    admitted(good_cert(), crl)


# --- delta CRLs ----------------------------------------------------------------------------


def test_a_delta_crl_alone_does_not_tell_the_status():
    # The revocation is in the base CRL (number 10), which lapsed; the current delta lists
    # only what changed since the base, so it does not list this certificate.
    base = complete(
        revocation(revoked_cert()),
        this_update=T - timedelta(days=3),
        next_update=T - timedelta(days=1),
    )
    delta = mint([], [(x509.DeltaCRLIndicator(10), True)], number=11)
    e = refused("crl_unavailable", revoked_cert(), delta)
    assert "delta" in e.detail
    refused("crl_unavailable", good_cert(), delta)
    # with the lapsed base beside it: the base's own entries still count, its silence not
    refused("cert_revoked", revoked_cert(), base, delta)
    refused("crl_unavailable", good_cert(), base, delta)


def test_a_delta_crl_still_revokes_and_a_current_base_decides():
    current_base = complete(revocation(revoked_cert()))
    late = revocation(good_cert(), T - timedelta(minutes=30))
    delta = mint([late], [(x509.DeltaCRLIndicator(10), True)], number=11)
    refused("cert_revoked", revoked_cert(), current_base, delta)
    refused("cert_revoked", good_cert(), current_base, delta)  # the delta's new revocation
    refused("cert_revoked", good_cert(), delta)
    admitted(good_cert(), current_base, delta, at=T - timedelta(minutes=45))


# --- unrecognised critical extensions --------------------------------------------------------


def test_an_unknown_critical_crl_extension_makes_the_crl_unusable():
    unknown = x509.UnrecognizedExtension(UNKNOWN, b"\x05\x00")
    crl = mint([], [(unknown, True)])  # it might, say, limit the CRL to some serials
    e = refused("crl_unavailable", revoked_cert(), crl)
    assert "critical" in e.detail
    refused("crl_unavailable", good_cert(), crl)
    # RFC 5280 §5.2: such a CRL is not used at all, even where it lists the certificate
    listing = mint([revocation(revoked_cert())], [(unknown, True)])
    refused("crl_unavailable", revoked_cert(), listing)
    # a complete CRL beside it still decides
    refused("cert_revoked", revoked_cert(), crl, complete(revocation(revoked_cert())))
    admitted(good_cert(), crl, complete(revocation(revoked_cert())))


def test_an_unknown_critical_entry_extension_makes_the_crl_unusable():
    other = x509.load_der_x509_certificate(issue(authority(), k=2)).serial_number
    unknown = x509.UnrecognizedExtension(UNKNOWN, b"\x05\x00")
    issuer = x509.CertificateIssuer([x509.DirectoryName(authority().certificate.subject)])
    for entry_ext in ((unknown, True), (issuer, True)):  # certificateIssuer: indirect CRLs
        crl = mint([(other, T - timedelta(days=2), [entry_ext])])
        e = refused("crl_unavailable", revoked_cert(), crl)
        assert "critical" in e.detail
        refused("crl_unavailable", good_cert(), crl)


# --- issuingDistributionPoint limits ---------------------------------------------------------


def test_a_crl_of_some_reasons_only_is_not_complete():
    key_compromise = frozenset({x509.ReasonFlags.key_compromise})
    for ext in (idp(reasons=key_compromise), idp(point=False, reasons=key_compromise)):
        crl = mint([], [ext])  # the affiliationChanged revocation is not in this partition
        e = refused("crl_unavailable", revoked_cert(), crl)
        assert "reasons" in e.detail
        refused("crl_unavailable", good_cert(), crl)
    # ... but a revocation it does list still revokes
    listed = mint(
        [revocation(good_cert(), T - timedelta(hours=2))],
        [idp(reasons=key_compromise)],
        reason=x509.ReasonFlags.key_compromise,
    )
    refused("cert_revoked", good_cert(), complete(), listed)
    admitted(good_cert(), complete(), listed, at=T - timedelta(hours=3))


@pytest.mark.parametrize(
    "limit, word",
    [
        (dict(ca=True), "CA"),
        (dict(attribute=True), "attribute"),
        (dict(indirect=True), "indirect"),
        (dict(point=False, ca=True), "CA"),
        (dict(point=False, attribute=True), "attribute"),
        (dict(point=False, indirect=True), "indirect"),
    ],
)
def test_a_crl_limited_to_other_certificates_or_indirect_is_not_complete(limit, word):
    crl = mint([], [idp(**limit)])
    e = refused("crl_unavailable", revoked_cert(), crl)
    assert word in e.detail
    refused("crl_unavailable", good_cert(), crl)
    # a complete CRL beside it decides
    refused("cert_revoked", revoked_cert(), crl, complete(revocation(revoked_cert())))
    admitted(good_cert(), crl, complete(revocation(revoked_cert())))


# --- freshness (already right before: pinned here) -------------------------------------------


def test_only_a_crl_current_at_the_time_or_issued_later_tells_the_status():
    crl = complete(revocation(revoked_cert()))  # thisUpdate T - 1 h, nextUpdate T + 1 day
    admitted(good_cert(), crl, at=T - timedelta(hours=1))  # thisUpdate = the time: current
    refused("crl_unavailable", good_cert(), crl, at=T + timedelta(days=1))  # = nextUpdate
    refused("crl_unavailable", good_cert(), crl, at=T + timedelta(days=2))  # lapsed
    # issued after the time (an auditor's later CRL): every revocation dated at or before
    # the time is in it, since the certificate had not expired (and dropped out) yet
    later = complete(
        revocation(revoked_cert()),
        this_update=T + timedelta(days=2),
        next_update=T + timedelta(days=3),
    )
    admitted(good_cert(), later)
    refused("cert_revoked", revoked_cert(), later)
    # ... but not one issued after the certificate expired
    not_after = x509.load_der_x509_certificate(good_cert()).not_valid_after_utc
    after_expiry = complete(
        this_update=not_after + timedelta(days=1), next_update=not_after + timedelta(days=2)
    )
    refused("crl_unavailable", good_cert(), after_expiry)
    # a delta CRL issued later is no more complete than a current one
    later_delta = mint(
        [],
        [(x509.DeltaCRLIndicator(10), True)],
        this_update=T + timedelta(days=2),
        next_update=T + timedelta(days=3),
    )
    refused("crl_unavailable", revoked_cert(), later_delta)
