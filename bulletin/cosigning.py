"""The board's side of witnessing (docs/protocol.md §8.4): checkpoints offered to the
witnesses, their cosignatures collected, and the witnessed head a receipt is given against.

The board signs a head with every batch of ballots, many times a second, but a quorum needs
several witnesses' cosignatures of *one* checkpoint. So the board offers one head at a time
(``checkpoint_offers``): the offer moves on to the latest head once every witness has
cosigned it, or once it is ``interval`` seconds old (a witness that is offline delays the
next offer by at most that, and never blocks voting). Witnesses fetch the offer and a
consistency proof, check it against the last head they cosigned, and post their
cosignature, which the board verifies against the manifest's keys before storing it.

Both tables are operational (not part of the log): a cosignature is evidence about the log,
kept beside it and exported with the record (``board/checkpoint.txt``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bulletin import schema
from bulletin.refusals import Refusal
from e2e import codec
from e2e.board import TreeHead
from e2e.checkpoint import (
    Checkpoint,
    Note,
    NoteError,
    parse_checkpoint,
    parse_note,
    parse_signature_lines,
    sign_checkpoint,
    verify_cosignatures,
)
from e2e.manifest import Witnessing

if TYPE_CHECKING:
    from bulletin.board import Board

#: A cosignature more than this far in the future (seconds) is refused: a witness's clock
#: that wrong would make its statement "as of time t" meaningless.
FUTURE = 600


class Cosigning:
    """Checkpoints and cosignatures of one board."""

    def __init__(
        self, board: Board, interval: float = 1.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.board = board
        self.interval = interval
        self.clock = clock
        self._signed: dict[int, Note] = {}  # size → the board's note (Ed25519 is deterministic)
        self._lock = threading.Lock()

    # --- configuration ---------------------------------------------------------------------

    @property
    def witnessing(self) -> Witnessing | None:
        return self.board.manifest.witnessing

    def _config(self) -> Witnessing:
        w = self.witnessing
        if w is None:
            raise Refusal("not_found", "the election's manifest names no witnesses")
        return w

    # --- notes -----------------------------------------------------------------------------

    def _head(self, size: int) -> TreeHead | None:
        data = self.board.store.tree_head(size)
        return None if data is None else codec.decode(data, TreeHead)

    def signed(self, head: TreeHead) -> Note:
        """The board's checkpoint of ``head``: its text signed with the board's key."""
        w = self._config()
        with self._lock:
            note = self._signed.get(head.size)
        if note is None or parse_checkpoint(note.text).root != bytes(head.root):
            note = sign_checkpoint(
                Checkpoint(w.origin, head.size, bytes(head.root)), self.board.key
            )
            with self._lock:
                if len(self._signed) > 4096:
                    self._signed.clear()
                self._signed[head.size] = note
        return note

    def note(self, size: int) -> Note:
        """The checkpoint of the head of ``size`` with every cosignature collected for it."""
        head = self._head(size)
        if head is None:
            raise Refusal("not_found", f"no tree head for size {size}")
        return self._with_cosignatures(self.signed(head))

    def _with_cosignatures(self, note: Note) -> Note:
        size = parse_checkpoint(note.text).size
        c = schema.cosignatures.c
        lines = self.board.store.with_reader(
            lambda conn: [
                r.line
                for r in conn.execute(select(c.line).where(c.size == size).order_by(c.witness))
            ]
        )
        return note.with_signatures(parse_signature_lines("".join(lines))) if lines else note

    # --- the offer -------------------------------------------------------------------------

    def offer(self) -> Note:
        """The checkpoint offered to the witnesses now (GET /api/checkpoint)."""
        w = self._config()
        latest = self.board.latest_head()
        o = schema.checkpoint_offers.c
        now = self.clock()
        with self.board.store.operational() as conn:
            last = conn.execute(select(o.size, o.offered).order_by(o.size.desc()).limit(1)).first()
            size = last.size if last is not None else None
            if last is None or latest.size > last.size:
                age = now - last.offered if last is not None else self.interval
                done = last is not None and self._count(conn, last.size) >= len(w.witnesses)
                # A clock stepped back (age < 0) must not freeze the offer.
                if last is None or done or age >= self.interval or age < 0:
                    try:
                        with conn.begin_nested():
                            conn.execute(
                                schema.checkpoint_offers.insert().values(
                                    size=latest.size, offered=now
                                )
                            )
                    except IntegrityError:
                        pass  # another process offered the same head at the same moment
                    size = latest.size
        assert size is not None
        return self.note(size)

    @staticmethod
    def _count(conn: Any, size: int) -> int:
        c = schema.cosignatures.c
        return conn.execute(select(func.count()).where(c.size == size)).scalar_one()

    # --- cosignatures ----------------------------------------------------------------------

    def add(self, text: str | bytes) -> dict[str, Any]:
        """Store a witness's cosignatures of one of the board's checkpoints (POST
        /api/cosignatures): the note's text must be the board's checkpoint of one of its
        heads; lines of manifest witnesses are verified (one that fails refuses the whole
        note), other lines are ignored."""
        w = self._config()
        try:
            note = parse_note(text)
            cp = parse_checkpoint(note.text)
        except NoteError as e:
            raise Refusal("malformed", f"not a checkpoint note: {e}") from None
        head = self._head(cp.size) if cp.origin == w.origin else None
        if head is None or bytes(head.root) != cp.root:
            raise Refusal("not_our_checkpoint", f"no head of size {cp.size} with that root")
        try:
            found = verify_cosignatures(note, w.keys())
        except NoteError as e:
            raise Refusal("bad_signature", str(e)) from None
        if not found:
            raise Refusal("unknown_witness", "no cosignature of a witness the manifest names")
        late = self.clock() + FUTURE
        if any(cos.timestamp > late for cos in found):
            raise Refusal("bad_signature", "the cosignature's time is in the future")
        with self.board.store.operational() as conn:
            for cos in found:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            schema.cosignatures.insert().values(
                                size=cp.size,
                                witness=cos.witness,
                                timestamp=cos.timestamp,
                                line=cos.signature.line(),
                            )
                        )
                except IntegrityError:
                    pass  # this witness's cosignature of this head is already stored
            c = schema.cosignatures.c
            names = [
                r.witness
                for r in conn.execute(
                    select(c.witness).where(c.size == cp.size).order_by(c.witness)
                )
            ]
        return {"size": cp.size, "cosigned_by": names, "quorum": w.quorum}

    def witnessed_size(self, at_least: int = 0) -> int | None:
        """The largest head size of at least ``at_least`` that a quorum cosigned, if any."""
        w = self.witnessing
        if w is None:
            return None
        c = schema.cosignatures.c
        return self.board.store.with_reader(
            lambda conn: conn.execute(
                select(c.size)
                .where(c.size >= at_least)
                .group_by(c.size)
                .having(func.count() >= w.quorum)
                .order_by(c.size.desc())
                .limit(1)
            ).scalar()
        )

    def witnessed(self) -> Note:
        """The latest checkpoint a quorum of witnesses cosigned (GET
        /api/checkpoint/witnessed)."""
        self._config()
        size = self.witnessed_size()
        if size is None:
            raise Refusal("not_found", "no head has been cosigned by a quorum of witnesses yet")
        return self.note(size)
