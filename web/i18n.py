"""Japanese first, English second, then every language a translator added: the page texts,
the choice of language, and the election's time zone.

The texts are gettext catalogs (docs/translating.md), read with Babel when the site starts:
``web/translations/messages.pot`` lists every text, its ``msgctxt`` the key the code asks
for (:func:`t`) and its ``msgid`` the English; ``web/translations/<locale>/LC_MESSAGES/
messages.po`` gives one language's words. A directory is a language: adding one takes a
``.po`` file made with ordinary tools (``pybabel init``, Poedit) and no code. The catalogs
are read as ``.po`` rather than compiled ``.mo`` files, so there is no second copy to go
stale.

A text a catalog leaves untranslated, marks fuzzy, or translates with other ``{fields}``
than the English falls back to the English (tests/unit/test_i18n.py requires Japanese to
be complete and every catalog to be clean). While a language's catalog translates
``site.unreviewed`` its pages say that the translation awaits a native speaker's review.

The language is ``?lang=<tag>`` (a BCP 47 tag: ``ja``, ``en``, ``zh-Hans``; remembered in
a cookie), else Japanese.

Every page shows times, and counts days and hours, in the election's time zone: the UTC
offset of the manifest's ``start`` (:func:`election_zone`, docs/admin.md).
"""

from __future__ import annotations

import logging
import pathlib
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from babel import Locale
from babel.messages.pofile import read_po
from flask import g, request

if TYPE_CHECKING:
    from bulletin.refusals import Refusal
    from e2e.manifest import Manifest, Text

log = logging.getLogger(__name__)

TRANSLATIONS = pathlib.Path(__file__).parent / "translations"
COOKIE = "lang"
#: The language of the msgids (the fallback for an untranslated text).
SOURCE = "en"
#: The election's own language: the default, and first in the language menu.
DEFAULT = "ja"
#: The key whose translation marks a catalog as awaiting review.
UNREVIEWED = "site.unreviewed"


@dataclass(frozen=True)
class Language:
    """One language of the pages: its BCP 47 ``tag`` (``zh-Hans``), its name in itself
    (``中文 (简体)``), its translated texts by key, and whether a native speaker has
    reviewed them (its catalog leaves ``site.unreviewed`` untranslated)."""

    tag: str
    name: str
    texts: Mapping[str, str]
    reviewed: bool


def fields(text: str) -> list[str]:
    """The ``{name}`` fields of a text, sorted (``{{`` and ``}}`` are literal braces).

    Raises ValueError for a text that ``str.format`` could not fill by name: a lone brace,
    a positional ``{0}`` or ``{}``, ``{name.attr}``, ``{name[0]}``, a nested field."""
    out = []
    for _, name, spec, _ in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{{{name}}} is not a named field")
        if spec and ("{" in spec or "}" in spec):
            raise ValueError(f"{{{name}}} has a nested field")
        out.append(name)
    return sorted(out)


def read_catalog(path: pathlib.Path, source: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The translated texts of one ``.po`` file by key, and what was left out and why: a
    key the template does not have, a fuzzy or empty translation (left out silently, as
    gettext does), or one whose fields differ from the English."""
    with path.open("rb") as f:
        catalog = read_po(f)
    texts: dict[str, str] = {}
    problems: list[str] = []
    for m in catalog:
        if not m.id or m.context is None:
            continue  # the header, or an entry without a key
        key = m.context
        if key not in source:
            problems.append(f"{key}: not in messages.pot")
            continue
        if m.fuzzy or not m.string:
            continue
        try:
            got = fields(m.string)
        except ValueError as e:
            problems.append(f"{key}: not a text the page can fill in ({e})")
            continue
        if got != fields(source[key]):
            problems.append(f"{key}: fields {got} differ from {fields(source[key])}")
            continue
        texts[key] = m.string
    return texts, problems


def tag_of(locale: str) -> str:
    """The BCP 47 tag of a catalog's directory name (``zh_Hans`` → ``zh-Hans``)."""
    return str(Locale.parse(locale)).replace("_", "-")


def load(directory: pathlib.Path = TRANSLATIONS) -> tuple[dict[str, str], dict[str, Language]]:
    """The English of every key (from the template), and every language by tag:
    Japanese, English, then the others by tag."""
    with (directory / "messages.pot").open("rb") as f:
        source = {m.context: m.id for m in read_po(f) if m.id and m.context is not None}
    found: dict[str, Language] = {
        SOURCE: Language(SOURCE, Locale.parse(SOURCE).get_display_name(SOURCE), {}, True)
    }
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        locale = po.parent.parent.name
        tag = tag_of(locale)
        texts, problems = read_catalog(po, source)
        for p in problems:  # the site still starts: the English stands in for these texts
            log.warning("translation %s: %s", tag, p)
        name = Locale.parse(locale).get_display_name(Locale.parse(locale)) or tag
        found[tag] = Language(tag, name, texts, UNREVIEWED not in texts)
    if DEFAULT not in found:
        raise RuntimeError(f"no catalog for the election's language {DEFAULT!r} in {directory}")
    order = [DEFAULT, SOURCE] + sorted(set(found) - {DEFAULT, SOURCE})
    return source, {tag: found[tag] for tag in order}


SOURCE_TEXTS, BY_TAG = load()
#: Every language's tag, in the language menu's order.
LANGUAGES = tuple(BY_TAG)
_BY_LOWER = {tag.lower(): tag for tag in LANGUAGES} | {
    tag.lower().replace("-", "_"): tag for tag in LANGUAGES
}


def language_of(value: str | None) -> str | None:
    """The tag of a language the site has, however ``value`` spells it (``zh-hans``,
    ``zh_Hans``), or None."""
    return _BY_LOWER.get(value.strip().lower()) if value else None


def asked() -> str | None:
    """The first language of this request's ``?lang=`` values that the site has."""
    return next(filter(None, map(language_of, request.args.getlist("lang"))), None)


def current_language() -> str:
    """The language of this request: ?lang=, then the cookie, then Japanese."""
    chosen = getattr(g, "lang", None)
    if chosen:
        return chosen
    g.lang = asked() or language_of(request.cookies.get(COOKIE)) or DEFAULT
    return g.lang


def current() -> Language:
    """This request's :class:`Language`."""
    return BY_TAG[current_language()]


def text_in(tag: str, key: str) -> str:
    """The text ``key`` in language ``tag``, else in English (a KeyError for a key no
    catalog has: a typo fails its test, not a voter's page)."""
    english = SOURCE_TEXTS[key]
    language = BY_TAG.get(tag)
    return language.texts.get(key, english) if language is not None else english


def t(key: str, **values: object) -> str:
    """The text ``key`` in this request's language, with ``{name}`` fields filled in."""
    text = text_in(current_language(), key)
    return text.format(**values) if values else text


def keys(prefix: str = "") -> list[str]:
    """Every text's key that starts with ``prefix``, in the template's order."""
    return [k for k in SOURCE_TEXTS if k.startswith(prefix)]


def refusal_text(e: Refusal, tag: str) -> str:
    """A board refusal's words in language ``tag``: its own Japanese or English, else its
    code's text in that language's catalog (``refusal.<code>``), else the English."""
    if tag == "ja":
        return e.ja
    language = BY_TAG.get(tag)
    if language is None or tag == SOURCE:
        return e.en
    return language.texts.get(f"refusal.{e.code}", e.en)


def refusal_json(e: Refusal) -> dict[str, Any]:
    """The API's error object, its ``message`` in every language the catalogs translate
    the refusal into (``ja`` and ``en`` always), so a page in any language shows it."""
    body = e.as_json()
    for tag, language in BY_TAG.items():
        words = language.texts.get(f"refusal.{e.code}")
        if tag not in body["message"] and words:
            body["message"][tag] = words
    return body


def pick(text: Text | None) -> str:
    """A manifest text in this request's language (:meth:`e2e.manifest.Text.get`: its
    language without script or region, else English, when the label lacks it)."""
    return text.get(current_language()) if text else ""


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
