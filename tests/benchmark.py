"""Benchmark: ingest throughput and peak memory on generated corpora, and the actor stage's speed
next to the bare spaCy model. Prints figures; asserts nothing (timings are not tests).

    .venv/bin/python tests/benchmark.py [--sizes 1000 10000] [--stage-articles 400]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_backfill import run_measured  # noqa: E402
from synthetic import article_text, write_corpus  # noqa: E402


def bench_ingest(size: int, workdir: Path) -> None:
    """`eventlake run` on a generated corpus in a child process, with the default settings; the
    memory is that of its whole process tree (flow, workers, temporary Prefect server)."""
    corpus = write_corpus(workdir / f"corpus-{size}", size, seed=size)
    config = workdir / "bench.toml"
    config.write_text(
        f'[ingest]\nsample_corpus = "{corpus}"\n[dictionaries]\n'
        f'dir = "{REPO / "config" / "dictionaries"}"\n[events]\n'
        f'confidence_model = "{REPO / "config" / "models" / "confidence.json"}"\n'
    )
    data = workdir / f"data-{size}"
    out, started, finished, memory = run_measured(["run", str(corpus), "--data", str(data), "--config", str(config)])
    seconds = finished - started
    summary = (out.strip().splitlines() or [""])[0]
    print(
        f"ingest {size:>6} articles: {seconds:7.1f} s, {size / seconds:6.1f} articles/s, "
        f"peak RSS {memory.peak() / 2**20:6.0f} MiB (whole process tree); {summary}"
    )


def bench_actor_stage(articles: int) -> None:
    """Words/s of the bare model's nlp.pipe and of the actor stage (ruler + NER + resolution) on the same texts."""
    import random

    import spacy

    from flows.resources import extractor_for
    from flows.settings import load_settings

    rng = random.Random(1)
    texts = [article_text(rng, n)[1] for n in range(articles)]
    words = sum(len(t.split()) for t in texts)
    settings = load_settings()
    bare = spacy.load(settings.nlp.model)
    extractor = extractor_for(settings)
    finder = extractor.actor_finder
    for _ in bare.pipe(texts[:20]):
        pass  # warm-up

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        return best

    def bare_pipe() -> None:
        for _ in bare.pipe(texts, batch_size=64):
            pass

    def actor_stage() -> None:
        for doc in extractor.nlp.pipe(texts, batch_size=64):
            mentions = finder.find(doc, 0, 0)
            finder.resolve([(doc, mentions)], None, {})

    def full_extraction() -> None:
        from transforms.records import Article

        batch = [
            Article(article_id=str(i), input=str(i), text=t, content_hash=str(i), language="en")
            for i, t in enumerate(texts)
        ]
        extractor.extract(batch)

    bare_s, actor_s, full_s = timed(bare_pipe), timed(actor_stage), timed(full_extraction)
    print(f"bare nlp.pipe ({settings.nlp.model}): {words / bare_s:8.0f} words/s")
    print(
        f"actor stage (ruler + NER + coding):      {words / actor_s:8.0f} words/s "
        f"= {bare_s / actor_s:.0%} of the bare model"
    )
    print(f"actors + events (one process):           {words / full_s:8.0f} words/s, {articles / full_s:.1f} articles/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--stage-articles", type=int, default=400)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    if args.stage_articles:
        bench_actor_stage(args.stage_articles)
    with tempfile.TemporaryDirectory(prefix="eventlake-bench-") as tmp:
        for size in args.sizes:
            bench_ingest(size, Path(tmp))


if __name__ == "__main__":
    main()
