"""The short form of a confirmation code: what a voter notes, reads out and compares.

A confirmation code is 32 bytes (64 hexadecimal digits): nobody notes that on paper or
compares it by eye. Its short form is the first 40 bits in Crockford's base32, eight
characters shown as ``XXXX-XXXX`` (docs/record.md, "Short codes"). Forty bits make an
accidental match rare: with 10⁵ ballots on the board, the chance that another ballot's code
begins like a given voter's is 10⁵ / 2⁴⁰, about 1 in 10 million. And the lookup lists
every ballot whose code begins with them, each checked by its full code, so a match never
hides the voter's own ballot. The full code stays in the record, the receipt and its QR
code; the short form is only a way to find and compare it.

What a person types or pastes is normalised before it is read: Unicode NFKC (full-width
letters and digits), no spaces of any kind, no hyphens or dashes (including ー and the minus
sign), underscores or dots, upper case. Sixty-four hexadecimal digits are a full code; eight
characters, with O read as 0 and I or L as 1, are a short one. Crockford's alphabet has no
I, L, O or U, so nothing is lost by that reading.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
BITS = 40
LENGTH = BITS // 5  # characters of a short code
PREFIX_BYTES = BITS // 8

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Separators people put in codes: whitespace, hyphens and dashes (U+2010-2015, the minus
# sign, the katakana prolonged sound mark and its half-width form), underscores and dots
# (full stop, ideographic full stop, katakana middle dot).
_DROP = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc\uff70_.\u3002\u30fb]+")
_HEX = re.compile(r"[0-9A-F]{64}")


@dataclass(frozen=True)
class Parsed:
    """What a typed code is: a full code (``full``, 32 bytes) or a short one (``short``,
    eight canonical characters without the hyphen)."""

    kind: Literal["full", "short"]
    full: bytes | None = None
    short: str | None = None


def short(code: bytes) -> str:
    """The short form ``XXXX-XXXX`` of a 32-byte confirmation code."""
    if len(code) != 32:
        raise ValueError("a confirmation code is 32 bytes")
    value = int.from_bytes(code[:PREFIX_BYTES], "big")
    chars = "".join(ALPHABET[(value >> (5 * (LENGTH - 1 - i))) & 31] for i in range(LENGTH))
    return f"{chars[:4]}-{chars[4:]}"


def normalise(text: str) -> str:
    """A typed code without its separators, in upper case (see the module docstring)."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text)).upper()


def parse(text: str) -> Parsed | None:
    """A typed or pasted code, however it is spaced or cased; None if it is neither a full
    code nor a short one."""
    if not isinstance(text, str) or len(text) > 1000:
        return None
    plain = normalise(text)
    if len(plain) == 64:
        return Parsed("full", full=bytes.fromhex(plain)) if _HEX.fullmatch(plain) else None
    if len(plain) == LENGTH:
        read = plain.translate(_READ_AS)
        if all(ch in _VALUE for ch in read):
            return Parsed("short", short=read)
    return None


def prefix(short8: str) -> bytes:
    """The 5 bytes a canonical short code (eight characters of :data:`ALPHABET`) stands for."""
    if len(short8) != LENGTH or any(ch not in _VALUE for ch in short8):
        raise ValueError("a short code is 8 characters of Crockford's base32")
    value = 0
    for ch in short8:
        value = value << 5 | _VALUE[ch]
    return value.to_bytes(PREFIX_BYTES, "big")


def matches(short8: str, code: bytes) -> bool:
    """Whether the 32-byte ``code`` begins with what ``short8`` stands for."""
    return len(code) == 32 and code[:PREFIX_BYTES] == prefix(short8)


__all__ = ["ALPHABET", "Parsed", "matches", "normalise", "parse", "prefix", "short"]
