"""Single-use signing nonces: the server, not the client, decides what the card signs.

Of the three things called a challenge in this field, this is the board's: a nonce that
the voter's card signs with H_E and the confirmation code (the others are the Benaloh
challenge, a ballot opened instead of cast, and a proof's Fiat-Shamir challenge c). The
API keeps its first name for it: the ``challenge`` field, ``POST /api/challenges``, the
``challenge_*`` refusal codes, the ``challenges`` table.

The booth asks for a nonce, the card signs a message that contains it
(:func:`bulletin.jpki.verify.signed_message`), and the gate redeems it once. A nonce
redeemed again for the *same* ballot binding is the board's idempotent retry of the same
submission and passes (the board then returns the first receipt); for any other ballot it is
a replay and is refused (``challenge_used``).

:class:`MemoryNonceStore` serves one process. Several web workers need a shared store
(a database table with a unique key on the challenge) behind the same interface.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bulletin.jpki.errors import JpkiRefusal

NONCE_BYTES = 32


@dataclass(frozen=True)
class SigningNonce:
    value: bytes
    expires: datetime

    def as_json(self) -> dict[str, str]:
        return {"challenge": self.value.hex(), "expires": self.expires.isoformat()}


class NonceStore(Protocol):
    def issue(self, now: datetime) -> SigningNonce: ...

    def redeem(self, challenge: bytes, binding: bytes, now: datetime) -> None:
        """Use a challenge for a ballot binding, or raise JpkiRefusal (unknown, expired,
        used for another binding)."""
        ...

    def mark_remote(self, challenge: bytes, now: datetime) -> bool:
        """Mark an unexpired, unused challenge as handed to a signing app on another device;
        False if there is no such challenge (a stale request: nothing to sign)."""
        ...

    def is_live(self, challenge: bytes, now: datetime) -> bool:
        """Whether the challenge is known, unexpired and unused: a ballot signed with it now
        could be taken (the hand-off asks before the app reads the card)."""
        ...

    def is_remote(self, challenge: bytes) -> bool:
        """Whether :meth:`mark_remote` marked this challenge and it is not spent yet (a
        spent one comes back only as the retry of the ballot it signed)."""
        ...


class MemoryNonceStore:
    """Challenges in this process's memory, each valid for ``ttl`` and usable once."""

    def __init__(
        self,
        ttl: timedelta = timedelta(minutes=10),
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.ttl = ttl
        self._random = random
        self._lock = threading.Lock()
        self._issued: dict[bytes, datetime] = {}
        self._used: dict[bytes, tuple[bytes, datetime]] = {}
        self._remote: set[bytes] = set()
        self._next_prune: datetime | None = None

    def _prune(self, now: datetime) -> None:
        """Forget expired challenges, at most once per half TTL (amortised O(1) per call);
        a forgotten challenge is refused as unknown, so it stays unusable."""
        if self._next_prune is not None and now < self._next_prune:
            return
        self._next_prune = now + self.ttl / 2
        for c in [c for c, t in self._issued.items() if t < now]:
            del self._issued[c]
        for c in [c for c, (_, t) in self._used.items() if t < now]:
            del self._used[c]
        self._remote &= self._issued.keys() | self._used.keys()

    def issue(self, now: datetime) -> SigningNonce:
        with self._lock:
            self._prune(now)
            value = self._random(NONCE_BYTES)
            if value in self._issued or value in self._used:
                raise RuntimeError("the random source repeated itself")
            expires = now + self.ttl
            self._issued[value] = expires
            return SigningNonce(value, expires)

    def redeem(self, challenge: bytes, binding: bytes, now: datetime) -> None:
        with self._lock:
            used = self._used.get(challenge)
            if used is not None:
                if hmac.compare_digest(used[0], binding):
                    return  # the same ballot again: the board's idempotent retry
                raise JpkiRefusal("challenge_used")
            expires = self._issued.get(challenge)
            if expires is None:
                raise JpkiRefusal("challenge_unknown")
            if expires < now:
                del self._issued[challenge]
                raise JpkiRefusal("challenge_expired")
            del self._issued[challenge]
            self._used[challenge] = (binding, expires)

    def mark_remote(self, challenge: bytes, now: datetime) -> bool:
        with self._lock:
            expires = self._issued.get(challenge)
            if expires is None or expires < now:
                return False
            self._remote.add(challenge)
            return True

    def is_live(self, challenge: bytes, now: datetime) -> bool:
        with self._lock:
            expires = self._issued.get(challenge)
            return expires is not None and expires >= now

    def is_remote(self, challenge: bytes) -> bool:
        with self._lock:
            return challenge in self._remote and challenge not in self._used
