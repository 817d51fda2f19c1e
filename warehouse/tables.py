"""A batch's records as Arrow tables in the schemas of warehouse.schema."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

import pyarrow as pa

from transforms.records import ActorMention, ActorRef, Article, EventMention, Quote, Reject
from warehouse.schema import TABLES


def _ref(ref: ActorRef | None) -> dict | None:
    # Spelled out: dataclasses.asdict deep-copies every field and was most of a batch's load time.
    if ref is None:
        return None
    return {"name": ref.name, "code": ref.code, "country": ref.country, "text": ref.text, "actor_id": ref.actor_id}


def _table(name: str, rows: list[dict]) -> pa.Table:
    schema = TABLES[name].schema
    return pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()


def reject_id(input: str, step: str) -> str:
    return hashlib.sha256(f"{input}\x00{step}".encode("utf-8")).hexdigest()[:20]


def event_id(event_date: date | None, source: ActorRef | None, target: ActorRef | None, cameo: str) -> str:
    """One id per distinct (date, source, target, code), as GDELT keys its events table."""
    basis = "\x00".join(
        [
            event_date.isoformat() if event_date else "",
            (source.code or source.name) if source else "",
            (target.code or target.name) if target else "",
            cameo,
        ]
    )
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:20]


def articles_table(articles: list[Article], run_id: str, now: datetime) -> pa.Table:
    return _table(
        "articles",
        [
            {
                "article_id": a.article_id,
                "url": a.url,
                "site": a.site,
                "title": a.title,
                "author": a.author,
                "published": a.published,
                "language": a.language,
                "text": a.text,
                "content_hash": a.content_hash,
                "source_path": a.input,
                "skipped_reason": a.skipped_reason,
                "run_id": run_id,
                "ingested_at": now,
            }
            for a in articles
        ],
    )


def rejects_table(rejects: list[Reject], run_id: str, now: datetime) -> pa.Table:
    return _table(
        "rejects",
        [
            {
                "reject_id": reject_id(r.input, r.step),
                "input": r.input,
                "step": r.step,
                "reason": r.reason,
                "run_id": run_id,
                "at": now,
            }
            for r in rejects
        ],
    )


def run_table(
    run_id: str, flow: str, parameters: dict, started: datetime, finished: datetime, counts: dict[str, int]
) -> pa.Table:
    return _table(
        "runs",
        [
            {
                "run_id": run_id,
                "flow": flow,
                "parameters": json.dumps(parameters, default=str, sort_keys=True),
                "started": started,
                "finished": finished,
                "counts": counts,
            }
        ],
    )


def actor_mentions_table(mentions: list[ActorMention], published: dict[str, date | None]) -> pa.Table:
    return _table(
        "actor_mentions",
        [
            {
                "article_id": m.article_id,
                "sentence": m.sentence,
                "start": m.start,
                "end": m.end,
                "text": m.text,
                "actor_id": m.actor_id,
                "name": m.name,
                "code": m.code,
                "country": m.country,
                "type": m.type,
                "role": m.role,
                "confidence": m.confidence,
                "published": published.get(m.article_id),
            }
            for m in mentions
        ],
    )


def event_mentions_table(events: list[EventMention], articles: dict[str, Article]) -> pa.Table:
    rows = []
    for e in events:
        article = articles[e.article_id]
        rows.append(
            {
                "event_id": event_id(e.date, e.source, e.target, e.cameo),
                "article_id": e.article_id,
                "sentence": e.sentence,
                "start": e.start,
                "end": e.end,
                "event_date": e.date,
                "source": _ref(e.source),
                "target": _ref(e.target),
                "cameo": e.cameo,
                "cameo_root": e.cameo[:2],
                "plover": e.plover,
                "quad_class": e.quad_class,
                "goldstein": e.goldstein,
                "location": e.location,
                "location_country": e.location_country,
                "latitude": e.latitude,
                "longitude": e.longitude,
                "evidence": e.evidence,
                "trigger": e.trigger,
                "confidence": e.confidence,
                "site": article.site,
                "url": article.url,
                "published": article.published,
            }
        )
    return _table("event_mentions", rows)


def quotes_table(quotes: list[Quote], published: dict[str, date | None]) -> pa.Table:
    return _table(
        "quotes",
        [
            {
                "article_id": q.article_id,
                "sentence": q.sentence,
                "speaker": _ref(q.speaker),
                "text": q.text,
                "published": published.get(q.article_id),
            }
            for q in quotes
        ],
    )
