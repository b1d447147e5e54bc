"""The administrator's login session: a Flask session (a signed cookie) checked on every
request.

A session is live while all of these hold (docs/admin.md, "Password"):

- it was opened with the hash line configured now (a new password ends every session);
- it carries the board's *session epoch* (see :func:`_epoch`), which logout, on any web
  process of the board, replaces;
- its last request was at most ``SiteSettings.session_minutes`` ago (checked here on every
  request, not only by the cookie's age); each request renews it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import current_app, session

from bulletin.operational import AdminSessionEpoch
from web.security import CLOCK_TOLERANCE

KEY = "admin"  # the session member that holds the administrator's login


def _now() -> float:
    """Seconds since the epoch (a function, so tests can move time)."""
    return time.time()


def configured_hash() -> str | None:
    """The configured password hash line (``SiteSettings.admin_password_hash``), if any."""
    return current_app.config["SITE"].admin_password_hash


def _hash_tag(line: str) -> str:
    # Ties a session to the configured hash: a new password ends every open session.
    return hashlib.sha256(line.encode("utf-8")).hexdigest()[:16]


# Sessions are signed cookies kept by the browser, so clearing one at logout does not stop a
# copy of it. Each admin session therefore carries the board's "session epoch", a random
# token in the board's database checked on every request; logout draws a new one. There is
# one administrator, so ending every admin session at once is the safe reading of "log
# out". The epoch is read from the database on every admin request, not cached: a logout on
# one web process ends the session on every other at once, for one primary-key read.


def _epoch_store() -> AdminSessionEpoch:
    return AdminSessionEpoch(current_app.config["BOARD"].store)


def _epoch() -> str:
    """The board's current session epoch (:class:`bulletin.operational.AdminSessionEpoch`)."""
    return _epoch_store().current()


def end() -> None:
    """Log out: end every admin session (cookies carrying the old epoch are refused from now
    on by every web process of the board, copies of this one and other browsers' included)
    and clear this one."""
    _epoch_store().renew()
    session.clear()


def begin(line: str) -> None:
    """Open a fresh session for the administrator who just gave the password of ``line``;
    nothing from before the login carries over."""
    session.clear()
    session.permanent = True
    session[KEY] = {"tag": _hash_tag(line), "epoch": _epoch(), "seen": _now(), "since": _now()}


def live() -> bool:
    """True if this request carries a live admin session (see the module's docstring)."""
    line = configured_hash()
    info = session.get(KEY)
    if not line or not isinstance(info, dict) or info.get("tag") != _hash_tag(line):
        return False
    epoch = info.get("epoch")
    if not isinstance(epoch, str) or not hmac.compare_digest(epoch, _epoch()):
        return False
    seen = info.get("seen")
    limit = current_app.config["SITE"].session_minutes * 60
    # The last request may have been another machine's, whose clock is a little ahead.
    return isinstance(seen, int | float) and -CLOCK_TOLERANCE <= _now() - seen <= limit


def renew() -> None:
    """Count this request as the session's latest (it must be live)."""
    session[KEY] = {**session[KEY], "seen": _now()}


def drop() -> bool:
    """Forget this request's admin session, live or not; True if it had one."""
    had = KEY in session
    session.pop(KEY, None)
    return had
