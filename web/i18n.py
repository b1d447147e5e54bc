"""Japanese first, English second: the page texts, the choice of language, and the
election's time zone.

The language is ``?lang=ja|en`` (remembered in a cookie), else Japanese. Texts live in one
table of ``{key: {"ja": ..., "en": ...}}`` so a missing translation is a test failure rather
than a blank on a voter's screen; each blueprint registers its own texts with
:func:`register`.

Every page shows times, and counts days and hours, in the election's time zone: the UTC
offset of the manifest's ``start`` (:func:`election_zone`, docs/admin.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from flask import g, request

if TYPE_CHECKING:
    from e2e.manifest import Manifest

LANGUAGES = ("ja", "en")
COOKIE = "lang"

MESSAGES: dict[str, dict[str, str]] = {}


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add a blueprint's texts; every text needs both languages and a key used once."""
    for key, texts in messages.items():
        if set(texts) != set(LANGUAGES):
            raise ValueError(f"text {key!r} needs exactly {LANGUAGES}")
        if key in MESSAGES and MESSAGES[key] != dict(texts):
            raise ValueError(f"text {key!r} registered twice with different words")
        MESSAGES[key] = dict(texts)


def current_language() -> str:
    """The language of this request: ?lang=, then the cookie, then Japanese."""
    chosen = getattr(g, "lang", None)
    if chosen:
        return chosen
    lang = request.args.get("lang") or request.cookies.get(COOKIE) or "ja"
    g.lang = lang if lang in LANGUAGES else "ja"
    return g.lang


def t(key: str, **values: object) -> str:
    """The text ``key`` in this request's language, with ``{name}`` fields filled in."""
    text = MESSAGES[key][current_language()]
    return text.format(**values) if values else text


def pick(text: Any) -> str:
    """A manifest text (a ``Text`` or a ``{"ja", "en"}`` mapping) in this request's language."""
    if not text:
        return ""
    lang = current_language()
    if isinstance(text, Mapping):
        return str(text.get(lang) or text.get("ja") or "")
    return str(getattr(text, lang, "") or getattr(text, "ja", ""))


# --- the election's time zone ----------------------------------------------------------------

# The name the pages give an offset instead of "UTC+hh:mm": Japan's, which the Japanese
# elections this site serves (the JPKI gate admits residents of Japanese municipalities) use.
ZONE_NAMES = {timedelta(hours=9): "JST"}


def election_zone(manifest: Manifest | None) -> tzinfo:
    """The election's time zone: the fixed UTC offset of the manifest's ``start`` (the
    manifest requires one); UTC while there is no election."""
    if manifest is None:
        return UTC
    zone = manifest.start_time.tzinfo
    return zone if zone is not None else UTC


def zone_name(zone: tzinfo, at: datetime) -> str:
    """``JST`` for Japan's offset, else ``UTC`` or ``UTC±hh:mm``."""
    offset = zone.utcoffset(at) or timedelta(0)
    if offset in ZONE_NAMES:
        return ZONE_NAMES[offset]
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    hours, rest = divmod(abs(offset), timedelta(hours=1))
    return f"UTC{sign}{hours:02d}:{rest // timedelta(minutes=1):02d}"


def local_time(iso: str, manifest: Manifest | None) -> str:
    """An ISO time (from the log or the manifest) to the minute in the election's time zone,
    with the zone's name; the text unchanged if it is not an ISO time with an offset."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is None:
        return iso
    zone = election_zone(manifest)
    local = t.astimezone(zone)
    return f"{local.strftime('%Y-%m-%d %H:%M')} {zone_name(zone, local)}"
