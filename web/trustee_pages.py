"""``/trustees``: the public status of every trustee's ceremony steps and decryption.

Anyone may read it: which trustee has posted its public key, its shares and its
confirmation, the joint key's fingerprint to compare with what each trustee's command
printed, and who has posted a partial decryption. Nothing secret is shown: no token, no
share, no complaint text (a complaint is only counted).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, render_template

from bulletin.board import Board, BoardError
from bulletin.ceremony import CeremonyStore
from e2e.election import joint_key

bp = Blueprint("trustee_pages", __name__, url_prefix="/trustees")


@dataclass(frozen=True)
class Row:
    """One trustee's public progress."""

    index: int
    public_key: bool
    fingerprint: str
    shares_sent: int | None
    shares_received: int | None
    confirmed: bool | None
    decryption: bool


def _fingerprint(element: Any) -> str:
    return hashlib.sha256(element.to_bytes()).hexdigest()[:16].upper()


@bp.get("")
def status() -> Any:
    """The public table of every trustee's steps."""
    board: Board = current_app.config["BOARD"]
    store = CeremonyStore(board)
    progress = store.progress()
    try:
        election = board.election
    except BoardError:
        election = None
    decryptions = store.decryptions() if election is not None else {}
    rows: list[Row] = []
    n = k = 0
    joint = ""
    group = ""
    title = None
    complaints = 0
    if progress is not None:
        c = progress.ceremony
        n, k, group, title = c.n, c.k, c.group_name, c.manifest.title
        joint = progress.joint_key_fingerprint()
        complaints = len(progress.open_complaints)
        for t in progress.trustees:
            rows.append(
                Row(
                    t.index,
                    t.public_key is not None,
                    t.fingerprint(),
                    len(t.shares_sent),
                    len(t.shares_received),
                    t.confirmed is not None,
                    t.index in decryptions,
                )
            )
    elif election is not None:
        # Set up by `tohyo board init` from files: the keys are on the board.
        m = election.manifest
        n, k, title = m.trustees, m.quorum, m.title
        group = election.parameters().group
        publics = board.publics()
        joint = joint_key(election.group, publics).hex()[:32]
        for t in sorted(publics, key=lambda t: t.index):
            rows.append(
                Row(t.index, True, _fingerprint(t.key), None, None, None, t.index in decryptions)
            )
    return render_template(
        "trustees/status.html",
        progress=progress,
        election=election,
        rows=rows,
        n=n,
        k=k,
        group=group,
        title=title,
        joint=joint,
        complaints=complaints,
        decryptions=decryptions,
        tally=board.store.has_kind("tally") if election is not None else False,
    )
