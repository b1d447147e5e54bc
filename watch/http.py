"""The one HTTP client of the parties that watch a board (the witness, the monitor):
urllib, a size limit on every answer, and one error for a board that does not answer."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPException

from e2e.errors import TohyoError


class Unreachable(TohyoError):
    """The board did not answer: a network error, a timeout, or an answer too large."""


def base_url(url: str) -> str:
    """``url`` without its trailing slash; ValueError if it is not http(s)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url.rstrip("/")


def request(
    url: str,
    agent: str,
    limit: int,
    timeout: float,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[int, bytes]:
    """(status, body) of one request; an error status is an answer too (its body read up
    to 64 kB, or empty if unreadable). Raises :class:`Unreachable`."""
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("User-Agent", agent)
    if body is not None:
        req.add_header("Content-Type", "text/plain; charset=utf-8")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = resp.read(limit + 1)
            status = resp.status
    except urllib.error.HTTPError as e:
        status = e.code
        try:
            data = e.read(min(limit, 65_536))
        except (OSError, HTTPException, AttributeError):
            data = b""  # an error without a readable body is judged by its status
        finally:
            e.close()
    except (urllib.error.URLError, OSError, HTTPException) as e:
        raise Unreachable(f"{url}: {getattr(e, 'reason', None) or e}") from None
    if len(data) > limit:
        raise Unreachable(f"{url}: the answer is larger than {limit} bytes")
    return status, data
