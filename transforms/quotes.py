"""Quotes: the quoted words of a sentence and who said them (the subject of a declaring verb)."""

from __future__ import annotations

from collections.abc import Callable

from spacy.tokens import Span, Token

from transforms.actors import Mention, actor_ref
from transforms.records import Quote


def sentence_quotes(
    sent: Span,
    index: int,
    article_id: str,
    subject_of: Callable[[Token], tuple[list[Mention], float]],
    declaring: frozenset[str],
) -> list[Quote]:
    """The quote of one sentence, when it has quotation marks and a coded speaker."""
    text = sent.text
    if text.count('"') < 2:
        return []
    speaker = None
    for token in sent:
        if token.lemma_ in declaring and token.pos_ == "VERB":
            actors, _ = subject_of(token)
            if actors:
                speaker = actors[0]
                break
    if speaker is None:
        return []
    quoted = " ".join(p.strip() for p in text.split('"')[1::2] if p.strip())
    return [Quote(article_id=article_id, sentence=index, speaker=actor_ref(speaker), text=quoted)] if quoted else []
