import json
import pathlib

import pytest

from e2e.manifest import ManifestError, Text, manifest_from_canonical, manifest_from_json

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "tsukuba-2025.json"


def _example():
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_tsukuba_example():
    m = manifest_from_json(EXAMPLE.read_text(encoding="utf-8"))
    assert [c.title.ja for c in m.contests] == ["行政サービス", "モビリティ", "ヘルスケア"]
    assert [len(c.options) for c in m.contests] == [3, 3, 3]
    assert all(c.limit == 1 for c in m.contests)
    assert m.eligibility.address_prefixes == ("茨城県つくば市",)
    assert (m.trustees, m.quorum) == (5, 3)
    assert m.start_time.isoformat() == "2025-02-20T00:00:00+09:00"
    data = m.canonical_bytes()
    assert "つくモビ".encode() in data  # published as written, not \\u escapes
    assert manifest_from_canonical(data) == m


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda m: m.pop("quorum"), "quorum"),
        (lambda m: m["contests"][0].pop("limit"), "contests[0].limit"),
        (lambda m: m.update(extra=1), "extra"),
        (
            lambda m: m["contests"][1]["options"][0].update(label="x"),
            "contests[1].options[0].label",
        ),
        (lambda m: m.update(trustees="5"), "trustees"),
        (lambda m: m["contests"][2].update(title={"ja": " x", "en": "y"}), "contests[2].title.ja"),
        (lambda m: m.update(election_id="a\nb"), "election_id"),
        (lambda m: m["eligibility"].update(address_prefixes=[]), "eligibility.address_prefixes"),
        (lambda m: m["contact"].update(phone="call us"), "contact.phone"),
        (lambda m: m["contact"].update(phone="0" * 33), "contact.phone"),
        (lambda m: m["contact"].update(phone="---"), "contact.phone"),
        (lambda m: m["contact"].update(hours={"ja": "", "en": "x"}), "contact.hours.ja"),
        (lambda m: m["contact"].pop("name"), "contact.name"),
        (lambda m: m["title"].update(zh_Hans="筑波"), "title.zh_Hans"),
        (lambda m: m["title"].update(others="x"), "title.others"),
        (lambda m: m["title"].update({"zh-Hans": " 筑波"}), "title.zh-Hans"),
        (
            lambda m: m["contests"][0].update(title={"ja": "x", "en": "y", "vi": 5}),
            "contests[0].title.vi",
        ),
        (lambda m: m["contests"][0]["title"].pop("en"), "contests[0].title.en"),
        (
            lambda m: m["contests"][0]["options"][0]["description"].update(note="x"),
            "contests[0].options[0].description.note",
        ),
        (
            lambda m: m["contests"][0]["options"][0]["description"].update(type="x"),
            "contests[0].options[0].description.type",
        ),
    ],
)
def test_errors_name_the_field(edit, field):
    m = _example()
    edit(m)
    with pytest.raises(ManifestError) as e:
        manifest_from_json(json.dumps(m, ensure_ascii=False))
    assert e.value.field == field
    # In Japanese too, for the administrator's pages; str() stays English.
    assert e.value.ja and e.value.text("ja") == e.value.ja
    assert e.value.text("en") == e.value.message
    assert str(e.value) == f"manifest field {field}: {e.value.message}"


def test_not_json():
    for text in ("", "[]", "{"):
        with pytest.raises(ManifestError):
            manifest_from_json(text)


def test_the_contact_desk_is_optional_and_absent_from_the_bytes_when_left_out():
    m = manifest_from_json(EXAMPLE.read_text(encoding="utf-8"))
    assert m.contact is not None
    assert (m.contact.name.ja, m.contact.phone) == ("つくば市 科学技術戦略課", "029-883-1111")
    raw = _example()
    del raw["contact"]
    plain = manifest_from_json(json.dumps(raw, ensure_ascii=False))
    assert plain.contact is None and b'"contact"' not in plain.canonical_bytes()
    assert manifest_from_canonical(plain.canonical_bytes()) == plain
    raw["contact"] = None  # null is not "absent": one byte form per manifest
    with pytest.raises(ManifestError):
        manifest_from_json(json.dumps(raw, ensure_ascii=False))


def test_labels_in_any_number_of_languages_and_two_keep_their_bytes():
    """The seed's labels have Chinese beside the Japanese and English: each language is a
    member of the label's object, the English stands in for a language a label lacks, and
    the same manifest without the third language has exactly the bytes of one written
    before labels had more than two."""
    m = manifest_from_json(EXAMPLE.read_text(encoding="utf-8"))
    title = m.contests[1].title
    assert title.others == (("zh-Hans", "出行"),)
    assert (title.get("ja"), title.get("en"), title.get("zh-Hans")) == (
        "モビリティ",
        "Mobility",
        "出行",
    )
    assert title.get("vi") == "Mobility"
    assert title.get("en-GB") == "Mobility" and title.get("ja-JP") == "モビリティ"
    assert Text("モビリティ", "Mobility", (("zh", "出行"),)).get("zh-Hans") == "出行"
    data = m.canonical_bytes()
    assert '"title":{"en":"Mobility","ja":"モビリティ","zh-Hans":"出行"}'.encode() in data
    assert manifest_from_canonical(data) == m
    raw = _example()

    def two(o):
        if isinstance(o, dict):
            o.pop("zh-Hans", None)
            for v in o.values():
                two(v)
        elif isinstance(o, list):
            for v in o:
                two(v)

    two(raw)
    plain = manifest_from_json(json.dumps(raw, ensure_ascii=False))
    assert all(not c.title.others for c in plain.contests)
    body = json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    doc = json.loads(plain.canonical_bytes())
    assert {k: v for k, v in doc.items() if k not in ("format", "type")} == json.loads(body)
    assert b"others" not in plain.canonical_bytes() and b"zh-Hans" not in plain.canonical_bytes()
