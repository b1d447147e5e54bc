"""``/api/ceremony/…``: the key ceremony's mailbox and the trustees' decryption upload.

The server only relays: trustees' secrets stay in the trustee CLI (``tohyo trustee
remote …``); what passes through here is public (keys, proofs, partial decryptions) or
already encrypted to its recipient (shares). Every message is checked before it is kept
(``bulletin.ceremony``). A trustee authenticates with the enrolment token the administrator
gave it, as ``Authorization: Bearer TOKEN``; cookies carry no authority here, so the site
exempts this blueprint from CSRF. Errors are the API's JSON objects
``{"error", "message": {"ja", "en"}, "detail"}``, with the status that ``web.status`` gives
their code, as for every other refusal of the API.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from bulletin.board import Board
from bulletin.ceremony import (
    Caller,
    CeremonyError,
    CeremonyStore,
    ceremony_summary,
)
from web import i18n
from web.status import status_of

bp = Blueprint("ceremony_api", __name__, url_prefix="/api/ceremony")


def _store() -> CeremonyStore:
    board: Board = current_app.config["BOARD"]
    return CeremonyStore(board)


def _caller(store: CeremonyStore) -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CeremonyError("unauthenticated", "send the trustee token as a Bearer token")
    return store.authenticate(token.strip())


def _body() -> Any:
    if request.mimetype != "application/json":
        raise CeremonyError("malformed", "Content-Type must be application/json")
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        raise CeremonyError("malformed", "not JSON") from None
    except RecursionError:  # nested deeper than the parser goes
        raise CeremonyError("malformed", "JSON nested too deeply") from None


@bp.errorhandler(CeremonyError)
def refused(e: CeremonyError) -> Any:
    """A refusal: the API's JSON error object with its code's status."""
    return jsonify(i18n.refusal_json(e)), status_of(e)


@bp.get("")
def status() -> Any:
    """The current ceremony in public: manifest, group, posted keys and each trustee's steps."""
    store = _store()
    progress = store.progress()
    if progress is None:
        raise CeremonyError("not_found", "no key ceremony has been started")
    return jsonify(ceremony_summary(progress, store.decryptions()))


@bp.get("/me")
def me() -> Any:
    """The calling trustee's number and its next step."""
    store = _store()
    return jsonify(store.next_step(_caller(store)))


@bp.post("/public-key")
def public_key() -> Any:
    """Post this trustee's public key (commitments, κ and the Schnorr proof)."""
    store = _store()
    who = _caller(store)
    new = store.post_public_key(who, _body())
    return jsonify({"trustee": who.index, "stored": new}), 201 if new else 200


@bp.post("/shares")
def post_shares() -> Any:
    """Post this trustee's encrypted shares, each addressed to another trustee."""
    store = _store()
    who = _caller(store)
    return jsonify({"trustee": who.index, **store.post_shares(who, _body())})


@bp.get("/shares")
def get_shares() -> Any:
    """The encrypted shares addressed to this trustee."""
    store = _store()
    who = _caller(store)
    docs = [json.loads(d) for d in store.shares_for(who)]
    return jsonify({"trustee": who.index, "shares": docs})


@bp.post("/complaint")
def complaint() -> Any:
    """This trustee found a share bad: ``{"sender": I, "reason": "…"}``."""
    store = _store()
    who = _caller(store)
    store.post_complaint(who, _body())
    return jsonify({"trustee": who.index, "complaint": "recorded"}), 201


@bp.post("/confirmation")
def confirmation() -> Any:
    """This trustee's shares all check out: ``{"joint_key": HEX}`` as it computed K."""
    store = _store()
    who = _caller(store)
    new = store.post_confirmation(who, _body())
    return jsonify({"trustee": who.index, "confirmed": True, "stored": new})


@bp.post("/decryption")
def decryption() -> Any:
    """Post this trustee's partial decryption of the tally (proofs checked by the board)."""
    store = _store()
    who = _caller(store)
    entry = store.post_decryption(who, _body())
    return jsonify({"trustee": who.index, "entry": entry}), 201
