"""Hand-off to a native JPKI signing app (the phone app that reads the My Number Card).

A browser cannot talk to the card; on a phone the card is read by a native app over NFC.
The hand-off goes through this server, so it works across devices (booth on a PC, card on
a phone) and needs no custom URL scheme to return:

1. The booth, holding a server challenge and the ballot's confirmation code, creates a
   signing request: ``POST /api/sign-requests {"confirmation_code", "challenge"}`` →
   ``{"id", "secret", "pairing", "app_url", "page_url", "expires"}``; the challenge must be
   a live one of the board's, and is marked as handed to another device: the gate accepts
   it for a voter's first ballot in a category, never for a re-vote (docs/jpki.md).
   ``page_url`` (``/sign/<id>``, a page a person can read: what this is, whom it is for,
   what app to use) goes to the other device as a link or QR code; the signing app reads
   ``app_url`` (``/api/sign-requests/<id>``) for the same id. ``secret`` stays in the
   booth; ``pairing`` (six digits) is shown on the booth's screen for the voter to type
   into the app.
2. The app fetches ``GET /api/sign-requests/<id>`` → ``{"message", "election",
   "confirmation_code", "short_code", "expires"}``: ``message`` (base64) is exactly the
   bytes M of ``bulletin.jpki.verify.signed_message`` (H_E, the confirmation code, the
   challenge). A request that would not be taken is refused here, before the card is
   read: cancelled by the booth, voided, expired, answered already, or whose challenge
   expired or was used at the board (``request_*`` codes, each telling the voter what to
   do). The app shows the voter the election and the code, asks for the signing
   password, and has the card sign M with RSASSA-PKCS1-v1_5/SHA-256.
3. The app posts ``POST /api/sign-requests/<id> {"certificate", "signature", "pairing"}``
   (base64 DER, base64 signature, the six digits): once only, and only while the request
   is live.
4. The booth polls ``GET /api/sign-requests/<id>/result`` with header
   ``X-Sign-Secret: <secret>`` until it gets ``{"certificate", "signature", "challenge"}``
   (204 while waiting), and submits the ballot with that as its ``auth``. The gate checks
   the signature as for any cast ballot: the server learns nothing it could misuse, and a
   forged answer only produces a refused ballot. ``DELETE /api/sign-requests/<id>`` with
   the same header cancels the request (the voter's やめる).
5. The app polls ``GET /api/sign-requests/<id>/status`` → ``{"state", "short_code"}`` and
   tells the voter the vote is cast only on ``cast`` (the board holds the ballot).

Requests live in the board's database (table ``sign_requests``,
:class:`bulletin.operational.SignRequests`), so any web process of the board, on this
machine or another, serves any step of any request: the booth and the app need not reach
the same one. A request expires after ten minutes (a lost request costs the voter a new QR
code, never a vote); five wrong pairing numbers, from whichever processes, void it; it is
answered once, whichever process takes the answer. The database keeps hashes of the secret
and the pairing number, and the answer sealed so that only the booth's secret opens it.
At most MAX_PENDING requests are pending (unexpired, unanswered) in all, and at most
``SiteSettings.sign_requests_per_address`` (20) per client address as the app sees it
(after the trusted proxy), counted over every process, so that one client cannot take every
place; either cap is refused with 429 ``rate_limited``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from bulletin.board import Board
from bulletin.jpki.verify import signed_message
from bulletin.operational import SignRequest, SignRequests
from bulletin.refusals import Refusal
from e2e.shortcode import short

bp = Blueprint("signing", __name__, url_prefix="/api/sign-requests")

TTL = timedelta(minutes=10)
MAX_PENDING = 10_000
PER_ADDRESS = 20  # pending requests of one client address (SiteSettings overrides it)
MAX_FIELD = 8192  # base64 of a certificate (about 1.5 kB DER) or a 2048-bit signature
PAIRING_TRIES = 5


def _store() -> SignRequests:
    return SignRequests(_board().store)


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


def _client_key() -> bytes:
    key = current_app.secret_key or b""
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


@bp.post("")
def create() -> Any:
    """The booth asks for a signing request for (confirmation code, server challenge)."""
    body = _json()
    code = _hex32(body, "confirmation_code")
    challenge = _hex32(body, "challenge")
    h_e = bytes(_board().election.h_e)
    # The challenge is marked as handed to another device, so that the gate never lets it
    # sign a re-vote (bulletin/jpki/authenticator.py): whoever made this request may not be
    # the voter whose card signs it. A stale challenge is refused here, before any card is
    # touched. (A board whose authenticator uses no signing nonces, tests' token gate, has
    # no challenge to mark, and no card to phish.)
    mark = getattr(_board().authenticator, "mark_remote", None)
    if mark is not None and not mark(challenge):
        raise Refusal("challenge_unknown", "ask the board for a new signing nonce")
    req = _store().create(
        signed_message(h_e, code, challenge),
        challenge,
        code,
        _now(),
        ttl=TTL,
        client=request.remote_addr or "",
        per_client=_per_address(),
        max_pending=MAX_PENDING,
        # the site's secret key keys the stored digest of the address: the database alone
        # cannot be searched for an address (docs/admin.md, "Several processes and machines")
        client_key=_client_key(),
    )
    return jsonify(
        {
            "id": req.id,
            "secret": req.secret,
            "pairing": req.pairing,
            "app_url": f"/api/sign-requests/{req.id}",
            "page_url": f"/sign/{req.id}",
            "expires": req.expires,
        }
    ), 201


def _live(req: SignRequest) -> None:
    """Refuse a request whose challenge can no longer sign a ballot that the board would
    take (expired at the board, or used): the app learns it before it reads the card."""
    live = getattr(_board().authenticator, "challenge_live", None)
    if live is not None and not live(req.challenge):
        raise Refusal("request_stale", "the request's challenge expired or was used")


@bp.get("/<rid>")
def fetch(rid: str) -> Any:
    """The signing app reads what it is asked to sign, and what to show the voter."""
    req = _store().get(rid, _now())
    _live(req)
    manifest = _board().manifest
    return jsonify(
        {
            "message": base64.b64encode(req.message).decode(),
            "confirmation_code": req.code.hex().upper(),
            "short_code": short(req.code),
            "election": {
                "id": manifest.election_id,
                "ja": manifest.title.ja,
                "en": manifest.title.en,
            },
            "expires": req.expires,
        }
    )


@bp.get("/<rid>/status")
def status(rid: str) -> Any:
    """Where the request stands, for the signing app after it answered: it tells the voter
    "cast" only once the board holds the ballot, never on its own answer's success.

    ``waiting`` (no answer yet), ``answered`` (the booth has not cast yet), ``cast`` (the
    board holds the ballot with this request's confirmation code), ``cancelled``,
    ``voided``, ``expired``. The id is the capability, as for the other reads; the answer
    says nothing the public board does not."""
    state, code = _store().state(rid, _now())
    if state in ("answered", "expired") and _board().store.ballot_by("code", code) is not None:
        state = "cast"
    return jsonify({"state": state, "short_code": short(code)})


@bp.delete("/<rid>")
def cancel(rid: str) -> Any:
    """The booth gives the request up (the voter's やめる, or a new start): from now on the
    app is refused before it reads the card, and its answer is not taken."""
    _store().cancel(rid, request.headers.get("X-Sign-Secret", ""), _now())
    return Response(status=204)


@bp.post("/<rid>")
def answer(rid: str) -> Any:
    """The signing app returns the card's certificate and signature (once)."""
    body = _json()
    certificate, signature = _b64(body, "certificate"), _b64(body, "signature")
    pairing = body.get("pairing")
    # ASCII digits only: "²²²²²²" is six str.isdigit() digits, and no pairing number.
    if not isinstance(pairing, str) or not re.fullmatch(r"[0-9]{6}", pairing, re.ASCII):
        raise Refusal("malformed", "pairing: expected the six digits shown on the booth")
    _store().answer(rid, certificate, signature, pairing, _now(), tries=PAIRING_TRIES)
    return Response(status=204)


@bp.get("/<rid>/result")
def result(rid: str) -> Any:
    """The booth collects the answer with its secret: 204 while the app has not answered."""
    got = _store().result(rid, request.headers.get("X-Sign-Secret", ""), _now())
    if got is None:
        return Response(status=204)
    return jsonify(
        {
            "certificate": got.certificate,
            "signature": got.signature,
            "challenge": got.challenge.hex(),
        }
    )
