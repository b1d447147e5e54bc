"""The one table of refusal codes (bulletin.refusals) and the one code → HTTP status mapping
(web.status): every code has texts in both languages and a status, the statuses are the
API's, and the board layer holds no HTTP status."""

from __future__ import annotations

import ast
import pathlib

import pytest

from bulletin.ceremony import CeremonyError
from bulletin.jpki.errors import REASONS as JPKI_REASONS
from bulletin.jpki.errors import JpkiRefusal
from bulletin.refusals import CODES, Refusal
from web.status import STATUS, status_of

BULLETIN = pathlib.Path(__file__).resolve().parents[2] / "bulletin"

#: The status of every code as the API answers it (docs/openapi.yaml).
EXPECTED = {
    "malformed": 400,
    "unauthenticated": 401,
    "not_eligible": 403,
    "not_open": 403,
    "not_yours": 403,
    "not_found": 404,
    "copy": 409,
    "duplicate": 409,
    "wrong_state": 409,
    "too_large": 413,
    "invalid_ballot": 422,
    "invalid_proof": 422,
    "mismatch": 422,
    "unknown_trustee": 422,
    "rate_limited": 429,
    "unknown_witness": 403,
    "bad_signature": 403,
    "not_our_checkpoint": 409,
    "unavailable": 503,
}


def test_every_code_has_texts_in_both_languages_and_a_status():
    assert set(STATUS) == set(CODES)
    for code, reason in CODES.items():
        assert reason.ja.strip() and reason.en.strip(), code
        assert reason.ja != reason.en, code
        # a refusal is the client's to fix; only "unavailable" is the server's (retry)
        assert 400 <= STATUS[code] < 500 or (code, STATUS[code]) == ("unavailable", 503), code


def test_the_statuses_are_the_apis():
    assert {c: STATUS[c] for c in EXPECTED} == EXPECTED
    for code, reason in CODES.items():
        if reason.general is not None:  # a JPKI gate code: its general board code's status
            assert STATUS[code] == STATUS[reason.general], code
        else:
            assert code in EXPECTED, f"{code}: a new board code needs its status pinned here"


SIGN_REQUEST_CODES = {
    "request_unknown",
    "request_expired",
    "request_cancelled",
    "request_voided",
    "request_answered",
    "request_stale",
}


def test_precise_codes_are_the_gates_and_the_hand_offs():
    precise = {c for c, r in CODES.items() if r.general is not None}
    assert precise == set(JPKI_REASONS) | SIGN_REQUEST_CODES


def test_sign_request_codes_fall_under_a_board_code():
    for code in SIGN_REQUEST_CODES:
        assert CODES[code].general in {"not_found", "wrong_state"}, code
        assert STATUS[code] in {404, 409}


def test_jpki_codes_fall_under_a_board_code():
    jpki = set(JPKI_REASONS)
    assert len(jpki) == 19
    for code in jpki:
        general = CODES[code].general
        assert general in {"malformed", "unauthenticated", "not_eligible"}, code
        assert CODES[general].general is None
        assert JPKI_REASONS[code] == (general, CODES[code].ja, CODES[code].en)


@pytest.mark.parametrize("cls", [Refusal, JpkiRefusal, CeremonyError])
def test_every_refusal_reads_the_one_table(cls):
    for code, reason in CODES.items():
        e = cls(code, "what exactly")
        assert (e.code, e.ja, e.en, e.detail) == (code, reason.ja, reason.en, "what exactly")
        assert e.general == (reason.general or code)
        assert str(e) == f"{code}: {reason.en} (what exactly)"
        assert e.as_json() == {
            "error": code,
            "message": {"ja": reason.ja, "en": reason.en},
            "detail": "what exactly",
        }
        assert status_of(e) == STATUS[code]
        assert not hasattr(e, "status")  # the status is the web layer's
    with pytest.raises(KeyError):
        cls("no_such_code")


def test_the_subclasses_use_the_base_constructor():
    for cls in (JpkiRefusal, CeremonyError):
        assert issubclass(cls, Refusal) and "__init__" not in vars(cls)
    assert str(JpkiRefusal("cert_revoked")) == "cert_revoked: The certificate has been revoked."


def _http_status(node: ast.expr) -> bool:
    values = node.elts if isinstance(node, ast.Tuple) else [node]
    return any(
        isinstance(v, ast.Constant) and type(v.value) is int and 100 <= v.value < 600
        for v in values
    )


def _code(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value in CODES


def test_no_module_of_the_board_layer_holds_an_http_status_table():
    """No dict literal under bulletin/ pairs a refusal code with an HTTP status, either way
    round (code → status, code → (status, …), status → code)."""
    found = []
    for path in sorted(BULLETIN.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values, strict=True):
                if (_code(key) and _http_status(value)) or (
                    key is not None and _http_status(key) and _code(value)
                ):
                    found.append(f"{path.relative_to(BULLETIN.parent)}:{node.lineno}")
    assert not found, found
    assert list(BULLETIN.rglob("*.py"))  # the scan saw the board layer
