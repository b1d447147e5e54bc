"""The bulletin board's HTTP JSON API (a Flask blueprint; see docs/openapi.yaml).

Every error is a JSON object ``{"error": code, "message": {"ja", "en", ...}, "detail"}`` with a
4xx status (the code's texts are :data:`bulletin.refusals.CODES`, its status
:data:`web.status.STATUS`); a malformed body, an oversized body or a wrong content type never
reaches the board's logic and never produces a stack trace.

Three things are called a challenge, and the routes keep them apart: the board's
single-use *signing nonce* that the voter's card signs (``POST /signing-nonces``), a
*challenged ballot*, opened instead of cast (Benaloh's cast-or-challenge,
``POST /challenged-ballots``), and a proof's Fiat-Shamir challenge, which no route names.
The routes' first names, ``POST /challenges`` and ``POST /challenged``, keep working: each
is a second URL of the same endpoint (``api.new_signing_nonce``, ``api.submit_challenged``), so
the rate limits that ``web/app.py`` attaches by endpoint name count both URLs together.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from bulletin.batcher import Interrupted
from bulletin.board import Board, BoardError, passing
from bulletin.refusals import Refusal
from bulletin.store import UNAVAILABLE, describe
from e2e import codec
from e2e.board import Entry
from e2e.checkpoint import MAX_NOTE
from e2e.errors import TohyoError
from e2e.shortcode import parse, prefix
from web import i18n
from web.logfilter import EveryFewSeconds
from web.status import STATUS, status_of

MAX_BODY = 2 * 1024 * 1024  # a 3×3 ballot is about 75 kB in the standard group
CODE_MATCHES = 20  # ballots listed for one short code (40 bits: two match by accident only)
LOG_MAX = 2**62  # beyond any log's size, and within the database's 64-bit integers

api = Blueprint("api", __name__, url_prefix="/api")


def _board() -> Board:
    return current_app.config["BOARD"]


def _error(code: str, detail: str = "", status: int | None = None) -> tuple[Response, int]:
    body = i18n.refusal_json(Refusal(code, detail))
    return jsonify(body), status or STATUS[code]


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise Refusal("malformed", "Content-Type must be application/json")
    data = request.get_data(cache=False)
    if len(data) > MAX_BODY:
        raise Refusal("too_large")
    return data


def ascii_int(raw: str, low: int, high: int) -> int | None:
    """``raw`` as an integer in [low, high] if it is only ASCII digits, else None.

    ``str.isdigit`` alone is true for "²" or "١٢", which ``int`` then refuses or reads
    (a ValueError, a 500); and a 5,000-digit string is refused by ``int`` as too long.
    """
    if not (0 < len(raw) <= len(str(high)) and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _int_arg(name: str, default: int, low: int = 0, high: int = LOG_MAX) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    value = ascii_int(raw, low, high)
    if value is None:
        raise Refusal("malformed", f"{name} must be an integer in [{low}, {high}]")
    return value


class IndexConverter(IntegerConverter):
    """``<index:name>``: a log index or size, ASCII digits only and at most LOG_MAX; any
    other path segment does not match the route (404), and never reaches the database,
    whose integers end at 2^63 (an OverflowError, a 500, before)."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=0, max=LOG_MAX)


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


@api.post("/challenges")  # the first name, kept for compatibility
@api.post("/signing-nonces")
def new_signing_nonce() -> Any:
    """A single-use signing nonce for the voter's card to sign (JPKI gate only). The JSON
    field and the refusal codes keep their first name, ``challenge`` (``challenge_*``): the
    API does not change."""
    gate = _board().authenticator
    issue = getattr(gate, "new_nonce", None)
    if issue is None:
        raise Refusal("not_found", "this board's authenticator uses no signing nonces")
    return jsonify(issue().as_json()), 201


@api.post("/ballots")
def submit() -> Any:
    return jsonify(_board().submit(_json_body())), 201


@api.post("/challenged")  # the first name, kept for compatibility
@api.post("/challenged-ballots")
def submit_challenged() -> Any:
    """A challenged ballot with its revealed nonce (Benaloh's cast-or-challenge; it never
    counts)."""
    return jsonify(_board().submit_challenged(_json_body())), 201


@api.get("/receipts/<code>")
def receipt(code: str) -> Any:
    if len(code) != 64 or not code.isascii():
        raise Refusal("malformed", "a confirmation code is 64 hex digits")
    return jsonify(_board().receipt_by_code(code))


@api.get("/codes/<text>")
def codes(text: str) -> Any:
    """A confirmation code however the voter typed it (docs/record.md, "Short codes"): the
    full code, or its short form, ``XXXX-XXXX``, with any spaces, hyphens or case; every
    ballot whose code it matches, each to be checked by its full code
    (``/api/receipts/<code>``)."""
    parsed = parse(text[:200])
    if parsed is None:
        raise Refusal("malformed", "expected a short code (8 characters) or 64 hex digits")
    if parsed.kind == "full":
        assert parsed.full is not None
        row = _board().store.ballot_by("code", parsed.full)
        found = (
            []
            if row is None
            else [{"confirmation_code": parsed.full.hex().upper(), "entry": row.entry}]
        )
        return jsonify({"kind": "full", "matches": found})
    assert parsed.short is not None
    return jsonify(
        {
            "kind": "short",
            "short_code": parsed.short[:4] + "-" + parsed.short[4:],
            "matches": _board().codes_by_short(prefix(parsed.short), limit=CODE_MATCHES),
        }
    )


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


@api.get("/entries/<index:index>")
def entry(index: int) -> Any:
    """One entry's exact leaf bytes (canonical JSON), so a client can hash it itself."""
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


@api.get("/tree-heads/<index:size>")
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


NOTE = "text/plain; charset=utf-8"


@api.get("/checkpoint")
def checkpoint() -> Any:
    """The checkpoint offered to the witnesses now (C2SP signed note, docs/protocol.md
    §8.4), with the cosignatures collected so far."""
    return Response(_board().cosigning.offer().render(), content_type=NOTE)


@api.get("/checkpoint/witnessed")
def witnessed_checkpoint() -> Any:
    """The latest checkpoint a quorum of the manifest's witnesses cosigned."""
    return Response(_board().cosigning.witnessed().render(), content_type=NOTE)


@api.get("/checkpoints/<index:size>")
def checkpoint_of(size: int) -> Any:
    """The checkpoint of the head of ``size``, with its cosignatures so far."""
    return Response(_board().cosigning.note(size).render(), content_type=NOTE)


@api.post("/cosignatures")
def cosignatures() -> Any:
    """A witness's cosignature: the checkpoint note with the witness's signature lines."""
    data = request.get_data(cache=False)
    if len(data) > MAX_NOTE:
        raise Refusal("too_large", f"a checkpoint note is at most {MAX_NOTE} bytes")
    return jsonify(_board().cosigning.add(data)), 201


@api.get("/results")
def results() -> Any:
    rows = _board().store.kinds(["results"])
    if not rows:
        raise Refusal("not_found", "no results yet")
    return Response(Entry(rows[0][2]).payload, mimetype="application/json")


@api.errorhandler(Refusal)
def refused(e: Refusal) -> Any:
    """Any refusal (the board's, the JPKI gate's, the ceremony's) as the API's JSON error
    with its status (:func:`web.status.status_of`)."""
    return jsonify(i18n.refusal_json(e)), status_of(e)


def api_http_error(e: HTTPException) -> Any:
    """An HTTP error (404, 405, 413, 429...) as the API's JSON error."""
    status = e.code or 500
    if status >= 500:  # Flask's InternalServerError when a handler itself failed
        return api_internal(getattr(e, "original_exception", None) or e)
    code = {404: "not_found", 413: "too_large", 405: "malformed", 429: "rate_limited"}.get(
        status, "malformed"
    )
    return _error(code, e.description or "", status)


INTERNAL = {"error": "internal", "message": {"ja": "内部エラー", "en": "internal error"}}


def api_internal(e: BaseException) -> Any:
    """Any other exception (a bug: the tests assert it never happens): logged by type only,
    a fixed JSON body, never a stack trace or the exception's text to the client."""
    current_app.logger.error("internal error: %s", describe(e))
    # Built by hand, not by jsonify: nothing in it can fail to serialise a second time.
    body = json.dumps(INTERNAL, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return Response(body, status=500, mimetype="application/json")


#: What may mean the board cannot answer for now: the database's errors (those that
#: :func:`bulletin.store.is_unavailable` says are passing) and a batch cut short by a
#: shutdown. Answered 503 "unavailable"; the database's other errors stay 500 "internal".
UNAVAILABLE_ERRORS = (*UNAVAILABLE, Interrupted)
RETRY_AFTER = "5"  # seconds: about what a database restart or a failover takes


def warn_unavailable(e: BaseException) -> None:
    """One warning line naming the error by type and code (:func:`bulletin.store.describe`;
    never its text, which can name the database's host), at most once every 10 s per app:
    during an outage every request fails the same way."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    log = app.logger
    if not log.isEnabledFor(logging.WARNING):
        return
    only = app.extensions["tohyo.unavailable_log"]  # made by create_app, one per app
    record = log.makeRecord(
        log.name, logging.WARNING, __file__, 0, "unavailable: %s", (describe(e),), None,
        func="warn_unavailable",
    )  # fmt: skip
    if only.filter(record):
        log.handle(record)


def api_unavailable(e: BaseException) -> Any:
    """The board cannot answer for now: 503 with Retry-After. Not a bug, so not "internal":
    the booth tells the voter to send the same ballot again, which returns its receipt if it
    was recorded. Any other database error goes to :func:`api_internal`."""
    if not passing(e):
        return api_internal(e)
    warn_unavailable(e)
    resp = jsonify(i18n.refusal_json(Refusal("unavailable")))
    resp.status_code = STATUS["unavailable"]
    resp.headers["Retry-After"] = RETRY_AFTER
    return resp


def create_app(board: Board) -> Flask:
    """The Flask application serving one board."""
    app = Flask(__name__)
    app.config["BOARD"] = board
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = True  # type: ignore[attr-defined]
    app.url_map.converters["index"] = IndexConverter  # before the routes that use it
    app.register_blueprint(api)
    app.extensions["tohyo.unavailable_log"] = EveryFewSeconds(10.0)  # see warn_unavailable

    @app.errorhandler(BoardError)
    def board_error(e: BoardError) -> Any:
        return _error("wrong_state", str(e))

    @app.errorhandler(TohyoError)
    def tohyo_error(e: TohyoError) -> Any:
        return _error("malformed", str(e))

    app.register_error_handler(Refusal, refused)  # for every /api blueprint, not only this one
    app.register_error_handler(HTTPException, api_http_error)
    for cls in UNAVAILABLE_ERRORS:
        app.register_error_handler(cls, api_unavailable)
    app.register_error_handler(Exception, api_internal)
    return app
