"""The JPKI gate: the stand-in CA and cards, every refusal reason, the address rule,
revocation at the receipt time, re-voting and renewal, the evidence store, the J-LIS roots.

RSA keys are generated once per session (KEYS) and reused, so the suite stays fast.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import pathlib
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from bulletin.auth import Refusal, pseudonym
from bulletin.clock import FixedClock
from bulletin.jpki import (
    JLIS_ROOTS,
    POLICY_PRODUCTION,
    POLICY_TEST,
    REASONS,
    AddressRule,
    DirectoryEvidenceStore,
    JpkiAuthenticator,
    JpkiConfigError,
    JpkiRefusal,
    MemoryNonceStore,
    TrustConfig,
    check_certificate,
    digest_info,
    jlis_anchor_paths,
    jlis_anchors,
    load_anchors,
    load_crl,
    parse_certificate,
    person_id,
    reverify,
    signed_message,
)
from bulletin.jpki.certs import OID_ADDRESS, OID_BIRTH, OID_NAME, SAN_ORDER
from bulletin.jpki.evidence import (
    Evidence,
    EvidenceError,
    MemoryEvidenceStore,
    audit,
    export,
    read_export,
)
from e2e import codec
from e2e.board import BoardEntry
from sim.testca import (
    CardLocked,
    SimulatedCard,
    TestCA,
    TestCAError,
    WrongPassword,
    fifth_birthday_after,
    fullwidth_address,
    jlis_style_name,
    sign_submission,
)

JST = timezone(timedelta(hours=9))
T = datetime(2025, 3, 1, 12, 0, tzinfo=JST)  # the receipt time of most tests
ISSUED = datetime(2024, 6, 1, tzinfo=JST)
H_E = bytes(range(32))
CODE = bytes(range(32, 64))
PKEY = b"k" * 32
#: The J-LIS roots the package ships (docs/jpki.md lists the same), by file.
JLIS_FINGERPRINTS = {
    "sign_ca_2015.pem": "19645405A1FE14377434BD55957628AC4038557C542403A2243F21C706FC9355",
    "sign_ca_2023.pem": "D227F6CDE11D35C5252178F106F843D24651944975413B539FA2FB68DBFA365F",
}
ROOT = pathlib.Path(__file__).resolve().parents[2]
HANAKO = dict(
    name="筑波　花子", birth="319800217", sex="2", address="茨城県つくば市研究学園一丁目1番地1"
)


@functools.cache
def key(i: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ca(i: int = 0) -> TestCA:
    """Stand-in CAs 0 and 1 are configured (same subject name); 2 is a rogue (same name too)."""
    return TestCA.create(not_before=datetime(2023, 1, 1, tzinfo=JST), key=key(100 + i))


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def issue(authority: TestCA | None = None, k: int = 0, **kw) -> bytes:
    fields = {**HANAKO, "issued": ISSUED, "key": key(k), **kw}
    return der((authority or ca(0)).issue(**fields))


def fresh_crl(authority: TestCA | None = None, at: datetime = T, **kw) -> bytes:
    return (authority or ca(0)).crl(at - timedelta(hours=1), at + timedelta(days=1), **kw)


def config(*crls: bytes, policies=(POLICY_PRODUCTION,), rule=("茨城県つくば市",), **kw):
    anchors = load_anchors(ca(0).pem) + load_anchors(ca(1).pem)
    if not crls:
        crls = (fresh_crl(ca(0)), fresh_crl(ca(1)))
    return TrustConfig.build(anchors, [load_crl(c, anchors) for c in crls], policies, rule, **kw)


@functools.cache
def default_config() -> TrustConfig:
    return config()


def refused(
    code: str, cert: bytes, cfg: TrustConfig | None = None, at: datetime = T
) -> JpkiRefusal:
    with pytest.raises(JpkiRefusal) as e:
        check_certificate(cert, cfg or default_config(), at)
    assert e.value.code == code, e.value
    return e.value


# --- the stand-in CA's certificates --------------------------------------------------------


def test_certificate_has_the_jpki_shape():
    cert = parse_certificate(issue())
    h = cert.holder
    assert h is not None
    assert h.address == "茨城県つくば市研究学園一丁目１番地１"  # full-width digits
    assert h.address_flags == "0" * len(h.address)
    assert h.name == "筑波　花子" and h.name_flags == "00000"
    assert [oid for oid, _ in cert.san] == list(SAN_ORDER)
    assert cert.policies == (POLICY_PRODUCTION,) and cert.policies_critical
    assert cert.key_usage == {"digital_signature", "non_repudiation"}
    assert "JPKI for digital signature" in cert.issuer_text
    x = x509.load_der_x509_certificate(der_bytes := issue())
    assert x.issuer == jlis_style_name()
    assert [a.value for a in x.subject][:3] == ["JP", "Ibaraki-ken", "Tsukuba-shi"]
    assert x.not_valid_after_utc == datetime(2029, 2, 17, 14, 59, 59, tzinfo=UTC)
    assert x.extensions.get_extension_for_class(x509.CertificatePolicies).critical
    ian = x.extensions.get_extension_for_class(x509.IssuerAlternativeName).value
    assert "公的個人認証サービス" in str(ian)
    # otherName: [0] { OID, [0] EXPLICIT UTF8String }
    san = x.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    first = list(san)[0]
    assert first.type_id.dotted_string == OID_NAME
    assert first.value[0] == 0x0C  # UTF8String
    assert len(der_bytes) < 2000


def test_validity_runs_to_the_fifth_birthday():
    assert fifth_birthday_after("319800217", ISSUED) == datetime(
        2029, 2, 17, 23, 59, 59, tzinfo=JST
    )
    # issued on the birthday itself: the next one is a year later
    day = datetime(2024, 2, 17, 10, tzinfo=JST)
    assert fifth_birthday_after("319800217", day).year == 2029
    assert fifth_birthday_after("420000229", ISSUED).date().isoformat() == "2029-03-01"


def test_a_valid_certificate_is_eligible():
    v = check_certificate(issue(), default_config(), T)
    assert v.prefix == "茨城県つくば市" and v.revocation_checked
    assert v.anchor.fingerprint == load_anchors(ca(0).pem)[0].fingerprint


def test_anchor_chosen_by_signature_among_same_names():
    assert ca(0).certificate.subject == ca(1).certificate.subject
    v = check_certificate(issue(ca(1)), default_config(), T)
    assert v.anchor.fingerprint == load_anchors(ca(1).pem)[0].fingerprint


# --- every refusal reason --------------------------------------------------------------------


def test_cert_malformed():
    good = issue()
    for bad in (b"", b"\x30\x03\x02\x01", good[:-10], good + b"\x00", b"not a certificate" * 3):
        refused("cert_malformed", bad)
    refused("cert_malformed", b"x" * 100_000)


def test_cert_unsupported_key_ec():
    cert = issue(key=ec.generate_private_key(ec.SECP256R1()))
    e = refused("cert_unsupported_key", cert)
    assert "ec" in e.detail


def test_cert_unsupported_key_rsa_3072():
    big = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    refused("cert_unsupported_key", issue(key=big))


def test_cert_unsupported_algorithm():
    refused("cert_unsupported_algorithm", issue(signature_hash=hashes.SHA384()))


def test_cert_untrusted_rogue_ca_with_the_same_name():
    assert ca(2).certificate.subject == ca(0).certificate.subject
    refused("cert_untrusted", issue(ca(2)))


def test_cert_untrusted_when_the_root_had_expired():
    old = TestCA.create(not_before=datetime(2014, 1, 1, tzinfo=JST), years=11, key=key(110))
    anchors = load_anchors(old.pem)
    crl = load_crl(fresh_crl(old), anchors)
    cfg = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    cert = issue(old)
    e = refused("cert_untrusted", cert, cfg)
    assert "not valid" in e.detail
    earlier = datetime(2024, 12, 1, tzinfo=JST)
    crl = load_crl(fresh_crl(old, earlier), anchors)
    cfg = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    check_certificate(cert, cfg, earlier)
    assert "not valid" in e.detail


def test_cert_not_yet_valid():
    refused("cert_not_yet_valid", issue(issued=T + timedelta(days=1)))


def test_cert_expired():
    refused("cert_expired", issue(not_after=T - timedelta(seconds=1)))


def test_cert_key_usage():
    refused("cert_key_usage", issue(key_usage=("digital_signature",)))
    refused("cert_key_usage", issue(key_usage=("content_commitment",)))


def test_cert_policy():
    refused("cert_policy", issue(policies=(POLICY_TEST,)))
    refused("cert_policy", issue(policies_critical=False))
    # an administrator may accept the test-card policy (demo)
    cfg = config(policies=(POLICY_PRODUCTION, POLICY_TEST))
    check_certificate(issue(policies=(POLICY_TEST,)), cfg, T)


def test_cert_profile():
    fields = dict(
        zip(
            SAN_ORDER,
            ["筑波　花子", "319800217", "2", "茨城県つくば市", "00000", "0" * 7],
            strict=True,
        )
    )
    missing = [(o, t) for o, t in fields.items() if o != OID_ADDRESS]
    refused("cert_profile", issue(san=missing))
    twice = [*fields.items(), (OID_BIRTH, "319800217")]
    refused("cert_profile", issue(san=twice))
    bad_birth = [(o, "S55.2.17" if o == OID_BIRTH else t) for o, t in fields.items()]
    refused("cert_profile", issue(san=bad_birth))
    refused("cert_profile", issue(is_ca=True))
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5"), b"\x05\x00")
    refused("cert_profile", issue(extra_extensions=[(unknown, True)]))
    # a non-critical unknown extension is fine
    check_certificate(issue(extra_extensions=[(unknown, False)]), default_config(), T)


def test_cert_revoked_before_the_receipt_time():
    authority = TestCA.create(not_before=datetime(2023, 1, 1, tzinfo=JST), key=key(111))
    cert = issue(authority)
    authority.revoke(parse_certificate(cert).serial, T - timedelta(days=3), "affiliation_changed")
    anchors = load_anchors(authority.pem)
    crl = load_crl(fresh_crl(authority), anchors)
    cfg = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    refused("cert_revoked", cert, cfg)
    # ... but a ballot received before the revocation counted
    check_certificate(cert, cfg, T - timedelta(days=4))


def test_revoked_after_the_receipt_time_still_counts():
    authority = TestCA.create(not_before=datetime(2023, 1, 1, tzinfo=JST), key=key(112))
    cert = issue(authority)
    serial = parse_certificate(cert).serial
    anchors = load_anchors(authority.pem)
    before = load_crl(fresh_crl(authority), anchors)  # at T: not revoked
    authority.revoke(serial, T + timedelta(days=2), "affiliation_changed")  # moved away
    later = load_crl(fresh_crl(authority, T + timedelta(days=5)), anchors)
    for crls in ([before], [later], [before, later]):
        cfg = TrustConfig.build(anchors, crls, address_prefixes=["茨城県つくば市"])
        check_certificate(cert, cfg, T)  # eligible when the ballot arrived
        if crls != [before]:
            refused("cert_revoked", cert, cfg, at=T + timedelta(days=3))


def test_a_later_crl_reveals_a_revocation_the_gate_did_not_know():
    authority = TestCA.create(not_before=datetime(2023, 1, 1, tzinfo=JST), key=key(113))
    cert = issue(authority)
    anchors = load_anchors(authority.pem)
    stale_but_current = load_crl(fresh_crl(authority), anchors)
    authority.revoke(parse_certificate(cert).serial, T - timedelta(hours=1), "key_compromise")
    later = load_crl(fresh_crl(authority, T + timedelta(days=1)), anchors)
    live = TrustConfig.build(anchors, [stale_but_current], address_prefixes=["茨城県つくば市"])
    check_certificate(cert, live, T)
    audited = TrustConfig.build(
        anchors, [stale_but_current, later], address_prefixes=["茨城県つくば市"]
    )
    refused("cert_revoked", cert, audited)


def test_crl_unavailable():
    cert = issue()
    anchors = load_anchors(ca(0).pem)
    stale = ca(0).crl(T - timedelta(days=3), T - timedelta(days=1))
    refused("crl_unavailable", cert, config(stale))
    refused("crl_unavailable", cert, config(fresh_crl(ca(1))))  # another root's CRL
    cfg = TrustConfig.build(anchors, [], address_prefixes=["茨城県つくば市"])
    refused("crl_unavailable", cert, cfg)
    no_crl = TrustConfig.build(anchors, [], address_prefixes=["茨城県つくば市"], require_crl=False)
    assert not check_certificate(cert, no_crl, T).revocation_checked


def test_crl_scope_by_distribution_point():
    other = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Mito-shi CRLDP")])
    refused("crl_unavailable", issue(), config(fresh_crl(scope=other)))
    ours = (
        x509.load_der_x509_certificate(issue())
        .extensions.get_extension_for_class(x509.CRLDistributionPoints)
        .value[0]
        .full_name[0]
        .value
    )
    check_certificate(issue(), config(fresh_crl(scope=ours)), T)


def test_address_not_eligible_prefix_traps():
    for address in (
        "茨城県つくばみらい市小絹1番地",
        "東京都千代田区丸の内一丁目つくば市ビル3階",
        "茨城県土浦市つくば市場通り1",
        "つくば市研究学園1",
        "茨城県　つくばみらい市1",
    ):
        refused("address_not_eligible", issue(address=address))


def test_address_full_and_half_width():
    for address in ("茨城県つくば市研究学園1-2-3", "茨城県つくば市研究学園１－２－３"):
        for fullwidth in (True, False):
            v = check_certificate(issue(address=address, fullwidth=fullwidth), default_config(), T)
            assert v.prefix == "茨城県つくば市"
    # white space and compatibility forms in the certificate or in the rule
    check_certificate(issue(address="茨城県　つくば市 吾妻1"), default_config(), T)
    cfg = config(rule=("茨城県 つくば市",))
    check_certificate(issue(), cfg, T)


def test_address_substitute():
    address = fullwidth_address("茨城県つくば市研究学園1")
    inside = "0" * 5 + "1" + "0" * (len(address) - 6)
    refused("address_substitute", issue(address=address, address_flags=inside))
    refused("address_substitute", issue(address=address, address_flags="0" * 3))
    refused("address_substitute", issue(address=address, address_flags="2" * len(address)))
    outside = "0" * (len(address) - 2) + "10"
    check_certificate(issue(address=address, address_flags=outside), default_config(), T)


def test_address_rule_configuration():
    for bad in ("つくば市", "茨城県つくば", "", "Tsukuba"):
        with pytest.raises(JpkiConfigError):
            AddressRule([bad])
    with pytest.raises(JpkiConfigError):
        AddressRule([])
    rule = AddressRule(["茨城県つくば市", "茨城県土浦市"])
    assert rule.check("茨城県土浦市大手町1", "0" * 10) == "茨城県土浦市"


# --- configuration errors ------------------------------------------------------------------


def test_crl_with_a_bad_signature_is_a_configuration_error():
    anchors = load_anchors(ca(0).pem)
    forged = ca(0).crl(T, T + timedelta(days=1), signer=key(120))
    with pytest.raises(JpkiConfigError, match="not signed"):
        load_crl(forged, anchors)
    with pytest.raises(JpkiConfigError):
        load_crl(b"\x30\x00garbage", anchors)


def test_a_leaf_is_not_an_anchor():
    with pytest.raises(JpkiConfigError, match="not a CA"):
        load_anchors(issue())
    with pytest.raises(JpkiConfigError):
        load_anchors(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(JpkiConfigError):
        TrustConfig.build([])


# --- the real J-LIS roots --------------------------------------------------------------------


def test_jlis_roots_load_as_anchors():
    roots = jlis_anchors()  # the package's own copies, not a folder beside the checkout
    assert len(roots) == 2
    assert [r.fingerprint for r in roots] == list(JLIS_FINGERPRINTS.values())
    assert roots[0].not_before == datetime(2015, 10, 20, 2, 40, 28, tzinfo=UTC)
    assert roots[0].not_after == datetime(2025, 10, 19, 14, 59, 59, tzinfo=UTC)
    assert roots[1].not_before == datetime(2023, 7, 16, 0, 50, 27, tzinfo=UTC)
    assert all(r.crl_sign for r in roots)
    assert roots[0].subject == roots[1].subject
    assert "JPKI for digital signature" in roots[0].subject_text
    assert roots[1].fingerprint.startswith("D227F6CD") and roots[1].fingerprint.endswith("DBFA365F")
    assert roots[1].not_after.year == 2033
    cfg = TrustConfig.build(roots, address_prefixes=["茨城県つくば市"])
    refused("cert_untrusted", issue(), cfg)  # a stand-in certificate is not J-LIS's


def test_jlis_roots_are_shipped_as_package_data_and_documented():
    import tomllib

    paths = jlis_anchor_paths()
    assert [p.name for p in paths] == list(JLIS_ROOTS) == list(JLIS_FINGERPRINTS)
    for path in paths:
        (anchor,) = load_anchors(path.read_bytes())
        assert anchor.fingerprint == JLIS_FINGERPRINTS[path.name]
        assert path.parent == ROOT / "bulletin" / "jpki" / "anchors"
    # an installed package carries them too (pyproject's package data)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["bulletin.jpki"]
    package = ROOT / "bulletin" / "jpki"
    shipped = {p for g in globs for p in package.glob(g)}
    assert set(paths) <= shipped
    # docs/jpki.md shows each fingerprint as `openssl x509 -fingerprint -sha256` prints it
    docs = (ROOT / "docs" / "jpki.md").read_text(encoding="utf-8")
    for fp in JLIS_FINGERPRINTS.values():
        assert ":".join(fp[i : i + 2] for i in range(0, 64, 2)) in docs


# --- the signed submission ---------------------------------------------------------------


def card(k: int = 0, cert: bytes | None = None, **kw) -> SimulatedCard:
    return SimulatedCard.create(key(k), cert or issue(k=k, **kw), "ABC123", iterations=10)


def gate(cfg: TrustConfig | None = None, evidence=None, at: datetime = T):
    return JpkiAuthenticator(
        cfg or default_config(),
        PKEY,
        H_E,
        MemoryNonceStore(),
        evidence if evidence is not None else MemoryEvidenceStore(),
        FixedClock(at),
    )


def cast(g: JpkiAuthenticator, c: SimulatedCard, code: bytes = CODE, challenge=None) -> str:
    ch = challenge or g.new_nonce().value
    return g.authenticate(sign_submission(c, "ABC123", H_E, code, ch), code)


def test_signed_message_and_digest_info():
    m = signed_message(H_E, CODE, b"\x01" * 32)
    assert m == b"tohyo/jpki/ballot/v1\x00" + H_E + CODE + b"\x01" * 32
    with pytest.raises(ValueError):
        signed_message(H_E, CODE, b"short")
    c = card()
    sig = c.sign(digest_info(m), "ABC123")
    # the card's raw PKCS#1 operation is an ordinary sha256WithRSAEncryption signature of M
    key(0).public_key().verify(sig, m, padding.PKCS1v15(), hashes.SHA256())


def test_authenticate_returns_the_pseudonym_and_stores_evidence():
    store = MemoryEvidenceStore()
    g = gate(evidence=store)
    voter = cast(g, card())
    holder = parse_certificate(issue()).holder
    assert voter == pseudonym(PKEY, person_id(holder))
    (ev,) = list(store)
    assert ev.pseudonym == voter and ev.confirmation_code == CODE and ev.received_at == T
    reverify(ev, default_config(), PKEY)


def test_signature_invalid():
    g = gate()
    c = card()
    ch = g.new_nonce().value
    auth = sign_submission(c, "ABC123", H_E, CODE, ch)
    with pytest.raises(JpkiRefusal) as e:
        g.authenticate(auth, bytes(32))  # another ballot
    assert e.value.code == "signature_invalid"
    other = sign_submission(card(1), "ABC123", H_E, CODE, ch)
    with pytest.raises(JpkiRefusal) as e:
        g.authenticate({**other, "certificate": auth["certificate"]}, CODE)
    assert e.value.code == "signature_invalid"
    wrong_election = sign_submission(c, "ABC123", bytes(32), CODE, ch)
    with pytest.raises(JpkiRefusal) as e:
        g.authenticate(wrong_election, CODE)
    assert e.value.code == "signature_invalid"
    # the challenge was not burnt by the failures
    assert g.authenticate(auth, CODE)


def test_unsupported_key_through_the_gate():
    ec_cert = issue(key=ec.generate_private_key(ec.SECP256R1()))
    g = gate()
    auth = {
        "certificate": base64.b64encode(ec_cert).decode(),
        "signature": base64.b64encode(b"\x30" * 70).decode(),
        "challenge": g.new_nonce().value.hex(),
    }
    with pytest.raises(JpkiRefusal) as e:
        g.authenticate(auth, CODE)
    assert e.value.code == "cert_unsupported_key"


def test_auth_malformed():
    g = gate()
    good = sign_submission(card(), "ABC123", H_E, CODE, g.new_nonce().value)
    for auth in (
        None,
        [],
        "token",
        {},
        {**good, "certificate": 5},
        {**good, "certificate": "%%%"},
        {**good, "signature": ""},
        {**good, "signature": "A" * 5000},
        {**good, "challenge": "00"},
        {**good, "challenge": "zz" * 32},
        {**good, "challenge": None},
    ):
        with pytest.raises(JpkiRefusal) as e:
            g.authenticate(auth, CODE)
        assert e.value.code == "auth_malformed"
        assert e.value.general == "malformed"


def test_challenges_are_single_use():
    g = gate()
    c = card()
    ch = g.new_nonce().value
    first = cast(g, c, challenge=ch)
    assert cast(g, c, challenge=ch) == first  # the board's retry of the same ballot
    with pytest.raises(JpkiRefusal) as e:
        cast(g, c, code=bytes(32), challenge=ch)  # the same challenge for another ballot
    assert e.value.code == "challenge_used"
    with pytest.raises(JpkiRefusal) as e:
        cast(g, c, challenge=os.urandom(32))
    assert e.value.code == "challenge_unknown"


def test_a_strangers_submission_does_not_burn_the_voters_challenge():
    authority = TestCA.create(not_before=datetime(2023, 1, 1, tzinfo=JST), key=key(116))
    revoked = issue(authority, k=6)
    authority.revoke(parse_certificate(revoked).serial, T - timedelta(days=1))
    anchors = load_anchors(ca(0).pem) + load_anchors(authority.pem)
    crls = [load_crl(fresh_crl(ca(0)), anchors), load_crl(fresh_crl(authority), anchors)]
    store = MemoryEvidenceStore()
    g = gate(TrustConfig.build(anchors, crls, address_prefixes=["茨城県つくば市"]), store)
    ch = g.new_nonce().value  # a stranger sees it in the voter's signing-request link
    for reason, cert in (
        ("cert_untrusted", issue(k=6, signer=key(6))),  # self-signed: it signs with its key
        ("cert_untrusted", issue(ca(2), k=6)),  # another CA with J-LIS's name
        ("cert_revoked", revoked),
        ("address_not_eligible", issue(k=6, address="茨城県つくばみらい市1")),
    ):
        with pytest.raises(JpkiRefusal) as e:
            cast(g, card(6, cert), code=bytes(32), challenge=ch)  # the stranger's own ballot
        assert e.value.code == reason
    assert not list(store)
    voter = cast(g, card(), challenge=ch)  # the voter's own submission is still admitted
    assert [ev.challenge for ev in store] == [ch]
    assert cast(g, card(), challenge=ch) == voter  # and so is its retry
    with pytest.raises(JpkiRefusal) as e:  # now it is spent, even for an eligible card
        cast(g, card(1, issue(k=1, name="筑波　太郎")), code=bytes(32), challenge=ch)
    assert e.value.code == "challenge_used"


def test_an_expired_or_unknown_challenge_is_refused_after_the_checks():
    g = gate()
    ch = g.new_nonce().value
    auth = sign_submission(card(), "ABC123", H_E, CODE, ch)
    with pytest.raises(JpkiRefusal) as e:
        g.authenticate_ballot(auth, CODE, T + timedelta(minutes=11))
    assert e.value.code == "challenge_expired"
    unknown = sign_submission(card(), "ABC123", H_E, CODE, b"\x05" * 32)
    with pytest.raises(JpkiRefusal) as e:
        g.authenticate(unknown, CODE)
    assert e.value.code == "challenge_unknown"


def test_challenge_expired():
    store = MemoryNonceStore(ttl=timedelta(minutes=10))
    ch = store.issue(T)
    with pytest.raises(JpkiRefusal) as e:
        store.redeem(ch.value, CODE, T + timedelta(minutes=11))
    assert e.value.code == "challenge_expired"
    assert ch.as_json()["challenge"] == ch.value.hex()


def test_revoting_with_the_same_card():
    g = gate()
    c = card()
    assert cast(g, c, CODE) == cast(g, c, bytes(32)) == cast(g, c, b"\x07" * 32)


def test_renewed_certificate_is_the_same_person():
    g = gate()
    first = cast(g, card(0))
    renewed = issue(k=1, issued=datetime(2025, 2, 25, tzinfo=JST))  # new key, serial, CA gen.
    second = cast(g, card(1, renewed))
    assert first == second
    assert parse_certificate(issue(k=0)).serial != parse_certificate(renewed).serial
    from_other_root = issue(ca(1), k=2)
    assert cast(g, card(2, from_other_root)) == first


def test_different_people_have_different_pseudonyms():
    g = gate()
    first = cast(g, card(0))
    for change in (
        {"name": "筑波　太郎"},
        {"birth": "319800218"},
        {"address": "茨城県つくば市研究学園一丁目1番地2"},  # a move: the old cert is revoked
    ):
        assert cast(g, card(1, issue(k=1, **change))) != first


def test_person_id_normalises():
    a = parse_certificate(issue(address="茨城県つくば市吾妻1-2")).holder
    b = parse_certificate(issue(address="茨城県つくば市吾妻1-2", fullwidth=False)).holder
    assert a != b and person_id(a) == person_id(b)


def test_refusals_are_board_refusals_and_carry_no_personal_data():
    e = refused("address_not_eligible", issue(address="茨城県つくばみらい市1"))
    assert isinstance(e, Refusal)
    doc = e.as_json()
    assert doc["error"] == "address_not_eligible" and doc["message"]["ja"]
    text = json.dumps(doc, ensure_ascii=False) + str(e) + repr(e)
    for secret in ("筑波", "花子", "みらい", "19800217"):
        assert secret not in text
    assert "筑波" not in repr(parse_certificate(issue())) + repr(parse_certificate(issue()).holder)
    assert set(REASONS) >= {
        "auth_malformed",
        "cert_malformed",
        "cert_unsupported_key",
        "cert_unsupported_algorithm",
        "cert_untrusted",
        "cert_not_yet_valid",
        "cert_expired",
        "cert_key_usage",
        "cert_policy",
        "cert_profile",
        "cert_revoked",
        "crl_unavailable",
        "address_not_eligible",
        "address_substitute",
        "signature_invalid",
        "challenge_unknown",
        "challenge_expired",
        "challenge_used",
    }
    for general, ja, en in REASONS.values():
        assert general in {"malformed", "unauthenticated", "not_eligible"} and ja and en


def test_gate_refusals_store_no_evidence():
    store = MemoryEvidenceStore()
    g = gate(evidence=store)
    with pytest.raises(JpkiRefusal):
        cast(g, card(1, issue(k=1, address="茨城県つくばみらい市1")))
    assert not list(store)


# --- the simulated card -----------------------------------------------------------------


def test_card_locks_after_five_wrong_passwords(tmp_path):
    path = tmp_path / "card.json"
    c = SimulatedCard.create(key(0), issue(), "ABC123", path=path, iterations=10)
    info = digest_info(b"m")
    for left in (4, 3, 2, 1):
        with pytest.raises(WrongPassword) as e:
            c.sign(info, "WRONG1")
        assert e.value.tries_left == left
    c.sign(info, "ABC123")  # a right password resets the count
    assert c.tries_left == 5
    for _ in range(4):
        with pytest.raises(WrongPassword):
            c.sign(info, "WRONG1")
    with pytest.raises(CardLocked):
        c.sign(info, "WRONG1")
    with pytest.raises(CardLocked):
        c.sign(info, "ABC123")  # locked for good
    reloaded = SimulatedCard.load(path)
    assert reloaded.locked
    with pytest.raises(CardLocked):
        reloaded.sign(info, "ABC123")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "ABC123" not in path.read_text()


def test_card_password_rules():
    for bad in ("ABC12", "A" * 17, "abc123", "ABC 123", "ＡＢＣ１２３"):
        with pytest.raises(TestCAError):
            SimulatedCard.create(key(0), issue(), bad, iterations=10)
    SimulatedCard.create(key(0), issue(), "A" * 16, iterations=10)


def test_ca_on_disk(tmp_path):
    authority = TestCA.create(not_before=ISSUED, key=key(114), path=tmp_path / "ca")
    cert = authority.issue(**HANAKO, issued=ISSUED, key=key(0))
    authority.revoke(cert.serial_number, T)
    loaded = TestCA.load(tmp_path / "ca")
    assert loaded.state["revoked"] and loaded.der == authority.der
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600
    with pytest.raises(TestCAError):
        TestCA.create(not_before=ISSUED, key=key(114), path=tmp_path / "ca")


# --- the evidence store ------------------------------------------------------------------


def test_directory_evidence_store_and_audit(tmp_path):
    store = DirectoryEvidenceStore(tmp_path / "evidence")
    g = gate(evidence=store)
    c = card()
    ch = g.new_nonce().value
    cast(g, c, challenge=ch)
    cast(g, c, challenge=ch)  # a retry writes nothing new
    cast(g, c, code=bytes(32))
    files = sorted((tmp_path / "evidence").iterdir())
    assert len(files) == 2
    assert stat.S_IMODE((tmp_path / "evidence").stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert all("筑波" not in f.name for f in files)
    out = tmp_path / "export.jsonl"
    assert export(store, out) == 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = audit(read_export(out), default_config(), PKEY)
    assert [x.result for x in lines] == ["ok", "ok"]
    assert [x.result for x in audit(store, default_config(), b"another key" * 3)] == [
        "evidence: the pseudonym does not belong to the certificate's holder"
    ] * 2


def test_audit_flags_tampered_and_revoked_evidence():
    authority = TestCA.create(not_before=datetime(2023, 1, 1, tzinfo=JST), key=key(115))
    anchors = load_anchors(authority.pem)
    cfg = TrustConfig.build(
        anchors, [load_crl(fresh_crl(authority), anchors)], address_prefixes=["茨城県つくば市"]
    )
    store = MemoryEvidenceStore()
    g = gate(cfg, store)
    cast(g, card(3, issue(authority, k=3)))
    cast(g, card(4, issue(authority, k=4, name="筑波　次郎")))
    ev1, ev2 = list(store)
    authority.revoke(parse_certificate(ev1.certificate).serial, T - timedelta(minutes=5))
    later = load_crl(fresh_crl(authority, T + timedelta(days=2)), anchors)
    audited = TrustConfig.build(anchors, [later], address_prefixes=["茨城県つくば市"])
    forged = replace(ev2, confirmation_code=bytes(32), challenge=b"\x09" * 32)
    twice = replace(ev2, confirmation_code=b"\x01" * 32)
    results = [x.result for x in audit([ev1, ev2, forged, twice], audited, PKEY)]
    assert results[:3] == ["cert_revoked", "ok", "signature_invalid"]
    assert results[3].startswith("evidence: a challenge was used for two ballots")
    with pytest.raises(EvidenceError):
        Evidence.from_json({"format": "other"})
    with pytest.raises(EvidenceError):
        Evidence.from_json({**ev1.as_json(), "received_at": "2025-03-01T12:00:00"})


def test_every_cast_ballot_in_a_record_needs_evidence(tmp_path):
    from bulletin.jpki.evidence import check_record

    store = MemoryEvidenceStore()
    g = gate(evidence=store)
    voter = cast(g, card())
    (tmp_path / "board").mkdir()
    (tmp_path / "parameters.json").write_text(json.dumps({"extended_base_hash": H_E.hex()}))

    def entry(i: int, code: bytes, who: str, when: datetime = T) -> str:
        payload = json.dumps({"confirmation_code": code.hex().upper()})
        return codec.encode(BoardEntry(i, "ballot", when.isoformat(), who, payload)).decode()

    entries = [
        codec.encode(BoardEntry(0, "manifest", T.isoformat(), "", "{}")).decode(),
        entry(1, CODE, voter),
        entry(2, bytes(32), voter),  # no evidence
        entry(3, CODE, "0" * 64),  # evidence for another voter
        entry(4, CODE, voter, T - timedelta(hours=1)),  # on the board before it was received
    ]
    (tmp_path / "board" / "entries.jsonl").write_text("\n".join(entries) + "\n")
    lines = audit(store, default_config(), PKEY)
    problems = check_record(tmp_path, list(store), lines)
    assert [p.split(":")[0] for p in problems] == ["entry 2", "entry 3", "entry 4"]
    with pytest.raises(EvidenceError):
        check_record(tmp_path / "nothing", [], [])


def test_new_crls_are_swapped_in():
    anchors = load_anchors(ca(0).pem)
    stale = load_crl(ca(0).crl(T - timedelta(days=3), T - timedelta(days=1)), anchors)
    g = gate(TrustConfig.build(anchors, [stale], address_prefixes=["茨城県つくば市"]))
    with pytest.raises(JpkiRefusal) as e:
        cast(g, card())
    assert e.value.code == "crl_unavailable"
    g.set_crls([stale, load_crl(fresh_crl(), anchors)])
    assert cast(g, card())
