"""The HTTP status of every refusal code: the one mapping, for every web module that answers
a :class:`bulletin.refusals.Refusal` (the API, the ceremony API, the signing hand-off).

The codes and their texts are the board's (:data:`bulletin.refusals.CODES`); the statuses are
the web layer's alone. A JPKI gate code takes the status of its general board code
(``cert_revoked`` → ``not_eligible`` → 403).
"""

from __future__ import annotations

from bulletin.refusals import CODES, Refusal

#: Board and ceremony code → HTTP status (a JPKI gate code goes by its general code).
_GENERAL: dict[str, int] = {
    "malformed": 400,
    "unauthenticated": 401,
    "not_eligible": 403,
    "not_open": 403,
    "not_yours": 403,
    "not_found": 404,
    "copy": 409,
    "duplicate": 409,
    "wrong_state": 409,
    "too_large": 413,
    "invalid_ballot": 422,
    "invalid_proof": 422,
    "mismatch": 422,
    "unknown_trustee": 422,
    "rate_limited": 429,
    "unknown_witness": 403,
    "bad_signature": 403,
    "not_our_checkpoint": 409,
    "unavailable": 503,  # the board cannot answer for now: retry (with Retry-After)
}

#: Refusal code → HTTP status, for every code of :data:`bulletin.refusals.CODES`.
STATUS: dict[str, int] = {
    code: _GENERAL[reason.general or code]
    for code, reason in CODES.items()
    if (reason.general or code) in _GENERAL
}


def status_of(refusal: Refusal) -> int:
    """The HTTP status that answers ``refusal`` (400 for a code without one, which the unit
    tests keep from happening)."""
    return STATUS.get(refusal.code, 400)


__all__ = ["STATUS", "status_of"]
