"""A trustee's client for the board's ceremony mailbox (``/api/ceremony``), on urllib.

The server only relays messages: this module sends what the trustee publishes (its public
key, shares encrypted to their recipients, a confirmation or a complaint, its partial
decryption) and fetches what others published. Secrets never pass through it. Every
failure becomes a :class:`RemoteError` with one clear line: the server could not be
reached, or it refused and said why (the API's ``{"error", "message", "detail"}``).

:func:`download_record` rebuilds the election record from the board's public API (every
log entry, every signed tree head, the board's key), so that the trustee verifies the
ballots and the tally itself before it decrypts, exactly as with a record directory.
"""

from __future__ import annotations

import json
import pathlib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from e2e import codec
from e2e.errors import TohyoError
from e2e.record import write_board_record

PAGE = 1000  # the API's largest page of entries and tree heads


class RemoteError(TohyoError):
    """The server could not be reached, or refused a request (``code`` is its reason)."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def base_url(url: str) -> str:
    """The site's root URL from what the trustee typed (with or without ``/api``)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RemoteError(f"not an http(s) URL: {url!r}")
    path = parts.path.rstrip("/").removesuffix("/api")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_loopback(url: str) -> bool:
    """True for http://localhost / 127.x / [::1] (where plain HTTP does not leave the host)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect. urllib would follow it and send the ``Authorization`` header
    again to wherever it points — another host, or plain http after https."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> None:
        fp.close()
        raise RemoteError(
            f"the server answered {req.get_method()} {req.full_url} with a redirect ({code}) "
            f"to {headers.get('Location') or newurl}; not followed (the token would go with "
            "it). If that is the right address, give it as --server."
        )


class Server:
    """The ceremony API of one board, for one trustee token (None: public calls only).

    Redirects are refused (:class:`_NoRedirects`), so the token goes only to ``url``."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        self.root = base_url(url)
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def _request(self, method: str, path: str, body: bytes | None, auth: bool) -> Any:
        url = self.root + path
        headers = {"Accept": "application/json", "User-Agent": "tohyo-trustee"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if auth:
            if not self.token:
                raise RemoteError("this step needs the trustee token (--token or --token-file)")
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise _refusal(e, method, path) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise RemoteError(f"cannot reach the server at {self.root}: {reason}") from None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise RemoteError(f"{method} {path}: the server's answer is not JSON") from None

    def get(self, path: str, auth: bool = True) -> Any:
        """GET a JSON document (``path`` starts with ``/api``)."""
        return self._request("GET", path, None, auth)

    def post(self, path: str, body: bytes, auth: bool = True) -> Any:
        """POST a JSON body (bytes, already encoded)."""
        return self._request("POST", path, body, auth)


def _refusal(e: urllib.error.HTTPError, method: str, path: str) -> RemoteError:
    try:
        doc = json.loads(e.read())
        code = str(doc.get("error", ""))
        message = doc.get("message", {}).get("en", "") if isinstance(doc, dict) else ""
        detail = str(doc.get("detail", "") or "")
    except (ValueError, AttributeError, OSError):
        code, message, detail = "", "", ""
    text = f"the server refused {method} {path} ({e.code}"
    text += f" {code})" if code else ")"
    if message:
        text += f": {message}"
    if detail:
        text += f" [{detail}]"
    return RemoteError(text, code, e.code)


def document_bytes(doc: Any) -> bytes:
    """The canonical bytes of a document received as parsed JSON."""
    return codec.dumps(doc)


def download_record(server: Server, out: str | pathlib.Path) -> pathlib.Path:
    """Write the election record (docs/record.md layout) from the board's public API.

    ``out`` must be new or empty: a file left there from another record (a decryption, a
    tally) would otherwise be read as part of this one. The server's answers are checked as
    they come: each page of entries must move forward (a server that repeats a page would
    keep this loop going forever), and a malformed answer stops with a :class:`RemoteError`.
    """
    root = pathlib.Path(out)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise RemoteError(f"{root} is not an empty directory; give a new one for the record")
    try:
        return _download(server, root)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
        raise RemoteError(f"the server's record is malformed ({type(e).__name__}: {e})") from None


def _download(server: Server, root: pathlib.Path) -> pathlib.Path:
    info = server.get("/api/election", auth=False)

    def entries() -> Iterator[bytes]:
        start = 0
        while True:
            page = server.get(f"/api/entries?start={start}&limit={PAGE}", auth=False)
            got = page["entries"]
            if not got:
                return
            for entry in got:
                yield document_bytes(entry)
            nxt = page["next"]
            if type(nxt) is not int or nxt != start + len(got):
                raise RemoteError(
                    f"the server's page of entries from {start} ({len(got)} entries) "
                    f"says the next starts at {nxt!r}; expected {start + len(got)}"
                )
            start = nxt

    def heads() -> Iterator[bytes]:
        size = 0
        while True:
            got = server.get(f"/api/tree-heads?from_size={size}&limit={PAGE}", auth=False)[
                "tree_heads"
            ]
            for h in got:
                yield document_bytes(h)
            if len(got) < PAGE:
                return
            last = got[-1]["size"]
            if type(last) is not int or last < size:
                raise RemoteError(
                    f"the server's tree heads from size {size} end at size {last!r}; "
                    "they must move forward"
                )
            size = last + 1

    # The record's layout and which payloads become its files: e2e.record, as for the
    # board's own export.
    return write_board_record(root, entries(), heads(), document_bytes(info["board_key"]))
