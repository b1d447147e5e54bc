"""The hash function H of ElectionGuard 2.1 §5.

H(B0; B1) = HMAC-SHA-256(B0, B1) with a 32-byte key B0 (a version string or an earlier hash)
and B1 = one domain-separation byte followed by the fixed-length encodings of the inputs:

* an element mod p: b(x, l_p), big-endian, l_p bytes (512 in the standard group) — §5.1.1
* a scalar mod q: b(x, l_q), big-endian, l_q bytes (32) — §5.1.2
* a small integer (index, count): b(i, 4), 0 <= i < 2^31 — §5.1.3
* a variable-length string or file (``str``): b(len, 4) then its UTF-8 bytes — §5.1.4/§5.1.5
* a fixed label (``bytes``), such as "pk vote" in eq. 11: its bytes, no length
* an earlier hash output: its 32 bytes as they are — §5.4

Because every item has a fixed length or a length prefix, no separator is needed and two
different input lists never give the same byte string (unlike joining with "|").
Each use in the protocol has its own domain byte, listed in :data:`DOMAIN`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from e2e.group import ElementModP, ElementModQ, Group

#: Version byte array ver = "v2.1.0" padded with zero bytes to 32 (§3.1.2, eq. 4).
VERSION: Final[bytes] = b"v2.1.0".ljust(32, b"\x00")

#: Domain-separation bytes (§5.5). Names follow the spec's equations.
DOMAIN: Final[dict[str, int]] = {
    "parameter_base_hash": 0x00,  # H_P (4)
    "base_hash": 0x01,  # H_B (5)
    "schnorr_coefficients": 0x10,  # key-generation proof of knowledge (11)
    "share_key": 0x11,  # key derivation for share encryption (16)
    "extended_base_hash": 0x14,  # H_E (30)
    "selection_identifier": 0x20,  # H_I (32)
    "selection_nonce": 0x21,  # xi_{i,j} (33)
    "range_proof": 0x24,  # range and selection-limit proof challenges (41, 59, 62)
    "contest_hash": 0x28,  # chi_l (70)
    "confirmation_code": 0x29,  # H_C (71)
    "decryption_commitment": 0x30,  # guardian commitment hash d_i (88)
    "decryption_proof": 0x31,  # challenge of the decryption proof (90)
    "partial_decryption_proof": 0x34,  # tohyo: one trustee's partial decryption proof (D4)
    "share_encryption_proof": 0x12,  # Schnorr proof of the share-encryption nonce (22)
    "device_hash": 0x2A,  # voting device information hash H_DI (72)
}


class HashValue(bytes):
    """A 32-byte output of H. Used unchanged as input to later hashes (§5.4)."""

    __slots__ = ()

    def __new__(cls, value: bytes) -> HashValue:
        if len(value) != 32:
            raise ValueError("a hash value has exactly 32 bytes")
        return super().__new__(cls, value)

    def hex_upper(self) -> str:
        return self.hex().upper()


HashItem = ElementModP | ElementModQ | HashValue | int | str | bytes
_SEQUENCE = (list, tuple)


def _encode(item: HashItem, out: list[bytes]) -> None:
    if isinstance(item, ElementModP | ElementModQ):
        out.append(item.to_bytes())
    elif isinstance(item, HashValue):
        out.append(bytes(item))
    elif isinstance(item, bool):
        raise TypeError("booleans are not hash inputs")
    elif isinstance(item, int):
        if not 0 <= item < 2**31:
            raise ValueError("small integers in a hash must lie in [0, 2^31)")
        out.append(item.to_bytes(4, "big"))
    elif isinstance(item, str):
        data = item.encode("utf-8")
        out.append(len(data).to_bytes(4, "big"))
        out.append(data)
    elif isinstance(item, bytes):
        # A fixed label such as b"pk vote" (eq. 11) goes in as it is, without a length.
        out.append(item)
    else:
        raise TypeError(f"cannot hash {type(item).__name__}")


def hash_bytes(key: bytes, domain: int, *items: HashItem) -> bytes:
    """The byte string B1 = domain ∥ encodings of items (exposed for the test vectors)."""
    out = [bytes([domain])]
    for item in items:
        t = type(item)
        # Elements and hashes first, by exact type: a ballot's claims hash 90 elements
        # (measured: a range-proof challenge 12.3 → 9.3 µs).
        if t is ElementModP or t is ElementModQ:
            out.append(item.to_bytes())
        elif t is HashValue:
            out.append(item)
        elif t is int and 0 <= item < 0x80000000:
            out.append(item.to_bytes(4, "big"))
        elif isinstance(item, _SEQUENCE):
            for sub in item:
                _encode(sub, out)
        else:
            _encode(item, out)
    return b"".join(out)


def H(key: bytes, domain: int, *items: HashItem) -> HashValue:
    """H(key; domain, items...) = HMAC-SHA-256(key, domain ∥ encodings) (§5.2, §5.3)."""
    if len(key) != 32:
        raise ValueError("the key input of H has exactly 32 bytes")
    return HashValue(hmac.digest(key, hash_bytes(key, domain, *items), "sha256"))


def H_q(group: Group, key: bytes, domain: int, *items: HashItem) -> ElementModQ:
    """H_q = H mod q (§5.4, eq. 132)."""
    return group.scalar_from_int(int.from_bytes(H(key, domain, *items), "big"))


def parameter_base_hash(group: Group, n: int, k: int) -> HashValue:
    """H_P = H(ver; 0x00, p, q, g, n, k) (§3.1.2, eq. 4)."""
    p = int(group.p).to_bytes(group.p_bytes, "big")
    q = int(group.q).to_bytes(group.q_bytes, "big")
    g = int(group.g).to_bytes(group.p_bytes, "big")
    data = bytes([DOMAIN["parameter_base_hash"]]) + p + q + g
    data += n.to_bytes(4, "big") + k.to_bytes(4, "big")
    return HashValue(hmac.new(VERSION, data, hashlib.sha256).digest())
