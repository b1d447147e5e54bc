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
    BoardError,
    export_record,
    load_signing_key,
    new_signing_key,
    public_key_of,
)
from bulletin.clock import OffsetClock
from bulletin.store import UNAVAILABLE, Store, is_unavailable, make_engine, migrate
from e2e.cli import guard
from e2e.record import Layout

DEFAULT_DB = "sqlite:///board.db"


def open_board(db: str, key: str, clock_offset: float = 0.0, **kwargs: Any) -> Board:
    """The board at ``db`` (migrated to the latest schema), its missing head signed;
    ``clock_offset``: seconds the board's clock runs ahead, as `tohyo serve --clock-offset`
    gives it (a rehearsal outside the real period), so the web site and these commands
    judge the same election at the same time.

    A database that cannot be connected to (not started yet, a wrong host, port, password
    or database name: libpq tells them apart only in words) or does not answer for now
    (SQLite's lock held past its timeout) is :class:`DatabaseUnavailable`: one line naming
    the database (its password hidden) and the driver's reason, not a traceback."""
    engine = make_engine(db)
    try:
        migrate(engine)
        if clock_offset and "clock" not in kwargs:
            kwargs["clock"] = OffsetClock(clock_offset)
        b = Board(Store(engine), load_signing_key(key), **kwargs)
        b.recover()
    except UNAVAILABLE as e:
        engine.dispose()
        if not is_unavailable(e):  # a failing migration, with the server's own code: a bug
            raise
        raise DatabaseUnavailable(engine, e) from None
    return b


class DatabaseUnavailable(BoardError):
    """The board's database did not answer when a command opened it."""

    def __init__(self, engine: Any, e: BaseException) -> None:
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()
        where = engine.url.render_as_string(hide_password=True)
        super().__init__(
            f"cannot use the board's database {where}: "
            + (reason[0] if reason else type(e).__name__)
        )


db_option = click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLAlchemy URL.")
key_option = click.option(
    "--key", default="board.key", show_default=True, help="The board's Ed25519 signing key (PEM)."
)
clock_option = click.option(
    "--clock-offset",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to add to this machine's clock: the same as `tohyo serve --clock-offset`.",
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
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="VKEY",
    help="A witness's verifier key, as `tohyo witness keygen` prints it (name+id+key); "
    "repeat for each witness.",
)
@click.option(
    "--witness-quorum",
    type=int,
    default=None,
    help="How many witnesses must cosign a head before clients accept it (default: all).",
)
@click.option(
    "--origin",
    default=None,
    help="The checkpoints' origin line naming this election (default: "
    "tohyo/<election id>/<board key's first 8 hex digits>).",
)
@guard
def pin_manifest(
    key: str,
    manifest: str,
    out: str,
    witnesses: tuple[str, ...],
    witness_quorum: int | None,
    origin: str | None,
) -> None:
    """Name the board's public key (and its witnesses) in the manifest, before the key
    ceremony.

    Creates the board's signing key if it is missing. The trustees hash the manifest (H_B),
    so the key is pinned in everything the election binds to: a record of this election
    without the board's log, or with a log signed by another key, does not verify. The
    witnesses are pinned the same way: clients accept a head only with a quorum of their
    cosignatures (docs/admin.md, "Witnesses").
    """
    from e2e import codec
    from e2e.manifest import manifest_from_json, with_board, with_witnesses

    if not pathlib.Path(key).exists():
        new_signing_key(key)
        click.echo(f"created the board signing key {key} (keep it private)")
    public = public_key_of(load_signing_key(key))
    m = with_board(manifest_from_json(pathlib.Path(manifest).read_bytes()), public)
    if witnesses or witness_quorum is not None or origin is not None:
        if not witnesses:
            raise click.UsageError("--witness-quorum and --origin need --witness")
        m = with_witnesses(m, witnessing_of(m, witnesses, witness_quorum, origin))
    text = json.dumps(codec.to_document(m), ensure_ascii=False, indent=2, sort_keys=True)
    pathlib.Path(out).write_text(text + "\n", encoding="utf-8")
    click.echo(f"{out}: manifest for the board with public key {public.public_key.hex_upper()}")
    if m.witnessing is not None:
        w = m.witnessing
        names = ", ".join(k.name for k in w.witnesses)
        click.echo(f"  witnesses: {names}; quorum {w.quorum}; origin {w.origin}")


def witnessing_of(m: Any, vkeys: tuple[str, ...], quorum: int | None, origin: str | None) -> Any:
    """The manifest's ``witnessing`` from witnesses' verifier keys."""
    from e2e.checkpoint import COSIGNATURE_V1, NoteError, parse_vkey
    from e2e.hash import HashValue
    from e2e.manifest import Witnessing, WitnessKey, default_origin

    keys = []
    for text in vkeys:
        try:
            name, kind, pub = parse_vkey(text)
        except NoteError as e:
            raise click.BadParameter(f"{text}: {e.reason}", param_hint="--witness") from None
        if kind != COSIGNATURE_V1:
            raise click.BadParameter(
                f"{text}: not a witness's cosignature key (type 0x04)", param_hint="--witness"
            )
        keys.append(WitnessKey(name, HashValue(pub)))
    origin = origin if origin is not None else default_origin(m)
    return Witnessing(origin, len(keys) if quorum is None else quorum, tuple(keys))


@board.command()
@db_option
@key_option
@clock_option
@click.option(
    "--record",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="The record started by `tohyo trustee joint-key`.",
)
@guard
def init(db: str, key: str, clock_offset: float, record: str) -> None:
    """Create the board's key (if missing) and post the election from the ceremony."""
    if not pathlib.Path(key).exists():
        new_signing_key(key)
        click.echo(f"created the board signing key {key} (keep it private)")
    b = open_board(db, key, clock_offset)
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
@clock_option
@guard
def open_(db: str, key: str, clock_offset: float) -> None:
    """Open the election for ballots."""
    index = open_board(db, key, clock_offset).open()
    click.echo(f"opened (entry {index})")


@board.command()
@db_option
@key_option
@clock_option
@guard
def close(db: str, key: str, clock_offset: float) -> None:
    """Close the election and post the encrypted tally of the counted ballots."""
    b = open_board(db, key, clock_offset)
    index = b.close()
    tally = b.post_tally()
    click.echo(
        f"closed (entry {index}); tally of {[c.ballots for c in tally.contests]} ballots posted"
    )


@board.command()
@db_option
@key_option
@clock_option
@guard
def status(db: str, key: str, clock_offset: float) -> None:
    """Print the board's state, size and latest signed tree head."""
    b = open_board(db, key, clock_offset)
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
@clock_option
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@guard
def post_decryption(db: str, key: str, clock_offset: float, files: tuple[str, ...]) -> None:
    """Post trustees' partial decryptions (their proofs are checked first)."""
    b = open_board(db, key, clock_offset)
    for f in files:
        click.echo(f"{f}: entry {b.post_decryption(pathlib.Path(f).read_bytes())}")


@board.command()
@db_option
@key_option
@clock_option
@guard
def results(db: str, key: str, clock_offset: float) -> None:
    """Combine a quorum of posted partial decryptions and post the results."""
    r = open_board(db, key, clock_offset).post_results()
    for c in r.contests:
        click.echo(f"{c.contest}: " + ", ".join(f"{o.option} {o.votes}" for o in c.options))


@board.command()
@db_option
@key_option
@clock_option
@click.argument("out", type=click.Path(file_okay=False))
@guard
def export(db: str, key: str, clock_offset: float, out: str) -> None:
    """Write the election record to OUT (with a progress bar on a terminal)."""
    b = open_board(db, key, clock_offset)
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
