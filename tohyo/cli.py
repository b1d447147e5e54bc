"""The root ``tohyo`` command: the composition root. It gathers each layer's command
group and wires the layers together; it holds no logic of its own (docs/design.md).

    e2e ← trustees ← bulletin ← {sim, web, signer} ← benchmarks ← tohyo (this package)
"""

from __future__ import annotations

import click

from benchmarks.cli import bench
from bulletin.cli import board
from bulletin.jpki.cli import audit_group, jpki
from e2e.cli import commands as e2e_commands
from signer.cli import signer
from sim.cli import card, testca
from sim.cli import commands as sim_commands
from tohyo.serve import serve
from trustees.cli import trustee
from watch.cli import witness
from watch.monitor import monitor
from web.admin import admin_cli


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tohyo")
def main() -> None:
    """tohyo: an end-to-end verifiable voting engine (ElectionGuard 2.1 based)."""


for _cmd in e2e_commands():
    main.add_command(_cmd)
main.add_command(trustee)
main.add_command(board)
# The stand-in CA's and the simulated cards' commands live with the simulation; they keep
# their place under `tohyo jpki` beside the production `jpki check`.
jpki.add_command(testca)
jpki.add_command(card)
main.add_command(jpki)
main.add_command(audit_group)
main.add_command(admin_cli)
main.add_command(serve)
main.add_command(signer)
for _cmd in sim_commands():
    main.add_command(_cmd)
main.add_command(bench)
main.add_command(witness)
main.add_command(monitor)
