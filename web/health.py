"""Probes for a process manager or load balancer: ``/healthz`` (the process is up) and
``/readyz`` (it can serve the election).

``/readyz`` answers 200 ``{"status": "ready"}`` only if the database answers a query and the
board has its election loaded; else 503 ``{"status": "not_ready", "reason": R}`` with one of
:data:`REASONS`. Neither probe shows an error's text, nor anything of a voter.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify

from bulletin.board import Board

_log = logging.getLogger(__name__)

#: Why ``/readyz`` answers 503.
REASONS = {
    "database": "the database did not answer a query",
    "no_election": "the board holds no election yet (its log is empty)",
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


def readiness(board: Board) -> str | None:
    """None if ``board`` can serve, else the reason code (:data:`REASONS`)."""
    store = board.store
    try:
        size = store.with_reader(lambda conn: store.tip(conn)[0])
    except Exception as e:
        _log.warning("readiness: the database did not answer: %s", type(e).__name__)
        return "database"
    if not size:
        return "no_election"
    try:
        board.election  # noqa: B018 (loaded once, then kept by the board)
    except Exception as e:
        _log.warning("readiness: the election did not load: %s", type(e).__name__)
        return "election_unusable"
    return None


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the process can serve the election, else 503 with the reason code."""
    reason = readiness(current_app.config["BOARD"])
    if reason is None:
        return _answer({"status": "ready"}, 200)
    return _answer({"status": "not_ready", "reason": reason}, 503)


__all__ = ["REASONS", "bp", "readiness"]
