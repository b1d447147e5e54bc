"""The administrator password's hash line (web.admin.password): Werkzeug's scrypt format,
lines of earlier versions, and malformed lines refused without an exception."""

from __future__ import annotations

import pytest

from web.admin.password import SCRYPT_N, check_password, hash_line_ok, hash_password

PASSWORD = "correct horse battery"
# A line as tohyo printed it before Werkzeug's format (scrypt$N$r$p$SALT$HASH, hex), with
# the salt 00 01 … 0f.
LEGACY = (
    "scrypt$1024$8$1$000102030405060708090a0b0c0d0e0f$"
    "84a1962f6d96b5d19f21bc443c0674e814b66d6c982ae6482afca97c09583969"
)


@pytest.fixture(scope="module")
def line() -> str:
    return hash_password(PASSWORD, n=2**10)  # a cheap KDF for tests only


def test_a_hash_verifies_its_password_and_no_other(line):
    assert line.startswith("scrypt:1024:8:1$") and PASSWORD not in line
    assert hash_line_ok(line)
    assert check_password(PASSWORD, line)
    assert check_password(PASSWORD, line + "\n")  # as read from a file
    assert not check_password("correct horse batterx", line)
    assert not check_password("", line)
    assert hash_password(PASSWORD, n=2**10) != line  # a fresh salt each time


def test_the_default_cost():
    assert SCRYPT_N == 2**15
    assert hash_password("x" * 12).startswith("scrypt:32768:8:1$")


def test_a_line_of_earlier_versions_still_verifies():
    assert hash_line_ok(LEGACY)
    assert check_password(PASSWORD, LEGACY)
    assert not check_password("correct horse batterx", LEGACY)


def _malformed(line: str) -> list[str]:
    salt, digest = line.split("$")[1:]
    return [
        "",
        "not a hash line",
        "bcrypt$1$2$3$00$00",
        "pbkdf2:sha256:1000$" + salt + "$" + digest,  # Werkzeug's, but not what we print
        "scrypt$" + salt + "$" + digest,  # no costs
        "scrypt:1000:8:1$" + salt + "$" + digest,  # N not a power of two
        "scrypt:1024:0:1$" + salt + "$" + digest,
        "scrypt:1024:8:0$" + salt + "$" + digest,
        "scrypt:1:8:1$" + salt + "$" + digest,
        f"scrypt:{2**40}:8:1${salt}${digest}",  # more memory than a check may take
        "scrypt:x:8:1$" + salt + "$" + digest,
        "scrypt:1024:8:1$$" + digest,  # no salt
        "scrypt:1024:8:1$" + salt + "$" + digest[:-1],  # a truncated hash
        "scrypt:1024:8:1$" + salt + "$" + digest.upper(),
        "scrypt:1024:8:1$" + salt + "$" + digest[:-1] + "é",  # not ASCII
        "scrypt:1024:8:1$sa$lt$" + digest,
        line + "$",
        # The format of earlier versions, broken: hash, salt, costs, fields.
        "scrypt$1024$8$1$00$zz",
        "scrypt$1024$8$1$zz$00",
        "scrypt$1024$8$1$00$",
        "scrypt$1000$8$1$00$00",
        "scrypt$1024$0$1$00$00",
        "scrypt$" + str(2**80) + "$8$1$00$00",
        "scrypt$x$8$1$00$00",
        "scrypt$1024$8$1$00$0",
        LEGACY + "$",
    ]


def test_a_malformed_line_is_refused_without_an_exception(line):
    for bad in _malformed(line):
        assert not hash_line_ok(bad), bad
        assert not check_password(PASSWORD, bad), bad


def test_a_password_that_is_not_text_is_a_failed_check(line):
    assert not check_password("\ud800", line)
    assert not check_password("\ud800", LEGACY)


def test_costs_beyond_the_memory_bound_are_malformed():
    # Lines that would make one check take 1 GiB, in either format: refused up front.
    for big in ("scrypt:1048576:8:1$salt$" + "0" * 128, "scrypt$1048576$8$1$00$" + "00" * 32):
        assert not hash_line_ok(big) and not check_password(PASSWORD, big), big
