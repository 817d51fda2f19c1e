"""Benchmark: warehouse loads stay O(batch) as the table grows.

Loads generated 200-article batches (each article about 3 KB of text with its actor and event
mentions and quotes, as extraction yields them) into one month with `warehouse.load.load_batch`,
timing each load, then compacts. The last line printed is one JSON object:
`first_tenth_ms` / `last_tenth_ms` (median load time per batch in the first and the last tenth of
batches), `files_before_compact`, `files_after_compact`, `peak_rss_mb`.

    .venv/bin/python tests/bench_warehouse.py [--articles 100000] [--batch 200] [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synthetic import COUNTRIES, article_text  # noqa: E402

from transforms.clean import content_hash  # noqa: E402
from transforms.records import ActorMention, ActorRef, Article, BatchOutput, EventMention, Quote  # noqa: E402
from warehouse.load import load_batch  # noqa: E402
from warehouse.store import Warehouse  # noqa: E402

CAMEO = ["036", "042", "043", "057", "112", "163", "172", "190", "0233", "0871"]


def batch(rng: random.Random, start: int, size: int) -> BatchOutput:
    """`size` articles published in April 2024, each with about 12 actor mentions, 4 events, 2 quotes."""
    out = BatchOutput()
    for number in range(start, start + size):
        title, body, _ = article_text(rng, number)
        while len(body) < 3000:
            body += "\n\n" + article_text(rng, number)[1]
        body = body[:3200]
        article_id = hashlib.sha256(f"https://news.example.org/{number}".encode()).hexdigest()[:16]
        published = date(2024, 4, 1 + number % 30)
        out.articles.append(
            Article(
                article_id=article_id,
                input=f"https://news.example.org/{number}",
                text=body,
                content_hash=content_hash(body),
                url=f"https://news.example.org/{number}",
                site="news.example.org",
                title=title,
                language="en",
                published=published,
            )
        )
        refs = []
        for m in range(12):
            country, adjective, capital = rng.choice(COUNTRIES)
            code = country[:3].upper()
            out.actor_mentions.append(
                ActorMention(
                    article_id,
                    m // 3,
                    m * 200,
                    m * 200 + len(country),
                    country,
                    code.lower(),
                    country,
                    code,
                    code,
                    "GPE",
                    0.9,
                )
            )
            refs.append(ActorRef(country, code, code, country, code.lower()))
        for e in range(4):
            out.event_mentions.append(
                EventMention(
                    article_id,
                    e,
                    e * 300,
                    e * 300 + 40,
                    refs[e],
                    refs[e + 4],
                    rng.choice(CAMEO),
                    "CONSULT",
                    1,
                    1.0,
                    published,
                    refs[e + 8].name,
                    refs[e + 8].code,
                    10.0,
                    20.0,
                    body[e * 300 : e * 300 + 180],
                    0.8,
                    "met",
                )
            )
        for q in range(2):
            out.quotes.append(Quote(article_id, q, refs[q], body[q * 500 : q * 500 + 150]))
    return out


def sample_rss(peak: list[float], stop: threading.Event) -> None:
    process = psutil.Process()
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss / 2**20)
        stop.wait(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON line")
    parser.add_argument("--keep", metavar="DIR", help="write the warehouse here and keep it")
    args = parser.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-warehouse-"))
    rng = random.Random(11)
    peak, stop = [0.0], threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(peak, stop), daemon=True)
    sampler.start()
    try:
        warehouse = Warehouse(root)
        times = []
        now = datetime(2024, 5, 1, tzinfo=timezone.utc)
        for start in range(0, args.articles, args.batch):
            work = batch(rng, start, min(args.batch, args.articles - start))
            began = time.perf_counter()
            counts = load_batch(warehouse, work, "bench", now)
            times.append((time.perf_counter() - began) * 1000)
            assert counts.loaded == len(work.articles), counts
            if len(times) % 50 == 0:
                print(f"{start + args.batch} articles: last load {times[-1]:.0f} ms", file=sys.stderr)
        tenth = max(1, len(times) // 10)
        files_before = sum(
            len(warehouse.data_files(t)) for t in ("articles", "actor_mentions", "event_mentions", "quotes")
        )
        began = time.perf_counter()
        warehouse.compact(retention_hours=0)
        compact_s = time.perf_counter() - began
        files_after = sum(
            len(warehouse.data_files(t)) for t in ("articles", "actor_mentions", "event_mentions", "quotes")
        )
    finally:
        stop.set()
        sampler.join()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    figures = {
        "articles": args.articles,
        "batches": len(times),
        "first_tenth_ms": round(statistics.median(times[:tenth]), 1),
        "last_tenth_ms": round(statistics.median(times[-tenth:]), 1),
        "files_before_compact": files_before,
        "files_after_compact": files_after,
        "compact_s": round(compact_s, 1),
        "peak_rss_mb": round(peak[0], 1),
    }
    if not args.json:
        for name, value in figures.items():
            print(f"{name}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
