"""``tohyo board …``: the administrator's commands for the bulletin board."""

from __future__ import annotations

import json
import pathlib
import sys
import time
from typing import Any

import click

from bulletin.board import (
    Board,
    export_record,
    load_signing_key,
    new_signing_key,
    public_key_of,
)
from bulletin.store import Store, make_engine, migrate
from e2e.cli import guard
from e2e.record import Layout

DEFAULT_DB = "sqlite:///board.db"


def open_board(db: str, key: str, **kwargs: Any) -> Board:
    """The board at ``db`` (migrated to the latest schema), its missing head signed."""
    engine = make_engine(db)
    migrate(engine)
    b = Board(Store(engine), load_signing_key(key), **kwargs)
    b.recover()
    return b


db_option = click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLAlchemy URL.")
key_option = click.option(
    "--key", default="board.key", show_default=True, help="The board's Ed25519 signing key (PEM)."
)


@click.group()
def board() -> None:
    """The bulletin board: init, open, close, status, tally, export."""


@board.command("pin-manifest")
@key_option
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the manifest that names the board's key (give it to the trustees).",
)
@guard
def pin_manifest(key: str, manifest: str, out: str) -> None:
    """Name the board's public key in the manifest, before the key ceremony.

    Creates the board's signing key if it is missing. The trustees hash the manifest (H_B),
    so the key is pinned in everything the election binds to: a record of this election
    without the board's log, or with a log signed by another key, does not verify.
    """
    from e2e import codec
    from e2e.manifest import manifest_from_json, with_board

    if not pathlib.Path(key).exists():
        new_signing_key(key)
        click.echo(f"created the board signing key {key} (keep it private)")
    public = public_key_of(load_signing_key(key))
    m = with_board(manifest_from_json(pathlib.Path(manifest).read_bytes()), public)
    text = json.dumps(codec.to_document(m), ensure_ascii=False, indent=2, sort_keys=True)
    pathlib.Path(out).write_text(text + "\n", encoding="utf-8")
    click.echo(f"{out}: manifest for the board with public key {public.public_key.hex_upper()}")


@board.command()
@db_option
@key_option
@click.option(
    "--record",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="The record started by `tohyo trustee joint-key`.",
)
@guard
def init(db: str, key: str, record: str) -> None:
    """Create the board's key (if missing) and post the election from the ceremony."""
    if not pathlib.Path(key).exists():
        new_signing_key(key)
        click.echo(f"created the board signing key {key} (keep it private)")
    b = open_board(db, key)
    root = pathlib.Path(record)
    trustees = [p.read_bytes() for p in Layout.trustee_files(root)]
    b.setup(
        (root / Layout.MANIFEST).read_bytes(), (root / Layout.PARAMETERS).read_bytes(), trustees
    )
    click.echo(
        f"election {b.manifest.election_id} posted; "
        f"board public key {b.public.public_key.hex_upper()}"
    )


@board.command("open")
@db_option
@key_option
@guard
def open_(db: str, key: str) -> None:
    """Open the election for ballots."""
    index = open_board(db, key).open()
    click.echo(f"opened (entry {index})")


@board.command()
@db_option
@key_option
@guard
def close(db: str, key: str) -> None:
    """Close the election and post the encrypted tally of the counted ballots."""
    b = open_board(db, key)
    index = b.close()
    tally = b.post_tally()
    click.echo(
        f"closed (entry {index}); tally of {[c.ballots for c in tally.contests]} ballots posted"
    )


@board.command()
@db_option
@key_option
@guard
def status(db: str, key: str) -> None:
    """Print the board's state, size and latest signed tree head."""
    b = open_board(db, key)
    head = b.latest_head() if b.store.size() else None
    click.echo(
        json.dumps(
            {
                "state": b.state(),
                "entries": b.store.size(),
                "tree_head": {"size": head.size, "root": head.root.hex_upper(), "time": head.time}
                if head
                else None,
            },
            indent=1,
        )
    )


@board.command("post-decryption")
@db_option
@key_option
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@guard
def post_decryption(db: str, key: str, files: tuple[str, ...]) -> None:
    """Post trustees' partial decryptions (their proofs are checked first)."""
    b = open_board(db, key)
    for f in files:
        click.echo(f"{f}: entry {b.post_decryption(pathlib.Path(f).read_bytes())}")


@board.command()
@db_option
@key_option
@guard
def results(db: str, key: str) -> None:
    """Combine a quorum of posted partial decryptions and post the results."""
    r = open_board(db, key).post_results()
    for c in r.contests:
        click.echo(f"{c.contest}: " + ", ".join(f"{o.option} {o.votes}" for o in c.options))


@board.command()
@db_option
@key_option
@click.argument("out", type=click.Path(file_okay=False))
@guard
def export(db: str, key: str, out: str) -> None:
    """Write the election record to OUT (with a progress bar on a terminal)."""
    b = open_board(db, key)
    if not sys.stderr.isatty():
        root = export_record(b, out)
    else:
        started = time.monotonic()

        def rate(done: int | None) -> str:
            # a city's log takes minutes: how fast, beside click's time left
            spent = time.monotonic() - started
            return f"{done / spent:,.0f} entries/s" if done and spent > 0 else ""

        with click.progressbar(
            length=b.store.size(),
            label="entries",
            file=sys.stderr,
            show_eta=True,
            show_pos=True,
            item_show_func=rate,
        ) as bar:

            def step(n: int) -> None:
                bar.update(n, bar.pos + n)  # the item shown is the entries written so far

            root = export_record(b, out, progress=step)
    click.echo(f"record written to {root}")
