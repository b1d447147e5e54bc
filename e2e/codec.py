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

from e2e.errors import CodecError, InvalidElement, InvalidScalar
from e2e.group import ElementModP, ElementModQ, Group
from e2e.hash import HashValue
from e2e.rng import Rng

FORMAT = "tohyo/1"
RESERVED = ("format", "type")

T = TypeVar("T")

_REGISTRY: dict[str, type] = {}

_HEX_DIGITS = b"0123456789ABCDEF"

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


def public(cls: type[T]) -> type[T]:
    """Register a frozen dataclass as a publishable type under its class name."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError("only dataclasses can be published")
    for f in dataclasses.fields(cls):
        if f.name in RESERVED:
            raise TypeError(f"field name {f.name!r} is reserved by the codec")
    _REGISTRY[cls.__name__] = cls
    return cls


class _Ctx:
    """Per-call decoding state: the group and the elements awaiting the batch check."""

    __slots__ = ("group", "pending", "paths")

    def __init__(self, group: Group | None) -> None:
        self.group = group
        self.pending: list[ElementModP] = []
        self.paths: list[Callable[[], str]] = []

    def need_group(self, path: Callable[[], str]) -> Group:
        if self.group is None:
            raise CodecError(f"{path()}: decoding group elements needs the group")
        return self.group


Path = Callable[[], str]  # built lazily: only an error message needs the path
Decoder = Callable[[Any, Path, _Ctx], Any]
Encoder = Callable[[Any, Path], Any]


def _hex(raw: Any, width: int, path: Path) -> int:
    if type(raw) is not str:
        raise CodecError(f"{path()}: expected a hex string")
    if len(raw) != width:
        raise CodecError(f"{path()}: expected {width} hex digits, got {len(raw)}")
    # int(x, 16) alone would accept spaces, signs, "0x", "_" and lower case.
    if not raw.isascii() or raw.encode("ascii").translate(None, _HEX_DIGITS):
        raise CodecError(f"{path()}: not upper-case hexadecimal")
    return int(raw, 16)


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

        def dec_p(raw: Any, path: Path, ctx: _Ctx) -> ElementModP:
            g = ctx.need_group(path)
            v = _hex(raw, 2 * g.p_bytes, path)
            if key and v == 1:
                raise InvalidElement(f"{path()}: the identity element is not a valid key")
            if by_proof:
                try:
                    return g.commitment(v)
                except InvalidElement as e:
                    raise InvalidElement(f"{path()}: {e}") from None
            try:
                x = g.range_and_residue(v)
            except InvalidElement as e:
                raise InvalidElement(f"{path()}: {e}") from None
            el = ElementModP(x, g)  # returned to the caller only after the batch check
            ctx.pending.append(el)
            ctx.paths.append(path)
            return el

        return dec_p
    if tp is ElementModQ:

        def dec_q(raw: Any, path: Path, ctx: _Ctx) -> ElementModQ:
            g = ctx.need_group(path)
            v = _hex(raw, 2 * g.q_bytes, path)
            try:
                return g.scalar(v)
            except InvalidScalar as e:
                raise InvalidScalar(f"{path()}: {e}") from None

        return dec_q
    if tp is HashValue:
        return lambda raw, path, ctx: HashValue(_hex(raw, 64, path).to_bytes(32, "big"))
    if tp is bool or tp is int or tp is str:
        name = {bool: "true or false", int: "an integer", str: "a string"}[tp]

        def dec_scalar(raw: Any, path: Path, ctx: _Ctx) -> Any:
            if type(raw) is not tp:
                raise CodecError(f"{path()}: expected {name}")
            return raw

        return dec_scalar
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0], by_proof, key)

            def dec_list(raw: Any, path: Path, ctx: _Ctx) -> tuple:
                if type(raw) is not list:
                    raise CodecError(f"{path()}: expected a list")
                return tuple(
                    item(v, (lambda i=i: f"{path()}[{i}]"), ctx) for i, v in enumerate(raw)
                )

            return dec_list
        items = [_decoder(a, by_proof, key) for a in args]

        def dec_fixed(raw: Any, path: Path, ctx: _Ctx) -> tuple:
            if type(raw) is not list:
                raise CodecError(f"{path()}: expected a list")
            if len(raw) != len(items):
                raise CodecError(f"{path()}: expected {len(items)} items, got {len(raw)}")
            return tuple(
                d(v, (lambda i=i: f"{path()}[{i}]"), ctx)
                for i, (d, v) in enumerate(zip(items, raw, strict=True))
            )

        return dec_fixed
    if _is_union(tp):
        inner = _decoder(_optional_arg(tp), by_proof, key)
        return lambda raw, path, ctx: None if raw is None else inner(raw, path, ctx)
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
    expected = {name for name, _ in fields} | (set(RESERVED) if top else set())
    omittable = {f.name for f in dataclasses.fields(cls) if f.metadata.get("omit") == "none"}

    def dec_obj(raw: Any, path: Path, ctx: _Ctx) -> Any:
        if type(raw) is not dict:
            raise CodecError(f"{path()}: expected an object")
        keys = raw.keys()
        if keys != expected and not (omittable and expected - omittable <= keys <= expected):
            missing = sorted(expected - omittable - keys)
            if missing:
                raise CodecError(f"{path()}: missing field {missing[0]!r}")
            raise CodecError(f"{path()}: unexpected field {sorted(keys - expected)[0]!r}")
        for name in omittable:
            if name in raw and raw[name] is None:
                raise CodecError(f"{path()}.{name}: leave the field out instead of null")
        return cls(
            **{
                name: dec(raw[name], (lambda name=name: f"{path()}.{name}"), ctx)
                for name, dec in fields
                if name in raw
            }
        )

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
        fields = [
            (f.name, _encoder(hints[f.name]), f.metadata.get("omit") == "none")
            for f in dataclasses.fields(tp)
        ]

        def enc_obj(value: Any, path: Path) -> dict:
            if type(value) is not tp:
                raise CodecError(f"{path()}: expected {tp.__name__}")
            return {
                name: enc(getattr(value, name), (lambda name=name: f"{path()}.{name}"))
                for name, enc, omit in fields
                if not (omit and getattr(value, name) is None)
            }

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


def _load(data: bytes) -> Any:
    if not isinstance(data, bytes | bytearray):
        raise CodecError("document: expected bytes")
    try:
        return json.loads(
            bytes(data).decode("utf-8"),
            parse_float=_no_float,
            parse_constant=_no_float,
            object_pairs_hook=_no_duplicates,
        )
    except CodecError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CodecError(f"document: not JSON ({e})") from None


def _finish(ctx: _Ctx, rng: Rng | None) -> None:
    """Batch subgroup check of every pending element; name the first bad one."""
    if not ctx.pending:
        return
    g = ctx.need_group(lambda: "document")
    if not g.batch_in_subgroup([e.value for e in ctx.pending], rng):
        for el, path in zip(ctx.pending, ctx.paths, strict=True):
            if not g.in_subgroup(el.value):
                raise InvalidElement(f"{path()}: element is not in the order-q subgroup")


def from_documents(
    raws: Sequence[Any], cls: type[T], group: Group | None = None, rng: Rng | None = None
) -> list[T]:
    """Decode parsed JSON values as documents of type ``cls`` (strict; see module doc).

    All group elements of all documents are checked for subgroup membership in one batch;
    an error names the document (by position, when there are several) and the field.
    """
    if _REGISTRY.get(cls.__name__) is not cls:
        raise CodecError(f"{cls.__name__} is not a publishable type")
    dec = _object_decoder(cls, top=True)
    ctx = _Ctx(group)
    out = []
    for n, raw in enumerate(raws):
        name = cls.__name__ if len(raws) == 1 else f"[{n}]{cls.__name__}"
        if type(raw) is not dict:
            raise CodecError(f"{name}: expected a JSON object")
        if raw.get("format") != FORMAT:
            raise CodecError(f"{name}: unsupported format {raw.get('format')!r} (want {FORMAT})")
        if raw.get("type") != cls.__name__:
            raise CodecError(f"{name}: type {raw.get('type')!r}, expected {cls.__name__}")
        out.append(dec(raw, (lambda name=name: name), ctx))
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
    ctx = _Ctx(group)
    obj = _object_decoder(cls, top=True)(raw, lambda: name, ctx)
    return obj, PendingMembership(ctx)


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
    """
    raws = [_load(d) for d in datas]
    objs = from_documents(raws, cls, group, rng)
    for n, (raw, data) in enumerate(zip(raws, datas, strict=True)):
        if dumps(raw) != bytes(data):
            where = cls.__name__ if len(datas) == 1 else f"[{n}]{cls.__name__}"
            raise CodecError(f"{where}: not in canonical form (re-encodes to other bytes)")
    return objs


def decode(data: bytes, cls: type[T], group: Group | None = None, rng: Rng | None = None) -> T:
    """Decode canonical bytes into ``cls``; rejects anything that is not canonical."""
    return decode_many([data], cls, group, rng)[0]
