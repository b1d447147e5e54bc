"""Who may cast: the pluggable authenticator interface, and a simple one for tests and demos.

An authenticator turns the ``auth`` part of a submission into a voter pseudonym, or refuses
with a :class:`Refusal`. The pseudonym is a keyed hash held by the election authority
(DESIGN.md, difference 3): the board and the record never see who the voter is. The JPKI
gate (its own issue) is another implementation of the same interface.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Protocol

from e2e.errors import TohyoError

#: Refusal reasons: code → (Japanese, English). The code is what the API returns.
REASONS: dict[str, tuple[str, str]] = {
    "malformed": ("投票データの形式が正しくありません。", "The ballot is malformed."),
    "invalid_proof": ("投票の証明が正しくありません。", "A proof in the ballot does not verify."),
    "invalid_ballot": (
        "投票が選挙の内容と一致しません。",
        "The ballot does not match the election.",
    ),
    "not_open": ("現在は投票期間外です。", "The election is not open."),
    "unauthenticated": ("本人確認ができませんでした。", "The voter could not be authenticated."),
    "not_eligible": ("この選挙の投票資格がありません。", "The voter is not eligible."),
    "copy": (
        "この投票はすでに受け付けられた投票と重複しています。",
        "This ballot copies one already on the board.",
    ),
    "too_large": ("データが大きすぎます。", "The submission is too large."),
    "not_found": ("見つかりません。", "Not found."),
    "wrong_state": ("この操作は現在できません。", "This is not possible now."),
    "rate_limited": (
        "アクセスが集中しています。しばらくしてから再度お試しください。",
        "Too many requests; please wait a moment and try again.",
    ),
}


class Refusal(TohyoError):
    """A submission is refused; ``code`` is one of :data:`REASONS`."""

    def __init__(self, code: str, detail: str = "") -> None:
        ja, en = REASONS[code]
        super().__init__(f"{code}: {en}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.ja = ja
        self.en = en
        self.detail = detail

    def as_json(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": {"ja": self.ja, "en": self.en},
            "detail": self.detail,
        }


class Authenticator(Protocol):
    """Turns a submission's ``auth`` object into a voter pseudonym, or raises Refusal.

    ``confirmation_code`` is the ballot's H_C, which binds the ballot to the election: the
    JPKI gate checks that the voter's card signed it (with H_E and a server challenge).
    """

    def authenticate(self, auth: Mapping[str, Any], confirmation_code: bytes) -> str: ...


def pseudonym(key: bytes, person: str) -> str:
    """HMAC-SHA-256(key, person) as hex: stable per person, meaningless without the key."""
    return hmac.new(key, person.encode("utf-8"), hashlib.sha256).hexdigest().upper()


class TokenAuthenticator:
    """Voters prove who they are with a secret token (tests and the demo only)."""

    def __init__(self, key: bytes, tokens: Mapping[str, str]) -> None:
        self._key = key
        self._tokens = dict(tokens)  # token → person identifier

    def authenticate(self, auth: Mapping[str, Any], confirmation_code: bytes) -> str:
        token = auth.get("token") if isinstance(auth, Mapping) else None
        if not isinstance(token, str) or token not in self._tokens:
            raise Refusal("unauthenticated")
        return pseudonym(self._key, self._tokens[token])
