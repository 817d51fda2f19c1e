"""Benchmark: `eventlake backfill` against its floor, on the same real-size news pages.

The floor is what the two libraries the pipeline is built on need for those pages in one
process: trafilatura's `extract` on each page, then the spaCy model's `nlp.pipe` over the texts
(the model as shipped, every component it enables). Model loading and archive reading are left
out of the floor and kept in the backfill, so the ratio errs against us.

Prints, for one WARC: the floor, the backfill's wall time and records/s, their ratio, the peak
memory of the backfill's whole process tree (flow, temporary Prefect server, workers), CPU
seconds by process, and CPU seconds by stage of our pipeline in one process.

Pages: the 54 real pages of ../shared/eval/extraction when that folder is there (repeated under
distinct URLs, each copy with one line of its own so no two are duplicates), else pages built
from the project's own training articles, about the size of a real page (4-5 KB of text in
200 KB of markup).

    .venv/bin/python tests/bench_floor.py [--records 540] [--workers N] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
SHARED_PAGES = REPO.parent / "shared" / "eval" / "extraction" / "input.jsonl"
TRAINING = REPO / "config" / "training" / "events"
MIB = 2**20


def real_pages(records: int) -> list[tuple[str, str]]:
    """(url, html) of the shared real pages, repeated to `records` pages. Each copy after the first
    changes a word or a few ("the" to "this"), so its text (and content hash) is new and
    it is loaded as an article of its own, at the cost of parsing the same page."""
    base = [json.loads(line) for line in SHARED_PAGES.read_text(encoding="utf-8").splitlines() if line.strip()]
    pages = []
    for number in range(records):
        page = base[number % len(base)]
        copy = number // len(base)
        html = page["html"]
        if copy:
            # Copy k changes the places given by the bits of k, so a few places make many copies.
            places = list(re.finditer(r"<p[ >][^<]* the ", html)) or list(
                re.finditer(r"<(?:div|span)[ >][^<]* the ", html)
            )
            for bit, match in reversed(list(enumerate(places[:12]))):
                if copy >> bit & 1:
                    at = match.end() - len(" the ")
                    html = html[:at] + " this " + html[at + len(" the ") :]
        url = page.get("url") or f"https://news.example.org/story-{number}.html"
        pages.append((f"{url.rstrip('/')}?copy={copy}", html))
    return pages


def generated_pages(records: int) -> list[tuple[str, str]]:
    """(url, html) of pages built from the training articles: three articles' paragraphs per page
    (about a real page's text) inside a real page's weight of menus, scripts and links."""
    from bench_backfill import SCRIPT, SECTIONS, STYLE

    articles = []
    for path in sorted(TRAINING.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            paragraphs = [" ".join(s["text"] for s in paragraph) for paragraph in record.get("paragraphs", [])]
            if paragraphs:
                articles.append((record.get("title") or paragraphs[0][:80], paragraphs))
    menu = "".join(f"<li><a href='/{s.lower()}/{n}'>{s} {n}</a></li>" for s in SECTIONS for n in range(12))
    footer = "".join(f"<a href='/about/{n}'>About page {n}</a> " for n in range(60))
    pages = []
    for number in range(records):
        parts = [articles[(number * 3 + k) % len(articles)] for k in range(3)]
        title = parts[0][0]
        body = "".join(f"<p>{escape(p)}</p>" for _, paragraphs in parts for p in paragraphs)
        related = "".join(
            f"<li><a href='/world/{number}-{k}.html'>{escape(t)}</a></li>" for k, (t, _) in enumerate(articles[:40])
        )
        html = (
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE * 3}</style><script>{SCRIPT * 2}</script></head><body><header><nav><ul>{menu}</ul>"
            f"</nav></header><main><article><h1>{escape(title)}</h1>{body}<p>Archive item {number}.</p></article>"
            f"<aside><ol>{related}</ol></aside></main><footer>{footer}</footer><script>{SCRIPT * 2}</script>"
            "</body></html>"
        )
        pages.append((f"https://news.example.org/world/story-{number}.html", html))
    return pages


def build_warc(path: Path, pages: list[tuple[str, str]]) -> None:
    """One gzipped response record per page, crawled over one day (as CC-NEWS archives are)."""
    from warcio.warcwriter import WARCWriter

    from bench_backfill import write_response

    crawl_start = datetime(2024, 3, 30)
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for number, (url, html) in enumerate(pages):
            captured = crawl_start + timedelta(seconds=number * 86_400 // max(len(pages), 1))
            write_response(writer, url, html.encode("utf-8"), captured)


def read_warc(path: Path) -> list[tuple[str, str]]:
    from warcio.archiveiterator import ArchiveIterator

    pages = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type == "response":
                url = record.rec_headers.get_header("WARC-Target-URI")
                pages.append((url, record.content_stream().read().decode("utf-8", "replace")))
    return pages


def floor(warc: Path) -> dict:
    """trafilatura + nlp.pipe alone, in this process (run in a child of its own)."""
    import spacy
    import trafilatura

    from flows.settings import load_settings

    pages = read_warc(warc)
    nlp = spacy.load(load_settings().nlp.model)
    for _ in nlp.pipe(["A warm-up sentence."]):
        pass
    started, cpu = time.perf_counter(), time.process_time()
    texts = [trafilatura.extract(html, url=url) or "" for url, html in pages]
    cleaned = time.perf_counter()
    tokens = sum(len(doc) for doc in nlp.pipe(texts))
    return {
        "pages": len(pages),
        "trafilatura_s": cleaned - started,
        "nlp_pipe_s": time.perf_counter() - cleaned,
        "floor_s": time.perf_counter() - started,
        "floor_cpu_s": time.process_time() - cpu,
        "tokens": tokens,
        "text_chars": sum(map(len, texts)),
    }


def stages(warc: Path, limit: int) -> dict:
    """CPU seconds of our own pipeline by stage, one process, on the first `limit` pages."""
    from flows import resources
    from flows.settings import load_settings
    from transforms.clean import clean_documents
    from transforms.records import RawDocument

    settings = load_settings()
    extractor = resources.extractor_for(settings)
    options = resources.cleaning_options(settings)
    pages = read_warc(warc)[:limit]
    documents = [RawDocument(input=url, data=html, kind="html", url=url) for url, html in pages]
    clean_documents(documents[:1], options)  # loads the language model
    extractor.extract([])
    cpu = time.process_time()
    articles, _ = clean_documents(documents, options)
    articles = [a for a in articles if a.skipped_reason is None]
    cleaned = time.process_time()
    pipe = TimedPipe(extractor.nlp)
    extractor.nlp = pipe
    extractor.extract(articles)
    extracted = time.process_time()
    return {
        "pages": len(pages),
        "clean_s": cleaned - cpu,
        "nlp_s": pipe.seconds,
        "coding_s": extracted - cleaned - pipe.seconds,
    }


class TimedPipe:
    """The spaCy pipeline, counting the CPU time spent producing docs (the rest of extraction is coding)."""

    def __init__(self, nlp) -> None:
        self.nlp = nlp
        self.seconds = 0.0

    def __getattr__(self, name: str):
        return getattr(self.nlp, name)

    def pipe(self, texts, **options):
        docs = self.nlp.pipe(texts, **options)
        while True:
            started = time.process_time()
            try:
                doc = next(docs)
            except StopIteration:
                return
            finally:
                self.seconds += time.process_time() - started
            yield doc


def child(mode: str, warc: Path, limit: int = 0) -> dict:
    """Run `floor` or `stages` in a fresh Python process (nothing shared with this one)."""
    out = subprocess.run(
        [sys.executable, __file__, f"--{mode}", str(warc), "--stage-pages", str(limit)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=540)
    parser.add_argument("--workers", type=int, help="ingest.workers for the backfill (default: the settings')")
    parser.add_argument("--pages", choices=("real", "generated"), help="default: real when ../shared is there")
    parser.add_argument("--stage-pages", type=int, default=108, help="pages for the by-stage profile (0: none)")
    parser.add_argument("--keep", type=Path, help="build the archive and data directory here and keep them")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stages", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        print(json.dumps(floor(args.floor)))
        return 0
    if args.stages:
        print(json.dumps(stages(args.stages, args.stage_pages)))
        return 0

    from bench_backfill import bench_config, run_measured

    kind = args.pages or ("real" if SHARED_PAGES.exists() else "generated")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="eventlake-floor-"))
    folder.mkdir(parents=True, exist_ok=True)
    warc = folder / "pages.warc.gz"
    pages = real_pages(args.records) if kind == "real" else generated_pages(args.records)
    build_warc(warc, pages)
    html_kb = sum(len(h) for _, h in pages) / len(pages) / 1000
    print(f"{len(pages)} {kind} pages, {html_kb:.0f} KB of HTML each on average; {os.cpu_count()} cores")

    measured = child("floor", warc)
    print(
        f"floor (trafilatura + nlp.pipe, one process): {measured['floor_s']:.1f} s "
        f"(trafilatura {measured['trafilatura_s']:.1f} s, nlp.pipe {measured['nlp_pipe_s']:.1f} s; "
        f"{measured['tokens']:,} tokens)"
    )

    config = bench_config(folder / "eventlake.toml", args.workers)
    data = folder / "data"
    out, started, finished, memory = run_measured(["backfill", str(warc), "--data", str(data), "--config", str(config)])
    wall = finished - started
    ratio = wall / measured["floor_s"]
    print(out.strip())
    print(
        f"backfill: {wall:.1f} s, {len(pages) / wall:.1f} records/s; ratio to the floor {ratio:.2f}x (target <= 0.8x)"
    )
    print(
        f"peak memory of the process tree: {memory.peak(measure='pss') / MIB:.0f} MiB proportional "
        f"(shared pages counted once), {memory.peak() / MIB:.0f} MiB summed RSS (shared pages counted in every process)"
    )
    print(
        "  peak by process (proportional): "
        + ", ".join(
            f"{role} {memory.peak(role=role, measure='pss') / MIB:.0f} MiB"
            for role in ("flow", "workers", "prefect server", "other")
        )
    )
    cpu = memory.cpu_by_role()
    print("  CPU seconds by process: " + ", ".join(f"{role} {seconds:.0f} s" for role, seconds in sorted(cpu.items())))
    profile = child("stages", warc, args.stage_pages) if args.stage_pages else None
    if profile:
        scale = len(pages) / max(profile["pages"], 1)
        print(
            f"  CPU seconds by stage (our pipeline, one process, {profile['pages']} pages, scaled to {len(pages)}): "
            f"clean (trafilatura, language, dates) {profile['clean_s'] * scale:.0f} s, "
            f"spaCy pipeline {profile['nlp_s'] * scale:.0f} s, "
            f"actor and event coding {profile['coding_s'] * scale:.0f} s"
        )
    if args.json:
        print(
            json.dumps(
                {
                    "pages": len(pages),
                    "kind": kind,
                    **measured,
                    "backfill_s": wall,
                    "records_per_s": len(pages) / wall,
                    "ratio": ratio,
                    "peak_pss_mib": memory.peak(measure="pss") / MIB,
                    "peak_rss_mib": memory.peak() / MIB,
                    "cpu_by_process": cpu,
                    "stages": profile,
                }
            )
        )
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
