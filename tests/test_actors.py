"""Actors: one test per resolution rule, the seed article's gold, and recall on the sample corpus."""

from __future__ import annotations

import json
from datetime import date

import pytest

from support import EXPECTED, sample_document, shared_path
from transforms.clean import clean_document, CleaningOptions
from transforms.extract import split_chunks
from transforms.records import Article, RawDocument


def actors_of(extractor, text: str, published: date | None = date(2022, 11, 16), known=None):
    article = Article(article_id="a", input="test", text=text, content_hash="h", language="en", published=published)
    output = extractor.extract([article], known)
    for m in output.actor_mentions:
        assert text[m.start : m.end] == m.text  # offsets point into the article text
    return output.actor_mentions


def find(mentions, text):
    hits = [m for m in mentions if m.text == text]
    assert hits, f"no mention {text!r} in {[m.text for m in mentions]}"
    return hits[0]


def test_title_before_a_name_gives_sector_and_the_dictionary_the_country(extractor):
    mentions = actors_of(extractor, "Defense Minister Yasukazu Hamada met reporters in Tokyo.")
    hamada = find(mentions, "Yasukazu Hamada")
    assert (hamada.country, hamada.code, hamada.type) == ("JPN", "JPNMIL", "PERSON")


def test_nationality_and_counterpart_code_an_unknown_person(extractor):
    text = "Kenyan President William Ruto and his Ugandan counterpart Aloys Mbembe signed a trade deal."
    mbembe = find(actors_of(extractor, text), "Aloys Mbembe")
    assert mbembe.country == "UGA" and mbembe.code == "UGAGOV"


def test_apposition_after_a_name_codes_the_person(extractor):
    text = "Rosa Tenorio, Peru's foreign minister, arrived in Quito on Monday."
    tenorio = find(actors_of(extractor, text), "Rosa Tenorio")
    assert tenorio.code == "PERGOV"


def test_short_form_resolves_to_the_full_name(extractor):
    text = "Prime Minister Fumio Kishida spoke in Tokyo. Kishida said talks would continue."
    mentions = actors_of(extractor, text)
    assert find(mentions, "Kishida").name == "Fumio Kishida"
    assert find(mentions, "Kishida").code == "JPNGOV"


def test_misspelt_repeat_resolves_by_fuzzy_match(extractor):
    text = (
        "Finnish Foreign Minister Pekka Virtanenko met officials. Later Virtanenk told reporters "
        "that the talks had gone well."
    )
    mentions = actors_of(extractor, text)
    assert find(mentions, "Virtanenk").name == "Pekka Virtanenko"
    assert find(mentions, "Virtanenk").code == "FINGOV"


@pytest.mark.parametrize(
    "published,code",
    [
        (date(2016, 5, 1), "JPNGOV"),  # foreign minister then
        (date(2023, 5, 1), "JPNGOV"),  # prime minister then
        (date(2025, 6, 1), "JPNELI"),  # out of office: a former official
    ],
)
def test_people_are_coded_by_the_office_held_on_the_article_date(extractor, published, code):
    mentions = actors_of(extractor, "Fumio Kishida arrived in Seoul.", published)
    assert find(mentions, "Fumio Kishida").code == code


def test_model_mistakes_are_corrected_by_the_dictionaries(extractor):
    text = "The Lithuanian government said Defense officials would meet NATO envoys in Vilnius."
    mentions = actors_of(extractor, text)
    assert find(mentions, "Lithuanian").type == "COUNTRY"
    assert find(mentions, "Lithuanian").code == "LTU"
    assert find(mentions, "NATO").code.startswith("IGO")
    assert find(mentions, "Vilnius").country == "LTU"


def test_capitals_and_seats_of_power_stand_for_their_countries(extractor):
    mentions = actors_of(extractor, "The Kremlin rejected the offer, while Beijing and Washington stayed silent.")
    assert [find(mentions, t).code for t in ("Kremlin", "Beijing", "Washington")] == ["RUS", "CHN", "USA"]


def test_agents_take_the_country_of_their_modifiers(extractor):
    mentions = actors_of(
        extractor, "Kenyan police detained students while Israeli troops and police in Tbilisi waited."
    )
    assert find(mentions, "Kenyan police").code == "KENCOP"
    assert find(mentions, "Israeli troops").code == "ISRMIL"
    assert find(mentions, "police").code == "GEOCOP"


def test_a_bare_name_seen_in_earlier_runs_is_coded_from_the_warehouse(extractor):
    mentions = actors_of(
        extractor, "Osvaldo Quintero said the border would reopen.", known={"Osvaldo Quintero": ("CHL", "CHLGOV")}
    )
    assert find(mentions, "Osvaldo Quintero").code == "CHLGOV"


def test_long_articles_are_parsed_in_bounded_chunks_with_correct_offsets(extractor):
    paragraph = "Officials in Nairobi met envoys from Uganda to discuss trade. "
    text = "\n".join([paragraph * 20] * 40)  # about 50,000 characters
    pieces = list(split_chunks(text, 5_000, 100_000))
    assert len(pieces) > 5 and all(len(piece) <= 5_000 for _, piece in pieces)
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in pieces)
    mentions = actors_of(extractor, text)
    assert max(m.end for m in mentions) > 45_000
    capped = list(split_chunks(text, 5_000, 2_000))
    assert sum(len(piece.split()) for _, piece in capped) < 3_000


def test_seed_article_actors_match_the_annotation(extractor):
    gold = json.loads(shared_path("eval", "seed", "000_a7cfe0dc1e7d0a08.gold.json").read_text())
    seed = shared_path("seeds", "000_a7cfe0dc1e7d0a08.txt")
    article = clean_document(RawDocument(input="seed", data=seed.read_bytes(), kind="text"), CleaningOptions())
    mentions = extractor.extract([article]).actor_mentions
    countries = {m.country for m in mentions if m.type == "COUNTRY"}
    assert set(gold["countries"]) <= countries
    for org in gold["organisations"]:
        assert any(
            m.code and m.code.startswith(org["code_prefix"]) and org["name"] in (m.text, m.name) for m in mentions
        ), org
    for person in gold["people"]:
        for surface in person["mentions"]:
            hits = [m for m in mentions if m.text == surface]
            assert hits, surface
            for m in hits:
                assert m.name == person["name"] and m.country == person["country"], (surface, m)
                assert any(m.code.endswith(s) for s in person["sector"]), (surface, m.code)


def test_sample_corpus_actor_recall(extractor):
    """The expected actors of the hand-written sample articles are found with their country."""
    from transforms.pipeline import process_batch

    documents = [sample_document(name) for name, expected in EXPECTED.items() if "actors" in expected]
    output = process_batch(documents, CleaningOptions(), extractor)
    by_input = {a.input: a.article_id for a in output.articles}
    found = total = 0
    for name, expected in EXPECTED.items():
        mentions = [m for m in output.actor_mentions if m.article_id == by_input.get(name)]
        for actor in expected.get("actors", []):
            total += 1
            found += any(
                (actor["text"] in m.text or m.text in actor["text"])
                and (m.country == actor["country"] or (m.code or "").startswith(actor["code"][:3]))
                for m in mentions
            )
    assert total > 250
    assert found / total >= 0.9, f"{found}/{total}"
