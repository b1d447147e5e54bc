"""A trustee's secrets at rest: scrypt (RFC 7914) and AES-256-GCM from ``cryptography``.

The file is JSON: a clear header (format, trustee index, group, KDF parameters and salt)
that is authenticated as associated data, a 96-bit nonce, and the ciphertext of the secrets
(polynomial coefficients, communication secret, received shares, key share). A wrong
passphrase or any change to the file gives :class:`KeystoreError`; nothing secret is ever
printed, logged or written in the clear. Each save uses a fresh salt and nonce.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from e2e.errors import TohyoError
from e2e.group import GROUPS, Group
from e2e.hash import HashValue
from trustees.ceremony import TrusteeSecrets

FORMAT = "tohyo-trustee-key/1"
SCRYPT_N = 2**15  # about 0.1 s and 32 MiB per unlock on this machine
MIN_PASSPHRASE = 12


class KeystoreError(TohyoError):
    """The key file cannot be opened: wrong passphrase, damaged or not a key file."""


class TrusteeKey:
    """An unlocked key file: the trustee's secrets and the election they belong to."""

    def __init__(
        self,
        group: Group,
        h_p: HashValue,
        n: int,
        k: int,
        secrets_: TrusteeSecrets,
        h_b: HashValue | None = None,
    ):
        self.group = group
        self.h_p = h_p
        self.n = n
        self.k = k
        self.secrets = secrets_
        # H_B of the manifest the key was made for: H_P alone names only (group, n, k), so
        # without H_B a trustee could be handed another election's manifest (one naming no
        # board, say) and decrypt it. None in key files written before it was kept.
        self.h_b = h_b

    def __repr__(self) -> str:
        return f"TrusteeKey(trustee {self.secrets.index}, <secrets hidden>)"


def _kdf(passphrase: str, salt: bytes, n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(passphrase.encode("utf-8"))


def _group_name(group: Group) -> str:
    for name, g in GROUPS.items():
        if g == group:
            return name
    raise KeystoreError("unknown group")


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeystoreError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")


def save(
    path: str | os.PathLike[str], key: TrusteeKey, passphrase: str, n_kdf: int = SCRYPT_N
) -> None:
    """Encrypt and write the key file atomically (write, fsync, rename)."""
    check_passphrase(passphrase)
    n_kdf = n_kdf or SCRYPT_N
    s = key.secrets
    header = {
        "format": FORMAT,
        "trustee": s.index,
        "group": _group_name(key.group),
        "kdf": {"name": "scrypt", "n": n_kdf, "r": 8, "p": 1, "salt": secrets.token_hex(16)},
        "cipher": "AES-256-GCM",
    }
    body = {
        "h_p": key.h_p.hex(),
        "trustees": key.n,
        "quorum": key.k,
        "coefficients": [a.hex() for a in s.coefficients],
        "zeta": s.zeta.hex(),
        "received": {str(i): v.hex() for i, v in sorted(s.received.items())},
        "share": s.share.hex() if s.share is not None else None,
    }
    if key.h_b is not None:
        body["h_b"] = key.h_b.hex()
    aad = json.dumps(header, sort_keys=True).encode()
    nonce = secrets.token_bytes(12)
    k = _kdf(passphrase, bytes.fromhex(header["kdf"]["salt"]), n_kdf)
    ct = AESGCM(k).encrypt(nonce, json.dumps(body).encode(), aad)
    doc = {**header, "nonce": nonce.hex(), "ciphertext": ct.hex()}
    p = pathlib.Path(path)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, p)


def load(path: str | os.PathLike[str], passphrase: str) -> TrusteeKey:
    """Read and decrypt a key file; KeystoreError if the passphrase or the file is wrong."""
    try:
        doc: dict[str, Any] = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
        header = {k: doc[k] for k in ("format", "trustee", "group", "kdf", "cipher")}
        nonce = bytes.fromhex(doc["nonce"])
        ct = bytes.fromhex(doc["ciphertext"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise KeystoreError(f"{path}: not a trustee key file ({type(e).__name__})") from None
    if header["format"] != FORMAT or header["cipher"] != "AES-256-GCM":
        raise KeystoreError(f"{path}: unsupported key file format")
    kdf = header["kdf"]
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt" or header["group"] not in GROUPS:
        raise KeystoreError(f"{path}: unsupported key file parameters")
    try:
        k = _kdf(passphrase, bytes.fromhex(kdf["salt"]), int(kdf["n"]))
        body = json.loads(AESGCM(k).decrypt(nonce, ct, json.dumps(header, sort_keys=True).encode()))
    except InvalidTag:
        raise KeystoreError(f"{path}: wrong passphrase, or the file was changed") from None
    except (ValueError, KeyError, TypeError) as e:
        raise KeystoreError(f"{path}: damaged key file ({type(e).__name__})") from None
    group = GROUPS[header["group"]]

    def q(h: str) -> Any:
        return group.scalar(int(h, 16))

    secrets_ = TrusteeSecrets(
        index=int(header["trustee"]),
        coefficients=[q(a) for a in body["coefficients"]],
        zeta=q(body["zeta"]),
        received={int(i): q(v) for i, v in body["received"].items()},
        share=q(body["share"]) if body["share"] is not None else None,
    )
    return TrusteeKey(
        group,
        HashValue(bytes.fromhex(body["h_p"])),
        int(body["trustees"]),
        int(body["quorum"]),
        secrets_,
        HashValue(bytes.fromhex(body["h_b"])) if body.get("h_b") else None,
    )
