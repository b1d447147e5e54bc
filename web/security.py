"""The web layer's defences: headers, Content-Security-Policy, SRI, CSRF, rate limits.

- No inline script anywhere: the CSP allows scripts from this origin only, and every
  ``<script>`` tag carries a subresource-integrity hash computed from the file served.
  (A Web Worker's script cannot carry SRI; ``worker-src 'self'`` and same-origin loading
  are its guard.)
- Forms that change state (the administrator's pages) carry a CSRF token (Flask-WTF). The
  JSON API, the ceremony API and the signing-app hand-off are exempt (:mod:`web.app`): they
  take no cookie's authority, only the voter's card signature or a trustee's bearer token.
- Rate limits (Flask-Limiter, counted in the storage the site names:
  ``SiteSettings.rate_limit_storage``, this process's memory or a Redis shared by every
  process): per client address on ballots, signing nonces, signing requests and logins, and
  on challenged ballots from all clients together (:mod:`web.app` applies them to the
  views).
- Request logging never includes bodies, query strings or certificates.
- The session cookie and what it carries tolerate a little clock difference between the
  site's machines (:data:`CLOCK_TOLERANCE`, :class:`SessionCookies`).
"""

from __future__ import annotations

import base64
import hashlib
import pathlib
import posixpath
import time
from functools import cache
from typing import Any

from flask import Flask, Request, Response, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadSignature
from markupsafe import Markup, escape

STATIC = pathlib.Path(__file__).parent / "static"

#: Seconds by which something a browser carries may seem to come from the future. The
#: request before this one may have been served by another machine whose clock is a little
#: ahead: NTP keeps a site's machines within milliseconds, not at zero, and a
#: POST-then-redirect often reaches two machines within the same second. A clock that
#: steps back further than this still ends the session (the safe side).
CLOCK_TOLERANCE = 60


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, except that a cookie signed up to
    :data:`CLOCK_TOLERANCE` seconds in the future still opens. Flask's own refuses any
    negative age (itsdangerous' check, in whole seconds), and then drops the session: the
    administrator's next request on a machine whose clock was behind the previous one's
    found no session, and no CSRF secret for the form it posted."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        s = self.get_signing_serializer(app)
        if s is None:
            return None
        val = request.cookies.get(self.get_cookie_name(app))
        if not val:
            return self.session_class()
        try:
            data: Any
            data, signed = s.loads(val, return_timestamp=True)  # checks the signature only
        except BadSignature:
            return self.session_class()
        age = time.time() - signed.timestamp()
        if not -CLOCK_TOLERANCE <= age <= app.permanent_session_lifetime.total_seconds():
            return self.session_class()
        return self.session_class(data)


CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "worker-src 'self'",
        "connect-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        # WebAssembly is not used; BigInt needs no eval.
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: CSRF protection over HTTPS checks the Referer of forms,
    # and no other site ever learns a page's address (a /verify?code=... link included).
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

csrf = CSRFProtect()
# The storage comes from the app's config (RATELIMIT_STORAGE_URI, set by web.app), which
# Flask-Limiter reads only when the constructor names none.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@cache
def _integrity(name: str, mtime: float) -> str:
    data = (STATIC / name).read_bytes()
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def integrity(name: str) -> str:
    """The SRI hash of a static file, recomputed whenever the file changes."""
    path = STATIC / name
    return _integrity(name, path.stat().st_mtime)


def version(name: str) -> str:
    """A short tag of a static file's content, for cache-busting URLs (the Web Worker and
    the script it imports, which cannot carry SRI, must never mix two deployments)."""
    return integrity(name)[7:19]


def script(name: str) -> Markup:
    """A ``<script>`` tag for a static file, with its integrity hash (deferred)."""
    sri = integrity(name)
    src = url_for("static", filename=name, v=sri[7:19])
    return Markup(
        f'<script src="{escape(src)}" integrity="{sri}" crossorigin="anonymous" defer></script>'
    )


def stylesheet(name: str) -> Markup:
    """A ``<link rel=stylesheet>`` for a static file, with its integrity hash."""
    sri = integrity(name)
    href = url_for("static", filename=name, v=sri[7:19])
    return Markup(
        f'<link rel="stylesheet" href="{escape(href)}" integrity="{sri}" crossorigin="anonymous">'
    )


def csp(signer: str = "") -> str:
    """The CSP, letting the booth's scripts reach the local signer's loopback origin too
    (``SiteSettings.signer_url``): nothing else outside this origin."""
    if not signer:
        return CSP
    return CSP.replace("connect-src 'self'", f"connect-src 'self' {signer}", 1)


def install(app: Flask, rate_limits: bool = True, signer: str = "") -> None:
    """Headers on every response, CSRF on forms, rate limits, quiet logs."""
    headers_here = {**HEADERS, "Content-Security-Policy": csp(signer)}
    # No age limit of the CSRF token's own: it is bound to the session (its secret lives in
    # the signed session cookie), and the forms it guards are the administrator's, whose
    # session is checked for its idle limit on every request. Flask-WTF's age check also
    # refuses a token that seems to come from the future, so a form rendered by one machine
    # and posted within the second to a machine whose clock is a little behind was refused
    # ("The CSRF token has expired").
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.session_interface = SessionCookies()
    csrf.init_app(app)
    app.config["RATELIMIT_ENABLED"] = rate_limits
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    app.jinja_env.globals.update(script=script, stylesheet=stylesheet, version=version)
    app.before_request(_only_this_version)

    @app.after_request
    def headers(resp: Response) -> Response:
        for k, v in headers_here.items():
            resp.headers.setdefault(k, v)
        if request.path.startswith(("/api/", "/admin", "/trustees")):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp


def _only_this_version() -> Response | None:
    """A static file asked for with another version's tag (``?v=``) is not served.

    During a rolling upgrade a page from an upgraded machine names the new files, and the
    request may reach a machine not yet upgraded: it answered with its old file, which
    the browser then kept for an hour under the new address. A script with an integrity
    hash was blocked; the Web Worker and the script it imports (no integrity hash) ran the
    old code with the new page. The answer is a 404 that nothing stores, which a proxy may
    send on to another machine (docs/admin.md)."""
    if request.endpoint != "static" or "v" not in request.args:
        return None
    # One name per file (`js/./booth.js` is `js/booth.js`): the hashes are cached by name,
    # and a cache keyed by whatever a client spells would grow without limit.
    name = posixpath.normpath((request.view_args or {}).get("filename", ""))
    if name.startswith(("..", "/")) or not (STATIC / name).is_file():
        return None  # the static route answers these itself (404)
    if request.args["v"] == version(name):
        return None
    resp = Response("this file is of another version of the site\n", 404, mimetype="text/plain")
    resp.headers["Cache-Control"] = "no-store"
    return resp
