"""The root ``tohyo`` command: gathers each layer's command group, plus demo and bench."""

from __future__ import annotations

import json
import sys

import click

from e2e.group import GROUPS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tohyo")
def main() -> None:
    """tohyo: an end-to-end verifiable voting engine (ElectionGuard 2.1 based)."""


@main.command()
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--seed", default=None, help="Seed for a reproducible run (simulation only).")
def demo(group_name: str, seed: str | None) -> None:
    """Encrypt a few sample votes, add them up and decrypt only the total."""
    from web.demo import core_demo

    core_demo(GROUPS[group_name], seed, click.echo)


@main.group()
def bench() -> None:
    """Benchmarks for researchers (figures on this machine)."""


@bench.command("core")
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--proofs", default=1000, show_default=True, help="Range proofs to verify.")
@click.option("--repeat", default=5, show_default=True, help="Repeats of the batched run.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None)
def bench_core(group_name: str, proofs: int, repeat: int, json_file: str | None) -> None:
    """powmod, fixed-base, encryption with proof, and range-proof verification."""
    from benchmarks.core import format_rows, machine_info, run_core

    group = GROUPS[group_name]
    click.echo(f"group: {group.name}")
    rows = run_core(group, proofs, repeat)
    click.echo(format_rows(rows))
    if json_file:
        with open(json_file, "w", encoding="utf-8") as f:
            json.dump({"machine": machine_info(), "group": group.name, "rows": rows}, f, indent=2)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
