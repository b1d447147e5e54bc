"""Refusals of the JPKI gate, and the gate's configuration error.

:class:`JpkiRefusal` is a :class:`bulletin.refusals.Refusal`, so the board and the HTTP API
handle it like any other refusal (``code``, ``general``, ``ja``, ``en``, ``detail``,
``as_json``). Its codes and their texts are the JPKI part of the one table of refusal codes,
:data:`bulletin.refusals.CODES`, where each also names its ``general`` code: the nearest
code of the board's own (``malformed``, ``unauthenticated``, ``not_eligible``), for callers
that only know those. The codes named ``challenge_*`` are about the board's signing nonce,
the single-use value the voter's card signs.

A ``detail`` never holds personal data (name, birth date, sex, address, serial number):
refusals reach logs and HTTP responses.
"""

from __future__ import annotations

from bulletin.refusals import CODES, Refusal
from e2e.errors import TohyoError

#: The gate's codes as ``bulletin.jpki`` exports them: code → (general board code, Japanese,
#: English); a view of :data:`bulletin.refusals.CODES`, which is the table itself.
REASONS: dict[str, tuple[str, str, str]] = {
    code: (r.general, r.ja, r.en)
    for code, r in CODES.items()
    if r.general is not None and not code.startswith("request_")  # the hand-off's own
}


class JpkiRefusal(Refusal):
    """The JPKI gate refuses a submission; ``code`` is one of :data:`REASONS`."""


class JpkiConfigError(TohyoError):
    """The gate's configuration (anchors, CRLs, policies, address rules) is unusable."""
