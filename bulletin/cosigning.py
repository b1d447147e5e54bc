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

#: How many intervals an offer that some but fewer than a quorum of witnesses cosigned
#: waits for the others (a witness that polls more slowly than the offer interval).
PATIENCE = 10
#: A cosignature more than this far in the future (seconds) is refused: a witness's clock
#: that wrong would make its statement "as of time t" meaningless.
FUTURE = 600


class Cosigning:
    """Checkpoints and cosignatures of one board."""

    def __init__(
        self, board: Board, interval: float = 1.0, clock: Callable[[], float] | None = None
    ) -> None:
        self.board = board
        self.interval = interval
        self.clock = clock

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

    def note(self, size: int) -> Note:
        """The checkpoint of the head of ``size`` with every cosignature collected for it."""
        head = self._head(size)
        if head is None:
            raise Refusal("not_found", f"no tree head for size {size}")
        return self.note_of(head)

    def note_of(self, head: TreeHead) -> Note:
        """The checkpoint of ``head`` (signed now: Ed25519 is deterministic, so it is the
        same note each time) with every cosignature collected for it."""
        cp = Checkpoint(self._config().origin, head.size, bytes(head.root))
        return self._with_cosignatures(sign_checkpoint(cp, self.board.key))

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
        """The checkpoint offered to the witnesses now (GET /api/checkpoint).

        The offer moves on to the latest head when every witness has cosigned it; when a
        quorum has, or none, and it is ``interval`` seconds old; and when some but fewer
        than the quorum have, only after ``PATIENCE`` intervals, so that a witness polling
        more slowly than the interval still cosigns the head its peers did (otherwise each
        would replace the other's offer and no head would reach the quorum while the log
        grows). Ages are the database's clock, which every web process and machine shares:
        one host's clock ahead or behind would otherwise move the offer on every request.
        """
        w = self._config()
        latest = self.board.latest_head()
        store = self.board.store
        # Decided in a reader first: a poll (every witness, every second) takes no write
        # lock unless the offer is due to move.
        last, count, now = store.with_reader(lambda conn: self._last_offer(conn))
        if not self._due(w, latest.size, last, count, now):
            assert last is not None
            return self.note(last.size)
        with store.operational() as conn:
            last, count, now = self._last_offer(conn)  # again: another process may have moved it
            if self._due(w, latest.size, last, count, now):
                try:
                    with conn.begin_nested():
                        conn.execute(
                            schema.checkpoint_offers.insert().values(size=latest.size, offered=now)
                        )
                except IntegrityError:
                    pass  # another process offered the same head at the same moment
                size = latest.size
            else:
                assert last is not None
                size = last.size
        return self.note(size)

    def _now(self, conn: Any) -> float:
        """POSIX seconds by the database's clock (or the injected clock of a test)."""
        if self.clock is not None:
            return self.clock()
        if conn.dialect.name == "postgresql":
            expr = func.extract("epoch", func.clock_timestamp())
        else:
            expr = (func.julianday("now") - 2440587.5) * 86400.0
        return float(conn.execute(select(expr)).scalar_one())

    def _last_offer(self, conn: Any) -> tuple[Any, int, float]:
        o = schema.checkpoint_offers.c
        last = conn.execute(select(o.size, o.offered).order_by(o.size.desc()).limit(1)).first()
        count = self._count(conn, last.size) if last is not None else 0
        return last, count, self._now(conn)

    def _due(self, w: Witnessing, head: int, last: Any, count: int, now: float) -> bool:
        if last is None:
            return True
        if head <= last.size:
            return False
        if count >= len(w.witnesses):
            return True
        age = now - last.offered
        if age < 0:
            return True  # the database's clock stepped back: never freeze the offer
        if 0 < count < w.quorum:
            return age >= PATIENCE * self.interval
        return age >= self.interval

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
        late = (self.clock or time.time)() + FUTURE
        if any(cos.timestamp > late for cos in found):
            raise Refusal("bad_signature", "the cosignature's time is in the future")
        c = schema.cosignatures.c

        def stored(conn: Any) -> list[str]:
            rows = conn.execute(select(c.witness).where(c.size == cp.size).order_by(c.witness))
            return [r.witness for r in rows]

        names = self.board.store.with_reader(stored)
        found = [cos for cos in found if cos.witness not in names]
        if not found:  # all stored already (a witness posting again): no write lock taken
            return {"size": cp.size, "cosigned_by": names, "quorum": w.quorum}
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
            names = stored(conn)
            if len(names) >= w.quorum:
                try:
                    with conn.begin_nested():
                        conn.execute(schema.witnessed_heads.insert().values(size=cp.size))
                except IntegrityError:
                    pass  # marked already (another witness's post in another process)
        return {"size": cp.size, "cosigned_by": names, "quorum": w.quorum}

    def witnessed_size(self, at_least: int = 0) -> int | None:
        """The largest head size of at least ``at_least`` that a quorum cosigned, if any."""
        if self.witnessing is None:
            return None
        h = schema.witnessed_heads.c
        size = self.board.store.with_reader(
            lambda conn: conn.execute(select(func.max(h.size))).scalar()
        )
        return size if size is not None and size >= at_least else None

    def witnessed(self) -> Note:
        """The latest checkpoint a quorum of witnesses cosigned (GET
        /api/checkpoint/witnessed)."""
        self._config()
        size = self.witnessed_size()
        if size is None:
            raise Refusal("not_found", "no head has been cosigned by a quorum of witnesses yet")
        return self.note(size)
