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
  the input must re-encode to exactly the same bytes, so every published object has one
  byte representation.

Which types can be encoded is decided by registration (:func:`public`): secret types such as
:class:`e2e.elgamal.SecretKey` are never registered and are refused.
Group elements of a decoded document are checked for subgroup membership in one batch.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from e2e.errors import CodecError, InvalidElement, InvalidScalar
from e2e.group import ElementModP, ElementModQ, Group
from e2e.hash import HashValue
from e2e.rng import Rng

FORMAT = "tohyo/1"
RESERVED = ("format", "type")

T = TypeVar("T")

_REGISTRY: dict[str, type] = {}
_HEX = re.compile(r"[0-9A-F]*")


def public(cls: type[T]) -> type[T]:
    """Register a frozen dataclass as a publishable type under its class name."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError("only dataclasses can be published")
    for f in dataclasses.fields(cls):
        if f.name in RESERVED:
            raise TypeError(f"field name {f.name!r} is reserved by the codec")
    _REGISTRY[cls.__name__] = cls
    return cls


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _checked_by_proof(cls: type) -> frozenset[str]:
    """Fields whose elements get range and Jacobi checks only (see :data:`BY_PROOF`)."""
    return frozenset(
        f.name for f in dataclasses.fields(cls) if f.metadata.get("membership") == "by-proof"
    )


#: Field metadata for proof commitments. Their subgroup membership is not tested at parse
#: time: the proof's verification equation X = g^v·Y^c (with Y checked) implies X is in the
#: subgroup, and the batch test is sound for X that are only quadratic residues (see
#: e2e.batch). A proof is never trusted before it verifies, so nothing is lost, and a
#: 3×3 ballot saves 48 of its 66 membership checks.
BY_PROOF = {"membership": "by-proof"}


# --- encoding ----------------------------------------------------------------------------


def _to_json(value: Any, tp: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is ElementModP or tp is ElementModQ:
        if not isinstance(value, tp):
            raise CodecError(f"{path}: expected {tp.__name__}")
        return value.hex()
    if tp is HashValue:
        if not isinstance(value, HashValue):
            raise CodecError(f"{path}: expected a hash value")
        return value.hex_upper()
    if tp is bool:
        if not isinstance(value, bool):
            raise CodecError(f"{path}: expected a boolean")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CodecError(f"{path}: expected an integer")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise CodecError(f"{path}: expected a string")
        return value
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, tuple):
            raise CodecError(f"{path}: expected a sequence")
        if len(args) == 2 and args[1] is Ellipsis:
            return [_to_json(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
        if len(args) != len(value):
            raise CodecError(f"{path}: expected {len(args)} items")
        return [
            _to_json(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))
        ]
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _to_json(value, args[0], path)
    if dataclasses.is_dataclass(tp):
        if type(value) is not tp:
            raise CodecError(f"{path}: expected {tp.__name__}")
        return _fields_to_json(value, path)
    raise CodecError(f"{path}: type {tp!r} cannot be published")


def _fields_to_json(obj: Any, path: str) -> dict[str, Any]:
    cls = type(obj)
    if cls.__name__ not in _REGISTRY:
        raise CodecError(f"{path}: {cls.__name__} is not a publishable type")
    hints = _hints(cls)
    return {
        f.name: _to_json(getattr(obj, f.name), hints[f.name], f"{path}.{f.name}")
        for f in dataclasses.fields(cls)
    }


def to_document(obj: Any) -> dict[str, Any]:
    """The JSON object (as Python dict) of a publishable object, with format and type."""
    name = type(obj).__name__
    if name not in _REGISTRY or _REGISTRY[name] is not type(obj):
        raise CodecError(f"{name} is not a publishable type")
    doc = _fields_to_json(obj, name)
    doc["format"] = FORMAT
    doc["type"] = name
    return doc


def dumps(doc: Any) -> bytes:
    """Canonical bytes of a JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode(obj: Any) -> bytes:
    """Canonical bytes of a publishable object."""
    return dumps(to_document(obj))


# --- decoding ----------------------------------------------------------------------------


class _Decoder:
    def __init__(self, group: Group | None) -> None:
        self.group = group
        self.pending: list[tuple[str, int]] = []  # elements awaiting the batch subgroup check

    def _need_group(self, path: str) -> Group:
        if self.group is None:
            raise CodecError(f"{path}: decoding group elements needs the group")
        return self.group

    def _hex(self, raw: Any, width: int, path: str) -> int:
        if not isinstance(raw, str):
            raise CodecError(f"{path}: expected a hex string")
        if len(raw) != width:
            raise CodecError(f"{path}: expected {width} hex digits, got {len(raw)}")
        if not _HEX.fullmatch(raw):
            raise CodecError(f"{path}: not upper-case hexadecimal")
        return int(raw, 16)

    def value(self, raw: Any, tp: Any, path: str, by_proof: bool = False) -> Any:
        origin = typing.get_origin(tp)
        if tp is ElementModP:
            g = self._need_group(path)
            v = self._hex(raw, 2 * g.p_bytes, path)
            if by_proof:
                try:
                    return g.commitment(v)
                except InvalidElement as e:
                    raise InvalidElement(f"{path}: {e}") from None
            self.pending.append((path, v))
            return v  # replaced after the batch check
        if tp is ElementModQ:
            g = self._need_group(path)
            v = self._hex(raw, 2 * g.q_bytes, path)
            try:
                return g.scalar(v)
            except InvalidScalar as e:
                raise InvalidScalar(f"{path}: {e}") from None
        if tp is HashValue:
            return HashValue(self._hex(raw, 64, path).to_bytes(32, "big"))
        if tp is bool:
            if not isinstance(raw, bool):
                raise CodecError(f"{path}: expected true or false")
            return raw
        if tp is int:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise CodecError(f"{path}: expected an integer")
            return raw
        if tp is str:
            if not isinstance(raw, str):
                raise CodecError(f"{path}: expected a string")
            return raw
        if origin is tuple:
            args = typing.get_args(tp)
            if not isinstance(raw, list):
                raise CodecError(f"{path}: expected a list")
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(
                    self.value(v, args[0], f"{path}[{i}]", by_proof) for i, v in enumerate(raw)
                )
            if len(raw) != len(args):
                raise CodecError(f"{path}: expected {len(args)} items, got {len(raw)}")
            return tuple(
                self.value(v, a, f"{path}[{i}]", by_proof)
                for i, (v, a) in enumerate(zip(raw, args, strict=True))
            )
        if origin in (types.UnionType, typing.Union):
            if raw is None:
                return None
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            return self.value(raw, args[0], path, by_proof)
        if dataclasses.is_dataclass(tp):
            return self.obj(raw, tp, path)
        raise CodecError(f"{path}: type {tp!r} cannot be decoded")

    def obj(self, raw: Any, cls: type, path: str, top: bool = False) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise CodecError(f"{path}: expected an object")
        hints = _hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        expected = set(names) | (set(RESERVED) if top else set())
        missing = sorted(expected - raw.keys())
        extra = sorted(raw.keys() - expected)
        if missing:
            raise CodecError(f"{path}: missing field {missing[0]!r}")
        if extra:
            raise CodecError(f"{path}: unexpected field {extra[0]!r}")
        by_proof = _checked_by_proof(cls)
        return {n: self.value(raw[n], hints[n], f"{path}.{n}", n in by_proof) for n in names}


def _rebuild(node: Any, tp: Any, path: str, elements: dict[str, ElementModP]) -> Any:
    origin = typing.get_origin(tp)
    if tp is ElementModP:
        return node if isinstance(node, ElementModP) else elements[path]
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_rebuild(v, args[0], f"{path}[{i}]", elements) for i, v in enumerate(node))
        return tuple(
            _rebuild(v, a, f"{path}[{i}]", elements)
            for i, (v, a) in enumerate(zip(node, args, strict=True))
        )
    if origin in (types.UnionType, typing.Union):
        if node is None:
            return None
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _rebuild(node, args[0], path, elements)
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: _rebuild(node[f.name], hints[f.name], f"{path}.{f.name}", elements)
            for f in dataclasses.fields(tp)
        }
        return tp(**kwargs)
    return node


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


def from_documents(
    raws: Sequence[Any], cls: type[T], group: Group | None = None, rng: Rng | None = None
) -> list[T]:
    """Decode parsed JSON values as documents of type ``cls`` (strict; see module doc).

    All group elements of all documents are checked for subgroup membership in one batch;
    an error names the document (by position, when there are several) and the field.
    """
    trees = []
    pending: list[tuple[str, int]] = []
    for n, raw in enumerate(raws):
        name = cls.__name__ if len(raws) == 1 else f"[{n}]{cls.__name__}"
        if not isinstance(raw, dict):
            raise CodecError(f"{name}: expected a JSON object")
        if raw.get("format") != FORMAT:
            raise CodecError(f"{name}: unsupported format {raw.get('format')!r} (want {FORMAT})")
        if raw.get("type") != cls.__name__:
            raise CodecError(f"{name}: type {raw.get('type')!r}, expected {cls.__name__}")
        dec = _Decoder(group)
        trees.append((name, dec.obj(raw, cls, name, top=True)))
        pending.extend(dec.pending)
    elements: dict[str, ElementModP] = {}
    if pending:
        if group is None:
            raise CodecError("document: decoding group elements needs the group")
        paths = [p for p, _ in pending]
        try:
            parsed = group.elements([v for _, v in pending], rng)
        except InvalidElement as e:
            m = re.match(r"item (\d+): (.*)", str(e))
            if m:
                raise InvalidElement(f"{paths[int(m.group(1))]}: {m.group(2)}") from None
            raise
        elements = dict(zip(paths, parsed, strict=True))
    return [_rebuild(tree, cls, name, elements) for name, tree in trees]


def from_document(raw: Any, cls: type[T], group: Group | None = None, rng: Rng | None = None) -> T:
    """Decode one parsed JSON value as a document of type ``cls``."""
    return from_documents([raw], cls, group, rng)[0]


def decode_many(
    datas: Sequence[bytes], cls: type[T], group: Group | None = None, rng: Rng | None = None
) -> list[T]:
    """Decode canonical byte strings into ``cls`` with one batched subgroup check.

    Each input must re-encode to exactly its own bytes.
    """
    objs = from_documents([_load(d) for d in datas], cls, group, rng)
    for n, (obj, data) in enumerate(zip(objs, datas, strict=True)):
        if encode(obj) != bytes(data):
            where = cls.__name__ if len(datas) == 1 else f"[{n}]{cls.__name__}"
            raise CodecError(f"{where}: not in canonical form (re-encodes to other bytes)")
    return objs


def decode(data: bytes, cls: type[T], group: Group | None = None, rng: Rng | None = None) -> T:
    """Decode canonical bytes into ``cls``; rejects anything that does not re-encode equal."""
    return decode_many([data], cls, group, rng)[0]


def _no_float(s: str) -> Any:
    raise CodecError(f"document: numbers must be integers, got {s}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise CodecError(f"document: duplicate key {k!r}")
        out[k] = v
    return out
