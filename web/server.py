"""The site on waitress, a production WSGI server, with every limit set deliberately
(docs/admin.md, "Serving limits and the TLS proxy")."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

from flask import Flask

from web.api import MAX_BODY
from web.logfilter import EveryFewSeconds

# The body waitress reads: the API's own limit (which answers 413 in JSON) and a little
# more, so that a body just over the API's limit still gets the API's JSON error.
MAX_REQUEST_BODY = MAX_BODY + 64 * 1024


@dataclass(frozen=True)
class WsgiLimits:
    """What waitress may hold: open connections, seconds of silence, request sizes."""

    connection_limit: int = 200
    channel_timeout: int = 15
    max_request_body: int = MAX_REQUEST_BODY
    max_request_header: int = 32 * 1024
    inbuf_overflow: int = 512 * 1024


def quiet_queue_warnings(every: float = 10.0) -> None:
    """At most one of waitress' queue-depth warnings every ``every`` seconds (installed
    once per process: a later call changes nothing)."""
    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, EveryFewSeconds) for f in queue_log.filters):
        queue_log.addFilter(EveryFewSeconds(every))


def serve_wsgi(
    app: Flask,
    host: str,
    port: int,
    threads: int,
    limits: WsgiLimits,
    trusted_proxy: str | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve ``app`` until the process is stopped: on ``host:port``, or on ``sockets``
    already bound and listening (the worker processes of ``tohyo serve --workers`` share
    one, and the kernel hands each connection to one of them)."""
    import waitress

    proxy: dict[str, object] = {}
    if trusted_proxy:
        proxy = {
            "trusted_proxy": trusted_proxy,
            "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host",
            "clear_untrusted_proxy_headers": True,
        }
    # waitress' defaults let 100 connections that stall mid-request hold every slot for
    # 120 s (closed only by the cleanup every 30 s after that), and spool a body of up to
    # 1 GiB to a temporary file before the app can refuse it: every limit is set here
    # (docs/admin.md, "Serving limits and the TLS proxy").
    settings: dict[str, object] = {
        "connection_limit": limits.connection_limit,
        "channel_timeout": limits.channel_timeout,
        # how often idle connections are looked for: a stalled one lives at most
        # channel_timeout + cleanup_interval seconds
        "cleanup_interval": max(1, min(limits.channel_timeout // 3, 30)),
        "max_request_body_size": limits.max_request_body,
        "max_request_header_size": limits.max_request_header,
        "inbuf_overflow": limits.inbuf_overflow,
        "asyncore_use_poll": True,  # select() cannot watch file descriptors past 1023
        "expose_tracebacks": False,
    }
    where: dict[str, object] = {"sockets": sockets} if sockets else {"host": host, "port": port}
    quiet_queue_warnings()
    waitress.serve(app, threads=threads, ident="tohyo", **where, **settings, **proxy)
