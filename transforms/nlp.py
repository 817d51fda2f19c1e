"""The spaCy side: an entity ruler fed from the dictionaries, layered before the statistical NER."""

from __future__ import annotations

from typing import cast

from spacy.language import Language
from spacy.pipeline import EntityRuler
from spacy.tokens import Doc

from transforms.dictionaries import Dictionaries

RULER_NAME = "eventlake_actor_ruler"
PARAGRAPHS_NAME = "eventlake_paragraph_breaks"


@Language.component(PARAGRAPHS_NAME)
def paragraph_breaks(doc: Doc) -> Doc:
    """A line break ends a sentence: evidence never runs across two paragraphs (or a headline and
    the text). The parser keeps sentence starts set before it runs."""
    for token in doc[1:]:
        previous = doc[token.i - 1]
        if previous.is_space and "\n" in previous.text and not token.is_space:
            token.is_sent_start = True
        elif "\n" in previous.whitespace_ and not token.is_space:
            token.is_sent_start = True
    return doc


def add_paragraph_breaks(nlp: Language) -> Language:
    if PARAGRAPHS_NAME not in nlp.pipe_names:
        nlp.add_pipe(PARAGRAPHS_NAME, before="parser" if "parser" in nlp.pipe_names else None)
    return nlp


def _core(phrase: str) -> str:
    # "the Kremlin" and "The Kremlin" both match "Kremlin"; the article stays outside the entity.
    return phrase[4:] if phrase.lower().startswith("the ") else phrase


def ruler_patterns(dictionaries: Dictionaries) -> list[dict]:
    """Phrase patterns whose `id` says which dictionary entry matched ("place:...", "org:...", "person:...")."""
    patterns: dict[str, dict] = {}
    for phrase in dictionaries.people_by_alias:
        patterns.setdefault(phrase, {"label": "PERSON", "pattern": phrase, "id": f"person:{phrase}"})
    for phrase in dictionaries.organisations:
        core = _core(phrase)
        patterns.setdefault(core, {"label": "ORG", "pattern": core, "id": f"org:{phrase}"})
    for phrase, place in dictionaries.places.items():
        core = _core(phrase)
        label = "NORP" if place.kind == "adjective" else "GPE"
        patterns.setdefault(core, {"label": label, "pattern": core, "id": f"place:{phrase}"})
    return [p for p in patterns.values() if len(p["pattern"]) > 1]


def add_actor_ruler(nlp: Language, dictionaries: Dictionaries) -> Language:
    """Put the dictionary ruler first, so "ner" predicts around the entities it fixes (it tags
    "Lithuanian" NORP where the model alone says ORG, "Antti Kaikkonen" PERSON, ...).

    First, not just before "ner": it matches the words alone, which the tokenizer gives, and
    spaCy runs each pattern through the components before the ruler to build it. Before "ner"
    that was the whole tagger and parser for 6,800 patterns: 5 s and 35 MiB more per process,
    for the same entities (no component between sets or reads them)."""
    if RULER_NAME in nlp.pipe_names:
        return nlp
    ruler = cast(
        EntityRuler,
        nlp.add_pipe(
            "entity_ruler",
            name=RULER_NAME,
            first=True,
            config={"phrase_matcher_attr": "ORTH", "validate": False, "overwrite_ents": False},
        ),
    )
    ruler.add_patterns(ruler_patterns(dictionaries))
    return nlp
