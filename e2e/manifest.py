"""The election manifest: contests, options, limits, dates, trustees, eligibility.

A manifest is written by the administrator as JSON (see docs/record.md and
``examples/tsukuba-2025.json``) and published in canonical form; the canonical bytes go
into the base hash H_B = H(H_P; 0x01, manifest) (ElectionGuard 2.1 §3.1.4, eq. 5), so any
later edit changes H_B, H_E and every proof.

Contest and option indices are 1-based positions in the manifest's lists (§3.1.3). Every
option has the option selection limit R = 1 (chosen or not); each contest has a selection
limit L ≥ 1 (at most L options chosen; fewer, including none, is allowed).
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from e2e import codec
from e2e.board import BoardKey
from e2e.checkpoint import NoteError, check_name
from e2e.codec import OMIT_NONE, public
from e2e.errors import CodecError, TohyoError
from e2e.hash import HashValue


class ManifestError(TohyoError, ValueError):
    """A manifest is invalid; ``field`` names the offending field (e.g. contests[1].limit).

    ``message`` says what is wrong in English (``str(e)`` is ``manifest field <field>:
    <message>``), ``ja`` in Japanese, for the administrator's pages (:meth:`text`).
    """

    def __init__(self, field: str, message: str, ja: str | None = None) -> None:
        super().__init__(f"manifest field {field}: {message}")
        self.field = field
        self.message = message
        self.ja = ja

    def text(self, lang: str) -> str:
        """What is wrong in ``lang`` ("ja" or "en"); the English if there is no Japanese."""
        return self.ja if lang == "ja" and self.ja else self.message

    def __reduce__(self) -> tuple[type, tuple[str, str, str | None]]:
        return (type(self), (self.field, self.message, self.ja))


@public
@dataclass(frozen=True)
class Text:
    """A label in Japanese and English, and in any other language: ``others`` holds
    (BCP 47 tag, words) pairs sorted by tag, written beside ``ja`` and ``en`` in the same
    object (``{"en": ..., "ja": ..., "zh-Hans": ...}``; codec.SPREAD), so a label in two
    languages has the bytes it always had."""

    ja: str
    en: str
    others: tuple[tuple[str, str], ...] = field(default=(), metadata=codec.SPREAD)

    def get(self, tag: str) -> str:
        """The words in language ``tag``, else in its language without script or region
        (``zh`` for ``zh-Hans``), else the English (the language a visitor who reads
        neither Japanese nor ``tag`` is likeliest to read)."""
        primary = tag.split("-", 1)[0]
        if primary == "ja":
            return self.ja
        if primary == "en":
            return self.en
        others = dict(self.others)
        return others.get(tag) or others.get(primary) or self.en


@public
@dataclass(frozen=True)
class Option:
    id: str
    label: Text
    description: Text | None


@public
@dataclass(frozen=True)
class Contest:
    id: str
    title: Text
    limit: int
    options: tuple[Option, ...]


@public
@dataclass(frozen=True)
class Eligibility:
    """Who may vote: holders of a signing certificate whose address starts with a prefix."""

    address_prefixes: tuple[str, ...]


@public
@dataclass(frozen=True)
class WitnessKey:
    """A witness: its key name (C2SP signed-note, e.g. ``witness.tsukuba.ac.jp/tohyo``)
    and its raw 32-byte Ed25519 public key."""

    name: str
    public_key: HashValue


@public
@dataclass(frozen=True)
class Witnessing:
    """Who must cosign the board's heads before clients accept them (docs/protocol.md
    §8.4): the log's origin (the checkpoints' first line, naming this election), the
    witnesses, and how many of them must cosign a head."""

    origin: str
    quorum: int
    witnesses: tuple[WitnessKey, ...]

    def keys(self) -> list[tuple[str, bytes]]:
        return [(w.name, bytes(w.public_key)) for w in self.witnesses]


@public
@dataclass(frozen=True)
class Contact:
    """The election's contact desk, shown to voters with every refusal: its name, its phone
    number (as dialled: digits, hyphens, spaces, ``+`` and parentheses) and its hours."""

    name: Text
    phone: str
    hours: Text


#: A phone number as written on a leaflet: 029-883-1111, +81 29-883-1111, (029) 883-1111.
PHONE = re.compile(r"[0-9+() -]{1,32}")


@public
@dataclass(frozen=True)
class Manifest:
    election_id: str
    title: Text
    start: str  # ISO 8601 with offset, e.g. 2025-02-20T00:00:00+09:00
    end: str
    trustees: int
    quorum: int
    eligibility: Eligibility
    contests: tuple[Contest, ...]
    #: The bulletin board's public key: present, the election runs on that board, and the
    #: key is pinned by H_B, which every ballot, proof and card signature binds to; a
    #: record of it without the board's log, or with a log under another key, fails
    #: (docs/protocol.md §6, D7). Absent (left out of the canonical bytes), a manifest of
    #: an election without a board.
    board: BoardKey | None = field(default=None, metadata=OMIT_NONE)
    #: The witnesses that must cosign the board's heads (§8.4); absent, clients accept
    #: the board's own signature (an election without witnesses, or before this field).
    witnessing: Witnessing | None = field(default=None, metadata=OMIT_NONE)
    #: The election's contact desk (docs/record.md), shown to voters with every refusal;
    #: absent (left out of the canonical bytes), the pages name none.
    contact: Contact | None = field(default=None, metadata=OMIT_NONE)

    # --- lookups -------------------------------------------------------------------------

    def contest_index(self, contest_id: str) -> int:
        """1-based index of a contest id (raises KeyError if unknown)."""
        for i, c in enumerate(self.contests, start=1):
            if c.id == contest_id:
                return i
        raise KeyError(contest_id)

    def contest(self, index: int) -> Contest:
        """The contest with 1-based index ``index``."""
        if not 1 <= index <= len(self.contests):
            raise KeyError(index)
        return self.contests[index - 1]

    @property
    def start_time(self) -> datetime:
        return datetime.fromisoformat(self.start)

    @property
    def end_time(self) -> datetime:
        return datetime.fromisoformat(self.end)

    def canonical_bytes(self) -> bytes:
        """The bytes that are published and hashed into H_B."""
        return codec.encode(self)


def _label(value: str, field: str) -> None:
    if not value or value != value.strip():
        raise ManifestError(
            field,
            "must be non-empty without leading or trailing spaces",
            "空にせず、前後に空白を入れないでください",
        )
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value):
        raise ManifestError(
            field,
            "must not contain line breaks, tabs or control characters",
            "改行・タブ・制御文字を含めないでください",
        )


#: A language tag (BCP 47: language, then optionally script and region): ``zh-Hans``,
#: ``pt-BR``, ``vi``.
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?")


def _text(t: Text, field: str) -> None:
    _label(t.ja, f"{field}.ja")
    _label(t.en, f"{field}.en")
    tags = [tag for tag, _ in t.others]
    if tags != sorted(set(tags)):
        raise ManifestError(field, "languages must be sorted and named once", "言語は一度ずつ")
    for tag, words in t.others:
        if not LANGUAGE_TAG.fullmatch(tag) or tag in ("ja", "en"):
            raise ManifestError(
                f"{field}.{tag}",
                "is not a language tag (BCP 47, e.g. zh-Hans, pt-BR, vi)",
                "言語タグ（BCP 47、例: zh-Hans、pt-BR、vi）ではありません",
            )
        _label(words, f"{field}.{tag}")


def _time(value: str, field: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ManifestError(
            field,
            f"not an ISO 8601 date and time: {value!r}",
            f"ISO 8601 形式の日時ではありません：{value!r}",
        ) from None
    if dt.tzinfo is None:
        raise ManifestError(
            field,
            "needs a UTC offset, e.g. 2025-02-20T00:00:00+09:00",
            "UTCとの時差を付けてください（例：2025-02-20T00:00:00+09:00）",
        )
    return dt


def validate(m: Manifest) -> Manifest:
    """Check a manifest; raises ManifestError naming the first bad field."""
    _label(m.election_id, "election_id")
    _text(m.title, "title")
    start = _time(m.start, "start")
    end = _time(m.end, "end")
    if end <= start:
        raise ManifestError("end", "must be after start", "開始（start）より後にしてください")
    if not 1 <= m.trustees < 2**31:
        raise ManifestError("trustees", "must be at least 1", "1以上にしてください")
    if not 1 <= m.quorum <= m.trustees:
        raise ManifestError(
            "quorum",
            f"must be between 1 and trustees ({m.trustees})",
            f"1から保管者の数（{m.trustees}）までにしてください",
        )
    if not m.eligibility.address_prefixes:
        raise ManifestError(
            "eligibility.address_prefixes",
            "must list at least one prefix",
            "対象地域の住所（先頭部分）を1つ以上指定してください",
        )
    for i, prefix in enumerate(m.eligibility.address_prefixes):
        _label(prefix, f"eligibility.address_prefixes[{i}]")
    if not m.contests:
        raise ManifestError(
            "contests", "must have at least one contest", "分野を1つ以上指定してください"
        )
    seen: set[str] = set()
    for ci, c in enumerate(m.contests):
        f = f"contests[{ci}]"
        _label(c.id, f"{f}.id")
        if c.id in seen:
            raise ManifestError(
                f"{f}.id", f"duplicate contest id {c.id!r}", f"分野のID {c.id!r} が重複しています"
            )
        seen.add(c.id)
        _text(c.title, f"{f}.title")
        if not c.options:
            raise ManifestError(
                f"{f}.options",
                "a contest needs at least one option",
                "分野には選択肢が1つ以上必要です",
            )
        if not 1 <= c.limit <= len(c.options):
            raise ManifestError(
                f"{f}.limit",
                f"must be between 1 and the number of options ({len(c.options)})",
                f"1から選択肢の数（{len(c.options)}）までにしてください",
            )
        opt_seen: set[str] = set()
        for oi, o in enumerate(c.options):
            of = f"{f}.options[{oi}]"
            _label(o.id, f"{of}.id")
            if o.id in opt_seen:
                raise ManifestError(
                    f"{of}.id",
                    f"duplicate option id {o.id!r} in {c.id!r}",
                    f"分野 {c.id!r} の選択肢のID {o.id!r} が重複しています",
                )
            opt_seen.add(o.id)
            _text(o.label, f"{of}.label")
            if o.description is not None:
                _text(o.description, f"{of}.description")
    if m.witnessing is not None:
        _witnessing(m)
    if m.contact is not None:
        _contact(m.contact)
    return m


def _contact(c: Contact) -> None:
    _text(c.name, "contact.name")
    phone = c.phone
    if (
        not PHONE.fullmatch(phone)
        or not any(ch.isdigit() for ch in phone)
        or phone != phone.strip()
    ):
        raise ManifestError(
            "contact.phone",
            "a phone number of at most 32 characters: digits, hyphens, spaces, + and "
            "parentheses, e.g. 029-883-1111",
            "数字・ハイフン・空白・+・括弧だけで32文字以内の電話番号にしてください"
            "（例：029-883-1111）",
        )
    _text(c.hours, "contact.hours")


def _witnessing(m: Manifest) -> None:
    w = m.witnessing
    assert w is not None
    # Without a board yet (a manifest the web flow pins itself), the witnesses are checked
    # now and against the board's key once it is named; a board refuses an unpinned one.
    try:
        check_name(w.origin, "origin")
    except NoteError:
        raise ManifestError(
            "witnessing.origin",
            "a schema-less URL without spaces or '+', e.g. city.example/vote",
            "スキーム（https://）を付けず、空白や「+」を含まないURLにしてください"
            "（例：city.example/vote）",
        ) from None
    if not w.witnesses:
        raise ManifestError(
            "witnessing.witnesses",
            "must list at least one witness",
            "立会人を1人以上指定してください",
        )
    if not 1 <= w.quorum <= len(w.witnesses):
        raise ManifestError(
            "witnessing.quorum",
            f"must be between 1 and the witnesses ({len(w.witnesses)})",
            f"1から立会人の数（{len(w.witnesses)}）までにしてください",
        )
    names: set[str] = set()
    keys: set[bytes] = set()
    for i, k in enumerate(w.witnesses):
        try:
            check_name(k.name, "witness name")
        except NoteError:
            raise ManifestError(
                f"witnessing.witnesses[{i}].name",
                "a key name without spaces or '+'",
                "空白や「+」を含まない鍵の名前にしてください",
            ) from None
        if k.name == w.origin:
            raise ManifestError(
                f"witnessing.witnesses[{i}].name",
                "a witness's name is not the board's origin",
                "立会人の名前を掲示板の origin と同じにすることはできません",
            )
        if k.name in names or bytes(k.public_key) in keys:
            raise ManifestError(
                f"witnessing.witnesses[{i}]",
                "the same witness twice",
                "同じ立会人が2回指定されています",
            )
        if m.board is not None and bytes(k.public_key) == bytes(m.board.public_key):
            raise ManifestError(
                f"witnessing.witnesses[{i}]",
                "the board cannot witness itself",
                "掲示板自身は立会人になれません",
            )
        names.add(k.name)
        keys.add(bytes(k.public_key))


def default_origin(m: Manifest) -> str:
    """The checkpoints' origin when the administrator names none: the election and the
    board (``tohyo/<election id>/<board key's first 8 hex digits>``), so that two elections
    on one board key never share an origin (a witness would see the second as a fork)."""
    if m.board is None:
        raise ManifestError(
            "board",
            "the origin names the board: pin the board's key first",
            "origin には掲示板が含まれるため、先に掲示板の公開鍵を指定してください",
        )
    slug = "-".join(m.election_id.split()).replace("+", "-")
    return f"tohyo/{slug}/{m.board.public_key.hex()[:8]}"


def with_witnesses(m: Manifest, witnessing: Witnessing) -> Manifest:
    """The manifest with its witnesses (before the key ceremony: they are part of H_B)."""
    return validate(dataclasses.replace(m, witnessing=witnessing))


def with_board(m: Manifest, key: BoardKey) -> Manifest:
    """The manifest of an election run on the board whose public key is ``key``; refuses a
    manifest that already names another board."""
    if m.board is not None and m.board != key:
        raise ManifestError(
            "board",
            "the manifest names another board's key",
            "マニフェストには別の掲示板の公開鍵が指定されています",
        )
    return validate(dataclasses.replace(m, board=key))


def manifest_from_json(text: str | bytes) -> Manifest:
    """Read an administrator's manifest file (any JSON layout) and validate it.

    The file has the fields of :class:`Manifest`; ``format``/``type`` and option
    ``description`` may be omitted.
    """
    try:
        raw: Any = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError("(file)", f"not JSON: {e}", "JSONとして読み取れません") from None
    if not isinstance(raw, dict):
        raise ManifestError(
            "(file)", "must be a JSON object", "JSONのオブジェクト（{…}）にしてください"
        )
    raw = dict(raw)
    raw.setdefault("format", codec.FORMAT)
    raw.setdefault("type", "Manifest")
    for c in raw.get("contests", []) if isinstance(raw.get("contests"), list) else []:
        for o in c.get("options", []) if isinstance(c, dict) else []:
            if isinstance(o, dict):
                o.setdefault("description", None)
    try:
        m = codec.from_document(raw, Manifest)
    except CodecError as e:
        path, _, message = str(e).partition(": ")
        path = path.removeprefix("Manifest").removeprefix(".")
        named = re.match(r"(missing|unexpected) field '([^']+)'", message)
        ja = "値の形式が正しくありません"
        if named:  # name the field itself, not its parent object
            path = f"{path}.{named.group(2)}" if path else named.group(2)
            ja = "必要な項目がありません" if named.group(1) == "missing" else "この項目は使えません"
        raise ManifestError(path or "(file)", message, ja) from None
    return validate(m)


def manifest_from_canonical(data: bytes) -> Manifest:
    """Read a published (canonical) manifest and validate it."""
    return validate(codec.decode(data, Manifest))
