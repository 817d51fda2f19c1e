"""Benchmark: backfill a generated WARC of 10,000 response records (gzip per record, like CC-NEWS).

Builds the archive from generated wire stories, runs `eventlake backfill` on it in a child
process, and samples the resident memory of that process and all its descendants (the flow,
the temporary Prefect server, the worker processes). Prints records/s and the peak RSS, and the
peaks of the first and second half of the run, which stay level when memory is flat.

    .venv/bin/python tests/bench_backfill.py [--records 10000] [--workers N] [--batch-size N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

import psutil
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import article_text  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SITES = ["news.example.org", "wire.example.com", "daily.example.net", "herald.example.co.uk"]


SECTIONS = [
    "World",
    "Politics",
    "Business",
    "Markets",
    "Technology",
    "Science",
    "Health",
    "Sport",
    "Culture",
    "Opinion",
    "Travel",
    "Weather",
    "Video",
    "Podcasts",
    "Newsletters",
]
# Stands in for the inline scripts and styles of a real news page (analytics, ad slots, consent banner).
SCRIPT = "window.dataLayer=window.dataLayer||[];" + "".join(
    f"dataLayer.push({{event:'slot_{n}',size:[300,250],targeting:{{section:'world',pos:{n}}}}});" for n in range(120)
)
STYLE = "".join(
    f".c{n}{{margin:{n % 9}px;padding:{n % 7}px;color:#{n * 2654435761 % 16777216:06x}}}" for n in range(300)
)


def page(title: str, body: str, published, rng: random.Random) -> bytes:
    """A page the size and shape of a CC-NEWS record (about 50 KB): scripts, menus, related links
    and a footer around a short article."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in body.split("\n\n"))
    menu = "".join(f"<li><a href='/{s.lower()}/{n}'>{s} {n}</a></li>" for s in SECTIONS for n in range(4))
    related = "".join(
        f"<li><a href='/world/story-{rng.randrange(10**6)}.html'>{escape(t)}</a> "
        f"<span class='time'>{rng.randint(1, 23)} hours ago</span></li>"
        for t in rng.choices(
            [
                "Markets close higher",
                "Storm warning issued for the coast",
                "Cup final goes to extra time",
                "New phone launched",
                "Rail strike called off",
                "Museum reopens after repairs",
            ],
            k=25,
        )
    )
    footer = "".join(f"<a href='/about/{n}'>About page {n}</a> " for n in range(40))
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<meta property='article:published_time' content='{published.isoformat()}'>"
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>"
        f"<header><nav><ul>{menu}</ul></nav><div class='cookie'>We use cookies to improve your "
        f"experience. <button>Accept</button></div></header>"
        f"<main><article><h1>{escape(title)}</h1><div class='byline'>By Staff Reporter</div>"
        f"{paragraphs}</article><aside><h2>Most read</h2><ol>{related}</ol></aside></main>"
        f"<footer>{footer}<p>Copyright Example News. All rights reserved.</p></footer>"
        f"<script>{SCRIPT}</script></body></html>"
    ).encode("utf-8")


def write_response(writer: WARCWriter, url: str, html: bytes, captured: datetime) -> None:
    """One HTML page as a WARC response record, captured at `captured`."""
    http = StatusAndHeaders(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(html)))],
        protocol="HTTP/1.1",
    )
    writer.write_record(
        writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(html),
            http_headers=http,
            warc_headers_dict={"WARC-Date": captured.strftime("%Y-%m-%dT%H:%M:%SZ")},
        )
    )


def bench_config(path: Path, workers: int | None = None, **replacements: tuple[str, str]) -> Path:
    """The repository's settings with paths made absolute (the run starts elsewhere), `workers`
    when given, and any other `old=new` text replacements."""
    text = (
        (REPO / "config" / "eventlake.toml")
        .read_text()
        .replace('sample_corpus = "../samples/articles"', f'sample_corpus = "{REPO / "samples" / "articles"}"')
        .replace('dir = "dictionaries"', f'dir = "{REPO / "config" / "dictionaries"}"')
        .replace(
            'confidence_model = "models/confidence.json"',
            f'confidence_model = "{REPO / "config" / "models" / "confidence.json"}"',
        )
    )
    for old, new in replacements.values():
        text = text.replace(old, new)
    if workers is not None:
        text = re.sub(r"(?m)^workers = \d+", f"workers = {workers}", text)
    path.write_text(text)
    return path


def build_warc(path: Path, records: int, seed: int = 11) -> None:
    """`records` HTML response records crawled over one day, like a CC-NEWS archive: most stories
    were published that day or the days before, a few are weeks old. So most rows land in one
    or two monthly partitions, which grow as the archive is loaded."""
    rng = random.Random(seed)
    crawl_start = datetime(2024, 3, 30, 0, 0)
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "eventlake bench_backfill"}))
        for number in range(records):
            title, body, _ = article_text(rng, number)
            captured = crawl_start + timedelta(seconds=number * 86_400 // records)
            age = rng.choices([0, rng.randint(1, 3), rng.randint(4, 60)], weights=[7, 2, 1])[0]
            published = captured.date() - timedelta(days=age)
            html = page(title, body, published, rng)
            url = f"https://{SITES[number % len(SITES)]}/world/{published:%Y/%m/%d}/story-{number}.html"
            write_response(writer, url, html, captured)


def _role(process: psutil.Process, root: psutil.Process) -> str:
    if process.pid == root.pid:
        return "flow"
    command = " ".join(process.cmdline())
    if "uvicorn" in command or "prefect.server" in command or "prefect server" in command:
        return "prefect server"
    if "spawn_main" in command or "distributed" in command or "flows.workers" in command:
        return "workers"
    return "other"


class TreeMemory:
    """Samples the memory of a process and its descendants in a background thread, by role: the
    resident set (RSS), which counts a page shared by several processes in each of them, and the
    proportional set (PSS), which splits it between them, so that it sums to what the tree uses."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.pss_samples: list[tuple[float, dict[str, int]]] = []
        self.cpu_seconds: dict[int, tuple[str, float]] = {}  # pid -> (role, latest user+system time)
        self.roles: dict[int, str] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            roles: dict[str, int] = {}
            proportional: dict[str, int] = {}
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    # A process keeps the role it was first seen with: an exiting one has no command line.
                    role = self.roles.setdefault(process.pid, _role(process, self.root))
                    memory = process.memory_full_info()
                    roles[role] = roles.get(role, 0) + memory.rss
                    proportional[role] = proportional.get(role, 0) + getattr(memory, "pss", memory.rss)
                    times = process.cpu_times()
                    self.cpu_seconds[process.pid] = role, times.user + times.system
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    pass
            now = time.monotonic()
            self.samples.append((now, roles))
            self.pss_samples.append((now, proportional))
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemory":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.thread.join()

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds used by each role (as last sampled)."""
        totals: dict[str, float] = {}
        for role, seconds in self.cpu_seconds.values():
            totals[role] = totals.get(role, 0.0) + seconds
        return totals

    def medians(self, start: float, end: float, parts: int, role: str) -> list[int]:
        """One role's median RSS in each of `parts` equal slices of start..end: a trend, unlike a
        peak, is not moved by one large batch."""
        step = (end - start) / parts
        slices: list[list[int]] = [[] for _ in range(parts)]
        for at, roles in self.samples:
            if start <= at < end:
                slices[min(int((at - start) / step), parts - 1)].append(roles.get(role, 0))
        return [sorted(values)[len(values) // 2] if values else 0 for values in slices]

    def peak(
        self,
        start: float = 0.0,
        end: float = float("inf"),
        role: str | None = None,
        without: str | None = None,
        measure: str = "rss",
    ) -> int:
        """The highest total (or one role's, or all but one role's) RSS or PSS sampled between
        `start` and `end`."""
        samples = self.pss_samples if measure == "pss" else self.samples
        return max(
            (
                roles.get(role, 0) if role else sum(v for k, v in roles.items() if k != without)
                for at, roles in samples
                if start <= at <= end
            ),
            default=0,
        )


def run_measured(arguments: list[str]) -> tuple[str, float, float, "TreeMemory"]:
    """Run `eventlake ARGUMENTS` in a child process; its stdout, start and end times (monotonic)
    and the memory of its whole process tree. Exits with the command's stderr if it fails."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)  # the command starts its own temporary server, counted in the tree
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *arguments],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with TreeMemory(process.pid) as memory:
        out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(err[-4000:])
    return out, started, time.monotonic(), memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--workers", type=int, help="ingest.workers (0: one per core; default: the settings')")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--backend", choices=("processes", "dask"), default="processes")
    parser.add_argument("--keep", type=Path, help="build the archive and data directory here and keep them")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="eventlake-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    warc = folder / "bench.warc.gz"
    started = time.monotonic()
    build_warc(warc, args.records)
    print(
        f"built {warc} ({args.records:,} response records, {warc.stat().st_size / 1e6:.1f} MB) "
        f"in {time.monotonic() - started:.1f}s"
    )

    config = bench_config(
        folder / "eventlake.toml",
        args.workers,
        batch=("batch_size = 100", f"batch_size = {args.batch_size}"),
        backend=('backend = "processes"', f'backend = "{args.backend}"'),
    )
    data = folder / "data"
    out, started, finished, memory = run_measured(["backfill", str(warc), "--data", str(data), "--config", str(config)])
    seconds = finished - started
    middle = started + seconds / 2
    print(out.strip())
    print(
        f"records: {args.records:,} in {seconds:.1f}s = {args.records / seconds:.1f} records/s "
        f"(workers {args.workers if args.workers is not None else 'as configured'}, batch size {args.batch_size}, "
        f"{os.cpu_count()} cores)"
    )
    mib = 2**20
    print(
        f"peak RSS of the process tree: {memory.peak() / mib:.0f} MiB "
        f"(first half {memory.peak(end=middle) / mib:.0f} MiB, second half {memory.peak(start=middle) / mib:.0f} MiB)"
    )
    print(
        f"peak proportional memory (PSS: shared pages split between the processes sharing them): "
        f"{memory.peak(measure='pss') / mib:.0f} MiB"
    )
    print(
        f"  without the temporary Prefect server (as under `eventlake serve` with a standing server): "
        f"{memory.peak(without='prefect server') / mib:.0f} MiB"
    )
    for label, start, end in (
        ("whole run", 0.0, float("inf")),
        ("first half", 0.0, middle),
        ("second half", middle, float("inf")),
    ):
        print(
            f"  peak by part, {label}: "
            + ", ".join(
                f"{role} {memory.peak(start, end, role=role) / mib:.0f} MiB"
                for role in ("flow", "workers", "prefect server", "other")
            )
        )
    print(
        "  flow RSS by tenth of the run (median): "
        + ", ".join(f"{value / mib:.0f}" for value in memory.medians(started, finished, 10, "flow"))
        + " MiB"
    )
    print(
        "  CPU seconds by part: "
        + ", ".join(f"{role} {seconds:.0f}s" for role, seconds in sorted(memory.cpu_by_role().items()))
    )
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
