"""Short codes (e2e/shortcode.py) for any code and any text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from e2e.shortcode import ALPHABET, matches, parse, prefix, short

codes = st.binary(min_size=32, max_size=32)
separators = st.sampled_from([" ", "-", "\u3000", "ー", "－", "\u2212", "_", ".", "・", ""])


@given(codes)
def test_a_short_code_reads_back_to_its_prefix(code):
    s = short(code)
    assert len(s) == 9 and s[4] == "-" and all(ch in ALPHABET for ch in s.replace("-", ""))
    p = parse(s)
    assert p is not None and p.kind == "short" and p.short is not None
    assert prefix(p.short) == code[:5] and matches(p.short, code)
    assert parse(s.lower()) == p


@given(codes, st.lists(st.tuples(st.integers(0, 63), separators), max_size=12), st.booleans())
def test_a_full_code_reads_back_however_it_is_spaced_and_cased(code, cuts, upper):
    text = code.hex().upper() if upper else code.hex()
    for at, sep in sorted(cuts, reverse=True):
        text = text[:at] + sep + text[at:]
    p = parse(text)
    assert p is not None and p.kind == "full" and p.full == code


@given(st.text(max_size=80))
def test_any_text_is_read_or_refused_never_an_error(text):
    p = parse(text)
    assert p is None or p.kind in ("full", "short")
