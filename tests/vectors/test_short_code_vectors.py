"""The short-code vectors: what e2e/shortcode.py writes, read back (tests/js/shortcode.test.js
reads the same file with web/static/js/shortcode.js)."""

import json

import pytest

from e2e.shortcode import matches, parse, prefix, short
from tests.vectors.make_short_codes import FILE, vectors

DATA = json.loads(FILE.read_text())


def test_the_file_is_what_the_generator_writes():
    assert DATA == vectors()


def test_the_file_covers_every_kind_of_input():
    kinds = [v["kind"] for v in DATA["inputs"]]
    assert kinds.count("full") >= 8 and kinds.count("short") >= 6 and kinds.count(None) >= 7


@pytest.mark.parametrize("v", DATA["codes"], ids=lambda v: v["short"])
def test_each_code_has_its_short_form(v):
    code = bytes.fromhex(v["code"])
    assert short(code) == v["short"]
    canonical = v["short"].replace("-", "")
    assert prefix(canonical).hex() == v["prefix"] and matches(canonical, code)


@pytest.mark.parametrize("v", DATA["inputs"], ids=lambda v: repr(v["input"]))
def test_each_typed_text_reads_as_pinned(v):
    p = parse(v["input"])
    got = None if p is None else (p.kind, p.full.hex() if p.full is not None else p.short)
    assert got == (None if v["kind"] is None else (v["kind"], v["value"]))
