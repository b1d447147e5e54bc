"""The page texts as gettext catalogs (web/translations, docs/translating.md): every key the
code asks for exists, Japanese is complete, every shipped catalog is clean, a translator's
new language is served without code, and a broken translation falls back to the English
instead of breaking a page."""

from __future__ import annotations

import pathlib
import re
import shutil

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from bulletin.refusals import CODES, Refusal
from web import i18n

ROOT = pathlib.Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CATALOGS = sorted(i18n.TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def _keys_in_code() -> set[str]:
    """Every literal key the Python code and the templates pass to t(), and the page
    scripts' T["name"] (the js.* keys)."""
    found: set[str] = set()
    for path in [*WEB.rglob("*.py"), *WEB.rglob("*.html")]:
        found |= set(re.findall(r"\bt\([\"']([a-z0-9_.]+)[\"']\s*[,)]", path.read_text("utf-8")))
    for path in (WEB / "static" / "js").glob("*.js"):
        found |= {f"js.{k}" for k in re.findall(r"\bT\[\"([a-zA-Z0-9_.]+)\"\]", path.read_text())}
    return found


def test_every_key_the_code_asks_for_is_in_the_template():
    keys = _keys_in_code()
    assert len(keys) > 250  # the search found the code's keys, not nothing
    assert sorted(keys - set(i18n.SOURCE_TEXTS)) == []


def test_the_languages_are_japanese_english_then_the_catalogs():
    assert i18n.LANGUAGES[:2] == ("ja", "en")
    assert "zh-Hans" in i18n.LANGUAGES
    assert len(CATALOGS) == len(i18n.LANGUAGES) - 1  # English is the msgids themselves
    assert i18n.BY_TAG["ja"].name == "日本語"
    assert i18n.BY_TAG["zh-Hans"].name == "中文 (简体)"


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parent.parent.name)
def test_every_shipped_catalog_is_clean_and_complete(po):
    texts, problems = i18n.read_catalog(po, i18n.SOURCE_TEXTS)
    assert problems == []
    missing = set(i18n.SOURCE_TEXTS) - set(texts) - {i18n.UNREVIEWED}
    assert sorted(missing) == []
    with po.open("rb") as f:
        catalog = read_po(f)
    assert not [m.context for m in catalog if m.id and m.fuzzy]


def test_japanese_is_reviewed_and_chinese_says_it_awaits_review():
    assert i18n.BY_TAG["ja"].reviewed
    assert not i18n.BY_TAG["zh-Hans"].reviewed
    head = (i18n.TRANSLATIONS / "zh_Hans/LC_MESSAGES/messages.po").read_text("utf-8")
    assert "NEEDS REVIEW" in head.split("msgid", 1)[0]


def test_a_fields_placeholder_is_checked_against_the_english():
    assert i18n.fields("{a} of {b} ({{literal}})") == ["a", "b"]
    assert i18n.fields("{n:,}") == ["n"]
    for bad in ("{", "a } b", "{0}", "{}", "{a.b}", "{a[0]}", "{a:{b}}"):
        with pytest.raises(ValueError):
            i18n.fields(bad)
    # Every text, in every language, can be filled in by name (what t() does).
    for key, english in i18n.SOURCE_TEXTS.items():
        for tag in i18n.LANGUAGES:
            text = i18n.text_in(tag, key)
            text.format(**{name: "x" for name in i18n.fields(english)})


def test_refusal_texts_in_the_catalogs_match_the_boards_table():
    for code, reason in CODES.items():
        assert i18n.SOURCE_TEXTS[f"refusal.{code}"] == reason.en
        assert i18n.BY_TAG["ja"].texts[f"refusal.{code}"] == reason.ja
    e = Refusal("not_eligible")
    assert i18n.refusal_text(e, "ja") == e.ja
    assert i18n.refusal_text(e, "en") == e.en
    zh = i18n.refusal_text(e, "zh-Hans")
    assert zh not in (e.ja, e.en) and zh
    body = i18n.refusal_json(e)
    assert body["message"] == {"ja": e.ja, "en": e.en, "zh-Hans": zh}
    assert i18n.refusal_text(e, "xx") == e.en


def test_language_tags_are_matched_however_they_are_spelt():
    for spelt in ("zh-Hans", "zh-hans", "ZH_HANS", " zh_Hans "):
        assert i18n.language_of(spelt) == "zh-Hans"
    assert i18n.language_of("xx") is None
    assert i18n.language_of("") is None


def _copy(tmp_path: pathlib.Path) -> pathlib.Path:
    out = tmp_path / "translations"
    shutil.copytree(i18n.TRANSLATIONS, out)
    return out


def _edit(po: pathlib.Path, edit) -> None:
    with po.open("rb") as f:
        catalog = read_po(f)
    edit(catalog)
    with po.open("wb") as f:
        write_po(f, catalog, width=0)


def test_a_translator_adds_a_language_with_pybabel_and_no_code(tmp_path):
    """`pybabel init` from the template, a few texts translated (as Poedit would), and the
    site has Vietnamese: named in Vietnamese, its texts used, the rest in English."""
    d = _copy(tmp_path)
    pot = d / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "init", "-i", str(pot), "-d", str(d), "-l", "vi"])
    po = d / "vi/LC_MESSAGES/messages.po"

    def translate(catalog):
        catalog.get("Vote", context="nav.booth").string = "Bỏ phiếu"
        catalog.get(
            "Voting period: {start} to {end}", context="home.period"
        ).string = "Thời gian bỏ phiếu: {start} đến {end}"
        note = catalog.get(i18n.SOURCE_TEXTS[i18n.UNREVIEWED], context=i18n.UNREVIEWED)
        note.string = "Chưa kiểm tra."

    _edit(po, translate)
    source, languages = i18n.load(d)
    assert list(languages)[:2] == ["ja", "en"] and "vi" in languages
    vi = languages["vi"]
    assert vi.name == "Tiếng Việt"
    assert not vi.reviewed
    assert vi.texts["nav.booth"] == "Bỏ phiếu"
    assert "results.title" not in vi.texts  # untranslated: the page shows the English
    assert source["results.title"] == i18n.SOURCE_TEXTS["results.title"]


def test_a_new_text_reaches_every_catalog_with_pybabel_update(tmp_path):
    d = _copy(tmp_path)
    pot = d / "messages.pot"
    _edit(pot, lambda c: c.add("A new text", "", context="site.new_text"))
    CommandLineInterface().run(
        ["pybabel", "-q", "update", "--no-fuzzy-matching", "-i", str(pot), "-d", str(d)]
    )
    source, languages = i18n.load(d)
    assert source["site.new_text"] == "A new text"
    assert "site.new_text" not in languages["ja"].texts  # waits for its translation
    for po in d.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as f:
            assert read_po(f).get("A new text", context="site.new_text") is not None
    # Nothing else changed: every translation survives the update.
    assert languages["ja"].texts == i18n.BY_TAG["ja"].texts
    assert languages["zh-Hans"].texts == i18n.BY_TAG["zh-Hans"].texts


def test_a_broken_translation_falls_back_to_the_english_and_is_reported(tmp_path, caplog):
    d = _copy(tmp_path)
    po = d / "ja/LC_MESSAGES/messages.po"

    def spoil(catalog):
        period = catalog.get("Voting period: {start} to {end}", context="home.period")
        period.string = "期間: {begin}"
        catalog.get("Vote", context="nav.booth").flags.add("fuzzy")
        catalog.add("Gone", "消えた", context="site.removed_text")
        catalog.get("Choose up to {n}.", context="booth.pickn").string = "{n} つまで{"

    _edit(po, spoil)
    texts, problems = i18n.read_catalog(po, i18n.SOURCE_TEXTS)
    assert "home.period" not in texts and "nav.booth" not in texts
    assert any(p.startswith("home.period: fields") for p in problems)
    assert any(p.startswith("site.removed_text: not in messages.pot") for p in problems)
    assert any(p.startswith("booth.pickn: not a text the page can fill") for p in problems)
    assert "booth.pickn" not in texts  # a lone brace would have failed the page (a 500)
    assert not any(p.startswith("nav.booth") for p in problems)  # fuzzy: quietly unused
    with caplog.at_level("WARNING"):
        _, languages = i18n.load(d)
    assert "home.period" in caplog.text
    assert "home.period" not in languages["ja"].texts


def test_a_site_without_its_japanese_catalog_refuses_to_start(tmp_path):
    d = _copy(tmp_path)
    shutil.rmtree(d / "ja")
    with pytest.raises(RuntimeError, match="'ja'"):
        i18n.load(d)
