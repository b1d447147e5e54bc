"""The layer rule, read from the code's own imports (docs/design.md, "Layers"):

    e2e ← trustees ← bulletin ← {sim, web, signer} ← benchmarks ← tohyo

A package imports only the packages below it (sim, web and signer are side by side and
import none of the others), so there is no cycle and no arrow that runs back up. Imports inside
functions count too: a late import is still a dependency. ``e2e`` is pure except its
edge (the record reader/writer and the verifier's command line).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: package → the project packages it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "e2e": set(),
    "trustees": {"e2e"},
    "bulletin": {"e2e", "trustees"},
    "watch": {"e2e"},
    "sim": {"e2e", "trustees", "bulletin", "watch"},
    "web": {"e2e", "trustees", "bulletin"},
    "signer": {"e2e", "trustees", "bulletin"},
    "benchmarks": {"e2e", "trustees", "bulletin", "sim", "web", "signer", "watch"},
    "tohyo": {"e2e", "trustees", "bulletin", "sim", "web", "signer", "benchmarks", "watch"},
}

#: e2e's edge: the only modules of the core that touch files, processes or the terminal.
E2E_EDGE = {"record.py", "cli.py", "dask_runner.py"}
IMPURE = {"os", "pathlib", "sys", "time", "logging", "socket", "subprocess", "tempfile"}


def imports(path: pathlib.Path) -> set[str]:
    """The top-level names of every module ``path`` imports, at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def modules(package: str) -> list[pathlib.Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    assert modules(package), f"no package {package}/"
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(package)
        for name in imports(path) & set(ALLOWED)
        if name != package and name not in ALLOWED[package]
    }
    assert not wrong, sorted(wrong)


def test_the_core_does_no_io_outside_its_edge():
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("e2e")
        if path.name not in E2E_EDGE
        for name in imports(path) & IMPURE
    }
    assert not wrong, sorted(wrong)


def test_production_code_never_imports_the_simulation():
    for package in ("e2e", "trustees", "bulletin", "web", "signer"):
        for path in modules(package):
            assert "sim" not in imports(path), path.relative_to(ROOT)
