"""Probes for a process manager or load balancer: ``/healthz`` (the process is up) and
``/readyz`` (it can serve the election).

``/readyz`` answers 200 ``{"status": "ready"}`` if the database answers a query and the
board's election loads, or the board is still empty (``"state": "setup"``: the
administrator's and trustees' pages must be reachable for the key ceremony, so a load
balancer must not take every process out then); else 503 ``{"status": "not_ready",
"reason": R}`` with one of :data:`REASONS`. Neither probe shows an error's text, nor
anything of a voter.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify

from bulletin.board import Board
from bulletin.store import describe, is_unavailable
from web.logfilter import EveryFewSeconds

_log = logging.getLogger(__name__)
# A load balancer probes every few seconds: while the database is down, one line every 10 s.
_log.addFilter(EveryFewSeconds(10.0))

#: Why ``/readyz`` answers 503.
REASONS = {
    "database": "the database did not answer a query",
    "election_unusable": "the board's election could not be loaded (e.g. a wrong --key)",
}

bp = Blueprint("health", __name__)


def _answer(body: dict[str, str], status: int) -> tuple[Response, int]:
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp, status


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """The process is up and its application answers (it checks nothing else)."""
    return _answer({"status": "ok"}, 200)


def readiness(board: Board) -> tuple[str | None, int]:
    """(None, the log's size) if ``board`` can serve (an empty board serves the key
    ceremony), else (the reason code of :data:`REASONS`, the size read, 0 if none). One read
    of the database: the answer is JSON whatever fails, never the site's error page."""
    store = board.store
    try:
        size = store.with_reader(lambda conn: store.tip(conn)[0])
    except Exception as e:
        _log.warning("readiness: the database did not answer: %s", describe(e))
        return "database", 0
    if not size:
        return None, 0
    try:
        board.election  # noqa: B018 (loaded once, then kept by the board)
    except Exception as e:
        if is_unavailable(e):  # the database went away between the two reads
            _log.warning("readiness: the database did not answer: %s", describe(e))
            return "database", 0
        _log.warning("readiness: the election did not load: %s", type(e).__name__)
        return "election_unusable", size
    return None, size


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the process can serve the election, else 503 with the reason code."""
    reason, size = readiness(current_app.config["BOARD"])
    if reason is None:
        body = {"status": "ready"}
        if not size:
            body["state"] = "setup"
        return _answer(body, 200)
    return _answer({"status": "not_ready", "reason": reason}, 503)


__all__ = ["REASONS", "bp", "readiness"]
