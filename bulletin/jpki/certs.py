"""Parsing of JPKI signing certificates, trust anchors and CRLs (asn1crypto).

Untrusted certificate bytes become a :class:`JpkiCertificate` only through
:func:`parse_certificate`, which reads every field eagerly (asn1crypto parses lazily, so a
malformed field would otherwise surface later as an arbitrary exception) and turns any
parse failure into the refusal ``cert_malformed``. It checks nothing else: the gate's
checks are in :mod:`bulletin.jpki.verify`.

Anchors and CRLs are configuration: a problem with them raises :class:`JpkiConfigError`.
The J-LIS roots ship with the package (``anchors/``, :func:`jlis_anchors`) as the
production default.
"""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from asn1crypto import core, pem
from asn1crypto import crl as acrl
from asn1crypto import x509 as ax
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bulletin.jpki.errors import JpkiConfigError, JpkiRefusal

# --- the JPKI profile (JPKI.md) ------------------------------------------------------------

#: certificatePolicies of signing certificates on real cards, and on J-LIS test cards.
POLICY_PRODUCTION = "1.2.392.200149.8.5.1.1.20"
POLICY_TEST = "1.2.392.200149.8.5.1.0.20"

OID_NAME = "1.2.392.200149.8.5.5.1"
OID_NAME_FLAGS = "1.2.392.200149.8.5.5.2"
OID_SEX = "1.2.392.200149.8.5.5.3"
OID_BIRTH = "1.2.392.200149.8.5.5.4"
OID_ADDRESS = "1.2.392.200149.8.5.5.5"
OID_ADDRESS_FLAGS = "1.2.392.200149.8.5.5.6"
#: The order in which real cards carry the subjectAltName otherNames.
SAN_ORDER = (OID_NAME, OID_BIRTH, OID_SEX, OID_ADDRESS, OID_NAME_FLAGS, OID_ADDRESS_FLAGS)

SHA256_RSA = "1.2.840.113549.1.1.11"
MAX_CERTIFICATE = 16 * 1024

#: Extensions this gate understands; any other critical extension makes a certificate unusable.
_KNOWN_EXTENSIONS = {
    "2.5.29.15",  # keyUsage
    "2.5.29.32",  # certificatePolicies
    "2.5.29.17",  # subjectAltName
    "2.5.29.18",  # issuerAltName
    "2.5.29.19",  # basicConstraints
    "2.5.29.31",  # cRLDistributionPoints
    "2.5.29.35",  # authorityKeyIdentifier
    "2.5.29.14",  # subjectKeyIdentifier
}

ERAS = {"1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}
SEXES = {"1": ("男性", "male"), "2": ("女性", "female"), "9": ("適用不能", "not applicable")}


@dataclass(frozen=True)
class Holder:
    """The holder's basic facts as the certificate records them (personal data)."""

    name: str
    name_flags: str
    sex: str
    birth: str
    address: str
    address_flags: str

    def __repr__(self) -> str:  # never print personal data by accident
        return "Holder(…)"


@dataclass(frozen=True, eq=False)
class JpkiCertificate:
    """A parsed certificate. Everything is read; nothing is checked yet."""

    der: bytes
    tbs: bytes
    signature_algorithm: str
    signature: bytes
    serial: int
    issuer: ax.Name
    issuer_text: str
    subject_text: str
    not_before: datetime
    not_after: datetime
    key_algorithm: str
    key_bits: int
    rsa_numbers: tuple[int, int] | None  # (n, e)
    key_usage: frozenset[str] | None
    policies: tuple[str, ...] | None
    policies_critical: bool
    unknown_critical: tuple[str, ...]
    is_ca: bool
    crl_points: tuple[Any, ...]
    san: tuple[tuple[str, str | None], ...]  # (otherName OID, string or None) in order
    holder: Holder | None = field(repr=False)
    profile_problem: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest().upper()

    def __repr__(self) -> str:  # the serial number leads to a person: not even that
        return "JpkiCertificate(…)"


def unarmor(data: bytes) -> list[bytes]:
    """The DER blocks of PEM data (any number of blocks), or ``[data]`` for DER."""
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            return [der for _, _, der in pem.unarmor(data, multiple=True)]
        except ValueError as e:
            raise ValueError(f"bad PEM: {e}") from None
    return [data]


def _other_names(tbs: ax.TbsCertificate) -> tuple[tuple[str, str | None], ...]:
    out = []
    for ext in tbs["extensions"]:
        if ext["extn_id"].dotted != "2.5.29.17":
            continue
        for gn in ext["extn_value"].parsed:
            if gn.name != "other_name":
                out.append((gn.name, None))
                continue
            value = gn.chosen["value"].parsed
            text = value.native if isinstance(value, core.UTF8String) else None
            out.append((gn.chosen["type_id"].dotted, text))
    return tuple(out)


def _holder(san: tuple[tuple[str, str | None], ...]) -> tuple[Holder | None, str]:
    found: dict[str, str] = {}
    for oid, text in san:
        if oid in SAN_ORDER:
            if oid in found:
                return None, "a subjectAltName field appears twice"
            if text is None:
                return None, "a subjectAltName field is not a UTF8String"
            found[oid] = text
    missing = [oid for oid in SAN_ORDER if oid not in found]
    if missing:
        return None, "the subjectAltName lacks a JPKI field"
    if not found[OID_BIRTH].isascii() or not found[OID_BIRTH].isdigit():
        return None, "the birth date is not digits"
    if len(found[OID_BIRTH]) != 9:
        return None, "the birth date is not EYYYYMMDD"
    return (
        Holder(
            name=found[OID_NAME],
            name_flags=found[OID_NAME_FLAGS],
            sex=found[OID_SEX],
            birth=found[OID_BIRTH],
            address=found[OID_ADDRESS],
            address_flags=found[OID_ADDRESS_FLAGS],
        ),
        "",
    )


def _der_header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes([tag, length])
    n = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(n)]) + n


def _check_outer_der(der: bytes, tbs: Any, algorithm: Any, signature: Any) -> None:
    """The unsigned outer layer of a certificate or CRL must be DER and repeat the signed
    algorithm exactly, so that one signed object has one encoding (RFC 5280 §4.1.1.2)."""
    if algorithm.dump() != tbs["signature"].dump():
        raise ValueError("signatureAlgorithm differs from the signed one")
    if signature.dump() != core.OctetBitString(signature.native).dump():
        raise ValueError("the signature BIT STRING is not DER")
    body = tbs.dump() + algorithm.dump() + signature.dump()
    if der != _der_header(0x30, len(body)) + body:
        raise ValueError("the certificate is not DER")


def _parse(der: bytes) -> JpkiCertificate:
    cert = ax.Certificate.load(der, strict=True)
    tbs = cert["tbs_certificate"]
    _check_outer_der(der, tbs, cert["signature_algorithm"], cert["signature_value"])
    if tbs["version"].native != "v3":
        raise ValueError("not an X.509 v3 certificate")
    spki = tbs["subject_public_key_info"]
    key_algorithm = spki.algorithm
    rsa_numbers = None
    key_bits = 0
    if key_algorithm == "rsa":
        parsed = spki["public_key"].parsed
        n, e = parsed["modulus"].native, parsed["public_exponent"].native
        rsa_numbers = (n, e)
        key_bits = n.bit_length()
    ku = None
    policies = None
    policies_critical = False
    unknown_critical = []
    is_ca = False
    crl_points: list[Any] = []
    for ext in tbs["extensions"]:
        oid = ext["extn_id"].dotted
        critical = bool(ext["critical"].native)
        value = ext["extn_value"].parsed
        if critical and oid not in _KNOWN_EXTENSIONS:
            unknown_critical.append(oid)
        if oid == "2.5.29.15":
            ku = frozenset(value.native)
        elif oid == "2.5.29.32":
            policies = tuple(p["policy_identifier"].dotted for p in value)
            policies_critical = critical
        elif oid == "2.5.29.19":
            is_ca = bool(value["ca"].native)
        elif oid == "2.5.29.31":
            for dp in value:
                if dp["distribution_point"].native is not None:
                    crl_points.append(dp["distribution_point"].native)
    san = _other_names(tbs)
    holder, problem = _holder(san)
    return JpkiCertificate(
        der=der,
        tbs=tbs.dump(),
        signature_algorithm=cert["signature_algorithm"]["algorithm"].dotted,
        signature=cert["signature_value"].native,
        serial=tbs["serial_number"].native,
        issuer=tbs["issuer"],
        issuer_text=tbs["issuer"].human_friendly,
        subject_text=tbs["subject"].human_friendly,
        not_before=tbs["validity"]["not_before"].native,
        not_after=tbs["validity"]["not_after"].native,
        key_algorithm=key_algorithm,
        key_bits=key_bits,
        rsa_numbers=rsa_numbers,
        key_usage=ku,
        policies=policies,
        policies_critical=policies_critical,
        unknown_critical=tuple(unknown_critical),
        is_ca=is_ca,
        crl_points=tuple(crl_points),
        san=san,
        holder=holder,
        profile_problem=problem,
    )


def parse_certificate(data: bytes, *, allow_pem: bool = False) -> JpkiCertificate:
    """Parse a DER certificate (or PEM, for the command line); ``cert_malformed`` if unusable."""
    if not isinstance(data, bytes) or not data:
        raise JpkiRefusal("cert_malformed", "empty")
    if len(data) > MAX_CERTIFICATE:
        raise JpkiRefusal("cert_malformed", "too large")
    try:
        blocks = unarmor(data) if allow_pem else [data]
        if len(blocks) != 1:
            raise ValueError("expected one certificate")
        return _parse(blocks[0])
    except Exception as e:  # asn1crypto raises many kinds of errors on hostile input
        raise JpkiRefusal("cert_malformed", type(e).__name__) from None


def rsa_key(numbers: tuple[int, int]) -> rsa.RSAPublicKey:
    n, e = numbers
    return rsa.RSAPublicNumbers(e, n).public_key()


def verify_rsa_sha256(key: rsa.RSAPublicKey, signature: bytes, data: bytes) -> bool:
    """RSA PKCS#1 v1.5 with SHA-256. (Internal helper: callers raise their own error.)"""
    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# --- trust anchors ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Anchor:
    """A configured root: the J-LIS signing CA (one per generation) or a stand-in CA."""

    der: bytes
    subject: ax.Name
    subject_text: str
    key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime
    crl_sign: bool

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest().upper()

    def __repr__(self) -> str:
        return f"Anchor({self.subject_text}, SHA-256 {self.fingerprint[:16]}…)"


def load_anchors(data: bytes) -> list[Anchor]:
    """Every certificate in a PEM file (or the one in a DER file) as an anchor."""
    try:
        blocks = unarmor(data)
    except ValueError as e:
        raise JpkiConfigError(str(e)) from None
    return [_anchor(der) for der in blocks]


def _anchor(der: bytes) -> Anchor:
    try:
        cert = ax.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        bc = cert.basic_constraints_value
        ku = cert.key_usage_value
        is_ca = bc is not None and bool(bc["ca"].native)
        usages = set(ku.native) if ku is not None else {"key_cert_sign", "crl_sign"}
        algorithm = cert.public_key.algorithm
        numbers = None
        if algorithm == "rsa":
            p = cert.public_key["public_key"].parsed
            numbers = (p["modulus"].native, p["public_exponent"].native)
        sig_alg = cert["signature_algorithm"]["algorithm"].dotted
        result = (
            tbs["subject"],
            tbs["subject"].human_friendly,
            tbs["validity"]["not_before"].native,
            tbs["validity"]["not_after"].native,
        )
        tbs_der, signature = tbs.dump(), cert["signature_value"].native
    except Exception as e:  # asn1crypto raises many kinds of errors on bad input
        raise JpkiConfigError(f"a trust anchor cannot be read ({type(e).__name__})") from None
    if numbers is None:
        raise JpkiConfigError("a trust anchor must have an RSA key")
    if not is_ca or "key_cert_sign" not in usages:
        raise JpkiConfigError(f"{result[1]}: not a CA certificate (basicConstraints, keyUsage)")
    try:
        key = rsa_key(numbers)
    except ValueError:
        raise JpkiConfigError("a trust anchor has an unusable RSA key") from None
    if sig_alg == SHA256_RSA and not verify_rsa_sha256(key, signature, tbs_der):
        raise JpkiConfigError(f"{result[1]}: the self-signature does not verify")
    return Anchor(der, result[0], result[1], key, result[2], result[3], "crl_sign" in usages)


#: The J-LIS signing CA roots shipped in ``bulletin/jpki/anchors/`` (package data), file →
#: SHA-256 of the DER; docs/jpki.md lists their subjects and validity. signca02 (2019–2029)
#: is not among them: the project has no copy whose fingerprint it could check.
JLIS_ROOTS: dict[str, str] = {
    "sign_ca_2015.pem": "19645405A1FE14377434BD55957628AC4038557C542403A2243F21C706FC9355",
    "sign_ca_2023.pem": "D227F6CDE11D35C5252178F106F843D24651944975413B539FA2FB68DBFA365F",
}


def _shipped_roots() -> list[tuple[str, Any]]:
    """(name, Traversable) of each shipped root, as installed (a wheel, or this checkout)."""
    folder = resources.files(__package__) / "anchors"
    return [(name, folder / name) for name in JLIS_ROOTS]


def _checked_root(name: str, data: bytes) -> list[Anchor]:
    # A substituted or damaged file (say, a stand-in CA copied over it) must not become a
    # production anchor: the fingerprints are pinned here as well as in the docs.
    anchors = load_anchors(data)
    if [a.fingerprint for a in anchors] != [JLIS_ROOTS[name]]:
        raise JpkiConfigError(f"the shipped J-LIS root {name} is not the one docs/jpki.md lists")
    return anchors


def jlis_anchor_paths() -> list[pathlib.Path]:
    """The files of the shipped J-LIS roots (checked against their fingerprints), for a
    configuration that takes anchor files: the production default when no ``--anchor``
    is given."""
    paths = []
    for name, item in _shipped_roots():
        path = pathlib.Path(str(item))
        try:
            _checked_root(name, path.read_bytes())
        except OSError:
            raise JpkiConfigError(f"the shipped J-LIS root {name} is missing ({path})") from None
        paths.append(path)
    return paths


def jlis_anchors() -> list[Anchor]:
    """The shipped J-LIS roots (signca01, signca03) as anchors, in :data:`JLIS_ROOTS` order."""
    out = []
    for name, item in _shipped_roots():
        try:
            data = item.read_bytes()
        except OSError:
            raise JpkiConfigError(f"the shipped J-LIS root {name} is missing") from None
        out += _checked_root(name, data)
    return out


# --- CRLs -------------------------------------------------------------------------------------

#: CRL extensions this gate understands (RFC 5280 §5.2). A CRL with any other critical
#: extension is not used at all: its meaning could narrow what the CRL vouches for (§5.2).
_KNOWN_CRL_EXTENSIONS = {
    "2.5.29.35",  # authorityKeyIdentifier
    "2.5.29.18",  # issuerAltName
    "2.5.29.20",  # cRLNumber
    "2.5.29.27",  # deltaCRLIndicator: understood, and it makes the CRL not complete
    "2.5.29.28",  # issuingDistributionPoint
    "2.5.29.46",  # freshestCRL
    "1.3.6.1.5.5.7.1.1",  # authorityInfoAccess
}
#: CRL entry extensions this gate understands (§5.3). Not certificateIssuer (2.5.29.29): the
#: gate does not implement indirect CRLs, so such an entry makes the CRL unusable (§5.3).
_KNOWN_ENTRY_EXTENSIONS = {
    "2.5.29.21",  # reasonCode
    "2.5.29.23",  # holdInstructionCode
    "2.5.29.24",  # invalidityDate
}
#: Every revocation reason of ReasonFlags (RFC 5280 §4.2.1.13) as asn1crypto names them.
_ALL_REASONS = frozenset(
    {
        "key_compromise",
        "ca_compromise",
        "affiliation_changed",
        "superseded",
        "cessation_of_operation",
        "certificate_hold",
        "privilege_withdrawn",
        "aa_compromise",
    }
)


@dataclass(frozen=True, eq=False)
class Crl:
    """A CRL whose signature verified against ``anchor``.

    Only a *complete* CRL (RFC 5280 §6.3.3) can show that a certificate is not revoked:
    one with no unrecognised critical extension (in the CRL or in any entry), not a delta
    CRL, and whose issuingDistributionPoint, if any, names the certificate's distribution
    point, is not limited to CA or attribute certificates or to some reasons, and is not
    indirect. Revocations listed in a usable CRL that is not complete still count.
    """

    anchor: Anchor
    this_update: datetime
    next_update: datetime
    number: int | None
    revoked: dict[int, tuple[datetime, str | None]]  # serial → (revocation date, reason)
    scope: Any  # issuingDistributionPoint's distributionPoint (native), or None: all
    delta_base: int | None = None  # deltaCRLIndicator: changes since that base CRL only
    only: str | None = None  # "user", "ca" or "attribute" (issuingDistributionPoint)
    reasons: frozenset[str] | None = None  # onlySomeReasons (None: every reason)
    indirect: bool = False
    unknown_critical: tuple[str, ...] = ()  # unrecognised critical CRL or entry extensions
    idp_der: bytes = b""  # the issuingDistributionPoint as signed (b"": none), for its kind

    def out_of_scope(self, cert: JpkiCertificate) -> str:
        """Why this CRL says nothing about ``cert`` (its entries do not apply), or ``""``."""
        if self.unknown_critical:
            return "an unrecognised critical extension"  # §5.2, §5.3: MUST NOT be used
        if self.scope is not None and self.scope not in cert.crl_points:
            return "another distribution point"
        if self.only == "ca" and not cert.is_ca:
            return "only CA certificates"
        if self.only == "attribute":
            return "only attribute certificates"
        if self.only == "user" and cert.is_ca:
            return "only user certificates"
        return ""

    def incomplete(self) -> str:
        """Why this CRL (in scope) cannot show a certificate unrevoked, or ``""``."""
        if self.delta_base is not None:
            return "a delta CRL"
        if self.reasons is not None and not self.reasons >= _ALL_REASONS:
            return "only some reasons"
        if self.indirect:
            return "an indirect CRL"  # not implemented: no certificateIssuer processing
        return ""

    def covers(self, cert: JpkiCertificate) -> bool:
        return not self.out_of_scope(cert)

    def __repr__(self) -> str:
        kind = "" if not (self.incomplete() or self.unknown_critical) else ", not complete"
        return f"Crl({self.this_update.isoformat()}, {len(self.revoked)} revoked{kind})"


def _unknown_critical(extensions: Any, known: set[str]) -> list[str]:
    return [
        ext["extn_id"].dotted
        for ext in extensions
        if ext["critical"].native and ext["extn_id"].dotted not in known
    ]


def load_crl(data: bytes, anchors: Sequence[Anchor]) -> Crl:
    """Parse a CRL (DER or PEM) and check its signature against the anchors.

    A CRL that is not complete (a delta CRL, an unrecognised critical extension, a limiting
    issuingDistributionPoint) loads, so that its revocations still count, but never vouches
    for a certificate (:meth:`Crl.incomplete`, :func:`bulletin.jpki.verify.check_revocation`).
    """
    try:
        blocks = unarmor(data)
        if len(blocks) != 1:
            raise ValueError("expected one CRL")
        cl = acrl.CertificateList.load(blocks[0], strict=True)
        tbs = cl["tbs_cert_list"]
        _check_outer_der(blocks[0], tbs, cl["signature_algorithm"], cl["signature"])
        issuer = tbs["issuer"]
        this_update = tbs["this_update"].native
        next_update = tbs["next_update"].native
        sig_alg = cl["signature_algorithm"]["algorithm"].dotted
        signature = cl["signature"].native
        tbs_der = tbs.dump()
        number = cl.crl_number_value.native if cl.crl_number_value is not None else None
        unknown = _unknown_critical(tbs["crl_extensions"], _KNOWN_CRL_EXTENSIONS)
        delta = cl.delta_crl_indicator_value
        delta_base = delta.native if delta is not None else None
        idp = cl.issuing_distribution_point_value
        idp_der = idp.dump() if idp is not None else b""
        scope, only, reasons, indirect = None, None, None, False
        if idp is not None:
            scope = idp["distribution_point"].native
            for field_name, kind in (
                ("only_contains_user_certs", "user"),
                ("only_contains_ca_certs", "ca"),
                ("only_contains_attribute_certs", "attribute"),
            ):
                if idp[field_name].native:
                    if only is not None:  # RFC 5280 §5.2.5: at most one of them
                        raise ValueError("issuingDistributionPoint limits to two kinds")
                    only = kind
            if idp["only_some_reasons"].native is not None:
                reasons = frozenset(idp["only_some_reasons"].native)
            indirect = bool(idp["indirect_crl"].native)
        candidates = [a for a in anchors if a.subject == issuer]
        issuer_text = issuer.human_friendly
        revoked: dict[int, tuple[datetime, str | None]] = {}
        for entry in tbs["revoked_certificates"]:
            unknown += _unknown_critical(entry["crl_entry_extensions"], _KNOWN_ENTRY_EXTENSIONS)
            reason = entry.crl_reason_value.native if entry.crl_reason_value is not None else None
            revoked[entry["user_certificate"].native] = (entry["revocation_date"].native, reason)
    except Exception as e:  # asn1crypto raises many kinds of errors on bad input
        raise JpkiConfigError(f"a CRL cannot be read ({type(e).__name__}: {e})") from None
    if next_update is None:
        raise JpkiConfigError("a CRL without nextUpdate cannot be judged for freshness")
    if this_update.tzinfo is None or next_update.tzinfo is None:  # DER's times end in Z
        raise JpkiConfigError("a CRL's times carry no time zone")
    if sig_alg != SHA256_RSA:
        raise JpkiConfigError(f"CRL signature algorithm {sig_alg} is not sha256WithRSAEncryption")
    for anchor in candidates:
        if verify_rsa_sha256(anchor.key, signature, tbs_der):
            if not anchor.crl_sign:
                raise JpkiConfigError(f"{anchor.subject_text} may not sign CRLs (keyUsage)")
            return Crl(
                anchor,
                this_update,
                next_update,
                number,
                revoked,
                scope,
                delta_base=delta_base,
                only=only,
                reasons=reasons,
                indirect=indirect,
                unknown_critical=tuple(dict.fromkeys(unknown)),
                idp_der=idp_der,
            )
    raise JpkiConfigError(
        f"the CRL of {issuer_text} (thisUpdate {this_update.isoformat()}) is not "
        "signed by any configured anchor"
    )
