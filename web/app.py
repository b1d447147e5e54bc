"""The whole site: the board's JSON API plus the pages for voters, observers and staff.

``create_site`` wraps :func:`web.api.create_app` (the API alone, which benchmarks and API
tests use) with the voter pages (booth, verify my ballot, board browser, results), the
signing-app hand-off, the administrator's pages (:mod:`web.admin`), the trustees' ceremony
API and status page, the security layer (headers, CSRF, rate limits), HTML error pages and
the language switch; and, for the operator, the probes ``/healthz`` and ``/readyz``
(:mod:`web.health`), ``/metrics`` and the access log (:mod:`web.metrics`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from bulletin.board import Board
from bulletin.store import describe
from web import health, i18n, metrics, security
from web.api import (
    RETRY_AFTER,
    UNAVAILABLE_ERRORS,
    api,
    api_http_error,
    api_internal,
    api_unavailable,
    create_app,
    passing,
    warn_unavailable,
)
from web.status import STATUS


@dataclass(frozen=True)
class SiteSettings:
    """What the site needs beyond the board (all optional; secure defaults)."""

    secret_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    admin_password_hash: str | None = None  # from `tohyo admin password`; None: no admin login
    session_minutes: int = 30
    rate_limits: bool = True
    submit_limit: str = "20 per minute"
    # Challenged ballots are posted without authentication and stay in the public log for
    # good: besides each address's submit_limit, all clients together may append at most
    # this many (a botnet of many addresses cannot fill the log).
    challenged_limit: str = "600 per hour"
    sign_requests_per_address: int = 20  # pending signing requests of one client address
    login_limit: str = "10 per minute"
    # Where the rate limits count: Flask-Limiter's storage URI. "memory://" counts in this
    # process only; several web processes enforce one limit together only with a storage
    # they share, e.g. "redis://127.0.0.1:6379/0" (one database number per election).
    rate_limit_storage: str = "memory://"
    demo_cards: tuple[dict[str, Any], ...] = ()  # a rehearsal's simulated cards, offered
    card_dir: str | None = None  # ... for download from this directory (rehearsals only)
    allow_test_group: bool = False  # the admin may create a rehearsal in the insecure group
    secure_cookies: bool = False  # True behind HTTPS (tohyo serve --public-url https://...)
    # The local signer on the voter's PC (`tohyo signer`, docs/voter.md): the booth asks it
    # for the card's signature; "" turns the choice off.
    signer_url: str = "http://127.0.0.1:47611"
    # Witnesses post a cosignature about once a second each (docs/protocol.md §8.4); a
    # limit per address keeps anyone from making the board verify junk notes all day.
    cosignature_limit: str = "120 per minute"
    # Where /record.zip is kept: one directory for every process of this machine (tohyo
    # serve --record-cache); None: one in the system's temporary directory, under a name
    # derived from the election and the secret key (web.pages.record_cache).
    record_cache: str | None = None


def _submit_limit() -> str:
    return current_app.config["SITE"].submit_limit


def _challenged_limit() -> str:
    return current_app.config["SITE"].challenged_limit


def _cosignature_limit() -> str:
    return current_app.config["SITE"].cosignature_limit


@cache
def _limited_cosignatures(view: Callable[..., Any]) -> Callable[..., Any]:
    """POST /api/cosignatures behind its own per-address limit (wrapped once per process)."""
    return security.limiter.limit(_cosignature_limit, scope="cosignatures")(view)


def _all_clients() -> str:
    return "all clients"  # one key for every address: a limit on the total


def _appended(resp: Any) -> bool:
    return resp.status_code == 201


@cache
def _limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view behind the submission limit, wrapped once per process: the limiter keys its
    limits by the view's name, and wrapping again per app would count each request twice.
    Every request counts, a 503 too: a limit counted after the answer (Flask-Limiter's
    ``deduct_when``) is only checked before it, so concurrent requests all pass."""
    return security.limiter.limit(_submit_limit)(view)


@cache
def _limited_in_total(view: Callable[..., Any]) -> Callable[..., Any]:
    """The challenged-ballot view behind the limit on all clients together (wrapped once per
    process, like :func:`_limited`). Only a ballot actually appended (201) counts: refused
    junk from one address, already bounded by the per-address limit, cannot use up the
    allowance of everyone else's real challenges."""
    return security.limiter.limit(
        _challenged_limit,
        key_func=_all_clients,
        scope="all-clients",
        deduct_when=_appended,
        error_message="too many challenged ballots from all clients; try again later",
    )(view)


def create_site(board: Board, settings: SiteSettings | None = None) -> Flask:
    """The Flask application serving the site for one board."""
    s = settings or SiteSettings()
    app = create_app(board)
    app.config.update(
        SECRET_KEY=s.secret_key,
        SITE=s,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=s.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=s.session_minutes),
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    # First, before the limiter's and CSRF's hooks: a request they refuse is counted too.
    metrics.install(app, board)
    app.register_blueprint(health.bp)
    app.config["RATELIMIT_STORAGE_URI"] = s.rate_limit_storage
    # If the shared storage stops answering, count in this process's memory (the same
    # limits, per process) until it answers again, rather than refuse every limited
    # request with a 500: an outage of Redis must not stop the voting.
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    # A limit counted after the answer (the challenged ballots' total, counted once one is
    # appended) meets the storage outside that fallback: an error there would turn the
    # appended ballot's 201 into a 500. Swallowed, it costs one uncounted ballot.
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    security.install(app, rate_limits=s.rate_limits, signer=s.signer_url)
    security.csrf.exempt(api)
    from web import pages, signing

    app.register_blueprint(pages.bp)
    app.register_blueprint(signing.bp)
    security.csrf.exempt(signing.bp)
    # The voter's card signature is the API's authority, not a cookie; but submissions,
    # challenges and signing requests are still limited per client address, and challenged
    # ballots, which need no card at all, also for all clients together.
    app.view_functions["api.submit_challenged"] = _limited_in_total(
        app.view_functions["api.submit_challenged"]
    )
    for view in ("api.submit", "api.submit_challenged", "api.new_signing_nonce", "signing.create"):
        app.view_functions[view] = _limited(app.view_functions[view])
    app.view_functions["api.cosignatures"] = _limited_cosignatures(
        app.view_functions["api.cosignatures"]
    )

    # Administrator and trustee pages; the ceremony API authenticates trustees by bearer
    # token (never by cookie), so it is exempt from CSRF like the rest of /api.
    from web import ceremony_api, trustee_pages
    from web.admin import admin_bp

    app.register_blueprint(admin_bp)
    app.register_blueprint(ceremony_api.bp)
    security.csrf.exempt(ceremony_api.bp)
    app.register_blueprint(trustee_pages.bp)

    app.jinja_env.globals.update(
        t=i18n.t,
        pick=i18n.pick,
        lang=i18n.current_language,
        language=i18n.current,
        languages=lambda: list(i18n.BY_TAG.values()),
        refused=lambda e: i18n.refusal_text(e, i18n.current_language()),
    )

    # Pages get an HTML error page in the visitor's language; /api keeps its JSON errors.
    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return api_http_error(e)
        key = {404: "error.404", 429: "error.429"}.get(e.code or 500, "error.other")
        return render_template("error.html", message=i18n.t(key)), e.code or 500

    def unavailable(e: Exception) -> Any:  # the database is down or restarting: retry
        if request.path.startswith("/api/"):
            return api_unavailable(e)
        if not passing(e):
            return internal(e)
        warn_unavailable(e)
        page = render_template("error.html", message=i18n.t("error.other"))
        return page, STATUS["unavailable"], {"Retry-After": RETRY_AFTER}

    for cls in UNAVAILABLE_ERRORS:
        app.register_error_handler(cls, unavailable)

    @app.errorhandler(Exception)
    def internal(e: Exception) -> Any:  # never a stack trace to the visitor
        if request.path.startswith("/api/"):
            return api_internal(e)
        app.logger.error("internal error: %s", describe(e))
        return render_template("error.html", message=i18n.t("error.other")), 500

    @app.after_request
    def remember_language(resp: Any) -> Any:
        chosen = i18n.asked()
        if chosen:
            resp.set_cookie(i18n.COOKIE, chosen, max_age=365 * 86400, samesite="Lax")
        return resp

    return app
