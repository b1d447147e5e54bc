"""WCAG 2.2 AA contrast of the colours web/static/css/site.css sets where axe cannot look:
the focus ring (3:1 against the page around it, 1.4.11 / 2.4.13) and the status kinds'
icons (3:1) and text (4.5:1) on their own tints."""

from __future__ import annotations

import pathlib
import re

import pytest

CSS = (pathlib.Path(__file__).resolve().parents[2] / "web/static/css/site.css").read_text()
VARS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})", CSS))


def _hex(value: str) -> str:
    value = VARS[value[6:-1]] if value.startswith("var(") else value
    value = value.lstrip("#")
    return "".join(c * 2 for c in value) if len(value) == 3 else value


def luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(_hex(colour)[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_contrast_formula_is_wcags():
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#f5a300", "#fff") == pytest.approx(2.07, abs=0.01)  # the old ring


def test_the_focus_ring_stands_out_from_the_page():
    ring = re.search(r"a:focus[^{]*\{[^}]*outline:\s*\d+px solid (#[0-9a-fA-F]{3,6})", CSS)
    assert ring is not None
    for around in ("var(--bg)", "var(--soft)", "#fff"):
        assert contrast(ring.group(1), around) >= 3, around


@pytest.mark.parametrize("kind, icon", [("ok", "--ok"), ("bad", "--bad"), ("warn", "--warn")])
def test_each_status_kind_reads_on_its_tint(kind, icon):
    tint = re.search(rf"\.status\.{kind} \{{ background: (#[0-9a-fA-F]{{6}}); \}}", CSS)
    assert tint is not None, kind
    assert contrast(f"var({icon})", tint.group(1)) >= 4.5  # the icon, and the stripe, 3:1 needed
    assert contrast("var(--ink)", tint.group(1)) >= 4.5
    assert re.search(rf"\.status\.{kind}::before \{{ content: \"[^\"]+\"", CSS), kind
