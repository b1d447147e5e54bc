"""Who may cast: the pluggable authenticator interface, and a simple one for tests and demos.

An authenticator turns the ``auth`` part of a submission into a voter pseudonym, or refuses
with a :class:`Refusal` (:mod:`bulletin.refusals`, re-exported here for its many users; its
codes and texts are :data:`bulletin.refusals.CODES`). The pseudonym is a keyed hash held by
the election authority (docs/protocol.md §9, docs/jpki.md): the board and the record never
see who the voter is. The JPKI gate (:mod:`bulletin.jpki`) is another implementation of the
same interface.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Protocol

from bulletin.refusals import Refusal


class Authenticator(Protocol):
    """Turns a submission's ``auth`` object into a voter pseudonym, or raises Refusal.

    ``confirmation_code`` is the ballot's H_C, which binds the ballot to the election: the
    JPKI gate checks that the voter's card signed it (with H_E and the board's signing nonce).
    ``contests`` are the ballot's contest indices, for a gate whose rule depends on what the
    voter already cast (the JPKI gate refuses a re-vote signed on another device).
    """

    def authenticate(
        self, auth: Mapping[str, Any], confirmation_code: bytes, contests: tuple[int, ...] = ()
    ) -> str: ...


def pseudonym(key: bytes, person: str) -> str:
    """HMAC-SHA-256(key, person) as hex: stable per person, meaningless without the key."""
    return hmac.new(key, person.encode("utf-8"), hashlib.sha256).hexdigest().upper()


class TokenAuthenticator:
    """Voters prove who they are with a secret token (tests and the demo only)."""

    def __init__(self, key: bytes, tokens: Mapping[str, str]) -> None:
        self._key = key
        self._tokens = dict(tokens)  # token → person identifier

    def authenticate(
        self, auth: Mapping[str, Any], confirmation_code: bytes, contests: tuple[int, ...] = ()
    ) -> str:
        token = auth.get("token") if isinstance(auth, Mapping) else None
        if not isinstance(token, str) or token not in self._tokens:
            raise Refusal("unauthenticated")
        return pseudonym(self._key, self._tokens[token])


__all__ = ["Authenticator", "Refusal", "TokenAuthenticator", "pseudonym"]
