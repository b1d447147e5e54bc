"""The short code's rejection paths (e2e/shortcode.py)."""

import pytest

from e2e.shortcode import parse, prefix, short


@pytest.mark.parametrize("n", [0, 31, 33])
def test_only_a_32_byte_code_has_a_short_form(n):
    with pytest.raises(ValueError):
        short(bytes(n))


@pytest.mark.parametrize("text", ["ABCD-EFGH", "ABCDEFG", "abcdefgh", "ABCDEFGU", "ABCDEFGHJ"])
def test_prefix_takes_only_a_canonical_short_code(text):
    with pytest.raises(ValueError):
        prefix(text)


@pytest.mark.parametrize("text", [None, 12345, b"ABCD-EFGH", "x" * 5000])
def test_what_is_not_text_or_too_long_is_no_code(text):
    assert parse(text) is None  # type: ignore[arg-type]
