"""One batch through every transform: clean, then one nlp.pipe pass for actors and events."""

from __future__ import annotations

from typing import Protocol

from transforms.clean import CleaningOptions, clean_documents, failure_reason
from transforms.records import Article, BatchOutput, RawDocument, Reject


class BatchExtractor(Protocol):
    """Finds actors, events and quotes in a batch of cleaned articles (see transforms.extract)."""

    def extract(self, articles: list[Article], known: dict | None = None) -> BatchOutput: ...


def process_batch(
    documents: list[RawDocument],
    cleaning: CleaningOptions,
    extractor: BatchExtractor | None,
    known_actors: dict | None = None,
) -> BatchOutput:
    """Clean a batch and extract from the articles in the extractor's languages.

    Articles in other languages are kept (with their skipped_reason) but not extracted from.
    """
    articles, rejects = clean_documents(documents, cleaning)
    output = BatchOutput(articles=articles, rejects=list(rejects))
    if extractor is None:
        return output
    to_extract = [a for a in articles if a.skipped_reason is None]
    try:
        parts = [extractor.extract(to_extract, known_actors)]
    except Exception:  # noqa: BLE001 - the batch's one parse failed: each article on its own, so one
        parts = []  # article that breaks the parser costs only itself
        failed = set()
        for article in to_extract:
            try:
                parts.append(extractor.extract([article], known_actors))
            except Exception as exc:  # noqa: BLE001
                failed.add(article.input)
                output.rejects.append(Reject(article.input, "extract", failure_reason(exc), article.record_id))
        # An article that could not be extracted is not stored either: a re-run tries it again.
        output.articles = [a for a in articles if a.input not in failed]
    for extracted in parts:
        output.actor_mentions.extend(extracted.actor_mentions)
        output.event_mentions.extend(extracted.event_mentions)
        output.quotes.extend(extracted.quotes)
        output.rejects.extend(extracted.rejects)
    return output
