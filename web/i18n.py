"""Japanese first, English second: the page texts, and the choice of language.

The language is ``?lang=ja|en`` (remembered in a cookie), else Japanese. Texts live in one
table of ``{key: {"ja": ..., "en": ...}}`` so a missing translation is a test failure rather
than a blank on a voter's screen; each blueprint registers its own texts with
:func:`register`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import g, request

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
