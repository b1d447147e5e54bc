"""A stand-in for J-LIS: a CA, certificates shaped like real signing certificates, CRLs,
and simulated cards (for the demo, tests and the browser booth; never for a real vote).

The certificates follow the profile in JPKI.md: the issuer DN in J-LIS's form
(``C=JP, O=JPKI, OU=JPKI for digital signature, OU=…``; every stand-in CA has the same
subject, as every J-LIS generation does), RSA-2048 and sha256WithRSAEncryption, UTCTime
validity to the holder's 5th birthday after issue, a romanised ``L=`` subject, critical
KeyUsage (digitalSignature, nonRepudiation), critical certificatePolicies with a CPS
qualifier, an IssuerAltName ``O=公的個人認証サービス``, a directoryName CRL distribution point,
and the six subjectAltName otherNames in the order of real cards, each
``[0] { OID, [0] EXPLICIT UTF8String }``, with full-width digits and ``－`` in the address.

A :class:`SimulatedCard` holds a key and its certificate and signs a PKCS#1 DigestInfo
(the raw RSA operation on the padded block, as the card does) behind a 6–16 character
password with 5 tries; the 5th wrong password locks it for good.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pathlib
import re
import secrets
import string
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from bulletin.jpki.certs import (
    OID_ADDRESS,
    OID_ADDRESS_FLAGS,
    OID_BIRTH,
    OID_NAME,
    OID_NAME_FLAGS,
    OID_SEX,
    POLICY_PRODUCTION,
    SAN_ORDER,
)
from bulletin.jpki.verify import digest_info, signed_message
from e2e.errors import TohyoError

JST = timezone(timedelta(hours=9))
CA_OU = "tohyo stand-in CA (not J-LIS)"
CPS_URI = "http://www.jpki.go.jp/cps/"  # the shape of a CPS qualifier; not a J-LIS address
CA_FILES = ("ca.key", "ca.pem", "state.json")
REASONS = {r.name: r for r in x509.ReasonFlags}


class TestCAError(TohyoError):
    """The stand-in CA or a simulated card cannot do what was asked."""

    __test__ = False  # not a pytest class


class WrongPassword(TestCAError):
    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong password ({tries_left} tries left)")
        self.tries_left = tries_left


class CardLocked(TestCAError):
    def __init__(self) -> None:
        super().__init__("the card is locked after 5 wrong passwords")


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jlis_style_name(ou: str = CA_OU) -> x509.Name:
    """``C=JP, O=JPKI, OU=JPKI for digital signature, OU=<ou>``: J-LIS's issuer DN form."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for digital signature"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        ]
    )


_FULLWIDTH = str.maketrans({**{c: chr(0xFF10 + int(c)) for c in string.digits}, "-": "－"})


def fullwidth_address(address: str) -> str:
    """ASCII digits and ``-`` as the certificates write them (full-width, ``－``)."""
    return address.translate(_FULLWIDTH)


def fifth_birthday_after(birth: str, issued: datetime) -> datetime:
    """The end (JST) of the holder's 5th birthday after ``issued``; birth is EYYYYMMDD."""
    y, m, d = int(birth[1:5]), int(birth[5:7]), int(birth[7:9])

    def birthday(year: int) -> date:
        try:
            return date(year, m, d)
        except ValueError:  # 29 February in a common year
            return date(year, 3, 1)

    day = issued.astimezone(JST).date()
    year = day.year if birthday(day.year) > day else day.year + 1
    last = birthday(max(year, y) + 4)
    return datetime(last.year, last.month, last.day, 23, 59, 59, tzinfo=JST)


def _utf8(text: str) -> bytes:
    return core.UTF8String(text).dump()


class TestCA:
    """A stand-in signing CA. ``path`` (a directory) keeps its key, certificate and state."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        state: dict[str, Any] | None = None,
        path: pathlib.Path | None = None,
    ) -> None:
        self.key = key
        self.certificate = certificate
        self.state = state or {"issued": {}, "revoked": {}, "crl_number": 0}
        self.path = path

    # --- life cycle ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        not_before: datetime,
        years: int = 10,
        key: rsa.RSAPrivateKey | None = None,
        ou: str = CA_OU,
        path: pathlib.Path | None = None,
    ) -> TestCA:
        key = key or new_key()
        name = jlis_style_name(ou)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        ca = cls(key, cert, path=path)
        if path is not None:
            if any((path / f).exists() for f in CA_FILES):
                raise TestCAError(f"{path} already holds a CA")
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_private(
                path / "ca.key",
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
            (path / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            ca.save()
        return ca

    @classmethod
    def load(cls, path: pathlib.Path) -> TestCA:
        try:
            key = serialization.load_pem_private_key((path / "ca.key").read_bytes(), None)
            cert = x509.load_pem_x509_certificate((path / "ca.pem").read_bytes())
            state = json.loads((path / "state.json").read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise TestCAError(f"{path} does not hold a stand-in CA: {e}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TestCAError("the CA key is not RSA")
        return cls(key, cert, state, path)

    def save(self) -> None:
        if self.path is not None:
            tmp = self.path / "state.json.tmp"
            tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True), "utf-8")
            os.replace(tmp, self.path / "state.json")

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    # --- certificates ----------------------------------------------------------------------

    def issue(
        self,
        *,
        name: str,
        birth: str,
        sex: str,
        address: str,
        issued: datetime,
        not_after: datetime | None = None,
        key: Any = None,
        name_flags: str | None = None,
        address_flags: str | None = None,
        fullwidth: bool = True,
        locality: tuple[str, str] = ("Ibaraki-ken", "Tsukuba-shi"),
        policies: Sequence[str] = (POLICY_PRODUCTION,),
        policies_critical: bool = True,
        key_usage: Iterable[str] = ("digital_signature", "content_commitment"),
        san: Sequence[tuple[str, str]] | None = None,
        extra_extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
        is_ca: bool = False,
        signature_hash: hashes.HashAlgorithm | None = None,
        signer: CertificateIssuerPrivateKeyTypes | None = None,
    ) -> x509.Certificate:
        """A signing certificate for a holder; the keyword overrides make broken ones for tests.

        ``key`` is the holder's private key (a new RSA-2048 key if None); ``key_usage``
        names cryptography's KeyUsage fields (content_commitment is nonRepudiation);
        ``san`` replaces the (OID, text) otherNames; ``signer`` signs instead of the CA.
        """
        if fullwidth:
            address = fullwidth_address(address)
        key = key or new_key()
        if san is None:
            fields = {
                OID_NAME: name,
                OID_NAME_FLAGS: name_flags if name_flags is not None else "0" * len(name),
                OID_SEX: sex,
                OID_BIRTH: birth,
                OID_ADDRESS: address,
                OID_ADDRESS_FLAGS: (
                    address_flags if address_flags is not None else "0" * len(address)
                ),
            }
            san = [(oid, fields[oid]) for oid in SAN_ORDER]
        if not_after is None:
            not_after = fifth_birthday_after(birth, issued)
        usage = set(key_usage)
        ku_fields = (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        )
        flags = {f: f in usage for f in ku_fields}
        issue_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(6).upper()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.LOCALITY_NAME, locality[0]),
                x509.NameAttribute(NameOID.LOCALITY_NAME, locality[1]),
                x509.NameAttribute(NameOID.COMMON_NAME, issue_id),
            ]
        )
        crl_dp = x509.DirectoryName(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI"),
                    x509.NameAttribute(
                        NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for digital signature"
                    ),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "CRL Distribution Points"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, locality[0]),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{locality[1]} CRLDP"),
                ]
            )
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(issued)
            .not_valid_after(not_after)
            .add_extension(
                x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True
            )
            .add_extension(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(x509.ObjectIdentifier(p), [CPS_URI]) for p in policies]
                ),
                critical=policies_critical,
            )
            .add_extension(
                x509.IssuerAlternativeName(
                    [
                        x509.DirectoryName(
                            x509.Name(
                                [
                                    x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                                    x509.NameAttribute(
                                        NameOID.ORGANIZATION_NAME, "公的個人認証サービス"
                                    ),
                                ]
                            )
                        )
                    ]
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.OtherName(x509.ObjectIdentifier(o), _utf8(t)) for o, t in san]
                ),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints([x509.DistributionPoint([crl_dp], None, None, None)]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        if is_ca:
            builder = builder.add_extension(x509.BasicConstraints(True, None), critical=True)
        for ext, critical in extra_extensions:
            builder = builder.add_extension(ext, critical=critical)
        cert = builder.sign(signer or self.key, signature_hash or hashes.SHA256())
        self.state["issued"][f"{cert.serial_number:X}"] = {"not_after": not_after.isoformat()}
        self.save()
        return cert

    def revoke(self, serial: int, at: datetime, reason: str = "affiliation_changed") -> None:
        """Record a revocation (reason: a cryptography ReasonFlags name) for the next CRL."""
        if reason not in REASONS:
            raise TestCAError(f"unknown reason {reason!r}; one of {', '.join(REASONS)}")
        self.state["revoked"][f"{serial:X}"] = {"at": at.isoformat(), "reason": reason}
        self.save()

    def crl(
        self,
        this_update: datetime,
        next_update: datetime,
        *,
        scope: x509.Name | None = None,
        signer: CertificateIssuerPrivateKeyTypes | None = None,
    ) -> bytes:
        """A CRL (DER) listing every revocation recorded so far."""
        self.state["crl_number"] += 1
        self.save()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(self.state["crl_number"]), critical=False)
        )
        if scope is not None:
            builder = builder.add_extension(
                x509.IssuingDistributionPoint(
                    [x509.DirectoryName(scope)], None, False, False, None, False, False
                ),
                critical=True,
            )
        for serial, r in sorted(self.state["revoked"].items()):
            revoked = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial, 16))
                .revocation_date(datetime.fromisoformat(r["at"]))
                .add_extension(x509.CRLReason(REASONS[r["reason"]]), critical=False)
                .build()
            )
            builder = builder.add_revoked_certificate(revoked)
        crl = builder.sign(signer or self.key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.DER)


def _write_private(path: pathlib.Path, data: bytes) -> None:
    """Write a file only its owner can read (created 0600, replaced atomically)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# --- simulated card -------------------------------------------------------------------------

PASSWORD = re.compile(r"^[A-Z0-9]{6,16}$")
CARD_FORMAT = "tohyo-simulated-jpki-card/1"


def _password_hash(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


class SimulatedCard:
    """A key and its certificate behind a signing password: 5 tries, then locked for good."""

    TRIES = 5

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        certificate: bytes,
        password: dict[str, Any],
        tries_left: int = TRIES,
        path: pathlib.Path | None = None,
    ) -> None:
        self._key = key
        self.certificate = certificate
        self._password = password
        self.tries_left = tries_left
        self.path = path

    def __repr__(self) -> str:
        return f"SimulatedCard(tries_left={self.tries_left})"

    @classmethod
    def create(
        cls,
        key: rsa.RSAPrivateKey,
        certificate: x509.Certificate | bytes,
        password: str,
        *,
        path: pathlib.Path | None = None,
        iterations: int = 200_000,
    ) -> SimulatedCard:
        if not PASSWORD.match(password):
            raise TestCAError("the signing password is 6 to 16 capital letters (A-Z) and digits")
        if isinstance(certificate, x509.Certificate):
            certificate = certificate.public_bytes(serialization.Encoding.DER)
        salt = os.urandom(16)
        record = {
            "salt": salt.hex(),
            "iterations": iterations,
            "hash": _password_hash(password, salt, iterations).hex(),
        }
        card = cls(key, certificate, record, path=path)
        card.save()
        return card

    @classmethod
    def load(cls, path: pathlib.Path) -> SimulatedCard:
        try:
            doc = json.loads(path.read_text("utf-8"))
            if doc.get("format") != CARD_FORMAT:
                raise ValueError("not a simulated card file")
            key = serialization.load_pem_private_key(doc["key"].encode(), None)
            cert = base64.b64decode(doc["certificate"], validate=True)
            tries = int(doc["tries_left"])
            password = dict(doc["password"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise TestCAError(f"{path}: not a simulated card ({e})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TestCAError(f"{path}: the card key is not RSA")
        return cls(key, cert, password, tries, path)

    def save(self) -> None:
        if self.path is None:
            return
        key = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        doc = {
            "format": CARD_FORMAT,
            "certificate": base64.b64encode(self.certificate).decode(),
            "key": key.decode(),
            "password": self._password,
            "tries_left": self.tries_left,
        }
        _write_private(self.path, json.dumps(doc, indent=1).encode("utf-8"))

    @property
    def locked(self) -> bool:
        return self.tries_left <= 0

    def _check_password(self, password: str) -> None:
        if self.locked:
            raise CardLocked()
        p = self._password
        given = _password_hash(password, bytes.fromhex(p["salt"]), p["iterations"])
        if hmac.compare_digest(given, bytes.fromhex(p["hash"])):
            self.tries_left = self.TRIES
            self.save()
            return
        self.tries_left -= 1
        self.save()
        if self.locked:
            raise CardLocked()
        raise WrongPassword(self.tries_left)

    def sign(self, digest_info: bytes, password: str) -> bytes:
        """RSA PKCS#1 v1.5 over a DigestInfo the host computed, after the password."""
        self._check_password(password)
        k = self._key.key_size // 8
        if len(digest_info) > k - 11:
            raise TestCAError("the DigestInfo is too long for the key")
        block = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
        numbers = self._key.private_numbers()
        m = int.from_bytes(block, "big")
        # CRT: s = m^d mod n
        s1 = pow(m, numbers.dmp1, numbers.p)
        s2 = pow(m, numbers.dmq1, numbers.q)
        h = (numbers.iqmp * (s1 - s2)) % numbers.p
        s = s2 + h * numbers.q
        return s.to_bytes(k, "big")


def sign_submission(
    card: SimulatedCard,
    password: str,
    h_e: bytes,
    confirmation_code: bytes,
    challenge: bytes,
) -> dict[str, str]:
    """The ``auth`` object of a cast ballot, as the booth builds it with a card."""
    message = signed_message(h_e, confirmation_code, challenge)
    signature = card.sign(digest_info(message), password)
    return {
        "certificate": base64.b64encode(card.certificate).decode(),
        "signature": base64.b64encode(signature).decode(),
        "challenge": challenge.hex(),
    }
