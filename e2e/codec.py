"""The one canonical JSON codec for everything tohyo publishes.

Rules (docs/record.md):

* A document is a JSON object ``{"format": "tohyo/1", "type": NAME, ...fields}``.
* Keys are sorted, no insignificant whitespace, UTF-8 (``ensure_ascii=False``).
* Elements mod p are fixed-width upper-case hex (2·l_p digits: 1024 in the standard group),
  scalars mod q likewise (2·l_q: 64), hash values 64 hex digits; small integers are JSON
  integers; there are no floats.
* Decoding is strict: a missing or extra field, a wrong type, a wrong hex width, lower
  case, an out-of-range or out-of-subgroup value each raise :class:`CodecError` (or its
  subclasses :class:`InvalidElement` / :class:`InvalidScalar`), naming the field path; and
  the input must be byte-identical to the canonical encoding, so every published object
  has exactly one byte representation.

Which types can be encoded is decided by registration (:func:`public`): secret types such as
:class:`e2e.elgamal.SecretKey` are never registered and are refused.
Group elements of the documents decoded in one call are checked for subgroup membership in
one batch; the decoded objects are returned only after that check has passed.

Each registered type is compiled once into an encoder and a decoder (closures over its
fields), so decoding a ballot walks no type annotations.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gmpy2 import mpz

from e2e.errors import CodecError, InvalidElement, InvalidScalar, ParseError
from e2e.group import ElementModP, ElementModQ, Group
from e2e.hash import HashValue
from e2e.rng import Rng

FORMAT = "tohyo/1"
RESERVED = ("format", "type")

T = TypeVar("T")

_REGISTRY: dict[str, type] = {}

_HEX_DIGITS = b"0123456789ABCDEF"
_from_bytes = mpz.from_bytes

#: Field metadata for public keys (trustee coefficient commitments, communication keys, the
#: election key): the identity element 1 is refused there, since a key equal to 1 would
#: make every encryption to it readable. Elsewhere 1 is a legitimate member (docs D2).
KEY = {"identity": "refuse"}

#: Field metadata for proof commitments. Their subgroup membership is not tested at parse
#: time (only range and Jacobi symbol): the proof's verification equation X = g^v·Y^c with a
#: checked Y puts X in the subgroup, and the batch test is sound for X that are only
#: quadratic residues (e2e.batch). A proof is never trusted before it verifies, so nothing
#: is lost, and a 3×3 ballot saves 48 of its 66 membership terms.
BY_PROOF = {"membership": "by-proof"}

#: Field metadata for an optional field (``X | None = None``) that is left out of the
#: document when it is None, instead of written as null: a field added to a published type
#: later keeps every older document byte-identical (the manifest's board key, whose
#: absence must not change H_B of a manifest written before the field existed). Written
#: as null it is refused, so each value still has one byte form.
OMIT_NONE = {"omit": "none"}

#: Field metadata for a field ``tuple[tuple[str, str], ...] = ()`` that holds the object's
#: other members, each a string: written as members of the object itself (not under the
#: field's name) and decoded from every member the type does not name, sorted by name. A
#: manifest label's translations (``{"ja", "en", "zh-Hans", ...}``): any number of
#: languages, and a label in Japanese and English alone keeps its bytes.
SPREAD = {"spread": "members"}


def public(cls: type[T]) -> type[T]:
    """Register a frozen dataclass as a publishable type under its class name."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError("only dataclasses can be published")
    for f in dataclasses.fields(cls):
        if f.name in RESERVED:
            raise TypeError(f"field name {f.name!r} is reserved by the codec")
    _REGISTRY[cls.__name__] = cls
    return cls


class _Bad(Exception):
    """A decoding error on its way out to the top of the document, which raises it as
    ``kind`` with the field path. Each container it passes adds its part of the path
    (".field", "[i]"), so a document that decodes builds no path at all. Before, a closure
    per field and list item (250 per ballot) made the path in advance; with the hex parsing
    below, decoding a ballot's parsed JSON (Jacobi symbols aside) went 1.08 → 0.50 ms,
    measured with 400 ballots, about half of it the garbage collector's work."""

    def __init__(self, kind: type[ParseError], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.parts: list[str] = []

    def at(self, part: str) -> _Bad:
        self.parts.append(part)
        return self

    def error(self, top: str) -> ParseError:
        return self.kind(f"{top}{''.join(reversed(self.parts))}: {self.message}")


NOT_MEMBER = "element is not in the order-q subgroup"


class _Ctx:
    """Per-call decoding state: the group, the elements awaiting the batch check, and the
    documents decoded (to name an element that fails the batch check)."""

    __slots__ = ("group", "pending", "docs", "reload", "dec", "p_width", "q_width")

    def __init__(self, group: Group | None, dec: Decoder) -> None:
        self.group = group
        self.pending: list[ElementModP] = []
        # The documents decoded, with their names: parsed values, or (decode_many) the
        # bytes, parsed again by ``reload`` if an element has to be named.
        self.docs: list[tuple[Any, str]] = []
        self.reload: Callable[[Any], Any] | None = None
        self.dec = dec
        self.p_width = 2 * group.p_bytes if group is not None else 0
        self.q_width = 2 * group.q_bytes if group is not None else 0


class _StopAt(list):
    """The pending list of a second decoding that finds the path of the k-th element:
    appending that element raises (the first decoding keeps a plain list)."""

    __slots__ = ("k",)

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def append(self, el: Any) -> None:
        if len(self) == self.k:
            raise _Bad(InvalidElement, NOT_MEMBER)
        super().append(el)


Path = Callable[[], str]  # built lazily: only an error message needs the path
Decoder = Callable[[Any, _Ctx], Any]
Encoder = Callable[[Any, Path], Any]


def _hex_bytes(raw: Any, width: int) -> bytes:
    """The bytes of a fixed-width upper-case hex string (``width`` digits)."""
    if type(raw) is not str:
        raise _Bad(CodecError, "expected a hex string")
    if len(raw) != width:
        raise _Bad(CodecError, f"expected {width} hex digits, got {len(raw)}")
    # int(x, 16) alone would accept spaces, signs, "0x", "_" and lower case.
    if not raw.isascii() or raw.encode("ascii").translate(None, _HEX_DIGITS):
        raise _Bad(CodecError, "not upper-case hexadecimal")
    # Checked above, so bytes.fromhex reads the same number as int(raw, 16) would. With
    # mpz.from_bytes: 1024 digits checked and read in 1.8 µs, not 3.9 µs (int, then mpz).
    return bytes.fromhex(raw)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (types.UnionType, typing.Union)


def _optional_arg(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) != 1:
        raise TypeError(f"only X | None unions can be published: {tp!r}")
    return args[0]


# --- decoders ----------------------------------------------------------------------------


@functools.cache
def _decoder(tp: Any, by_proof: bool = False, key: bool = False) -> Decoder:
    origin = typing.get_origin(tp)
    if tp is ElementModP:

        def dec_p(raw: Any, ctx: _Ctx) -> ElementModP:
            g = ctx.group
            if g is None:
                raise _Bad(CodecError, "decoding group elements needs the group")
            v = _from_bytes(_hex_bytes(raw, ctx.p_width), "big")
            if key and v == 1:
                raise _Bad(InvalidElement, "the identity element is not a valid key")
            try:
                x = g.range_and_residue(v)
            except InvalidElement as e:
                raise _Bad(InvalidElement, str(e)) from None
            el = ElementModP(x, g)
            if not by_proof:  # returned to the caller only after the batch check
                ctx.pending.append(el)
            return el

        return dec_p
    if tp is ElementModQ:

        def dec_q(raw: Any, ctx: _Ctx) -> ElementModQ:
            g = ctx.group
            if g is None:
                raise _Bad(CodecError, "decoding group elements needs the group")
            v = _from_bytes(_hex_bytes(raw, ctx.q_width), "big")
            try:
                return g.scalar(v)
            except InvalidScalar as e:
                raise _Bad(InvalidScalar, str(e)) from None

        return dec_q
    if tp is HashValue:
        return lambda raw, ctx: HashValue(_hex_bytes(raw, 64))
    if tp is bool or tp is int or tp is str:
        name = {bool: "true or false", int: "an integer", str: "a string"}[tp]

        def dec_scalar(raw: Any, ctx: _Ctx) -> Any:
            if type(raw) is not tp:
                raise _Bad(CodecError, f"expected {name}")
            return raw

        return dec_scalar
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0], by_proof, key)

            def dec_list(raw: Any, ctx: _Ctx) -> tuple:
                if type(raw) is not list:
                    raise _Bad(CodecError, "expected a list")
                out = []
                try:
                    for v in raw:
                        out.append(item(v, ctx))
                except _Bad as e:
                    raise e.at(f"[{len(out)}]") from None
                return tuple(out)

            return dec_list
        items = [_decoder(a, by_proof, key) for a in args]
        n = len(items)

        def dec_fixed(raw: Any, ctx: _Ctx) -> tuple:
            if type(raw) is not list:
                raise _Bad(CodecError, "expected a list")
            if len(raw) != n:
                raise _Bad(CodecError, f"expected {n} items, got {len(raw)}")
            out = []
            try:
                for d, v in zip(items, raw, strict=True):
                    out.append(d(v, ctx))
            except _Bad as e:
                raise e.at(f"[{len(out)}]") from None
            return tuple(out)

        return dec_fixed
    if _is_union(tp):
        inner = _decoder(_optional_arg(tp), by_proof, key)
        return lambda raw, ctx: None if raw is None else inner(raw, ctx)
    if dataclasses.is_dataclass(tp):
        return _object_decoder(tp, top=False)
    raise TypeError(f"type {tp!r} cannot be published")


@functools.cache
def _object_decoder(cls: type, top: bool) -> Decoder:
    hints = typing.get_type_hints(cls)
    fields = [
        (
            f.name,
            _decoder(
                hints[f.name],
                f.metadata.get("membership") == "by-proof",
                f.metadata.get("identity") == "refuse",
            ),
        )
        for f in dataclasses.fields(cls)
    ]
    spread = next((f.name for f in dataclasses.fields(cls) if f.metadata.get("spread")), None)
    fields = [(name, dec) for name, dec in fields if name != spread]
    expected = {name for name, _ in fields} | (set(RESERVED) if top else set())
    omittable = {f.name for f in dataclasses.fields(cls) if f.metadata.get("omit") == "none"}

    def dec_obj(raw: Any, ctx: _Ctx) -> Any:
        if type(raw) is not dict:
            raise _Bad(CodecError, "expected an object")
        keys: Any = raw.keys()
        if spread is not None:
            others = []
            for k in sorted(keys - expected):
                if k in RESERVED:  # the encoder could not write it back
                    raise _Bad(CodecError, f"unexpected field {k!r}")
                if type(raw[k]) is not str:
                    raise _Bad(CodecError, "expected a string").at(f".{k}")
                others.append((k, raw[k]))
            keys = keys & expected
        if keys != expected and not (omittable and expected - omittable <= keys <= expected):
            missing = sorted(expected - omittable - keys)
            if missing:
                raise _Bad(CodecError, f"missing field {missing[0]!r}")
            raise _Bad(CodecError, f"unexpected field {sorted(keys - expected)[0]!r}")
        for name in omittable:
            if name in raw and raw[name] is None:
                raise _Bad(CodecError, "leave the field out instead of null").at(f".{name}")
        kw = {}
        name = ""
        try:
            for name, dec in fields:
                if name in raw:
                    kw[name] = dec(raw[name], ctx)
        except _Bad as e:
            raise e.at(f".{name}") from None
        if spread is not None:
            kw[spread] = tuple(others)
        return cls(**kw)

    return dec_obj


# --- encoders ----------------------------------------------------------------------------


@functools.cache
def _encoder(tp: Any) -> Encoder:
    origin = typing.get_origin(tp)
    if tp is ElementModP or tp is ElementModQ:

        def enc_el(value: Any, path: Path) -> str:
            if type(value) is not tp:
                raise CodecError(f"{path()}: expected {tp.__name__}")
            return value.hex()

        return enc_el
    if tp is HashValue:

        def enc_hash(value: Any, path: Path) -> str:
            if not isinstance(value, HashValue):
                raise CodecError(f"{path()}: expected a hash value")
            return value.hex_upper()

        return enc_hash
    if tp is bool or tp is int or tp is str:

        def enc_scalar(value: Any, path: Path) -> Any:
            if type(value) is not tp:
                raise CodecError(f"{path()}: expected {tp.__name__}")
            return value

        return enc_scalar
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _encoder(args[0])

            def enc_list(value: Any, path: Path) -> list:
                if type(value) is not tuple:
                    raise CodecError(f"{path()}: expected a tuple")
                return [item(v, (lambda i=i: f"{path()}[{i}]")) for i, v in enumerate(value)]

            return enc_list
        items = [_encoder(a) for a in args]

        def enc_fixed(value: Any, path: Path) -> list:
            if type(value) is not tuple or len(value) != len(items):
                raise CodecError(f"{path()}: expected {len(items)} items")
            return [
                e(v, (lambda i=i: f"{path()}[{i}]"))
                for i, (e, v) in enumerate(zip(items, value, strict=True))
            ]

        return enc_fixed
    if _is_union(tp):
        inner = _encoder(_optional_arg(tp))
        return lambda value, path: None if value is None else inner(value, path)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        spread = next((f.name for f in dataclasses.fields(tp) if f.metadata.get("spread")), None)
        fields = [
            (f.name, _encoder(hints[f.name]), f.metadata.get("omit") == "none")
            for f in dataclasses.fields(tp)
            if f.name != spread
        ]
        named = {name for name, _, _ in fields} | set(RESERVED)

        def enc_obj(value: Any, path: Path) -> dict:
            if type(value) is not tp:
                raise CodecError(f"{path()}: expected {tp.__name__}")
            out = {
                name: enc(getattr(value, name), (lambda name=name: f"{path()}.{name}"))
                for name, enc, omit in fields
                if not (omit and getattr(value, name) is None)
            }
            if spread is not None:
                others = getattr(value, spread)
                if type(others) is not tuple:
                    raise CodecError(f"{path()}.{spread}: expected a tuple")
                for item in others:
                    if not (
                        type(item) is tuple
                        and len(item) == 2
                        and type(item[0]) is str
                        and type(item[1]) is str
                    ):
                        raise CodecError(f"{path()}.{spread}: expected (name, string) pairs")
                    if item[0] in named or item[0] in out:
                        raise CodecError(f"{path()}.{item[0]}: a member named twice")
                    out[item[0]] = item[1]
            return out

        return enc_obj
    raise TypeError(f"type {tp!r} cannot be published")


def to_document(obj: Any) -> dict[str, Any]:
    """The JSON object (as a Python dict) of a publishable object, with format and type."""
    cls = type(obj)
    name = cls.__name__
    if _REGISTRY.get(name) is not cls:
        raise CodecError(f"{name} is not a publishable type")
    doc = _encoder(cls)(obj, lambda: name)
    doc["format"] = FORMAT
    doc["type"] = name
    return doc


def dumps(doc: Any) -> bytes:
    """Canonical bytes of a JSON value: sorted keys, no spaces, UTF-8.

    A string with a lone surrogate (JSON lets ``"\\ud800"`` through) has no UTF-8 form:
    that is a CodecError like any other undecodable input, not a UnicodeEncodeError."""
    try:
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8"
        )
    except UnicodeEncodeError:
        raise CodecError("document: a string is not valid Unicode (lone surrogate)") from None
    except RecursionError:
        raise CodecError("document: nested too deeply") from None


def encode(obj: Any) -> bytes:
    """Canonical bytes of a publishable object."""
    return dumps(to_document(obj))


# --- decoding ----------------------------------------------------------------------------


def _no_float(s: str) -> Any:
    raise CodecError(f"document: numbers must be integers, got {s}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise CodecError(f"document: duplicate key {k!r}")
            seen.add(k)
    return out


def _load(data: bytes, pairs_hook: Callable[[Any], Any] = _no_duplicates) -> Any:
    if not isinstance(data, bytes | bytearray):
        raise CodecError("document: expected bytes")
    try:
        return json.loads(
            bytes(data).decode("utf-8"),
            parse_float=_no_float,
            parse_constant=_no_float,
            object_pairs_hook=pairs_hook,
        )
    except CodecError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CodecError(f"document: not JSON ({e})") from None
    except ValueError as e:  # an integer of more digits than Python converts (4,300)
        raise CodecError(f"document: not JSON ({e})") from None


def _finish(ctx: _Ctx, rng: Rng | None) -> None:
    """Batch subgroup check of every pending element; name the first bad one."""
    if not ctx.pending:
        return
    g = ctx.group
    if g is None:
        raise CodecError("document: decoding group elements needs the group")
    if not g.batch_in_subgroup([e.value for e in ctx.pending], rng):
        for k, el in enumerate(ctx.pending):
            if not g.in_subgroup(el.value):
                raise _locate(ctx, k)


def _locate(ctx: _Ctx, k: int) -> ParseError:
    """The error naming the k-th pending element's field: the documents are decoded again
    (only on this failure path), and the second decoding stops at that element."""
    probe = _Ctx(ctx.group, ctx.dec)
    probe.pending = _StopAt(k)
    for doc, name in ctx.docs:
        try:
            ctx.dec(doc if ctx.reload is None else ctx.reload(doc), probe)
        except _Bad as e:
            return e.error(name)
    return InvalidElement(f"document: {NOT_MEMBER}")  # not reached: decoding is repeatable


def _decode_top(ctx: _Ctx, raw: Any, name: str, doc: Any = None) -> Any:
    try:
        obj = ctx.dec(raw, ctx)
    except _Bad as e:
        raise e.error(name) from None
    ctx.docs.append((raw if doc is None else doc, name))
    return obj


def _decode_document(ctx: _Ctx, raw: Any, cls: type, name: str, doc: Any = None) -> Any:
    if type(raw) is not dict:
        raise CodecError(f"{name}: expected a JSON object")
    if raw.get("format") != FORMAT:
        raise CodecError(f"{name}: unsupported format {raw.get('format')!r} (want {FORMAT})")
    if raw.get("type") != cls.__name__:
        raise CodecError(f"{name}: type {raw.get('type')!r}, expected {cls.__name__}")
    return _decode_top(ctx, raw, name, doc)


def from_documents(
    raws: Sequence[Any], cls: type[T], group: Group | None = None, rng: Rng | None = None
) -> list[T]:
    """Decode parsed JSON values as documents of type ``cls`` (strict; see module doc).

    All group elements of all documents are checked for subgroup membership in one batch;
    an error names the document (by position, when there are several) and the field.
    """
    if _REGISTRY.get(cls.__name__) is not cls:
        raise CodecError(f"{cls.__name__} is not a publishable type")
    ctx = _Ctx(group, _object_decoder(cls, top=True))
    out = []
    for n, raw in enumerate(raws):
        name = cls.__name__ if len(raws) == 1 else f"[{n}]{cls.__name__}"
        out.append(_decode_document(ctx, raw, cls, name))
    _finish(ctx, rng)
    return out


class PendingMembership:
    """Elements of a decoded document whose subgroup test was deferred (see
    :func:`from_document_deferred`); the object must not be used before :meth:`check` or a
    batch over several documents' :attr:`values` has passed."""

    def __init__(self, ctx: _Ctx) -> None:
        self._ctx = ctx

    @property
    def values(self) -> list[Any]:
        return [e.value for e in self._ctx.pending]

    def check(self, rng: Rng | None = None) -> None:
        """Test this document's elements alone; InvalidElement names the bad field."""
        _finish(self._ctx, rng)


def from_document_deferred(raw: Any, cls: type[T], group: Group) -> tuple[T, PendingMembership]:
    """Decode like :func:`from_document` but leave the subgroup test to the caller, who
    batches it across many documents (the board does, across concurrent submissions)."""
    if _REGISTRY.get(cls.__name__) is not cls:
        raise CodecError(f"{cls.__name__} is not a publishable type")
    name = cls.__name__
    if type(raw) is not dict:
        raise CodecError(f"{name}: expected a JSON object")
    if raw.get("format") != FORMAT or raw.get("type") != name:
        raise CodecError(f"{name}: expected format {FORMAT} and type {name}")
    ctx = _Ctx(group, _object_decoder(cls, top=True))
    return _decode_top(ctx, raw, name), PendingMembership(ctx)


def from_document(raw: Any, cls: type[T], group: Group | None = None, rng: Rng | None = None) -> T:
    """Decode one parsed JSON value as a document of type ``cls``."""
    return from_documents([raw], cls, group, rng)[0]


def decode_many(
    datas: Sequence[bytes], cls: type[T], group: Group | None = None, rng: Rng | None = None
) -> list[T]:
    """Decode canonical byte strings into ``cls`` with one batched subgroup check.

    Each input must be exactly the canonical encoding of what it decodes to. Because
    decoding accepts only values with a single textual form (fixed-width upper-case hex,
    integers, exact field sets), that is the same as re-serialising the parsed JSON
    canonically and comparing bytes.

    Errors come in this order, as if every document were parsed, then every one decoded,
    then their elements tested, then each compared with its canonical form: the first
    unparsable document, else the first that does not decode, else the first element
    outside the subgroup, else the first document not in canonical form. Each parsed
    document is decoded and compared at once and then dropped, so that the parsed JSON of
    a shard is never all alive at once (measured with 400 ballots, in a process the size of
    the benchmark's: the garbage collector's full collections 0.41 → 0.26 ms per ballot).
    """
    registered = _REGISTRY.get(cls.__name__) is cls
    ctx = _Ctx(group, _object_decoder(cls, top=True)) if registered else None
    if ctx is not None:
        ctx.reload = _load
    objs = []
    failed: Exception | None = None  # the first document that does not decode
    not_canonical: CodecError | None = None  # the first not in canonical form
    for n, data in enumerate(datas):
        state = [True]  # did every object of this document list its keys in sorted order?

        def hook(pairs: list[tuple[str, Any]], state: list[bool] = state) -> dict[str, Any]:
            out = _no_duplicates(pairs)
            if state[0] and len(out) > 1:
                keys = list(out)
                state[0] = keys == sorted(keys)
            return out

        raw = _load(data, hook)
        if ctx is None or failed is not None:
            continue  # every document is still parsed: an unparsable one is reported first
        name = cls.__name__ if len(datas) == 1 else f"[{n}]{cls.__name__}"
        try:
            objs.append(_decode_document(ctx, raw, cls, name, data))
        except Exception as e:  # raised once every document has been parsed
            failed = e
            continue
        if not_canonical is None and not (state[0] and _plain(data)):
            try:
                if dumps(raw) != bytes(data):
                    not_canonical = CodecError(
                        f"{name}: not in canonical form (re-encodes to other bytes)"
                    )
            except CodecError as e:
                not_canonical = e
    if ctx is None:
        raise CodecError(f"{cls.__name__} is not a publishable type")
    if failed is not None:
        raise failed
    _finish(ctx, rng)
    if not_canonical is not None:
        raise not_canonical
    return objs


def _plain(data: bytes) -> bool:
    """No whitespace, no backslash and no minus sign anywhere in the bytes.

    Then a JSON text whose objects list their keys in sorted order is exactly what dumps
    writes for its value: no whitespace between tokens; every string literal is its value
    (no escape sequences, and the value holds no character dumps escapes, since '"' and
    control characters cannot stand unescaped in a JSON string); integers have one form
    when none is negative (-0 is the one integer with two), and floats are refused when
    parsing. Six one-byte searches take 5 µs for a ballot (72 KB); writing it out again
    with dumps and comparing took 250 µs, and still does for any other document."""
    return not (
        b" " in data
        or b"\n" in data
        or b"\r" in data
        or b"\t" in data
        or b"\\" in data
        or b"-" in data
    )


def decode(data: bytes, cls: type[T], group: Group | None = None, rng: Rng | None = None) -> T:
    """Decode canonical bytes into ``cls``; rejects anything that is not canonical."""
    return decode_many([data], cls, group, rng)[0]
