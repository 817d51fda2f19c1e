"""One batch through every transform: clean, then one nlp.pipe pass for actors and events."""
from __future__ import annotations

from typing import Protocol

from transforms.clean import CleaningOptions, clean_documents
from transforms.records import Article, BatchOutput, RawDocument


class BatchExtractor(Protocol):
    """Finds actors, events and quotes in a batch of cleaned articles (see transforms.extract)."""

    def extract(self, articles: list[Article], known: dict | None = None) -> BatchOutput: ...


def process_batch(documents: list[RawDocument], cleaning: CleaningOptions,
                  extractor: BatchExtractor | None, known_actors: dict | None = None) -> BatchOutput:
    """Clean a batch and extract from the articles in the extractor's languages.

    Articles in other languages are kept (with their skipped_reason) but not extracted from.
    """
    articles, rejects = clean_documents(documents, cleaning)
    output = BatchOutput(articles=articles, rejects=list(rejects))
    if extractor is not None:
        extracted = extractor.extract([a for a in articles if a.skipped_reason is None], known_actors)
        output.actor_mentions = extracted.actor_mentions
        output.event_mentions = extracted.event_mentions
        output.quotes = extracted.quotes
        output.rejects.extend(extracted.rejects)
    return output
