"""Objects built once per process from settings and handed to the pure transforms."""
from __future__ import annotations

from functools import lru_cache

from flows.settings import Settings
from transforms.clean import CleaningOptions
from transforms.pipeline import Extractor


def cleaning_options(settings: Settings) -> CleaningOptions:
    c = settings.cleaning
    return CleaningOptions(favor_precision=c.favor_precision, include_comments=c.include_comments,
                           min_text_chars=c.min_text_chars, extract_languages=tuple(c.extract_languages))


@lru_cache(maxsize=2)
def extractor_for(settings: Settings) -> Extractor | None:
    """The spaCy pipeline and dictionaries, loaded once per process (worker processes included)."""
    return None
