"""Side by side: electionguard-python 1.4 and the browser encryptor.

electionguard 1.4 runs in its own virtual environment (``make bench-eg`` creates
``.venv-eg`` with Python 3.10, which electionguard 1.4 needs: on 3.11 its dataclasses
with unhashable defaults fail to import). ``benchmarks/eg_runner.py`` is run by that
interpreter as a separate process; it imports electionguard and nothing of tohyo.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
EG_VENV = ROOT / ".venv-eg"
RUNNER = pathlib.Path(__file__).resolve().with_name("eg_runner.py")

# tohyo's stage → electionguard's stage it is compared with (per ballot or per election).
EG_STAGE = {
    "encrypt": "encrypt",
    "verify_one": "verify",
    "verify_batched": "verify",
    "board": "board",
    "tally": "tally",
    "decrypt": "decrypt",
}
# The targets: how many times faster than electionguard 1.4, measured per core.
TARGETS = {"encrypt": 15.0, "verify_batched": 35.0}


class Unavailable(Exception):
    """A comparison cannot be run here; the message says why."""


def eg_python(explicit: str | None = None) -> pathlib.Path:
    """The interpreter of the electionguard environment (``--eg-python`` or .venv-eg)."""
    if explicit:
        return pathlib.Path(explicit)
    for base in (EG_VENV, pathlib.Path.cwd() / ".venv-eg"):
        python = base / "bin" / "python"
        if python.exists():
            return python
    return EG_VENV / "bin" / "python"


def check_electionguard(python: pathlib.Path) -> str:
    """Raise Unavailable unless ``python`` can import electionguard; return its version."""
    if not python.exists():
        raise Unavailable(
            f"no electionguard environment at {python.parent.parent} "
            "(create it with `make bench-eg`, or pass --eg-python)"
        )
    probe = (
        "import sys, importlib.metadata as m; import electionguard, electionguard_tools; "
        "print(m.version('electionguard'), sys.version.split()[0])"
    )
    try:
        out = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"{python} does not run: {e}") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise Unavailable(f"electionguard does not import with {python}: {last}")
    version, py = out.stdout.split()
    return f"electionguard {version} on Python {py}"


def run_electionguard(
    python: pathlib.Path,
    ballots: int,
    contests: int,
    options: int,
    limit: int,
    trustees: int,
    quorum: int,
    repeat: int,
) -> dict[str, Any]:
    """Run the electionguard workload in its own interpreter; returns its JSON result."""
    with tempfile.TemporaryDirectory(prefix="tohyo-eg-") as tmp:
        out = os.path.join(tmp, "eg.json")
        args = [
            str(python),
            str(RUNNER),
            f"--ballots={ballots}",
            f"--contests={contests}",
            f"--options={options}",
            f"--limit={limit}",
            f"--trustees={trustees}",
            f"--quorum={quorum}",
            f"--repeat={repeat}",
            f"--out={out}",
        ]
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode != 0:
            last = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise Unavailable(f"the electionguard run failed:\n{last}")
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def eg_per_unit_ms(eg: dict[str, Any]) -> dict[str, float]:
    """electionguard's median time per ballot (per election for decrypt), in ms."""
    out = {}
    n = eg["workload"]["ballots"]
    for name, st in eg["stages"].items():
        median = sorted(st["samples_s"])[len(st["samples_s"]) // 2]
        out[name] = median * 1e3 / (1 if name == "decrypt" else n)
    return out


def add_ratios(rows: list[dict[str, Any]], eg: dict[str, Any]) -> None:
    """Put electionguard's figure and the ratio (how many times faster tohyo is) on each
    row that has a counterpart."""
    eg_ms = eg_per_unit_ms(eg)
    for row in rows:
        name = EG_STAGE.get(row["stage"])
        if name is None or name not in eg_ms:
            continue
        row["electionguard_per_unit_ms"] = eg_ms[name]
        row["times_faster"] = eg_ms[name] / row["per_unit_ms"] if row["per_unit_ms"] else None
        if row["stage"] in TARGETS:
            row["target_times_faster"] = TARGETS[row["stage"]]


def browser_figure(group: str, repeat: int) -> dict[str, Any]:
    """The JavaScript encryptor timed in headless Chromium, or why it was not measured."""
    try:
        from benchmarks.browser import run_browser  # type: ignore[import-not-found]
    except ImportError:
        return {
            "measured": False,
            "reason": "no browser benchmark yet (benchmarks/browser.py: the JavaScript "
            "encryptor is not there)",
        }
    try:
        result = dict(run_browser(group, repeat))
    except Exception as e:  # no Chromium, no playwright, a page error…
        return {"measured": False, "reason": f"{type(e).__name__}: {e}"}
    result["measured"] = True
    return result
