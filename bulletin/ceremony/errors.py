"""The ceremony mailbox's refusal."""

from __future__ import annotations

from bulletin.refusals import Refusal


class CeremonyError(Refusal):
    """A ceremony message or step is refused; ``code`` is one of
    :data:`bulletin.refusals.CODES` (``not_yours``, ``duplicate``, ``unknown_trustee`` and
    ``mismatch`` are the mailbox's own). The API's error object is :meth:`Refusal.as_json`;
    the HTTP status is the web layer's choice (``web.status``)."""


__all__ = ["CeremonyError"]
