"""The JPKI gate: is this certificate eligible at this time, and did its key sign this ballot?

:func:`check_certificate` is a pure function of the certificate, the configuration and the
receipt time. It returns a :class:`Verdict` or raises :class:`JpkiRefusal`, checking, in
this order (the first failure is the reason):

1. the DER parses (``cert_malformed``);
2. sha256WithRSAEncryption (``cert_unsupported_algorithm``) and an RSA-2048 key with
   e = 65537 (``cert_unsupported_key``);
3. the signature verifies under a configured anchor, chosen by signature since every J-LIS
   generation has the same subject name, and the anchor is valid at the time
   (``cert_untrusted``);
4. validity at the receipt time (``cert_not_yet_valid``, ``cert_expired``);
5. KeyUsage has digitalSignature and nonRepudiation (``cert_key_usage``);
6. a critical certificatePolicies with an accepted OID (``cert_policy``);
7. the JPKI shape: not a CA, no unknown critical extension, the six subjectAltName
   otherNames (``cert_profile``);
8. revocation (``crl_unavailable``, ``cert_revoked``) from complete CRLs only, see
   :func:`check_revocation`;
9. the address rule (``address_not_eligible``, ``address_substitute``).

The signed message (:func:`signed_message`) is defined by the server and binds the
election, the ballot and a single-use challenge:

    M = b"tohyo/jpki/ballot/v1" ∥ 0x00 ∥ H_E (32 bytes) ∥ H_C (32 bytes) ∥ challenge (32 bytes)

The card signs the PKCS#1 v1.5 DigestInfo of SHA-256(M) (:func:`digest_info`), which is an
ordinary sha256WithRSAEncryption signature of M.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bulletin.jpki.address import AddressRule, normalize
from bulletin.jpki.certs import (
    POLICY_PRODUCTION,
    SHA256_RSA,
    Anchor,
    Crl,
    Holder,
    JpkiCertificate,
    parse_certificate,
    rsa_key,
    verify_rsa_sha256,
)
from bulletin.jpki.errors import JpkiConfigError, JpkiRefusal

MESSAGE_DOMAIN = b"tohyo/jpki/ballot/v1\x00"
#: DER prefix of DigestInfo { sha256, NULL } (RFC 8017 §9.2, note 1).
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


@dataclass(frozen=True)
class TrustConfig:
    """What the gate trusts and whom it admits (set by the administrator, not in code)."""

    anchors: tuple[Anchor, ...]
    crls: tuple[Crl, ...] = ()
    policies: frozenset[str] = frozenset({POLICY_PRODUCTION})
    rule: AddressRule | None = None  # None: the address is not checked (`jpki check` only)
    require_crl: bool = True

    def __post_init__(self) -> None:
        if not self.anchors:
            raise JpkiConfigError("configure at least one trust anchor")
        if not self.policies:
            raise JpkiConfigError("configure at least one accepted certificate policy")

    @classmethod
    def build(
        cls,
        anchors: Iterable[Anchor],
        crls: Iterable[Crl] = (),
        policies: Iterable[str] = (POLICY_PRODUCTION,),
        address_prefixes: Iterable[str] | None = None,
        require_crl: bool = True,
    ) -> TrustConfig:
        rule = AddressRule(address_prefixes) if address_prefixes is not None else None
        return cls(tuple(anchors), tuple(crls), frozenset(policies), rule, require_crl)


@dataclass(frozen=True)
class Verdict:
    """An eligible certificate: its anchor, and the area prefix it matched."""

    certificate: JpkiCertificate = field(repr=False)
    anchor: Anchor
    prefix: str | None
    revocation_checked: bool

    @property
    def holder(self) -> Holder:
        assert self.certificate.holder is not None  # checked by the gate
        return self.certificate.holder


def check_certificate(
    certificate: bytes | JpkiCertificate, config: TrustConfig, at: datetime
) -> Verdict:
    """Judge a certificate at the receipt time ``at``: a Verdict, or JpkiRefusal."""
    if at.tzinfo is None:
        raise ValueError("the receipt time needs a time zone")
    cert = (
        certificate if isinstance(certificate, JpkiCertificate) else parse_certificate(certificate)
    )
    if cert.signature_algorithm != SHA256_RSA:
        raise JpkiRefusal("cert_unsupported_algorithm")
    if cert.key_algorithm != "rsa":
        raise JpkiRefusal("cert_unsupported_key", f"{cert.key_algorithm} key")
    assert cert.rsa_numbers is not None
    if cert.key_bits != 2048 or cert.rsa_numbers[1] != 65537:
        raise JpkiRefusal("cert_unsupported_key", f"RSA-{cert.key_bits}")
    anchor = find_anchor(cert, config.anchors, at)
    if at < cert.not_before:
        raise JpkiRefusal("cert_not_yet_valid")
    if at > cert.not_after:
        raise JpkiRefusal("cert_expired")
    if cert.key_usage is None or not {"digital_signature", "non_repudiation"} <= cert.key_usage:
        raise JpkiRefusal("cert_key_usage")
    if cert.policies is None:
        raise JpkiRefusal("cert_policy", "no certificatePolicies")
    if not cert.policies_critical:
        raise JpkiRefusal("cert_policy", "certificatePolicies is not critical")
    if not config.policies & set(cert.policies):
        raise JpkiRefusal("cert_policy", "no accepted policy")
    if cert.is_ca:
        raise JpkiRefusal("cert_profile", "a CA certificate")
    if cert.unknown_critical:
        raise JpkiRefusal("cert_profile", "an unknown critical extension")
    if cert.holder is None:
        raise JpkiRefusal("cert_profile", cert.profile_problem)
    checked = check_revocation(cert, anchor, config.crls, at, config.require_crl)
    prefix = None
    if config.rule is not None:
        prefix = config.rule.check(cert.holder.address, cert.holder.address_flags)
    return Verdict(cert, anchor, prefix, checked)


def find_anchor(cert: JpkiCertificate, anchors: Sequence[Anchor], at: datetime) -> Anchor:
    """The anchor whose key signed the certificate (same names: choose by signature)."""
    expired = False
    for anchor in anchors:
        if anchor.subject != cert.issuer:
            continue
        try:
            signed = verify_rsa_sha256(anchor.key, cert.signature, cert.tbs)
        except ValueError:  # e.g. a signature longer than the modulus
            signed = False
        if not signed:
            continue
        if anchor.not_before <= at <= anchor.not_after:
            return anchor
        expired = True
    if expired:
        raise JpkiRefusal("cert_untrusted", "the issuing root was not valid at that time")
    raise JpkiRefusal("cert_untrusted")


def check_revocation(
    cert: JpkiCertificate,
    anchor: Anchor,
    crls: Sequence[Crl],
    at: datetime,
    required: bool = True,
) -> bool:
    """Was the certificate revoked at or before ``at``? Raises, or returns whether checked.

    Every CRL of the certificate's own anchor whose scope includes it counts: one that lists
    the serial with a revocation date at or before ``at`` refuses (a revocation after ``at``
    does not: the voter was eligible when the ballot arrived). A CRL with an unrecognised
    critical extension, in the CRL or in an entry, is not used at all (RFC 5280 §5.2, §5.3).

    The status at ``at`` is known only from a *complete* CRL (not a delta CRL, not limited
    to some reasons, not indirect: :meth:`Crl.incomplete`) that was fresh then (thisUpdate ≤
    at < nextUpdate), or was issued after ``at`` while the certificate was still unexpired (an
    auditor's later CRL still lists every earlier revocation). A CRL that is not complete
    can only add revocations: its silence proves nothing. Otherwise ``crl_unavailable``
    (fail closed), unless CRLs are not required.
    """
    known = False
    not_used: dict[str, None] = {}  # why some CRLs could not tell the status (for the detail)
    for crl in crls:
        if crl.anchor is not anchor:
            continue
        outside = crl.out_of_scope(cert)
        if outside:
            if outside != "another distribution point":  # the normal case: not worth saying
                not_used[outside] = None
            continue
        entry = crl.revoked.get(cert.serial)
        if entry is not None and entry[1] != "remove_from_crl" and entry[0] <= at:
            raise JpkiRefusal("cert_revoked")
        if crl.this_update <= at < crl.next_update or at <= crl.this_update <= cert.not_after:
            gap = crl.incomplete()
            if gap:
                not_used[gap] = None
            else:
                known = True
    if not known and required:
        detail = "no complete CRL of the issuer was current at the time"
        if not_used:
            detail += f" (unusable or not complete: {', '.join(not_used)})"
        raise JpkiRefusal("crl_unavailable", detail)
    return known


# --- the signed message ------------------------------------------------------------------


def signed_message(h_e: bytes, confirmation_code: bytes, challenge: bytes) -> bytes:
    """The bytes M whose SHA-256 the voter's card signs (module docstring)."""
    for name, value in (("H_E", h_e), ("H_C", confirmation_code), ("challenge", challenge)):
        if len(value) != 32:
            raise ValueError(f"{name} must be 32 bytes")
    return MESSAGE_DOMAIN + h_e + confirmation_code + challenge


def digest_info(message: bytes) -> bytes:
    """The PKCS#1 v1.5 DigestInfo of SHA-256(message): what is handed to the card."""
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(message).digest()


def verify_signature(cert: JpkiCertificate, message: bytes, signature: bytes) -> None:
    """The certificate's key signed ``message`` (RSA PKCS#1 v1.5, SHA-256), or refuse."""
    if cert.rsa_numbers is None:
        raise JpkiRefusal("cert_unsupported_key", f"{cert.key_algorithm} key")
    try:
        key = rsa_key(cert.rsa_numbers)
        ok = len(signature) == key.key_size // 8 and verify_rsa_sha256(key, signature, message)
    except ValueError:
        ok = False
    if not ok:
        raise JpkiRefusal("signature_invalid")


# --- who is the person --------------------------------------------------------------------


def person_id(holder: Holder) -> str:
    """The person behind a certificate, stable across renewal: the 基本4情報.

    Name, birth date, sex and address, normalised (NFKC; white space in the name folded to
    one space, removed from the address). A renewed certificate for unchanged facts gives the
    same identifier; a change of any of them revokes the old certificate (JPKI.md) and the
    new one is a new identifier (docs/jpki.md discusses the consequence). The serial number
    and the subject CN are not used: they change with every certificate.
    """
    name = " ".join(unicodedata.normalize("NFKC", holder.name).split())
    parts = ("jpki-person-v1", name, holder.birth, holder.sex, normalize(holder.address))
    return "\x1f".join(parts)
