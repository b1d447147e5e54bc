"""The bulletin board's HTTP JSON API (a Flask blueprint; see docs/openapi.yaml).

Every error is a JSON object ``{"error": code, "message": {"ja", "en"}, "detail"}`` with a
4xx status; a malformed body, an oversized body or a wrong content type never reaches the
board's logic and never produces a stack trace.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from bulletin.auth import Refusal
from bulletin.board import Board, BoardError, entry_payload
from e2e import codec
from e2e.errors import TohyoError

MAX_BODY = 2 * 1024 * 1024  # a 3×3 ballot is about 75 kB in the standard group

STATUS = {
    "malformed": 400,
    "unauthenticated": 401,
    "not_eligible": 403,
    "not_open": 403,
    "not_found": 404,
    "copy": 409,
    "wrong_state": 409,
    "too_large": 413,
    "rate_limited": 429,
    "invalid_ballot": 422,
    "invalid_proof": 422,
}

api = Blueprint("api", __name__, url_prefix="/api")


def _board() -> Board:
    return current_app.config["BOARD"]


def _error(code: str, detail: str = "", status: int | None = None) -> tuple[Response, int]:
    body = Refusal(code, detail).as_json()
    return jsonify(body), status or STATUS[code]


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise Refusal("malformed", "Content-Type must be application/json")
    data = request.get_data(cache=False)
    if len(data) > MAX_BODY:
        raise Refusal("too_large")
    return data


def _int_arg(name: str, default: int, low: int = 0, high: int = 2**62) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Refusal("malformed", f"{name} must be an integer in [{low}, {high}]")
    return int(raw)


@api.get("/election")
def election() -> Any:
    b = _board()
    e = b.election
    return jsonify(
        {
            "state": b.state(),
            "manifest": codec.to_document(e.manifest),
            "parameters": codec.to_document(e.parameters()),
            "board_key": codec.to_document(b.public),
        }
    )


@api.post("/challenges")
def new_challenge() -> Any:
    """A single-use challenge for the voter's card to sign (JPKI gate only)."""
    gate = _board().authenticator
    issue = getattr(gate, "new_challenge", None)
    if issue is None:
        raise Refusal("not_found", "this board's authenticator uses no challenges")
    return jsonify(issue().as_json()), 201


@api.post("/ballots")
def submit() -> Any:
    return jsonify(_board().submit(_json_body())), 201


@api.post("/challenged")
def submit_challenged() -> Any:
    return jsonify(_board().submit_challenged(_json_body())), 201


@api.get("/receipts/<code>")
def receipt(code: str) -> Any:
    if len(code) != 64:
        raise Refusal("malformed", "a confirmation code is 64 hex digits")
    return jsonify(_board().receipt_by_code(code))


@api.get("/entries")
def entries() -> Any:
    start = _int_arg("start", 0)
    limit = _int_arg("limit", 100, 1, 1000)
    rows = _board().store.entries(start, limit)
    return jsonify(
        {
            "entries": [json.loads(data) for _, _, data in rows],
            "next": rows[-1][0] + 1 if rows else None,
        }
    )


@api.get("/entries/<int:index>")
def entry(index: int) -> Any:
    """One entry's exact leaf bytes (canonical JSON), so a client can hash it itself."""
    if index >= 2**62:  # beyond any log, and beyond the database's integers
        raise Refusal("not_found", f"no entry {index}")
    data = _board().store.entry(index)
    if data is None:
        raise Refusal("not_found", f"no entry {index}")
    return Response(data, mimetype="application/json")


@api.get("/tree-heads/latest")
def latest_head() -> Any:
    return jsonify(codec.to_document(_board().latest_head()))


@api.get("/tree-heads")
def tree_heads() -> Any:
    start = _int_arg("from_size", 0)
    limit = _int_arg("limit", 100, 1, 1000)
    rows = _board().store.tree_heads(start, limit)
    return jsonify({"tree_heads": [json.loads(d) for d in rows]})


@api.get("/tree-heads/<int:size>")
def tree_head(size: int) -> Any:
    data = _board().store.tree_head(size)
    if data is None:
        raise Refusal("not_found", f"no tree head for size {size}")
    return Response(data, mimetype="application/json")


@api.get("/consistency")
def consistency() -> Any:
    first = _int_arg("first", 0)
    second = _int_arg("second", 0)
    proof = _board().consistency(first, second)
    return jsonify({"first": first, "second": second, "proof": [h.hex().upper() for h in proof]})


@api.get("/results")
def results() -> Any:
    rows = _board().store.kinds(["results"])
    if not rows:
        raise Refusal("not_found", "no results yet")
    return Response(entry_payload(rows[0][2]), mimetype="application/json")


@api.errorhandler(Refusal)
def refused(e: Refusal) -> Any:
    # The JPKI gate's precise codes (address_not_eligible, cert_revoked...) each belong to a
    # general class (not_eligible, unauthenticated...), which decides the HTTP status.
    status = STATUS.get(e.code) or STATUS.get(getattr(e, "general", ""), 400)
    return jsonify(e.as_json()), status


def api_http_error(e: HTTPException) -> Any:
    """An HTTP error (404, 405, 413, 429...) as the API's JSON error."""
    code = {404: "not_found", 413: "too_large", 405: "malformed", 429: "rate_limited"}.get(
        e.code or 400, "malformed"
    )
    return _error(code, e.description or "", e.code)


def api_internal(e: Exception) -> Any:
    """Any other exception: logged by type only, and never a stack trace to the client."""
    current_app.logger.error("internal error: %s", type(e).__name__)
    return jsonify(
        {"error": "internal", "message": {"ja": "内部エラー", "en": "internal error"}}
    ), 500


def create_app(board: Board) -> Flask:
    """The Flask application serving one board."""
    app = Flask(__name__)
    app.config["BOARD"] = board
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = True  # type: ignore[attr-defined]
    app.register_blueprint(api)

    @app.errorhandler(BoardError)
    def board_error(e: BoardError) -> Any:
        return _error("wrong_state", str(e))

    @app.errorhandler(TohyoError)
    def tohyo_error(e: TohyoError) -> Any:
        return _error("malformed", str(e))

    app.register_error_handler(Refusal, refused)  # for every /api blueprint, not only this one
    app.register_error_handler(HTTPException, api_http_error)
    app.register_error_handler(Exception, api_internal)
    return app
