"""A small election on a board, shared by the board tests (TEST group, 3 trustees, k = 2)."""

from __future__ import annotations

import json
import pathlib
import socket
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bulletin.auth import TokenAuthenticator
from bulletin.board import Board, load_signing_key, new_signing_key, public_key_of
from bulletin.clock import FixedClock
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.ballot import EncryptedBallot, encrypt_ballot
from e2e.board import BoardEntry, CastBallot, counted_contests
from e2e.checkpoint import cosign, parse_checkpoint, parse_note
from e2e.election import Election, base_hash
from e2e.group import TEST
from e2e.hash import HashValue
from e2e.manifest import Witnessing, WitnessKey, manifest_from_json
from e2e.rng import DeterministicRng
from e2e.tally import EncryptedTally, trustee_commitments
from e2e.threshold import public_share
from trustees.ceremony import TrusteeSecrets, run_ceremony
from trustees.decrypt import partial_decrypt
from watch.witness import public_bytes

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "tsukuba-2025.json"
KEY = b"pseudonym key for tests"
TOKENS = {f"token-{i}": f"person-{i}" for i in range(50)}


@dataclass
class Setup:
    board: Board
    election: Election
    secrets: list[TrusteeSecrets]
    clock: FixedClock
    key_path: pathlib.Path
    db: str


def make_board(
    db: str,
    tmp: pathlib.Path,
    open_it: bool = True,
    seed: str = "board",
    witnessing: Witnessing | None = None,
) -> Setup:
    key_path = tmp / "board.key"
    if not key_path.exists():
        new_signing_key(key_path)
    manifest = replace(
        manifest_from_json(EXAMPLE.read_text(encoding="utf-8")),
        trustees=3,
        quorum=2,
        board=public_key_of(load_signing_key(key_path)),
        witnessing=witnessing,
    )
    rng = DeterministicRng(seed)
    h_p, _ = base_hash(TEST, manifest)
    secrets, publics = run_ceremony(TEST, h_p, 3, 2, rng)
    election = Election(TEST, manifest, TEST.product(t.key for t in publics))
    engine = make_engine(db)
    migrate(engine)
    clock = FixedClock(manifest.start_time + timedelta(days=2))
    board = Board(Store(engine), load_signing_key(key_path), clock, TokenAuthenticator(KEY, TOKENS))
    board.setup(
        manifest.canonical_bytes(),
        codec.encode(election.parameters()),
        [codec.encode(t) for t in publics],
    )
    if open_it:
        board.open()
    return Setup(board, election, secrets, clock, key_path, db)


class Witnesses:
    """Witnesses played by a test: their keys, the manifest's ``witnessing`` naming them, and
    cosignatures of the board's checkpoints (docs/protocol.md §8.4)."""

    def __init__(self, origin: str, n: int = 2, quorum: int = 2) -> None:
        self.keys = {f"w{i}.example/tohyo": Ed25519PrivateKey.generate() for i in range(n)}
        self.config = Witnessing(
            origin,
            quorum,
            tuple(WitnessKey(name, HashValue(public_bytes(k))) for name, k in self.keys.items()),
        )

    def cosign(self, note_text: str, name: str, when: int = 1_800_000_000) -> str:
        """The note with witness ``name``'s cosignature added, as it would post it."""
        note = parse_note(note_text)
        return note.with_signatures([cosign(note.text, name, self.keys[name], when)]).render()

    def cosign_latest(self, s: Setup, names: Iterable[str] | None = None) -> None:
        """Each witness cosigns the head on offer, until the latest head is cosigned (the
        offer moves on as soon as all have cosigned)."""
        b = s.board
        while True:
            offered = b.cosigning.offer().render()
            for name in names or self.keys:
                b.cosigning.add(self.cosign(offered, name))
            if parse_checkpoint(parse_note(offered).text).size == b.store.size():
                return


def ballot_doc(election: Election, choices: dict, seed: str) -> dict:
    ballot, _ = encrypt_ballot(election, choices, DeterministicRng(seed))
    return codec.to_document(ballot)


def submission(election: Election, choices: dict, token: str, seed: str) -> bytes:
    return json.dumps(
        {"ballot": ballot_doc(election, choices, seed), "auth": {"token": token}}
    ).encode()


def later(clock: FixedClock, seconds: float = 1.0) -> None:
    clock.set(clock.now() + timedelta(seconds=seconds))


__all__ = [
    "datetime",
    "make_board",
    "submission",
    "ballot_doc",
    "later",
    "Setup",
    "Witnesses",
    "serve_in_thread",
    "free_port",
]


def child_pids(pid: int) -> set[int]:
    """The processes process ``pid`` has started (a server's workers)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(x) for x in out.split()}


def free_port() -> int:
    """A free TCP port on the loopback, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_in_thread(server: Any) -> threading.Thread:
    """Run a waitress server in a daemon thread. ``server.close()`` closes its socket under
    the thread's select(), which then raises EBADF: that is the normal end, not an error."""

    def run() -> None:
        try:
            server.run()
        except OSError:
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def finish(s: Setup, seed: str = "p") -> EncryptedTally:
    """Close, tally, decrypt with a quorum (the first two trustees) and publish results."""
    b, el = s.board, s.election
    b.close()
    tally = b.post_tally()
    commitments = trustee_commitments(b.publics())
    for sec in s.secrets[:2]:
        x = public_share(el.group, commitments, sec.index)
        b.post_decryption(codec.encode(partial_decrypt(el, tally, sec, x, DeterministicRng(seed))))
    b.post_results()
    return tally


def counted(board: Board) -> list[tuple[EncryptedBallot, frozenset[int]]]:
    """The re-vote rule over the whole log, every cast ballot decoded at once (the
    reference the board's paged tally is compared with): each ballot with the contests it
    counts for."""
    rows = board.store.kinds(["ballot"])
    entries = [codec.decode(d, BoardEntry) for _, _, d in rows]
    ballots = codec.decode_many(
        [e.payload.encode() for e in entries], EncryptedBallot, board.election.group
    )
    rule = counted_contests(
        CastBallot(e.index, e.voter, tuple(c.contest for c in b.contests))
        for e, b in zip(entries, ballots, strict=True)
    )
    return [(b, rule[e.index]) for e, b in zip(entries, ballots, strict=True)]
