"""``tohyo bench``: the full-stage workload, its table, JSON and plots, and the comparisons."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.compare import (
    Unavailable,
    add_ratios,
    browser_figure,
    check_electionguard,
    eg_python,
    run_electionguard,
)
from benchmarks.core import machine_info
from benchmarks.counting import calibrate, cheaper
from benchmarks.report import format_costs, format_table, plot
from benchmarks.stages import Workload, run_workload
from e2e.group import GROUPS


def parse_sizes(text: str) -> list[int]:
    """'100,1000' → [100, 1000]; raises ValueError on anything else."""
    try:
        sizes = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ValueError(f"--ballots takes counts separated by commas, not {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise ValueError("--ballots needs at least one count, each at least 1")
    return sorted(set(sizes))


def run_suite(
    w: Workload,
    sizes: Sequence[int],
    echo: Callable[[str], None],
    progress: Callable[[str], None],
    json_file: str | None = None,
    plot_dir: str | None = None,
    compare: str | None = None,
    eg_interpreter: str | None = None,
    eg_ballots: int | None = None,
    eg_repeat: int = 1,
    browser: bool = True,
) -> int:
    """Run everything asked for; print the tables; returns the exit code."""
    w.check()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "command": " ".join(["tohyo", *sys.argv[1:]]),
        "workload": w.as_dict(),
        "runs": [],
    }
    if plot_dir:
        try:
            import matplotlib  # noqa: F401 (checked now, not after a long run)
        except ImportError:
            echo("error: --plot needs matplotlib: pip install 'tohyo[bench]'")
            return 2
    eg: dict[str, Any] | None = None
    eg_label = None
    if compare == "electionguard":
        if w.group != "standard":
            echo("electionguard: not available: it runs the standard group only (--group standard)")
            return 1
        python = eg_python(eg_interpreter)
        try:
            version = check_electionguard(python)
            n = eg_ballots or min(sizes)
            progress(f"{version}: {n} ballots, {eg_repeat} run(s) per stage (this is slow)")
            eg = run_electionguard(
                python,
                n,
                w.contests,
                w.options,
                w.limit,
                w.trustees,
                w.quorum,
                eg_repeat,
            )
        except Unavailable as e:
            echo(f"electionguard: not available: {e}")
            return 1
        eg_label = f"EG {eg['electionguard']} ({eg['workload']['ballots']} ballots)"
        result["electionguard"] = eg

    # Calibrated before and after each ballot count's stages, the cheaper of the two
    # kept: on a shared machine the cost of an exponentiation drifts with the load.
    costs = calibrate(GROUPS[w.group], w.group)
    browser_result = browser_figure(w.group, 20) if browser else None
    if browser_result is not None:
        result["browser"] = browser_result
    m = result["machine"]
    echo(
        f"machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, gmpy2 {m['gmpy2']}, "
        f"{m['gmp']}"
    )
    echo(f"workload: {w.describe()}")
    if eg is not None:
        echo(
            f"electionguard: {eg['electionguard']} on Python {eg['python']} (gmpy2 "
            f"{eg['gmpy2']}), same workload, {eg['workload']['ballots']} ballots"
        )
    for n in sizes:
        stages = run_workload(w, n, costs, progress)
        after = calibrate(GROUPS[w.group], w.group)
        costs = cheaper(costs, after)
        rows = [s.row(costs) for s in stages]
        if eg is not None:
            add_ratios(rows, eg)
        title = f"tohyo bench: {n} ballots; {w.describe()}"
        result["runs"].append(
            {"ballots": n, "title": title, "costs": costs.as_dict(), "rows": rows}
        )
        costs = after  # the next count's "before"
        echo("")
        echo(f"{n} ballots; {format_costs(costs)}")
        echo(format_table(rows, browser_result, eg_label))
    if json_file:
        with open(json_file, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
        echo(f"figures written to {json_file}")
    if plot_dir:
        title = f"tohyo bench: {w.describe()}; {m['cpu']}, {m['cores']} cores"
        for path in plot(result["runs"], plot_dir, title):
            echo(f"plot written to {path}")
    return 0
