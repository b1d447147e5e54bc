"""``tohyo witness``: run a witness of the board (docs/admin.md, "Witnesses")."""

from __future__ import annotations

import base64
import os
import pathlib
import signal
import sys
import threading
from types import FrameType

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from e2e.checkpoint import COSIGNATURE_V1, NoteError, check_name, vkey
from e2e.cli import fail, guard
from watch.witness import (
    HttpBoard,
    Outcome,
    Witness,
    WitnessState,
    follow,
    public_bytes,
    publish_latest,
    step,
)

#: ``run --once`` exit codes.
EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 2


def _name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_name(value, param.name or "name")
    except NoteError as e:
        raise click.BadParameter(e.reason) from None


def _board_key(ctx: click.Context, param: click.Parameter, value: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise click.BadParameter("the board's public key is 64 hex digits")
    return raw


def load_key(path: str) -> Ed25519PrivateKey:
    """The witness's Ed25519 private key from its PEM file."""
    try:
        key = serialization.load_pem_private_key(pathlib.Path(path).read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        fail(f"{path}: not an unencrypted PEM private key ({e})")
    if not isinstance(key, Ed25519PrivateKey):
        fail(f"{path}: the witness key must be an Ed25519 key")
    return key


@click.group("witness")
def witness() -> None:
    """Witness the board: cosign each new head only if it extends the last one cosigned."""


@witness.command()
@click.option("--name", required=True, callback=_name, help="The witness's key name.")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False))
@guard
def keygen(name: str, key_path: str) -> None:
    """Create the witness's Ed25519 key (PEM, mode 0600; never overwrites a file) and
    print its verifier key and public key, for the city's manifest."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        # O_EXCL: a second keygen must never replace a key the manifest already names.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{key_path} exists; not overwriting a key")
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    pub = public_bytes(key)
    click.echo(f"verifier key: {vkey(name, COSIGNATURE_V1, pub)}")
    click.echo(f"public key:   {pub.hex().upper()}")


@witness.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, callback=_name, help="The witness's key name.")
@click.option(
    "--state",
    required=True,
    type=click.Path(dir_okay=False),
    help="The state file: the witness's promise; keep it on durable storage.",
)
@click.option("--board", "board_url", required=True, help="The board's URL.")
@click.option("--origin", required=True, callback=_name, help="The checkpoints' origin.")
@click.option(
    "--board-key", required=True, callback=_board_key, help="The board's public key (hex)."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.0, min_open=True),
    default=1.0,
    show_default=True,
    help="Seconds between polls of the board.",
)
@click.option(
    "--once",
    is_flag=True,
    help="One round, then exit: 0 cosigned or nothing new, 1 refused or a fork, "
    "2 the board is unreachable.",
)
@click.option(
    "--publish",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write each new cosigned checkpoint (the board's signature and this witness's) to "
    "this file, for the witness to publish itself (e.g. on its own web site).",
)
@click.option(
    "--init",
    is_flag=True,
    help="Start a new witness if --state does not exist yet (only the first time: a "
    "witness that has cosigned before and lost its state could be made to cosign a fork).",
)
@guard
def run(
    key_path: str,
    name: str,
    state: str,
    board_url: str,
    origin: str,
    board_key: bytes,
    interval: float,
    once: bool,
    publish: str | None,
    init: bool,
) -> None:
    """Follow the board: cosign every head it offers that extends the last one cosigned,
    post the cosignature back; refuse and report (ALERT: on stderr) any fork."""
    if not pathlib.Path(state).exists():
        if not init:
            # A missing state would read as "nothing cosigned yet": a wrong path, or a
            # lost disk, must not silently take back the promise the file holds.
            raise click.UsageError(
                f"no state file {state}: give --init to start a new witness (never for one "
                "that has cosigned before: restore its state from a backup instead)"
            )
        click.echo(f"starting a new witness: its state will be kept in {state}", err=True)
    w = Witness(name, load_key(key_path), WitnessState(state), {origin: board_key})
    source = HttpBoard(board_url)
    published = pathlib.Path(publish) if publish else None
    if once:
        r = step(w, source, origin)
        if r.outcome is Outcome.COSIGNED and published is not None:
            publish_latest(w, origin, published)
        if r.outcome is Outcome.FORK:
            click.echo(f"ALERT: {r.message}", err=True)
        else:
            click.echo(r.message, err=not r.ok)
        if r.ok:
            sys.exit(EXIT_OK)
        sys.exit(EXIT_UNREACHABLE if r.outcome is Outcome.UNAVAILABLE else EXIT_REFUSED)
    current = w.state.latest(origin)
    click.echo(
        f"witness {name} following {source.url} ({origin}); "
        f"last cosigned size {current.size if current else 0}"
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGTERM (systemd, docker stop) and Ctrl-C end the loop between rounds, never inside
    # a state update.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    follow(w, source, origin, interval, stop, click.echo, published)


@witness.command()
@click.option("--state", required=True, type=click.Path(exists=True, dir_okay=False))
@guard
def show(state: str) -> None:
    """Print, for each origin, the size and root the witness last cosigned."""
    logs = WitnessState(state).logs()
    if not logs:
        click.echo("nothing cosigned yet")
    for origin, rec in sorted(logs.items()):
        root = base64.b64encode(rec.root).decode("ascii")
        click.echo(f"{origin} size {rec.size} root {root}")
