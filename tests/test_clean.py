"""Cleaning: golden tests on the sample corpus and the seed, decoding of awkward bytes, text rules."""

from __future__ import annotations

import codecs
import json
from datetime import date

import pytest

from support import EXPECTED, sample_document, shared_path
from transforms.clean import (
    CleaningOptions,
    canonical_url,
    clean_document,
    clean_plain_text,
    content_hash,
    decode_bytes,
    detect_language,
    make_article_id,
)
from transforms.dates import parse_dateline, resolve_relative_date
from transforms.errors import InputError
from transforms.records import RawDocument

OPTIONS = CleaningOptions()
GOLDEN = sorted(name for name, e in EXPECTED.items() if "title" in e or "language" in e)


@pytest.mark.parametrize("name", GOLDEN)
def test_sample_article_cleans_to_its_expected_title_date_and_text(name):
    expected = EXPECTED[name]
    article = clean_document(sample_document(name), OPTIONS)
    assert article.language == expected.get("language", "en")
    if "title" in expected:
        assert article.title == expected["title"]
    if "published" in expected:
        assert article.published == date.fromisoformat(expected["published"])
    for phrase in expected.get("text_must_contain", []):
        assert phrase in article.text
    for junk in expected.get("text_must_not_contain", []):
        assert junk not in article.text


def test_non_english_article_is_kept_with_a_skip_reason():
    name = next(n for n, e in EXPECTED.items() if e.get("language", "en") != "en" and "duplicate_of" not in e)
    article = clean_document(sample_document(name), OPTIONS)
    assert article.language == EXPECTED[name]["language"]
    assert "not one of the extractor languages" in article.skipped_reason


def test_seed_article_title_date_and_junk():
    gold = json.loads(shared_path("eval", "seed", "000_a7cfe0dc1e7d0a08.gold.json").read_text())
    seed = shared_path("seeds", "000_a7cfe0dc1e7d0a08.txt")
    article = clean_document(RawDocument(input=str(seed), data=seed.read_bytes(), kind="text"), OPTIONS)
    assert article.title == gold["title"]
    assert article.published.isoformat() == gold["published"]
    for phrase in gold["text_must_contain"]:
        assert phrase in article.text
    for junk in gold["text_must_not_contain"]:
        assert junk not in article.text
    assert ". ." not in article.text


SEED_LIKE = """18.4 C
Menu | World | Business
Tuesday, March 5, 2024

Ministers meet to discuss water sharing

By Ana Lima

Officials from the two countries met on Monday in Lisbon to discuss sharing the river's water during droughts.

Advertisement

They agreed to meet again next month.

Share this article
Most Popular Articles
Another headline here
10:42 AM
"""


def test_plain_text_cleaner_separates_head_body_and_footer():
    cleaned = clean_plain_text(SEED_LIKE)
    assert cleaned.title == "Ministers meet to discuss water sharing"
    assert cleaned.published == date(2024, 3, 5)
    assert cleaned.author == "Ana Lima"
    assert cleaned.text == (
        "Officials from the two countries met on Monday in Lisbon to discuss sharing the "
        "river's water during droughts.\nThey agreed to meet again next month."
    )


def test_a_single_sentence_is_text_not_a_headline():
    cleaned = clean_plain_text("Iran condemned the strike on its consulate")
    assert cleaned.title is None
    assert cleaned.text == "Iran condemned the strike on its consulate"


@pytest.mark.parametrize(
    "line,expected",
    [
        ("Sunday, April 14, 2024", date(2024, 4, 14)),
        ("14 April 2024", date(2024, 4, 14)),
        ("2024-04-14", date(2024, 4, 14)),
        ("Mar. 5, 2024", date(2024, 3, 5)),
        ("Published: 5 March 2024, 10:42 AM", date(2024, 3, 5)),
        ("jueves 6 de abril de 2023", date(2023, 4, 6)),
        ("The talks on April 14, 2024 went well", None),
        ("25.1 C", None),
        ("February 30, 2024", None),
    ],
)
def test_dateline_formats(line, expected):
    assert parse_dateline(line) == expected


@pytest.mark.parametrize(
    "sentence,expected",
    [
        ("Japan and Lithuania said on Wednesday they would", date(2024, 4, 10)),
        ("The minister arrived yesterday.", date(2024, 4, 13)),
        ("Talks began last month.", date(2024, 3, 1)),
        ("Troops withdrew three days ago.", date(2024, 4, 11)),
        ("The summit on Sunday ended", date(2024, 4, 14)),
        ("No date here.", None),
    ],
)
def test_relative_dates_resolve_against_publication(sentence, expected):
    assert resolve_relative_date(sentence, date(2024, 4, 14)) == expected


@pytest.mark.parametrize(
    "data,expected",
    [
        ("Café in Zürich".encode("latin-1"), "Café in Zürich"),
        ("“Smart quotes” – and €".encode("cp1252"), "“Smart quotes” – and €"),
        (codecs.BOM_UTF16_LE + "Ukraine’s capital".encode("utf-16-le"), "Ukraine’s capital"),
        (codecs.BOM_UTF8 + "plain".encode("utf-8"), "plain"),
        (b'<meta charset="iso-8859-2"><p>\xa3\xf3d\xbc</p>', '<meta charset="iso-8859-2"><p>Łódź</p>'),
    ],
)
def test_decoding_of_legacy_and_bom_encodings(data, expected):
    assert decode_bytes(data, "x") == expected


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "x: decode: empty file; the file has no content to read"),
        (b"  \n\t ", "x: decode: empty file; the file has no content to read"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "x: decode: binary content, not text or HTML; only HTML, plain text and JSONL inputs are read",
        ),
    ],
)
def test_decoding_errors_name_the_input_step_and_fix(data, message):
    with pytest.raises(InputError) as caught:
        decode_bytes(data, "x")
    assert str(caught.value) == message


def test_html_without_an_article_is_an_input_error():
    html = "<html><head><title>Home</title></head><body><nav><a href='/'>Home</a></nav></body></html>"
    with pytest.raises(InputError, match="no article text found in the HTML page"):
        clean_document(RawDocument(input="empty.html", data=html, kind="html"), OPTIONS)


def test_ids_are_stable_and_url_based_when_there_is_a_url():
    a = make_article_id("https://WWW.Example.com/news/1?utm_source=x#top", "text one")
    b = make_article_id("https://www.example.com/news/1", "different text")
    assert a == b and len(a) == 20
    assert make_article_id(None, "Some  Text") == make_article_id(None, "some text")
    assert canonical_url("ftp://example.com/x") is None
    assert content_hash("A  b\nC") == content_hash("a b c")


def test_language_detection():
    assert detect_language("The government said on Monday that the talks would continue next week.") == "en"
    assert (
        detect_language("El gobierno anunció el martes que las conversaciones continuarán la semana próxima.") == "es"
    )
    assert detect_language("Iran condemned the attack.") == "en"


@pytest.mark.parametrize(
    "text, language",
    [
        # Short English texts full of German names are English...
        (
            "Scholz, Steinmeier, Baerbock, Habeck, Lindner, Pistorius: Germany's Ampel coalition meets in Meseberg.",
            "en",
        ),
        (
            "Bundeswehr Generalinspekteur Carsten Breuer visits Litauen brigade in Rukla; Pistorius promises "
            "Panzerbrigade 45.",
            "en",
        ),
        ("Putin warns Nato over Finland. Kremlin spokesman Dmitry Peskov said Moscow would respond.", "en"),
        ("Erdogan slams Stockholm protest, Turkish Foreign Ministry summons Swedish ambassador.", "en"),
        # ... and short German, French and Spanish texts stay what they are.
        ("Olaf Scholz trifft Emmanuel Macron in Berlin. Die beiden sprachen über die Ukraine.", "de"),
        ("Kiew meldet neue Angriffe auf Charkiw, die Behörden sprechen von vielen Toten.", "de"),
        ("Macron rencontre Scholz à Berlin pour parler de la guerre en Ukraine.", "fr"),
        ("El presidente Lula visitó Buenos Aires y se reunió con Alberto Fernández.", "es"),
    ],
)
def test_short_texts_are_not_misled_by_names(text, language):
    assert detect_language(text) == language


def test_html_date_is_bounded_by_the_capture_date():
    name = next(n for n in GOLDEN if n.endswith(".html") and "published" in EXPECTED[n])
    document = sample_document(name)
    published = date.fromisoformat(EXPECTED[name]["published"])
    bounded = RawDocument(input=name, data=document.data, kind="html", capture_date=date(2000, 1, 1))
    assert clean_document(document, OPTIONS).published == published
    # The page's own date is after the capture date, so it cannot be the publication date.
    assert clean_document(bounded, OPTIONS).published in (None, date(2000, 1, 1))


def test_a_saved_page_gets_its_canonical_url_and_keeps_its_text_based_id():
    from transforms.clean import make_article_id

    article = clean_document(sample_document("014_pakistan_floods_un_aid.html"), CleaningOptions())
    assert (
        article.url == "https://www.southasia-newsline.example/pakistan/2022/09/10/guterres-tours-pakistan-flood-zones"
    )
    assert article.article_id == make_article_id(None, article.text)
    text_file = clean_document(sample_document("001_kenya_tanzania_talks.txt"), CleaningOptions())
    assert text_file.url is None
