"""What a running site tells its operator: Prometheus metrics (``GET /metrics``) and one
structured access-log line per request (the ``tohyo.access`` logger).

The metrics, all of bounded cardinality and none with personal data (no address,
pseudonym, confirmation code, ballot id or certificate field; a route is its template,
``/api/receipts/<code>``, never the path asked for):

- ``tohyo_ballots_accepted_total{kind}``: submissions appended to the log (``kind`` is
  ``ballot`` or ``challenged``);
- ``tohyo_ballots_retried_total{kind}``: the same submission again, answered with its first
  receipt;
- ``tohyo_ballots_refused_total{kind,reason}``: refused submissions by refusal code
  (:data:`bulletin.refusals.CODES`; ``rate_limited`` for a 429 before the board saw it,
  ``unavailable`` for a 503 when the database could not answer, ``internal`` for a 500);
- ``tohyo_board_batch_size``: a histogram of the acceptance pipeline's batches;
- ``tohyo_http_request_duration_seconds{method,route}``: a histogram of request latency;
- ``tohyo_http_requests_total{method,route,status}``: responses by HTTP status;
- ``tohyo_log_entries``: the board's log size, read from the database at scrape time.

Several worker processes on one machine: start every one of them with the environment
variable ``PROMETHEUS_MULTIPROC_DIR`` naming one directory, empty at start (``tohyo serve
--workers`` empties it) and writable by all (prometheus_client reads it when it is first
imported, so set it before the process starts). Each process then keeps its counts in
files there, and ``/metrics`` on any of them answers the sum over all (prometheus_client's
multiprocess mode); without it, a process reports its own counts.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from bulletin.board import Board, BoardObserver
from bulletin.refusals import CODES

ACCESS_LOG = logging.getLogger("tohyo.access")
_log = logging.getLogger(__name__)

KINDS = frozenset({"ballot", "challenged"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route of a request that matched none (a 404, a 405)

# Read once, as prometheus_client does when it is imported: how this process keeps its
# values (in files there, or in its memory) is fixed from then on.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

# No "_created" series beside each counter and histogram: they would double the series
# for a time that Prometheus has no use for here.
disable_created_metrics()

ACCEPTED = Counter("tohyo_ballots_accepted", "Submissions appended to the log.", ["kind"])
RETRIED = Counter(
    "tohyo_ballots_retried", "Submissions sent again, answered with their first receipt.", ["kind"]
)
REFUSED = Counter(
    "tohyo_ballots_refused", "Submissions refused, by refusal code.", ["kind", "reason"]
)
BATCH_SIZE = Histogram(
    "tohyo_board_batch_size",
    "Submissions verified and appended together by the acceptance pipeline.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),  # the pipeline takes at most 200 at once
)
APPEND_SECONDS = Histogram(
    "tohyo_board_append_seconds",
    "Seconds of each batch's write transaction while it holds the log's lock (the serial part).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
APPENDED = Counter("tohyo_board_appended_entries", "Entries appended by ballot batches.")
LATENCY = Histogram(
    "tohyo_http_request_duration_seconds",
    "Time from the start of a request's handling to its response, by route template.",
    ["method", "route"],
)
REQUESTS = Counter(
    "tohyo_http_requests",
    "Responses by route template and HTTP status.",
    ["method", "route", "status"],
)


def _kind(kind: str) -> str:
    return kind if kind in KINDS else "other"


class BoardMetrics(BoardObserver):
    """The board's reports as Prometheus metrics."""

    def submission(self, kind: str, outcome: str) -> None:
        if outcome == "accepted":
            ACCEPTED.labels(_kind(kind)).inc()
        elif outcome == "retried":
            RETRIED.labels(_kind(kind)).inc()
        else:
            known = outcome in CODES or outcome == "internal"
            REFUSED.labels(_kind(kind), outcome if known else "other").inc()

    def batch(self, size: int) -> None:
        BATCH_SIZE.observe(size)

    def append(self, entries: int, seconds: float) -> None:
        APPEND_SECONDS.observe(seconds)
        APPENDED.inc(entries)


class _LogSize:
    """The board's log size, read when Prometheus scrapes (one indexed read of the tip)."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def collect(self) -> Iterator[Metric]:
        store = self.board.store
        try:
            size = store.with_reader(lambda conn: store.tip(conn)[0])
        except Exception as e:  # the database is down: no gauge, the rest still scrapes
            _log.warning("log size unreadable for /metrics: %s", type(e).__name__)
            return
        yield GaugeMetricFamily("tohyo_log_entries", "Entries in the board's log.", value=size)


class _Forward:
    """This process's own metrics (the default registry), inside a scrape's registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(board: Board) -> bytes:
    """The metrics in Prometheus' text format: every worker's in multiprocess mode
    (``PROMETHEUS_MULTIPROC_DIR``), else this process's; and the log size."""
    registry = CollectorRegistry()
    if MULTIPROCESS_DIR:
        multiprocess.MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
    else:
        registry.register(_Forward())
    registry.register(_LogSize(board))
    return generate_latest(registry)


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    resp = Response(exposition(current_app.config["BOARD"]), content_type=CONTENT_TYPE_LATEST)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def route_of() -> str:
    """The request's route template (Flask's url_rule), or ``unmatched``: never the path,
    which may carry a confirmation code or an entry number."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def _method() -> str:
    return request.method if request.method in METHODS else "other"


def install(app: Flask, board: Board) -> None:
    """Count the board's submissions, time every request, log one line per request, and
    serve ``/metrics``. Call it before any other ``before_request`` hook (the rate limiter's,
    CSRF's), so that a request they refuse is timed and logged too."""
    if board is not None:  # None: a site made only to read its URL map
        board.observer = BoardMetrics()
    app.register_blueprint(bp)

    @app.before_request
    def start_timer() -> None:
        g.tohyo_started = time.perf_counter()
        g.tohyo_started_at = datetime.now(UTC)

    # Registered first, so Flask runs it after every other after_request hook: it sees the
    # response as sent, with its final status and length.
    @app.after_request
    def observe(resp: Response) -> Response:
        started = g.get("tohyo_started")
        if started is None:  # a hook before ours failed the request: not timed
            return resp
        elapsed = time.perf_counter() - started
        method, route = _method(), route_of()
        LATENCY.labels(method, route).observe(elapsed)
        REQUESTS.labels(method, route, str(resp.status_code)).inc()
        if resp.status_code == 429 and request.endpoint in ("api.submit", "api.submit_challenged"):
            # Refused by the rate limiter before the board saw it.
            kind = "ballot" if request.endpoint == "api.submit" else "challenged"
            REFUSED.labels(kind, "rate_limited").inc()
        ACCESS_LOG.info(
            json.dumps(
                _access_fields(method, route, resp, elapsed, g.tohyo_started_at),
                ensure_ascii=False,
                separators=(",", ":"),
            )
        )
        return resp


def _access_fields(
    method: str, route: str, resp: Response, elapsed: float, at: datetime
) -> dict[str, Any]:
    """One access-log line: no client address, no query string, no body, no path (the
    route template stands for it)."""
    return {
        "time": at.isoformat(timespec="milliseconds"),
        "method": method,
        "route": route,
        "status": resp.status_code,
        "duration_ms": round(elapsed * 1000, 3),
        # the Content-Length sent (a static file's too), else the body's; None if streamed
        "bytes": resp.content_length
        if resp.content_length is not None
        else resp.calculate_content_length(),
    }


__all__ = ["ACCESS_LOG", "BoardMetrics", "exposition", "install", "route_of"]
