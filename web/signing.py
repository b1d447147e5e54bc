"""Hand-off to a native JPKI signing app (the phone app that reads the My Number Card).

A browser cannot talk to the card; on a phone the card is read by a native app over NFC.
The hand-off goes through this server, so it works across devices (booth on a PC, card on
a phone) and needs no custom URL scheme to return:

1. The booth, holding a server challenge and the ballot's confirmation code, creates a
   signing request: ``POST /api/sign-requests {"confirmation_code", "challenge"}`` →
   ``{"id", "secret", "pairing", "app_url", "expires"}``. ``app_url``
   (``/api/sign-requests/<id>``) goes to the app as a link or QR code; ``secret`` stays in
   the booth; ``pairing`` (six digits) is shown on the booth's screen for the voter to type
   into the app.
2. The app fetches ``GET /api/sign-requests/<id>`` → ``{"message", "election",
   "confirmation_code", "expires"}``: ``message`` (base64) is exactly the bytes M of
   ``bulletin.jpki.verify.signed_message`` (H_E, the confirmation code, the challenge). The
   app shows the voter the election and the confirmation code, asks for the signing
   password, and has the card sign M with RSASSA-PKCS1-v1_5/SHA-256.
3. The app posts ``POST /api/sign-requests/<id> {"certificate", "signature"}`` (base64 DER,
   base64 signature): once only.
4. The booth polls ``GET /api/sign-requests/<id>/result`` with header
   ``X-Sign-Secret: <secret>`` until it gets ``{"certificate", "signature", "challenge"}``
   (204 while waiting), and submits the ballot with that as its ``auth``. The gate checks
   the signature as for any cast ballot: the server learns nothing it could misuse, and a
   forged answer only produces a refused ballot.

Requests live in this process's memory for ten minutes (a lost request costs the voter a
new QR code, never a vote); a deployment with several web processes routes a request's
id to one process or moves this store to the database. At most MAX_PENDING requests are
pending in all, and at most ``SiteSettings.sign_requests_per_address`` (20) per client
address as the app sees it (after the trusted proxy), so that one client cannot take every
place; either cap is refused with 429 ``rate_limited``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from bulletin.board import Board
from bulletin.jpki.verify import signed_message
from bulletin.refusals import Refusal

bp = Blueprint("signing", __name__, url_prefix="/api/sign-requests")

TTL = timedelta(minutes=10)
MAX_PENDING = 10_000
PER_ADDRESS = 20  # pending requests of one client address (SiteSettings overrides it)
MAX_FIELD = 8192  # base64 of a certificate (about 1.5 kB DER) or a 2048-bit signature
PAIRING_TRIES = 5


@dataclass
class SignRequest:
    message: bytes
    challenge: bytes
    code: bytes
    secret: str
    pairing: str
    expires: datetime
    client: str = ""  # the address that created it, for the per-address cap
    answer: dict[str, str] | None = field(default=None)
    wrong: int = 0


class SignRequests:
    """Pending signing requests of this process, each answered at most once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, SignRequest] = {}
        self._per_client: Counter[str] = Counter()  # pending requests per client address

    def _drop(self, rid: str) -> None:
        req = self._items.pop(rid)
        self._per_client[req.client] -= 1
        if self._per_client[req.client] <= 0:
            del self._per_client[req.client]

    def create(
        self,
        message: bytes,
        challenge: bytes,
        code: bytes,
        now: datetime,
        client: str = "",
        per_client: int = PER_ADDRESS,
    ) -> tuple[str, SignRequest]:
        with self._lock:
            for k in [k for k, v in self._items.items() if v.expires <= now]:
                self._drop(k)
            if self._per_client[client] >= per_client:
                raise Refusal(
                    "rate_limited",
                    f"at most {per_client} pending signing requests per client address; "
                    "try again when one has expired",
                )
            if len(self._items) >= MAX_PENDING:
                raise Refusal("rate_limited", "too many pending signing requests; try again")
            rid = secrets.token_urlsafe(16)
            pairing = f"{secrets.randbelow(10**6):06d}"
            req = SignRequest(
                message, challenge, code, secrets.token_urlsafe(24), pairing, now + TTL, client
            )
            self._items[rid] = req
            self._per_client[client] += 1
            return rid, req

    def get(self, rid: str, now: datetime) -> SignRequest:
        with self._lock:
            req = self._items.get(rid)
        if req is None or req.expires <= now:
            raise Refusal("not_found", "no such signing request (or it expired)")
        return req

    def answer(self, rid: str, answer: dict[str, str], pairing: str, now: datetime) -> None:
        with self._lock:
            req = self._items.get(rid)
            if req is None or req.expires <= now:
                raise Refusal("not_found", "no such signing request (or it expired)")
            if req.answer is not None:
                raise Refusal("wrong_state", "this signing request was already answered")
            if not hmac.compare_digest(pairing.encode(), req.pairing.encode()):
                req.wrong += 1
                if req.wrong >= PAIRING_TRIES:
                    self._drop(rid)  # void: the booth must start a new request
                raise Refusal("unauthenticated", "wrong pairing number")
            req.answer = answer


def _store() -> SignRequests:
    return current_app.extensions.setdefault("tohyo_sign_requests", SignRequests())


def _board() -> Board:
    return current_app.config["BOARD"]


def _now() -> datetime:
    return datetime.now(UTC)


def _hex32(body: Any, name: str) -> bytes:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or len(value) != 64:
        raise Refusal("malformed", f"{name}: expected 64 hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise Refusal("malformed", f"{name}: expected 64 hex digits") from None


def _b64(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_FIELD:
        raise Refusal("malformed", f"{name}: expected base64")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal("malformed", f"{name}: expected base64") from None
    return value


def _json() -> Any:
    if request.mimetype != "application/json":
        raise Refusal("malformed", "Content-Type must be application/json")
    # Not request.get_json(silent=True): it lets a RecursionError (a body nested a
    # thousand deep) through as a 500.
    try:
        body = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refusal("malformed", "expected a JSON object") from None
    if not isinstance(body, dict):
        raise Refusal("malformed", "expected a JSON object")
    return body


def _per_address() -> int:
    site = current_app.config.get("SITE")
    return site.sign_requests_per_address if site is not None else PER_ADDRESS


@bp.post("")
def create() -> Any:
    """The booth asks for a signing request for (confirmation code, server challenge)."""
    body = _json()
    code = _hex32(body, "confirmation_code")
    challenge = _hex32(body, "challenge")
    h_e = bytes(_board().election.h_e)
    rid, req = _store().create(
        signed_message(h_e, code, challenge),
        challenge,
        code,
        _now(),
        request.remote_addr or "",
        _per_address(),
    )
    return jsonify(
        {
            "id": rid,
            "secret": req.secret,
            "pairing": req.pairing,
            "app_url": f"/api/sign-requests/{rid}",
            "expires": req.expires.isoformat(),
        }
    ), 201


@bp.get("/<rid>")
def fetch(rid: str) -> Any:
    """The signing app reads what it is asked to sign, and what to show the voter."""
    req = _store().get(rid, _now())
    manifest = _board().manifest
    return jsonify(
        {
            "message": base64.b64encode(req.message).decode(),
            "confirmation_code": req.code.hex().upper(),
            "election": {
                "id": manifest.election_id,
                "ja": manifest.title.ja,
                "en": manifest.title.en,
            },
            "expires": req.expires.isoformat(),
        }
    )


@bp.post("/<rid>")
def answer(rid: str) -> Any:
    """The signing app returns the card's certificate and signature (once)."""
    body = _json()
    answer = {"certificate": _b64(body, "certificate"), "signature": _b64(body, "signature")}
    pairing = body.get("pairing")
    # ASCII digits only: "²²²²²²" is six str.isdigit() digits, and no pairing number.
    if not isinstance(pairing, str) or not re.fullmatch(r"[0-9]{6}", pairing, re.ASCII):
        raise Refusal("malformed", "pairing: expected the six digits shown on the booth")
    _store().answer(rid, answer, pairing, _now())
    return Response(status=204)


@bp.get("/<rid>/result")
def result(rid: str) -> Any:
    """The booth collects the answer with its secret: 204 while the app has not answered."""
    req = _store().get(rid, _now())
    given = request.headers.get("X-Sign-Secret", "")
    if not hmac.compare_digest(given.encode(), req.secret.encode()):
        raise Refusal("unauthenticated", "wrong signing-request secret")
    if req.answer is None:
        return Response(status=204)
    return jsonify({**req.answer, "challenge": req.challenge.hex()})
