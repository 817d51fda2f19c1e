"""`eventlake extract`: records in, one JSON result per record out, in order; no warehouse, no Prefect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO
from itertools import islice

from flows import resources
from flows.settings import Settings
from flows.sources.files import capped_lines, guarded_record
from transforms import pipeline
from transforms.records import ActorRef, Article, BatchOutput, RawDocument, Reject


def _actor_json(ref: ActorRef | None) -> dict | None:
    if ref is None:
        return None
    return {"code": ref.code, "country": ref.country, "name": ref.name, "text": ref.text}


def contract_record(article: Article, output: BatchOutput, min_confidence: float = 0.0) -> dict:
    """The output record of the extract contract for one article: its events at or above
    `min_confidence`, each with its confidence."""
    actors = [
        {
            "text": m.text,
            "start": m.start,
            "end": m.end,
            "name": m.name,
            "code": m.code,
            "country": m.country,
            "type": m.type,
        }
        for m in output.actor_mentions
        if m.article_id == article.article_id
    ]
    events = [
        {
            "source": _actor_json(e.source),
            "target": _actor_json(e.target),
            "cameo": e.cameo,
            "plover": e.plover,
            "quad_class": e.quad_class,
            "goldstein": e.goldstein,
            "date": e.date.isoformat() if e.date else None,
            "location": e.location,
            "sentence": e.sentence,
            "evidence": e.evidence,
            "confidence": e.confidence,
        }
        for e in output.event_mentions
        if e.article_id == article.article_id and e.confidence >= min_confidence
    ]
    return {
        "id": article.record_id,
        "title": article.title,
        "published": article.published.isoformat() if article.published else None,
        "language": article.language,
        "text": article.text,
        "actors": actors,
        "events": events,
    }


def extract_lines(handle: BinaryIO, settings: Settings, name: str = "-", all_events: bool = False) -> Iterator[dict]:
    """Process the JSONL lines of a binary stream in batches (one nlp.pipe pass each), yielding
    results in input order; a line over the page cap is skipped as it is read. Events below
    `events.min_confidence` are left out unless `all_events`."""
    min_confidence = 0.0 if all_events else settings.events.min_confidence
    cleaning = resources.cleaning_options(settings)
    extractor = resources.extractor_for(settings)
    max_bytes = settings.ingest.max_page_bytes
    lines = capped_lines(handle, name, max_bytes, settings.ingest.max_file_bytes)
    while True:
        chunk = list(islice(lines, settings.ingest.batch_size))
        if not chunk:
            return
        slots: list[dict | RawDocument] = []
        for item in chunk:
            if isinstance(item, Reject):
                slots.append({"id": None, "error": f"{item.input}: {item.step}: {item.reason}"})
                continue
            where, line = item
            document = guarded_record(line, where, max_bytes)
            if isinstance(document, Reject):
                slots.append({"id": _guess_id(line), "error": f"{document.input}: {document.step}: {document.reason}"})
            else:
                slots.append(document)
        # Inputs are "name:line", unique per record, so results map back even for repeated texts.
        output = pipeline.process_batch([s for s in slots if isinstance(s, RawDocument)], cleaning, extractor)
        articles = {a.input: a for a in output.articles}
        rejects = {r.input: r for r in output.rejects}
        for slot in slots:
            if isinstance(slot, dict):
                yield slot
            elif slot.input in articles and slot.input not in rejects:
                yield contract_record(articles[slot.input], output, min_confidence)
            else:
                reject = rejects.get(slot.input)
                reason = f"{reject.step}: {reject.reason}" if reject else "not processed"
                yield {"id": slot.record_id, "error": f"{slot.input}: {reason}"}


def _guess_id(line: str) -> str | None:

    try:
        value = json.loads(line)
        return str(value["id"]) if isinstance(value, dict) and "id" in value else None
    except (ValueError, KeyError, RecursionError):
        return None
