"""Loading one processed batch: de-duplication against the warehouse, then one commit per table."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from transforms.records import BatchOutput
from warehouse import tables
from warehouse.store import Warehouse


@dataclass
class LoadCounts:
    """What happened to a batch's inputs. `loaded` and `skipped` articles are written; skipped ones
    (other languages) without extraction. `unchanged` were already stored with the same text,
    `duplicate` repeat the text of another article."""

    loaded: int = 0
    unchanged: int = 0
    duplicate: int = 0
    skipped: int = 0
    rejected: int = 0

    def add(self, other: "LoadCounts") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def load_batch(
    warehouse: Warehouse, batch: BatchOutput, run_id: str, now: datetime, reprocess: bool = False
) -> LoadCounts:
    """Write a batch. Re-loading the same inputs changes nothing; a changed article replaces its rows.
    With `reprocess`, unchanged articles are written again too (new extraction, same ids).

    Child tables are written before `articles`: an article row is the commit mark of its batch,
    so a run killed in between re-processes that article next time instead of skipping it.
    """
    counts = LoadCounts()
    stored = warehouse.lookup(
        "articles", "article_id", [a.article_id for a in batch.articles], ["article_id", "content_hash", "run_id"]
    )
    stored_hash = dict(zip(stored.column("article_id").to_pylist(), stored.column("content_hash").to_pylist()))
    # Stored by an earlier batch of this same run: a repeat within the run's inputs, so a duplicate.
    this_run = {
        i for i, r in zip(stored.column("article_id").to_pylist(), stored.column("run_id").to_pylist()) if r == run_id
    }
    by_hash = warehouse.lookup(
        "articles", "content_hash", [a.content_hash for a in batch.articles], ["article_id", "content_hash"]
    )
    owner_of_hash = dict(zip(by_hash.column("content_hash").to_pylist(), by_hash.column("article_id").to_pylist()))

    fresh = []
    batch_ids: set[str] = set()
    for article in batch.articles:
        if article.article_id in this_run:
            counts.duplicate += 1
        elif stored_hash.get(article.article_id) == article.content_hash and not reprocess:
            counts.unchanged += 1
        elif (
            article.article_id in batch_ids
            or owner_of_hash.setdefault(article.content_hash, article.article_id) != article.article_id
        ):
            counts.duplicate += 1
        else:
            fresh.append(article)
            batch_ids.add(article.article_id)
            if article.skipped_reason:
                counts.skipped += 1
            else:
                counts.loaded += 1
    ids = {a.article_id for a in fresh}
    by_id = {a.article_id: a for a in fresh}
    published = {a.article_id: a.published for a in fresh}
    if fresh:
        replace = sorted(ids)
        warehouse.replace(
            "actor_mentions",
            tables.actor_mentions_table([m for m in batch.actor_mentions if m.article_id in ids], published),
            replace,
            run_id,
        )
        warehouse.replace(
            "event_mentions",
            tables.event_mentions_table([e for e in batch.event_mentions if e.article_id in ids], by_id),
            replace,
            run_id,
        )
        warehouse.replace(
            "quotes", tables.quotes_table([q for q in batch.quotes if q.article_id in ids], published), replace, run_id
        )
        warehouse.replace("articles", tables.articles_table(fresh, run_id, now), replace, run_id)

    counts.rejected = len(batch.rejects)
    if batch.rejects:
        # A reject already stored with the same reason keeps its first sighting (same query results on re-runs).
        rejects = tables.rejects_table(batch.rejects, run_id, now)
        known = warehouse.lookup(
            "rejects", "reject_id", rejects.column("reject_id").to_pylist(), ["reject_id", "reason"]
        )
        seen = set(zip(known.column("reject_id").to_pylist(), known.column("reason").to_pylist()))
        keep = [
            i
            for i, pair in enumerate(zip(rejects.column("reject_id").to_pylist(), rejects.column("reason").to_pylist()))
            if pair not in seen
        ]
        # Only the first of repeated rejects within the batch is written.
        first: dict[str, int] = {}
        for i in keep:
            first.setdefault(rejects.column("reject_id")[i].as_py(), i)
        if first:
            new = rejects.take(sorted(first.values()))
            warehouse.replace("rejects", new, new.column("reject_id").to_pylist(), run_id)
    return counts


def record_run(
    warehouse: Warehouse,
    run_id: str,
    flow: str,
    parameters: dict,
    started: datetime,
    finished: datetime,
    counts: dict[str, int],
) -> None:
    warehouse.replace("runs", tables.run_table(run_id, flow, parameters, started, finished, counts), [run_id], run_id)


def known_actors(warehouse: Warehouse) -> dict[str, tuple[str | None, str | None]]:
    """Coded people already in the warehouse, by name and by surname: name -> (country, code),
    each the one most often given to that name.

    Consulted when an article names someone bare ("Kishida") with nothing in the text to code them.
    A surname shared by two coded people is left out. The mentions are scanned a batch at a
    time, so memory follows the number of people, not of mentions.
    """
    countries: defaultdict[str, Counter] = defaultdict(Counter)
    codes: defaultdict[str, Counter] = defaultdict(Counter)
    people = (pc.field("type") == "PERSON") & pc.field("code").is_valid()
    for batch in warehouse.scan("actor_mentions", ["name", "country", "code"], people):
        counted = pa.Table.from_batches([batch]).group_by(["name", "country", "code"]).aggregate([([], "count_all")])
        for name, country, code, count in zip(
            *(counted.column(c).to_pylist() for c in ("name", "country", "code", "count_all"))
        ):
            countries[name][country] += count
            codes[name][code] += count
    known = {name: (_most_common(countries[name]), _most_common(codes[name])) for name in codes}
    surnames: dict[str, set] = {}
    for name, coding in list(known.items()):
        if " " in name:
            surnames.setdefault(name.split()[-1], set()).add(coding)
    for surname, codings in surnames.items():
        if len(codings) == 1 and surname not in known:
            known[surname] = next(iter(codings))
    return known


def _most_common(counts: Counter) -> str | None:
    """The most frequent non-null value (the smallest of those tied), or None."""
    ranked = sorted(((-n, v) for v, n in counts.items() if v is not None))
    return ranked[0][1] if ranked else None
