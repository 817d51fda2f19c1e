"""Actor and event extraction for a batch of articles: one nlp.pipe pass, then per-article coding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import groupby

from spacy.language import Language
from spacy.tokens import Doc

from transforms.actors import ActorFinder, Mention
from transforms.dictionaries import Dictionaries
from transforms.events import ArticleContext, EventCoder, code_sentence
from transforms.confidence import ConfidenceModel
from transforms.records import ActorMention, Article, BatchOutput, EventMention, Reject

KnownActors = dict[str, tuple[str | None, str | None]]


def split_chunks(text: str, chunk_chars: int, max_tokens: int) -> Iterator[tuple[int, str]]:
    """(offset, text) pieces of at most `chunk_chars`, cut at paragraph ends, stopping after about
    `max_tokens` words, so one very long article never parses as one huge doc."""
    words = 0
    start = 0
    while start < len(text) and words < max_tokens:
        end = min(len(text), start + chunk_chars)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            if cut <= start:
                cut = text.rfind(". ", start, end) + 1
            end = cut if cut > start else end
        piece = text[start:end]
        words += len(piece.split())
        yield start, piece
        start = end
        while start < len(text) and text[start] in "\n ":
            start += 1


class Extractor:
    """Everything extraction needs, built once per process from settings and handed in."""

    def __init__(
        self,
        nlp: Language,
        dictionaries: Dictionaries,
        chunk_chars: int = 5_000,
        max_tokens: int = 50_000,
        pipe_batch_size: int = 2,
        confidence: ConfidenceModel | None = None,
    ) -> None:
        self.nlp = nlp
        self.dictionaries = dictionaries
        self.actor_finder = ActorFinder(dictionaries)
        self.event_coder = EventCoder(dictionaries)
        self.chunk_chars = chunk_chars
        self.max_tokens = max_tokens
        self.pipe_batch_size = pipe_batch_size
        # Without a model (as when the model itself is trained) an event keeps the rule coder's confidence.
        self.confidence = confidence

    def extract(self, articles: list[Article], known: KnownActors | None = None) -> BatchOutput:
        known = known or {}
        output = BatchOutput()
        chunks = [
            (index, offset, piece)
            for index, article in enumerate(articles)
            for offset, piece in split_chunks(article.text, self.chunk_chars, self.max_tokens)
        ]
        docs = self.nlp.pipe((piece for _, _, piece in chunks), batch_size=self.pipe_batch_size)
        for index, group in groupby(zip(chunks, docs), key=lambda pair: pair[0][0]):
            article = articles[index]
            try:
                self._article(article, [(offset, doc) for (_, offset, _), doc in group], known, output)
            except Exception as exc:  # one article's failure must not cost the batch
                output.rejects.append(
                    Reject(article.input, "extract", f"{type(exc).__name__}: {exc}", article.record_id)
                )
        return output

    def _article(
        self, article: Article, parsed: list[tuple[int, Doc]], known: KnownActors, output: BatchOutput
    ) -> None:
        sentence = 0
        per_doc: list[tuple[Doc, list[Mention], int, int]] = []
        for offset, doc in parsed:
            mentions = self.actor_finder.find(doc, offset, sentence)
            per_doc.append((doc, mentions, offset, sentence))
            sentence += sum(1 for _ in doc.sents)
        self.actor_finder.resolve([(doc, mentions) for doc, mentions, _, _ in per_doc], article.published, known)
        context = ArticleContext(article.article_id, article.text, article.published)
        events, quotes = [], []
        for doc, mentions, offset, first in per_doc:
            by_token = {i: m for m in mentions for i in range(m.token_start, m.token_end)}
            for number, sent in enumerate(doc.sents, start=first):
                found, said = code_sentence(self.event_coder, sent, number, by_token, offset, context)
                events.extend(found)
                quotes.extend(said)
            output.actor_mentions.extend(
                ActorMention(
                    article_id=article.article_id,
                    sentence=m.sentence,
                    start=m.start,
                    end=m.end,
                    text=m.text,
                    actor_id=m.actor_id,
                    name=m.name,
                    code=m.code,
                    country=m.country,
                    type=m.type,
                    confidence=m.confidence,
                    role=m.role,
                )
                for m in mentions
            )
        output.event_mentions.extend(self._scored(article, events))
        output.quotes.extend(quotes)

    def _scored(self, article: Article, events: list[EventMention]) -> list[EventMention]:
        """Events with the confidence model's calibrated probability in place of the rule score."""
        if self.confidence is None or not events:
            return events
        article_logit = self.confidence.article_logit(article.title, article.text)
        by_sentence: dict[int, float] = {}
        scored = []
        for event in events:
            if event.sentence not in by_sentence:
                by_sentence[event.sentence] = self.confidence.sentence_logit(event.evidence)
            probability = self.confidence.event_confidence(event, by_sentence[event.sentence], article_logit)
            scored.append(replace(event, confidence=probability))
        return scored
