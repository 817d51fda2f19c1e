"""The records passed between steps. Plain dataclasses so they pickle cheaply between processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class RawDocument:
    """One unit of input as a reader found it, before any cleaning.

    `data` is bytes for files (decoded by the cleaner) or str for JSON records.
    `kind` is "html" or "text"; `capture_date` bounds the publication date (crawl or fetch time);
    `fallback_date` is used when the document itself carries no date (a record's "date").
    """

    input: str
    data: bytes | str
    kind: str
    url: str | None = None
    capture_date: date | None = None
    fallback_date: date | None = None
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article. `text` is what offsets of actors and events point into."""

    article_id: str
    input: str
    text: str
    content_hash: str
    language: str | None
    url: str | None = None
    site: str | None = None
    title: str | None = None
    author: str | None = None
    published: date | None = None
    record_id: str | None = None
    skipped_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """An input that could not be used, with the step that failed and why."""

    input: str
    step: str
    reason: str
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class ActorMention:
    """One mention of an actor in an article's text, resolved and coded."""

    article_id: str
    sentence: int
    start: int
    end: int
    text: str
    actor_id: str
    name: str
    code: str | None
    country: str | None
    type: str
    confidence: float
    role: str | None = None


@dataclass(frozen=True, slots=True)
class ActorRef:
    """The actor on one side of an event."""

    name: str
    code: str | None
    country: str | None
    text: str
    actor_id: str | None = None


@dataclass(frozen=True, slots=True)
class EventMention:
    """One coded event as seen in one sentence of one article."""

    article_id: str
    sentence: int
    start: int
    end: int
    source: ActorRef | None  # None when the text names only the target ("civilians were killed")
    target: ActorRef | None
    cameo: str
    plover: str | None
    quad_class: int
    goldstein: float
    date: date | None
    location: str | None
    location_country: str | None
    latitude: float | None
    longitude: float | None
    evidence: str
    confidence: float
    trigger: str


@dataclass(frozen=True, slots=True)
class Quote:
    article_id: str
    sentence: int
    speaker: ActorRef
    text: str


@dataclass(slots=True)
class BatchOutput:
    """Everything one batch yields; the warehouse turns it into Arrow tables."""

    articles: list[Article] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    actor_mentions: list[ActorMention] = field(default_factory=list)
    event_mentions: list[EventMention] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
