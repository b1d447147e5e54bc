"""Witnesses for the demo and rehearsals (docs/protocol.md §8.4): two independent parties'
keys, made here, named in the manifest before the ceremony, and run beside the board.

A real witness runs `tohyo witness run` on its own machine against the board's URL
(:class:`watch.witness.HttpBoard`). The demo has no web server, so its witnesses call the
board in process (:class:`LocalBoard`), through the same checks: the board's offer, a
consistency proof, the witness's durable state, the board's verification of the
cosignature.
"""

from __future__ import annotations

import pathlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bulletin.board import Board
from bulletin.refusals import Refusal
from e2e.hash import HashValue
from e2e.manifest import Manifest, Witnessing, WitnessKey, default_origin, with_witnesses
from watch.witness import (
    BoardRefused,
    BoardSource,
    Outcome,
    Witness,
    WitnessState,
    public_bytes,
    step,
)

T = TypeVar("T")

#: The demo's and rehearsals' witnesses (names only: the keys are made per election).
NAMES = ("witness.university.example/tohyo", "witness.newspaper.example/tohyo")
#: How often the simulated witnesses ask the board (a real one: `--interval`, 1 s).
INTERVAL = 0.2


class LocalBoard:
    """A :class:`watch.witness.BoardSource` over a board in this process."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Refusal as e:
            # The witness tells refusals apart by their code; of the HTTP statuses (web's,
            # not ours to copy) it reads only a 404's "no head yet".
            raise BoardRefused(404 if e.code == "not_found" else 400, e.code, e.detail) from None

    def checkpoint(self) -> str:
        return self._call(lambda: self.board.cosigning.offer().render())

    def consistency(self, first: int, second: int) -> list[bytes]:
        return self._call(lambda: self.board.consistency(first, second)) if first else []

    def submit(self, note: str) -> None:
        self._call(lambda: self.board.cosigning.add(note))


@dataclass(frozen=True)
class SimWitness:
    name: str
    key: pathlib.Path
    state: pathlib.Path

    def load(self, origin: str, board_key: bytes) -> Witness:
        key = serialization.load_pem_private_key(self.key.read_bytes(), None)
        assert isinstance(key, Ed25519PrivateKey)
        return Witness(self.name, key, WitnessState(self.state), {origin: board_key})


def create(directory: pathlib.Path) -> list[SimWitness]:
    """The witnesses' keys in ``directory`` (made once; their state beside them)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i, name in enumerate(NAMES, start=1):
        key = directory / f"witness-{i}.key"
        if not key.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            key.write_bytes(pem)
            key.chmod(0o600)
        out.append(SimWitness(name, key, directory / f"witness-{i}.state.json"))
    return out


def witnessed(manifest: Manifest, witnesses: list[SimWitness]) -> Manifest:
    """The manifest naming ``witnesses`` (all must cosign: quorum = their number)."""
    assert manifest.board is not None
    keys = []
    for w in witnesses:
        key = serialization.load_pem_private_key(w.key.read_bytes(), None)
        assert isinstance(key, Ed25519PrivateKey)
        keys.append(WitnessKey(w.name, HashValue(public_bytes(key))))
    witnessing = Witnessing(default_origin(manifest), len(keys), tuple(keys))
    return with_witnesses(manifest, witnessing)


def _loaded(board: Board, witnesses: list[SimWitness]) -> tuple[str, list[Witness]]:
    w = board.manifest.witnessing
    assert w is not None
    key = bytes(board.public.public_key)
    return w.origin, [s.load(w.origin, key) for s in witnesses]


@contextmanager
def running(
    board: Board,
    witnesses: list[SimWitness],
    source: BoardSource | None = None,
    interval: float = INTERVAL,
    alert: Callable[[str], None] = print,
) -> Iterator[dict[str, int]]:
    """The witnesses following the board in threads while the block runs; yields counts of
    their outcomes (cosigned, unchanged, …). A fork is reported through ``alert``."""
    origin, loaded = _loaded(board, witnesses)
    src = source or LocalBoard(board)
    counts: dict[str, int] = {}
    stop = threading.Event()
    lock = threading.Lock()

    def run(w: Witness) -> None:
        while not stop.is_set():
            r = step(w, src, origin)
            with lock:
                counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
            if r.outcome is Outcome.FORK:
                alert(f"ALERT: {w.name}: {r.message}")
            stop.wait(interval)

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in loaded]
    for t in threads:
        t.start()
    try:
        yield counts
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)


def cosign_final(
    board: Board, witnesses: list[SimWitness], timeout: float = 30.0, interval: float = 0.05
) -> bool:
    """Let the witnesses cosign until a quorum has cosigned the log's last head (before the
    record is exported: its board/checkpoint.txt must be witnessed); False on timeout."""
    origin, loaded = _loaded(board, witnesses)
    src = LocalBoard(board)
    size = board.store.size()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if board.cosigning.witnessed_size(size) is not None:
            return True
        for w in loaded:
            step(w, src, origin)
        time.sleep(interval)
    return board.cosigning.witnessed_size(size) is not None
