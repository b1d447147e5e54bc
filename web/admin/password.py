"""The administrator password's hash line: made and checked by ``werkzeug.security``.

There is one administrator password, and the server keeps only its hash: the one line that
``tohyo admin password`` prints, ``scrypt:N:r:p$SALT$HASH`` (Werkzeug's format: scrypt with
N = 2^15, r = 8, p = 1, a 16-character salt and a 64-byte key in hex; docs/admin.md). The
check compares in constant time (Werkzeug uses ``hmac.compare_digest``).

Lines that earlier versions of tohyo printed, ``scrypt$N$r$p$SALTHEX$HASHHEX``, still
verify (:func:`_legacy_check`), so a server keeps working with the hash file it already
has; ``tohyo admin password`` prints only the current format.

A line of neither form is *malformed*: :func:`hash_line_ok` says so, so that the login page
can report a broken configuration instead of treating it as a wrong password, and
:func:`check_password` returns False for it and never raises.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from werkzeug.security import check_password_hash, generate_password_hash

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # about 0.1 s and 32 MiB per check
MIN_PASSWORD = 12
MAX_MEMORY = 2**27  # the most memory a configured line may make one check use (128 MiB)

# Werkzeug's scrypt line: its salt is letters and digits, its key 64 bytes in lower-case hex.
_LINE = re.compile(r"scrypt:(\d{1,10}):(\d{1,5}):(\d{1,5})\$[A-Za-z0-9]{1,128}\$[0-9a-f]{128}")


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    """The hash line to put in the server's configuration (``n``: scrypt's cost, a power of
    two; tests pass a small one)."""
    return generate_password_hash(password, method=f"scrypt:{n}:{SCRYPT_R}:{SCRYPT_P}")


def _memory_ok(n: int, r: int, p: int) -> bool:
    # A power-of-two N and r, p ≥ 1, as scrypt needs, and at most MAX_MEMORY for one check.
    return n > 1 and n & (n - 1) == 0 and r >= 1 and p >= 1 and 132 * n * r * p <= MAX_MEMORY


def _costs_ok(n: int, r: int, p: int) -> bool:
    # Werkzeug lets scrypt use 132 bytes per unit of N·r·p, which OpenSSL finds too little
    # below N = 2^10: such a line could never be checked (nor made by generate_password_hash).
    return n >= 2**10 and _memory_ok(n, r, p)


def hash_line_ok(line: str) -> bool:
    """True if ``line`` is a hash line that :func:`check_password` can check: the current
    format, or that of earlier versions."""
    line = line.strip()
    m = _LINE.fullmatch(line)
    if m is not None:
        return _costs_ok(int(m[1]), int(m[2]), int(m[3]))
    return _legacy_fields(line) is not None


def check_password(password: str, line: str) -> bool:
    """True if ``password`` matches the hash line; False for a malformed line."""
    line = line.strip()
    if not hash_line_ok(line):
        return False
    try:
        if _LINE.fullmatch(line):
            return check_password_hash(line, password)
        return _legacy_check(password, line)
    except ValueError:  # a password that is not valid UTF-8 text (a lone surrogate)
        return False


# --- the format of earlier versions ----------------------------------------------------------
# ``scrypt$N$r$p$SALT$HASH``: salt and derived key in hex, checked with hashlib directly.


def _legacy_fields(line: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = line.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    if not (_memory_ok(n, r, p) and 0 < len(digest) <= 1024):
        return None
    return n, r, p, salt, digest


def _legacy_check(password: str, line: str) -> bool:
    fields = _legacy_fields(line)
    if fields is None:
        return False
    n, r, p, salt, want = fields
    try:
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=len(want)
        )
    except ValueError:  # scrypt refusing the costs (beyond MAX_MEMORY with its overhead)
        return False
    return hmac.compare_digest(got, want)
