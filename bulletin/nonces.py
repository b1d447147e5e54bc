"""The JPKI gate's signing nonces (:mod:`bulletin.jpki.nonce`) in the board's database
(the ``challenges`` table), so every web worker shares them.

Same contract as :class:`bulletin.jpki.nonce.MemoryNonceStore`: a challenge is
valid until it expires and is redeemed once; redeeming it again for the same ballot binding
is the board's idempotent retry and passes, for another binding it is a replay.
The redeem is one conditional UPDATE (``… WHERE binding IS NULL``), so two workers cannot
both use one challenge: on PostgreSQL the second UPDATE waits for the first's row lock and,
once that commits, finds the binding set and changes nothing; on SQLite the two cannot
overlap at all. That row is all the correctness needs, so issue and redeem run in the
store's operational transactions (:meth:`bulletin.store.Store.operational`), never under
the log's append lock: a JPKI ballot takes the append lock once, for its entry.
"""

from __future__ import annotations

import hmac
import os
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bulletin import schema
from bulletin.clock import iso
from bulletin.jpki.errors import JpkiRefusal
from bulletin.jpki.nonce import NONCE_BYTES, SigningNonce
from bulletin.store import Store


class DatabaseNonceStore:
    def __init__(self, store: Store, ttl: timedelta = timedelta(minutes=10)) -> None:
        self.store = store
        self.ttl = ttl

    def issue(self, now: datetime) -> SigningNonce:
        value = os.urandom(NONCE_BYTES)
        expires = now + self.ttl
        with self.store.operational() as conn:
            conn.execute(schema.challenges.insert().values(value=value, expires=iso(expires)))
        return SigningNonce(value, expires)

    def redeem(self, challenge: bytes, binding: bytes, now: datetime) -> None:
        c = schema.challenges.c
        with self.store.operational() as conn:
            row = conn.execute(select(c.expires, c.binding).where(c.value == challenge)).first()
            if row is None:
                raise JpkiRefusal("challenge_unknown")
            if row.binding is None:
                if row.expires < iso(now):
                    raise JpkiRefusal("challenge_expired")
                done = conn.execute(
                    update(schema.challenges)
                    .where(c.value == challenge, c.binding.is_(None))
                    .values(binding=binding)
                ).rowcount
                if done == 1:
                    return
                row = conn.execute(select(c.binding).where(c.value == challenge)).first()
            if not hmac.compare_digest(bytes(row.binding), binding):
                raise JpkiRefusal("challenge_used")

    def mark_remote(self, challenge: bytes, now: datetime) -> bool:
        c = schema.challenges.c
        with self.store.operational() as conn:
            done = conn.execute(
                update(schema.challenges)
                .where(c.value == challenge, c.binding.is_(None), c.expires >= iso(now))
                .values(remote=True)
            ).rowcount
        return done == 1

    def is_live(self, challenge: bytes, now: datetime) -> bool:
        c = schema.challenges.c
        with self.store.engine.connect() as conn:
            row = conn.execute(select(c.expires, c.binding).where(c.value == challenge)).first()
        return row is not None and row.binding is None and row.expires >= iso(now)

    def is_remote(self, challenge: bytes) -> bool:
        c = schema.challenges.c
        with self.store.operational() as conn:
            row = conn.execute(select(c.remote, c.binding).where(c.value == challenge)).first()
        # spent: a retry of the ballot it signed, judged by the board as a retry
        return row is not None and bool(row.remote) and row.binding is None
