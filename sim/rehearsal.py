"""A rehearsal election for the browser: ``tohyo serve --rehearsal DIR``.

It prepares, once, in DIR: a key ceremony (trustee key files, encrypted with a rehearsal
passphrase), the board (SQLite, opened, its clock shifted into the manifest's voting
period), a stand-in JPKI CA with its CRL, and simulated cards that a person can download
from the booth: residents of つくば市 who may vote, a resident of つくばみらい市 and a
revoked card that the gate must refuse. ``tohyo rehearsal finish DIR`` then closes the
vote, tallies, has a quorum of trustees decrypt, publishes the results and exports the
record for ``tohyo verify``.

Nothing here is for a real election: the trustee keys sit in one directory, the card
passwords are printed, and the test group may be used.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bulletin.board import (
    Board,
    export_record,
    load_signing_key,
    new_signing_key,
)
from bulletin.clock import OffsetClock
from bulletin.gate import DeferredJpkiGate
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.board import Entry
from e2e.election import Election, TrusteePublicKey, base_hash
from e2e.group import GROUPS, Group
from e2e.manifest import Manifest, with_board
from e2e.rng import SystemRng
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from sim import witnesses
from sim.testca import SimulatedCard, TestCA, new_key
from trustees import keystore
from trustees.ceremony import run_ceremony
from trustees.decrypt import partial_decrypt

PASSPHRASE = "rehearsal passphrase (not for a real election)"
PSEUDONYM_KEY = b"rehearsal pseudonym key (the election authority's secret)"
SETTINGS = "rehearsal.json"


@dataclass(frozen=True)
class CardInfo:
    file: str
    label: str
    password: str
    eligible: bool


def _cards(ca: TestCA, start: datetime, out: pathlib.Path) -> list[CardInfo]:
    """Simulated cards: three residents, one neighbour town, one revoked card."""
    keys = [new_key() for _ in range(2)]
    issued = start - timedelta(days=200)
    people = [
        (
            "tsukuba-1.json",
            "筑波　花子",
            "319800217",
            "2",
            "茨城県つくば市研究学園1丁目1番地",
            "TSUKUBA1",
            True,
        ),
        (
            "tsukuba-2.json",
            "研究　太郎",
            "319750510",
            "1",
            "茨城県つくば市千現2丁目1番1号",
            "TSUKUBA2",
            True,
        ),
        (
            "tsukuba-3.json",
            "学園　次郎",
            "320010101",
            "1",
            "茨城県つくば市天久保3丁目",
            "TSUKUBA3",
            True,
        ),
        (
            "tsukubamirai.json",
            "陽光　一郎",
            "319900303",
            "1",
            "茨城県つくばみらい市陽光台1丁目",
            "MIRAI1",
            False,
        ),
        (
            "revoked.json",
            "失効　三郎",
            "319850808",
            "1",
            "茨城県つくば市吾妻1丁目",
            "REVOKED1",
            False,
        ),
    ]
    cards = []
    for i, (file, name, birth, sex, address, password, eligible) in enumerate(people):
        cert = ca.issue(
            name=name, birth=birth, sex=sex, address=address, issued=issued, key=keys[i % 2]
        )
        if file == "revoked.json":
            ca.revoke(cert.serial_number, start - timedelta(days=10))
        # Few PBKDF2 iterations: the browser checks the password, and tests run it often.
        SimulatedCard.create(keys[i % 2], cert, password, path=out / file, iterations=2000)
        label = f"{file.removesuffix('.json')} ({address})"
        cards.append(CardInfo(file, label, password, eligible))
    return cards


def pinned(manifest: Manifest, key_path: pathlib.Path) -> Manifest:
    """Create the board's signing key and name it in the manifest (before the ceremony's
    election is built from the manifest: the key is part of H_B)."""
    return with_board(manifest, new_signing_key(key_path))


def open_in_period(
    db: str, key_path: pathlib.Path, election: Election, publics: list[TrusteePublicKey]
) -> tuple[Board, float]:
    """A new board (schema; its key made by :func:`pinned`) with the election posted and
    opened, its clock shifted to the first day of the manifest's voting period; returns the
    board and that shift in seconds (for other processes' clocks). Shared by the demo and
    rehearsals."""
    engine = make_engine(db)
    migrate(engine)
    manifest = election.manifest
    offset = (manifest.start_time + timedelta(days=1) - datetime.now(UTC)).total_seconds()
    board = Board(Store(engine), load_signing_key(key_path), OffsetClock(offset))
    board.setup(
        manifest.canonical_bytes(),
        codec.encode(election.parameters()),
        [codec.encode(t) for t in publics],
    )
    board.open()
    return board, offset


def prepare(
    directory: pathlib.Path,
    group: Group,
    manifest: Manifest,
    echo: Callable[[str], None],
    trustees: int = 3,
    quorum: int = 2,
) -> None:
    """Create the rehearsal in an empty (or missing) directory; refuse a used one."""
    if (directory / SETTINGS).exists():
        echo(f"rehearsal: using the election already prepared in {directory}")
        return
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise SystemExit(f"{directory} is not empty and holds no rehearsal")
    manifest = pinned(replace(manifest, trustees=trustees, quorum=quorum), directory / "board.key")
    # Two witnesses, named in the manifest before the ceremony; `tohyo serve --rehearsal`
    # runs them as their own processes (docs/admin.md, "Witnesses").
    manifest = witnesses.witnessed(manifest, witnesses.create(directory / "witnesses"))
    rng = SystemRng()
    h_p, _ = base_hash(group, manifest)
    secrets_list, publics = run_ceremony(group, h_p, trustees, quorum, rng)
    election = Election(group, manifest, group.product(t.key for t in publics))
    (directory / "trustees").mkdir()
    for s in secrets_list:
        key = keystore.TrusteeKey(group, h_p, trustees, quorum, s)
        keystore.save(directory / "trustees" / f"trustee-{s.index}.key", key, PASSPHRASE, 2**14)
    db = f"sqlite:///{directory / 'board.db'}"
    board, offset = open_in_period(db, directory / "board.key", election, publics)
    start = board.clock.now()
    ca = TestCA.create(not_before=start - timedelta(days=1000))
    (directory / "cards").mkdir()
    cards = _cards(ca, start, directory / "cards")
    crl = ca.crl(start - timedelta(days=1), manifest.end_time + timedelta(days=30))
    (directory / "ca.pem").write_bytes(ca.pem)
    (directory / "crl.der").write_bytes(crl)
    settings = {
        "group": next(k for k, v in GROUPS.items() if v == group),
        "db": db,
        "offset": offset,
        "cards": [c.__dict__ for c in cards],
    }
    (directory / SETTINGS).write_text(json.dumps(settings, indent=1, ensure_ascii=False))
    echo(f"rehearsal: prepared in {directory} ({group.name}); voting is open")


def witness_commands(directory: pathlib.Path, url: str) -> list[list[str]]:
    """The `tohyo witness run` command lines of the rehearsal's witnesses, following the
    site at ``url`` (empty for a rehearsal prepared before witnesses existed)."""
    board = open_board(directory)
    w = board.manifest.witnessing
    board.store.engine.dispose()
    if w is None:
        return []
    key = board.public.public_key.hex_upper()
    return [
        [
            sys.executable,
            "-m",
            "tohyo",
            "witness",
            "run",
            "--init",
            "--key",
            str(s.key),
            "--name",
            s.name,
            "--state",
            str(s.state),
            "--board",
            url,
            "--origin",
            w.origin,
            "--board-key",
            key,
            "--interval",
            "0.5",
        ]  # fmt: skip
        for s in witnesses.create(directory / "witnesses")
    ]


def settings(directory: pathlib.Path) -> dict[str, Any]:
    path = directory / SETTINGS
    if not path.exists():
        raise SystemExit(f"{directory} holds no rehearsal (tohyo serve --rehearsal {directory})")
    return json.loads(path.read_text(encoding="utf-8"))


def open_board(directory: pathlib.Path) -> Board:
    """The rehearsal's board, behind the JPKI gate with the stand-in CA."""
    cfg = settings(directory)
    board = Board(
        Store(make_engine(cfg["db"])),
        load_signing_key(directory / "board.key"),
        OffsetClock(cfg["offset"]),
    )
    board.authenticator = DeferredJpkiGate(
        board,
        [directory / "ca.pem"],
        [directory / "crl.der"],
        PSEUDONYM_KEY,
        directory / "evidence",
    )
    return board


def finish(directory: pathlib.Path, echo: Callable[[str], None]) -> pathlib.Path:
    """Close, tally, decrypt with a quorum, publish the results, export the record."""
    board = open_board(directory)
    election = board.election
    if board.state() == "open":
        board.close()
        echo("rehearsal: voting closed")
    if not board.store.kinds(["tally"]):
        board.post_tally()
    tally = board.tally()
    publics = board.publics()
    commitments = trustee_commitments(publics)
    # The administrator may have done some of this from /admin already (closed, tallied,
    # had trustees decrypt, published): do only what is left: no decryption once a quorum
    # has posted (no more is needed) or the results are out (the board refuses it then).
    published = bool(board.store.kinds(["results"]))
    posted = {Entry(d).trustee for _, _, d in board.store.kinds(["decryption"])}
    for i in range(1, election.manifest.trustees + 1):
        if published or len(posted) >= election.manifest.quorum:
            break
        if i in posted:
            continue
        key = keystore.load(directory / "trustees" / f"trustee-{i}.key", PASSPHRASE)
        partial = partial_decrypt(
            election,
            tally,
            key.secrets,
            public_share(election.group, commitments, i),
            SystemRng(),
        )
        board.post_decryption(codec.encode(partial))
        posted.add(i)
        echo(f"rehearsal: trustee {i} decrypted")
    if not published:
        board.post_results()
    if board.manifest.witnessing is not None:
        if not witnesses.cosign_final(board, witnesses.create(directory / "witnesses")):
            raise SystemExit("rehearsal: the witnesses did not cosign the final head")
        echo("rehearsal: the witnesses cosigned the final head")
    out = directory / "record"
    if out.exists():
        shutil.rmtree(out)
    export_record(board, out)
    echo(f"rehearsal: results published; record exported to {out}")
    return out
