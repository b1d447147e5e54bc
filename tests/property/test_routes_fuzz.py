"""Every route of the site, fuzzed: no request may give a 5xx or show a traceback.

The site runs on real boards in the small test group, in the states that matter: voting
open (a voter's view, with a signing request and a ballot on the board), results published,
a key ceremony in progress (trustee tokens in hand), and the administrator logged in (on an
open board and during a ceremony). For each route of ``app.url_map`` hypothesis draws the
method, the path parameters, the query string, the headers and the body: JSON from valid
documents with one part replaced (by deep nesting, lone surrogates, huge integers, Unicode
digits, wrong types, ...), arbitrary JSON, nesting a thousand deep, bytes that are not
UTF-8, forms and uploads. A 4xx under /api must still be the API's JSON error.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulletin.auth import TokenAuthenticator
from bulletin.board import Board, load_signing_key, new_signing_key
from bulletin.ceremony import CeremonyStore
from bulletin.clock import FixedClock
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.ballot import challenge, encrypt_ballot
from e2e.group import TEST
from e2e.manifest import manifest_from_json
from e2e.rng import DeterministicRng
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from tests.integration.board_helpers import EXAMPLE, KEY, TOKENS, make_board, submission
from trustees.ceremony import new_trustee
from trustees.decrypt import partial_decrypt
from web.admin import hash_password
from web.app import SiteSettings, create_site

C = {"gyosei": ["internet-voting"], "mobility": [], "healthcare": ["emergency-info"]}
PASSWORD = "a long fuzzing password"
HASH = hash_password(PASSWORD, n=2**10)  # a cheap KDF for tests only

# The routes, read from a site that is never served (the map does not depend on the board).
RULES = sorted({r.rule for r in create_site(None).url_map.iter_rules()})  # type: ignore[arg-type]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

DEEP = "[" * 1000 + "]" * 1000
PLACEHOLDERS = {  # strings in a drawn document, replaced by raw JSON text no dumps can make
    "\x00DEEP\x00": DEEP,
    "\x00DEEPOBJ\x00": '{"a":' * 1000 + "1" + "}" * 1000,
    "\x00BIGINT\x00": "9" * 5000,  # past int()'s 4,300 digits
    "\x00NEG\x00": "-" + "9" * 30,
    "\x00FLOAT\x00": "1e400",
    "\x00NAN\x00": "NaN",
}
NASTY = [
    "",
    "0",
    "1",
    "-1",
    "²",
    "١٢",
    "①",
    "𝟙",
    "1e5",
    "0x10",
    " 1",
    "1 ",
    "+1",
    "9" * 25,
    "9" * 5000,
    str(2**63),
    str(2**64),
    "NaN",
    "null",
    "true",
    "\x00",
    "\ud800",
    "\udfff\ud800",
    "../../etc/passwd",
    "%00",
    "%2e%2e%2f",
    "\r\nX-Injected: 1",
    "<script>alert(1)</script>",
    "A" * 64,
    "ab" * 32,
    "AB" * 32,
    "Z" * 64,
    "a" * 10_000,
    "ブース",
    "茨城県つくば市",
    "/",
    "//evil.example/",
    "https://evil.example/",
    "/verify?code=AB",
    "hour",
    "day",
    "en",
    "ja",
    "yes",
    "test",
    "standard",
    "none",
] + list(PLACEHOLDERS)

# What broke the site before, first: hypothesis draws from these often (half of the time
# for a number, a JSON leaf in a changed document or a body), and at random otherwise.
NUMBERISH = [
    "²",  # str.isdigit() is true, int() refuses it
    "١٢",  # Arabic-Indic digits: int() reads them
    str(2**63),  # past the database's integers
    "9" * 5000,  # past int()'s 4,300 digits
    "-1",
    "①",
    str(2**64 + 5),
    "9" * 25,
    "",
    "+1",
    " 1",
    "0x10",
    "1e5",
    "𝟙",
]
POISON = [
    "\x00DEEP\x00",
    "\ud800",
    "\x00BIGINT\x00",
    2**63,
    10**4000,
    "²",
    "\x00DEEPOBJ\x00",
    "\udfff\ud800",
    -1,
    "x" * 100_000,
    [],
    {},
    None,
    "\x00NAN\x00",
    "\x00FLOAT\x00",
]
POISON_BODIES = [
    DEEP.encode(),
    b'{"a":' * 1000 + b"1" + b"}" * 1000,
    b'"\\ud800"',
    b'{"\\ud800": "\\udc00"}',
    b"9" * 5000,
    b"[" * 100_000,
    b"\xff\xfe\x00",
    b"{",
    b"",
    b"null",
    b"[]",
    b'{"ballot": {}, "auth": []}',
    b'{"a": 1, "a": 2}',
    b"NaN",
]
numberish = st.one_of(st.sampled_from(NUMBERISH), st.integers(0, 10**6).map(str))
surrogates = st.characters(categories=["Cs"])
texts = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.one_of(st.characters(), surrogates), max_size=24),
)
ints = st.one_of(
    st.integers(-3, 70),
    st.sampled_from([2**31, 2**53 + 1, 2**62, 2**63, 2**64, -(2**63) - 1, 10**100, 10**4000]),
)
leaves = st.one_of(
    st.sampled_from(POISON), st.none(), st.booleans(), ints, st.floats(allow_nan=False), texts
)
json_values = st.recursive(
    leaves,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(texts, kids, max_size=4)),
    max_leaves=12,
)


def encode(doc: Any, ascii_only: bool = True) -> bytes:
    """JSON text of a drawn document, placeholders turned into their raw text. Lone
    surrogates go out as \\ud800 escapes, or (ascii_only False) as bytes that are not
    UTF-8."""
    text = json.dumps(doc, ensure_ascii=ascii_only, allow_nan=True)
    for mark, raw in PLACEHOLDERS.items():
        text = text.replace(json.dumps(mark, ensure_ascii=ascii_only), raw)
    return text.encode("utf-8", "surrogatepass")


def paths(doc: Any, at: tuple = ()) -> list[tuple]:
    """Every place in a JSON document (the root included)."""
    out = [at]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*at, i))
    return out


def mutate(doc: Any, at: tuple, op: str, value: Any) -> Any:
    """A copy of ``doc`` with the place ``at`` replaced, removed or added to."""
    doc = json.loads(json.dumps(doc))
    if not at:
        return value if op != "wrap" else [doc]
    parent = doc
    for k in at[:-1]:
        parent = parent[k]
    last = at[-1]
    if op == "replace":
        parent[last] = value
    elif op == "remove":
        del parent[last]
    elif op == "wrap":
        parent[last] = [parent[last]]
    elif isinstance(parent, dict):  # add
        parent["extra" if not isinstance(value, str) else value[:20]] = value
    else:
        parent.append(value)
    return doc


@dataclass(repr=False)
class Site:
    """One site and a client for it, with the values that open its routes."""

    app: Any
    client: Any
    values: dict[str, list[str]] = field(default_factory=dict)  # path parameter → good values
    headers: dict[str, list[str]] = field(default_factory=dict)  # header → good values
    docs: dict[str, list[Any]] = field(default_factory=dict)  # route prefix → valid bodies
    admin: bool = False

    def __repr__(self) -> str:  # hypothesis prints the fixture with each failure
        return f"Site(admin={self.admin})"

    def login(self) -> None:
        if self.admin:
            resp = self.client.post("/admin/login", data={"password": PASSWORD})
            assert resp.status_code == 303, resp.status_code


def _settings(**kw: Any) -> SiteSettings:
    return SiteSettings(admin_password_hash=HASH, rate_limits=False, allow_test_group=True, **kw)


def _site(board: Board, admin: bool = False, **kw: Any) -> Site:
    app = create_site(board, _settings(**kw))
    app.config["WTF_CSRF_ENABLED"] = False  # so that fuzzed forms reach the handlers
    s = Site(app, app.test_client(), admin=admin)
    s.login()
    return s


def _manifest():
    return replace(manifest_from_json(EXAMPLE.read_text(encoding="utf-8")), trustees=3, quorum=2)


def _ceremony_board(tmp) -> tuple[Board, list[str], Any]:
    new_signing_key(tmp / "board.key")
    engine = make_engine(f"sqlite:///{tmp / 'b.db'}")
    migrate(engine)
    clock = FixedClock(_manifest().start_time + timedelta(days=2))
    board = Board(
        Store(engine), load_signing_key(tmp / "board.key"), clock, TokenAuthenticator(KEY, TOKENS)
    )
    ceremony, tokens = CeremonyStore(board).create(_manifest(), "test")
    return board, tokens, ceremony


def _voting_docs(setup) -> dict[str, list[Any]]:
    el = setup.election
    ballot, secret = encrypt_ballot(el, C, DeterministicRng("fuzz"))
    cast = json.loads(submission(el, {"mobility": ["tsukumobi"]}, "token-9", "fuzz-cast"))
    return {
        "/api/ballots": [cast],
        "/api/challenged": [{"challenged": codec.to_document(challenge(ballot, secret))}],
        "/api/sign-requests": [
            {"confirmation_code": "AB" * 32, "challenge": "CD" * 32},
            {"certificate": "Y2VydA==", "signature": "c2ln", "pairing": "123456"},
        ],
    }


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Site]:
    out: dict[str, Site] = {}

    # Voting open: a ballot on the board, a pending signing request, a rehearsal card.
    tmp = tmp_path_factory.mktemp("voter")
    setup = make_board(f"sqlite:///{tmp / 'b.db'}", tmp)
    (tmp / "cards").mkdir()
    (tmp / "cards" / "a.json").write_text("{}")
    voter = _site(setup.board, demo_cards=({"file": "a.json"},), card_dir=str(tmp / "cards"))
    cast = submission(setup.election, C, "token-1", "v")
    receipt = voter.client.post(
        "/api/ballots", data=cast, content_type="application/json"
    ).get_json()
    req = voter.client.post(
        "/api/sign-requests", json={"confirmation_code": "AB" * 32, "challenge": "CD" * 32}
    ).get_json()
    voter.values = {
        "code": [receipt["confirmation_code"]],
        "rid": [req["id"]],
        "name": ["a.json"],
        "index": ["0", "5", "6"],
        "size": ["6", "7"],
        "filename": ["css/site.css", "js/booth.js"],
    }
    voter.headers = {"X-Sign-Secret": [req["secret"]]}
    voter.docs = _voting_docs(setup)
    out["voter"] = voter

    # Results published: the results pages, /api/results and /record.zip answer.
    tmp = tmp_path_factory.mktemp("done")
    setup = make_board(f"sqlite:///{tmp / 'b.db'}", tmp)
    b, el = setup.board, setup.election
    for i, choice in enumerate(["internet-voting", "digital-counter"]):
        b.submit(submission(el, {"gyosei": [choice]}, f"token-{i}", f"d{i}"))
    b.close()
    tally = b.post_tally()
    commitments = trustee_commitments(b.publics())
    for sec in setup.secrets[:2]:
        x = public_share(el.group, commitments, sec.index)
        b.post_decryption(codec.encode(partial_decrypt(el, tally, sec, x, DeterministicRng("r"))))
    b.post_results()
    done = _site(b)
    done.app.config["RECORD_CACHE"] = str(tmp / "record-cache")  # not the machine's /tmp
    done.values = {"index": ["0", "9"], "size": ["9", "10"]}
    out["done"] = done

    # A key ceremony in progress: the trustees' API with real tokens and shaped bodies.
    tmp = tmp_path_factory.mktemp("ceremony")
    board, tokens, ceremony = _ceremony_board(tmp)
    trustee = _site(board)
    trustee.headers = {"Authorization": [f"Bearer {t}" for t in tokens]}
    rng = DeterministicRng("fuzz-trustees")
    publics = [new_trustee(TEST, ceremony.h_p, i, 2, rng)[1] for i in (1, 2, 3)]
    trustee.docs = {
        "/api/ceremony/public-key": [codec.to_document(p) for p in publics],
        "/api/ceremony/shares": [{"shares": []}],
        "/api/ceremony/complaint": [{"sender": 2, "reason": "the share does not check"}],
        "/api/ceremony/confirmation": [{"joint_key": "AB" * 256}],
        "/api/ceremony/decryption": [codec.to_document(publics[0])],
    }
    out["trustee"] = trustee

    # The administrator logged in, on an open board and during a ceremony (own boards:
    # what a fuzzed form does there must not change the other sites).
    manifest_text = EXAMPLE.read_text(encoding="utf-8")
    form = {
        "manifest": manifest_text,
        "trustees": "3",
        "quorum": "2",
        "group": "test",
        "seen": "none",
        "replace": "yes",
        "confirm": "yes",
        "password": PASSWORD,
    }
    tmp = tmp_path_factory.mktemp("admin-open")
    setup = make_board(f"sqlite:///{tmp / 'b.db'}", tmp)
    admin_open = _site(setup.board, admin=True)
    admin_open.docs = {"/admin": [form]}
    out["admin-open"] = admin_open
    tmp = tmp_path_factory.mktemp("admin-ceremony")
    board, _, ceremony = _ceremony_board(tmp)
    admin_ceremony = _site(board, admin=True)
    admin_ceremony.docs = {"/admin": [{**form, "seen": str(ceremony.id)}]}
    out["admin-ceremony"] = admin_ceremony
    return out


@st.composite
def requests(draw, rule: str, site: Site, focused: bool = False) -> dict[str, Any]:
    """One request for ``rule``: method, path, query, headers and body. ``focused``: a
    method the route takes, the site's good credentials and a valid body with one part
    changed (to get past the first checks), most of the time."""
    allowed = sorted(
        m
        for r in site.app.url_map.iter_rules()
        if r.rule == rule
        for m in r.methods or ()
        if m not in ("HEAD", "OPTIONS") or not focused
    )
    method = draw(st.sampled_from(allowed) if focused else st.sampled_from(allowed * 3 + METHODS))

    def value(converter: str | None, name: str) -> str:
        good = site.values.get(name, [])
        bad = numberish if converter in ("int", "index") else st.one_of(texts, numberish)
        return draw(st.one_of(st.sampled_from(good), bad) if good else bad)

    def segment(m: re.Match[str]) -> str:
        raw = value(m.group(1), m.group(2)).encode("utf-8", "surrogatepass")
        return quote(raw, safe="/" if m.group(1) == "path" else "")

    path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", segment, rule)
    # Every integer parameter at once, with one drawn value (any route may read any of
    # them), then a few others.
    query: list[tuple[str, str]] = []
    if draw(st.booleans()):
        number = draw(numberish)
        query += [(k, number) for k in ("start", "limit", "from_size", "first", "second")]
    keys = st.one_of(st.sampled_from(["code", "path", "lang", "by", "next", "v", "start"]), texts)
    query += draw(st.lists(st.tuples(keys, st.one_of(texts, numberish)), max_size=2))
    qs = "&".join(
        quote(k.encode("utf-8", "surrogatepass")) + "=" + quote(v.encode("utf-8", "surrogatepass"))
        for k, v in query
    )

    latin1 = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
    headers: dict[str, str] = {}
    for name in ("Authorization", "X-Sign-Secret", "Cookie", "Accept-Language", "Referer"):
        good = site.headers.get(name, [])
        choice = draw(st.sampled_from([1, 1, 1, 0, 2] if focused else [0, 1, 1, 2]))
        if choice == 1 and good:
            headers[name] = draw(st.sampled_from(good))
        elif choice == 2:
            headers[name] = draw(
                st.one_of(latin1, st.sampled_from(["Bearer ", "Bearer x", "lang=xx", "lang=en"]))
            )

    body: Any = None
    content_type = draw(
        st.sampled_from(
            [
                "application/json",
                "application/json",
                "application/json; charset=latin-1",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "",
            ]
        )
    )
    docs = next((d for p, d in site.docs.items() if path.startswith(p)), [])
    kinds = ["raw", "mutated", "json", "none", "form", "upload"]
    kind = draw(st.sampled_from(["raw", "mutated"] * 3 + kinds if focused or docs else kinds))
    if kind == "mutated" and docs:
        doc = draw(st.sampled_from(docs))
        at = draw(st.sampled_from(paths(doc)))
        op = draw(st.sampled_from(["keep", "replace", "replace", "remove", "add", "wrap"]))
        if not at and op == "remove":
            op = "replace"
        new = draw(st.one_of(st.sampled_from(POISON), json_values))
        changed = doc if op == "keep" else mutate(doc, at, op, new)
        body = encode(changed, draw(st.booleans()))
    elif kind in ("json", "mutated"):
        body = encode(draw(json_values), draw(st.booleans()))
    elif kind == "raw":
        body = draw(st.one_of(st.sampled_from(POISON_BODIES), st.binary(max_size=64)))
    elif kind in ("form", "upload"):
        form_docs = [d for d in docs if isinstance(d, dict)] or [{}]
        # the valid form, with some fields changed or added
        form = {str(k): str(v) for k, v in draw(st.sampled_from(form_docs)).items()}
        for k, v in draw(st.dictionaries(keys, texts, max_size=3)).items():
            form[k.encode("utf-8", "replace").decode()] = v.encode("utf-8", "replace").decode()
        if kind == "upload":
            upload = encode(draw(json_values)) if draw(st.booleans()) else draw(st.binary())
            form_data: dict[str, Any] = {**form, "manifest_file": (io.BytesIO(upload), "m.json")}
            return {"method": method, "path": path, "qs": qs, "headers": headers, "data": form_data}
        return {"method": method, "path": path, "qs": qs, "headers": headers, "data": form}
    return {
        "method": method,
        "path": path,
        "qs": qs,
        "headers": headers,
        "data": body,
        "content_type": content_type if body is not None else None,
    }


SITES = ["voter", "done", "trustee", "admin-open", "admin-ceremony"]


def sites_for(rule: str) -> list[str]:
    """The sites where the route does most, first; every site stays possible."""
    if rule.startswith("/admin"):
        return ["admin-open", "admin-ceremony"] * 3 + SITES
    if rule.startswith("/api/ceremony"):
        return ["trustee"] * 6 + SITES
    return ["voter", "done"] * 3 + SITES


def check(site: Site, req: dict[str, Any]) -> None:
    """Send the request; no 5xx, no traceback, and the API's JSON error under /api."""
    kw: dict[str, Any] = {"method": req["method"], "headers": req["headers"]}
    if req["data"] is not None:
        kw["data"] = req["data"]
    if req.get("content_type"):
        kw["content_type"] = req["content_type"]
    url = req["path"] + ("?" + req["qs"] if req["qs"] else "")
    resp = site.client.open(url, **kw)
    text = resp.get_data().decode("utf-8", "replace")  # a zip or an SVG too
    # /readyz answers 503 by design while the board is not ready (no election yet): that is
    # its answer to a load balancer, not a failure.
    ready = req["path"] == "/readyz" and resp.status_code == 503
    assert resp.status_code < 500 or ready, (
        f"{req['method']} {url}: {resp.status_code} {text[:300]}"
    )
    assert "Traceback" not in text
    if req["path"].startswith("/api/") and resp.status_code >= 400 and req["method"] != "HEAD":
        assert resp.is_json and "error" in resp.get_json(), text[:300]


FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("rule", RULES)
@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_no_route_answers_5xx(sites, rule, data):
    site = sites[data.draw(st.sampled_from(sites_for(rule)), label="site")]
    if site.admin and data.draw(st.integers(0, 4), label="relogin") == 0:
        site.login()  # a fuzzed logout ends the session: log in again now and then
    check(site, data.draw(requests(rule, site), label="request"))


BODIES = [  # the routes that read a body, and the site where they get furthest
    ("/api/ballots", "voter"),
    ("/api/challenged", "voter"),
    ("/api/sign-requests", "voter"),
    ("/api/sign-requests/<rid>", "voter"),
    ("/api/ceremony/public-key", "trustee"),
    ("/api/ceremony/shares", "trustee"),
    ("/api/ceremony/complaint", "trustee"),
    ("/api/ceremony/confirmation", "trustee"),
    ("/api/ceremony/decryption", "trustee"),
    ("/admin/election/new", "admin-ceremony"),
    ("/admin/login", "admin-open"),
]


@pytest.mark.parametrize(("rule", "where"), BODIES)
@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_no_body_answers_5xx(sites, rule, where, data):
    """Valid bodies with one part changed, with the credentials that get them read."""
    site = sites[where]
    if site.admin:
        site.login()
    check(site, data.draw(requests(rule, site, focused=True), label="request"))


def _fill(rule: str, fill: Any) -> str:
    def segment(m: re.Match[str]) -> str:
        raw = fill(m.group(1), m.group(2)).encode("utf-8", "surrogatepass")
        return quote(raw, safe="/" if m.group(1) == "path" else "")

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", segment, rule)


def _shallow(doc: Any, at: tuple = ()) -> list[tuple]:
    """The places of a document down to two levels (every field a body names)."""
    out = [at]
    if isinstance(doc, dict) and len(at) < 2:
        for k, v in doc.items():
            out += _shallow(v, (*at, k))
    return out


def sweep(site: Site, rule: str) -> list[dict[str, Any]]:
    """Every known poison in every place of one route: each path parameter and every integer
    query parameter at once, and, for a method with a body, each poison body and each
    poison in each field of the route's valid bodies."""
    methods = sorted(
        m
        for r in site.app.url_map.iter_rules()
        if r.rule == rule
        for m in r.methods or ()
        if m != "OPTIONS"
    )
    headers = {k: v[0] for k, v in site.headers.items()}
    good = _fill(rule, lambda conv, name: site.values.get(name, ["x"])[0])
    out: list[dict[str, Any]] = []
    for method in methods:
        for n in [*NUMBERISH, "\ud800", "a" * 5000]:
            qs = "&".join(f"{k}={quote(n.encode('utf-8', 'surrogatepass'))}" for k in QUERY_INTS)
            for path in {_fill(rule, lambda conv, name, n=n: n), good}:
                out.append({"method": method, "path": path, "qs": qs, "headers": headers})
        if method not in ("POST", "PUT", "PATCH"):
            continue
        bodies = list(POISON_BODIES)
        for doc in next((d for p, d in site.docs.items() if good.startswith(p)), []):
            for at in _shallow(doc):
                bodies += [encode(mutate(doc, at, "replace", v)) for v in POISON]
        for body in bodies:
            out.append(
                {
                    "method": method,
                    "path": good,
                    "qs": "",
                    "headers": headers,
                    "data": body,
                    "content_type": "application/json",
                }
            )
    return [{"data": None, **r} for r in out]


QUERY_INTS = ("start", "limit", "from_size", "first", "second")


@pytest.mark.parametrize("rule", RULES)
def test_every_route_refuses_every_known_poison_without_a_5xx(sites, rule):
    """Not random: every poison that once broke a route, in every place of every route (the
    random test above finds new ones; this one makes sure no old one comes back)."""
    site = sites[sites_for(rule)[0]]
    failures = []
    site.login()
    for req in sweep(site, rule):
        if rule == "/admin/logout":
            site.login()
        try:
            check(site, req)
        except AssertionError as e:
            failures.append(str(e).splitlines()[0][:300])
    assert not failures, "\n".join(failures[:20])


def test_every_route_is_fuzzed():
    """The routes come from the site's own map: a new route is fuzzed without a change."""
    assert len(RULES) >= 40 and "/api/tree-heads/<index:size>" in RULES
    assert {"/api/challenged", "/api/sign-requests/<rid>", "/admin/election/new"} <= set(RULES)
