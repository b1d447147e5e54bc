"""How ``tohyo bench`` shows its figures: a table per ballot count, and plots."""

from __future__ import annotations

import pathlib
from typing import Any

from benchmarks.counting import Costs


def _num(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "-"
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def _count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def format_costs(costs: Costs) -> str:
    return (
        f"one exponentiation here ({costs.group} group): fixed-base {costs.fixed_s * 1e3:.3f} ms, "
        f"powmod {costs.powmod_s * 1e3:.3f} ms, multi-exponentiation term "
        f"{costs.term_s * 1e3:.3f} ms (full-length exponent, {costs.multiexp_terms} terms)"
    )


HEAD = (
    "stage",
    "per",
    "median ms",
    "spread",
    "fixed",
    "powmod",
    "mexp terms",
    "limit ms",
    "limit/time",
)


def format_table(
    rows: list[dict[str, Any]],
    browser: dict[str, Any] | None = None,
    eg_label: str | None = None,
) -> str:
    """The rows of one ballot count as an aligned table (figures per ballot, or per
    election where the unit says so); electionguard columns when ``eg_label`` is given."""
    head = list(HEAD)
    if eg_label:
        head += [eg_label + " ms", "× faster"]
    table: list[list[str]] = []
    for r in rows:
        e = r.get("exps_per_unit")
        line = [
            r["label"],
            r["unit"],
            _num(r["per_unit_ms"], 3),
            _num(r["per_unit_spread_ms"], 3),
            _count(e["fixed"]) if e else "-",
            _count(e["powmod"]) if e else "-",
            _count(e["terms"]) if e else "-",
            _num(r.get("limit_per_unit_ms"), 3),
            f"{r['limit_share']:.0%}" if r.get("limit_share") is not None else "-",
        ]
        if eg_label:
            eg = r.get("electionguard_per_unit_ms")
            x = r.get("times_faster")
            mark = ""
            if x is not None and "target_times_faster" in r:
                t = r["target_times_faster"]
                mark = f" (target {t:.0f}×: {'met' if x >= t else 'NOT met'})"
            line += [_num(eg, 1) if eg else "n/a", f"{x:.1f}×{mark}" if x else "n/a"]
        table.append(line)
    if browser is not None:
        label = "browser encrypt (JavaScript, headless Chromium)"
        if browser.get("measured"):
            med = browser.get("encrypt_ms_median")
            p10, p90 = browser.get("encrypt_ms_p10"), browser.get("encrypt_ms_p90")
            spread = p90 - p10 if p10 is not None and p90 is not None else None
            line = [label, "ballot", _num(med, 3), _num(spread, 3)] + ["-"] * 5
        else:
            line = [label, "ballot", "not measured: " + str(browser.get("reason", ""))]
        if eg_label and len(line) > 3:
            line += ["", ""]
        table.append(line)
    widths = [len(h) for h in head]
    for line in table:
        if len(line) == len(head):
            widths = [max(w, len(c)) for w, c in zip(widths, line, strict=True)]

    def fmt(cells: list[str]) -> str:
        if len(cells) < len(head):  # a "not measured" line: the reason runs on
            return "  ".join(
                [cells[0].ljust(widths[0]), cells[1].ljust(widths[1]), *cells[2:]]
            ).rstrip()
        out = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        out += [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
        return "  ".join(out).rstrip()

    lines = [fmt(head), fmt(["-" * w for w in widths])]
    lines += [fmt(line) for line in table]
    lines.append(
        "(per ballot, or per election; spread = slowest − fastest run; counts per unit; "
        "limit = the time of those exponentiations alone at the costs above)"
    )
    return "\n".join(lines)


def pyplot() -> Any:
    """matplotlib's pyplot without a display, or RuntimeError saying how to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib: pip install 'tohyo[bench]' (or pip install matplotlib)"
        ) from None
    return plt


def plot(
    runs: list[dict[str, Any]], out_dir: str | pathlib.Path, title: str = "tohyo bench"
) -> list[pathlib.Path]:
    """Draw cost against the number of ballots: per-ballot time and total time of every
    stage. Needs matplotlib (``pip install 'tohyo[bench]'``)."""
    plt = pyplot()
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [run["ballots"] for run in runs]
    stages: dict[str, dict[str, Any]] = {}
    for run in runs:
        for r in run["rows"]:
            s = stages.setdefault(r["stage"], {"unit": r["unit"], "pts": []})
            s["label"] = r["label"]  # that of the largest run
            s["pts"].append((run["ballots"], r["per_unit_ms"], r["median_ms"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, s in enumerate(stages.values()):
        xs = [p[0] for p in s["pts"]]
        style = {"marker": "o", "label": s["label"], "color": colours[k % len(colours)]}
        if s["unit"] == "ballot":
            ax1.plot(xs, [p[1] for p in s["pts"]], **style)
        ax2.plot(xs, [p[2] / 1e3 for p in s["pts"]], **style)
    ax1.set(xscale="log", yscale="log", xlabel="ballots", ylabel="ms per ballot")
    ax1.set_title("cost per ballot")
    ax2.set(xscale="log", yscale="log", xlabel="ballots", ylabel="seconds (median run)")
    ax2.set_title("total time of the stage")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xticks(sizes, [str(n) for n in sizes])
    ax2.legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = out / "cost-vs-ballots.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
