"""The `nightly` flow: read feeds, sitemaps and URL lists, fetch the articles not seen before, load them.

Fetches run as Prefect tasks on a thread pool (I/O-bound; transient failures retried with
backoff); the fetched pages go through `run_batches` like any other input. What was fetched is
kept in the `fetch_state` table, written after the pages are loaded, so a killed run re-fetches
rather than loses them, and a re-run fetches nothing it already has.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from logging import Logger, LoggerAdapter
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import State, flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.artifacts import publish_run_summary
from flows.sources import state
from flows.sources.feeds import Link, parse_feed, read_url_list
from flows.sources.fetch import Fetched, FetchError, Fetcher, FetchRefused, FetchTransient, gunzip_capped
from flows.api import prefect_api
from flows.runs import new_run_id, run_summary, warehouse_for
from flows.stopping import stops_at_batch_boundaries
from flows.ingest import run_batches
from flows.runners import processing_runner
from flows.settings import Settings, load_settings, load_sources
from transforms.clean import canonical_url, failure_reason
from transforms.errors import ConfigError, InputError
from transforms.records import RawDocument, Reject
from transforms.urls import host_of

if TYPE_CHECKING:
    from warehouse.store import Warehouse

# Warehouse modules are imported where they are used (see flows/__init__.py).


def _transient(task: object, task_run: object, state_: State) -> bool:
    """Retry only failures worth retrying: a 404 or a robots.txt refusal would only repeat."""
    try:
        state_.result()
    except FetchTransient:
        return True
    except Exception:
        return False
    return False


@task(name="fetch", cache_policy=NO_CACHE, retry_condition_fn=_transient)
def fetch_url(
    fetcher: Fetcher,
    url: str,
    accept: tuple[str, ...] | None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """One GET through the shared fetcher (guard, robots.txt, per-host limits, caps)."""
    return fetcher.fetch(url, accept, etag, last_modified)


@dataclass(frozen=True, slots=True)
class _Request:
    url: str
    kind: str  # "feed", "sitemap" or "article"
    previous: state.FetchState | None
    link: Link | None = None
    depth: int = 0


def _by_host(requests: list[_Request]) -> list[_Request]:
    """Round-robin over hosts, so the fetch threads are not all queued behind one slow host."""
    queues: dict[str, deque[_Request]] = {}
    for request in requests:
        queues.setdefault(host_of(request.url) or "", deque()).append(request)
    ordered = []
    while queues:
        for host in list(queues):
            ordered.append(queues[host].popleft())
            if not queues[host]:
                del queues[host]
    return ordered


class Crawl:
    """One nightly crawl: its fetches, the documents and rejects they give, and the state to save."""

    def __init__(
        self,
        settings: Settings,
        fetcher: Fetcher,
        runner: ThreadPoolTaskRunner[Fetched],
        warehouse: Warehouse,
        run_id: str,
        logger: Logger | LoggerAdapter,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.runner = runner
        self.warehouse = warehouse
        self.run_id = run_id
        self.logger = logger
        self.states: list[state.FetchState] = []
        self.counts: Counter[str] = Counter()
        f = settings.fetch
        self.task = fetch_url.with_options(
            retries=f.retries,
            retry_delay_seconds=exponential_backoff(f.retry_delay_seconds),
            # None (no jitter) is what Task() itself takes; with_options' annotation leaves it out.
            retry_jitter_factor=0.5 if f.retry_delay_seconds else None,  # type: ignore[arg-type]
        )

    # --- fetching --------------------------------------------------------------------------

    def _fetch_all(
        self, requests: Iterable[_Request], accept: tuple[str, ...]
    ) -> Iterator[tuple[_Request, Fetched | FetchError]]:
        """Results in request order, with at most a window of fetches in flight."""
        window: deque = deque()
        limit = self.settings.fetch.concurrency * 2

        def oldest():
            request, future = window.popleft()
            try:
                return request, future.result()
            except FetchError as exc:
                return request, exc
            except Exception as exc:  # noqa: BLE001 - one hostile link must not stop the crawl
                return request, FetchRefused(failure_reason(exc), url=request.url)

        for request in requests:
            previous = request.previous
            window.append(
                (
                    request,
                    self.runner.submit(
                        self.task,
                        {
                            "fetcher": self.fetcher,
                            "url": request.url,
                            "accept": accept,
                            "etag": previous.etag if previous else None,
                            "last_modified": previous.last_modified if previous else None,
                        },
                    ),
                )
            )
            if len(window) >= limit:
                yield oldest()
        while window:
            yield oldest()

    def _record(self, request: _Request, result: Fetched | FetchError, done: bool) -> None:
        previous = request.previous
        attempts = (previous.attempts if previous and not previous.done else 0) + 1
        status: int | None  # none when the request got no HTTP response
        if isinstance(result, Fetched):
            etag = result.etag or (previous.etag if result.not_modified and previous else None)
            modified = result.last_modified or (previous.last_modified if result.not_modified and previous else None)
            status, error, at = result.status, None, result.fetched_at
        else:
            # A failed fetch keeps the validators it had, so the next conditional GET still works.
            etag = previous.etag if previous else None
            modified = previous.last_modified if previous else None
            status, error, at = result.status, result.reason, datetime.now(timezone.utc)
        if not done and attempts >= self.settings.fetch.max_attempts:
            done = True
        self.states.append(
            state.FetchState(request.url, request.kind, status, etag, modified, error, attempts, done, self.run_id, at)
        )

    # --- feeds and sitemaps ----------------------------------------------------------------

    def _read_feeds(self, feeds: list[str], sitemaps: list[str], links: dict[str, Link]) -> Iterator[Reject]:
        f = self.settings.fetch
        known = state.lookup(self.warehouse, [*feeds, *sitemaps])
        queue = [_Request(u, "feed", known.get(u)) for u in dict.fromkeys(feeds)]
        queue += [_Request(u, "sitemap", known.get(u)) for u in dict.fromkeys(sitemaps) if u not in feeds]
        seen = {r.url for r in queue}
        while queue:
            children: list[str] = []
            depth_of = {}
            for request, result in self._fetch_all(queue, tuple(f.feed_types)):
                if isinstance(result, FetchError):
                    self.counts["feeds_failed"] += 1
                    self._record(request, result, done=True)
                    yield Reject(request.url, f"fetch {request.kind}", result.reason)
                    continue
                if result.not_modified:
                    self.counts["feeds_not_modified"] += 1
                    self._record(request, result, done=True)
                    continue
                try:
                    body = result.body or b""
                    if body[:2] == b"\x1f\x8b":
                        body = gunzip_capped(body, f.max_bytes)
                    content = parse_feed(body, request.url)
                except Exception as exc:  # noqa: BLE001 - InputError, FetchError or anything a hostile feed raises
                    reason = exc.reason if isinstance(exc, InputError) else failure_reason(exc)
                    self.counts["feeds_failed"] += 1
                    # Without its validators the feed is read in full next time, not answered with a 304.
                    self._record(
                        request,
                        Fetched(result.url, result.final_url, result.status, None, None, None, None, None),
                        done=True,
                    )
                    yield Reject(request.url, "parse feed", reason)
                    continue
                yield from content.rejects
                self.counts["feeds_read"] += 1
                self._record(request, result, done=True)
                for link in content.links[: f.max_links_per_source]:
                    links.setdefault(canonical_url(link.url) or link.url, link)
                if request.depth < f.max_sitemap_depth:
                    for child in content.sitemaps[: f.max_links_per_source]:
                        if child not in seen:
                            seen.add(child)
                            children.append(child)
                            depth_of[child] = request.depth + 1
            known = state.lookup(self.warehouse, children)
            queue = [_Request(u, "sitemap", known.get(u), depth=depth_of[u]) for u in children]

    # --- articles --------------------------------------------------------------------------

    def documents(self, feeds: list[str], sitemaps: list[str], url_lists: list[Path]) -> Iterator[RawDocument | Reject]:
        """Rejects of unreadable sources, then the new articles as raw documents (or rejects)."""
        f = self.settings.fetch
        links: dict[str, Link] = {}
        yield from self._read_feeds(feeds, sitemaps, links)
        for path in url_lists:
            listed, rejects = read_url_list(path)
            yield from rejects
            for link in listed[: f.max_links_per_source]:
                links.setdefault(canonical_url(link.url) or link.url, link)
        pending = state.pending_articles(self.warehouse, f.max_attempts)
        for url in pending:
            links.setdefault(url, Link(url))
        known = state.lookup(self.warehouse, list(links))
        requests = [
            _Request(key, "article", known.get(key), link)
            for key, link in links.items()
            if not (known.get(key) and known[key].done)
        ]
        self.counts["links"] = len(links)
        self.counts["new_links"] = len(requests)
        self.logger.info(
            "nightly: %d links, %d to fetch (%d retried)",
            len(links),
            len(requests),
            sum(1 for r in requests if r.previous),
        )
        for request, result in self._fetch_all(_by_host(requests), tuple(f.article_types)):
            if isinstance(result, FetchError):
                self.counts["fetch_failed"] += 1
                self._record(request, result, done=result.permanent)
                yield Reject(request.url, "fetch", result.reason)
            elif result.not_modified:
                self.counts["not_modified"] += 1
                self._record(request, result, done=True)
            else:
                self.counts["fetched"] += 1
                self._record(request, result, done=True)
                yield RawDocument(
                    input=request.url,
                    data=result.text_or_bytes(),
                    kind="text" if result.media_type == "text/plain" else "html",
                    url=result.final_url,
                    capture_date=result.fetched_at.date(),
                    fallback_date=request.link.published if request.link else None,
                )

    def save(self) -> None:
        state.save(self.warehouse, self.states)


def _configured(
    settings: Settings, feeds: list[str] | None, sitemaps: list[str] | None, url_lists: list[str] | None
) -> tuple[list[str], list[str], list[Path]]:
    if feeds or sitemaps or url_lists:
        return list(feeds or []), list(sitemaps or []), [Path(p) for p in url_lists or []]
    sources = load_sources(settings)
    if not (sources.feeds or sources.sitemaps or sources.url_lists):
        raise ConfigError(
            str(settings.sources.file),
            "nightly",
            "no feeds, sitemaps or URL lists are configured",
            "add them to the sources file or pass --feed URL",
        )
    return list(sources.feeds), list(sources.sitemaps), list(sources.url_lists)


@flow(name="nightly")
def nightly(
    feeds: list[str] | None = None,
    sitemaps: list[str] | None = None,
    url_lists: list[str] | None = None,
    allow_private: bool | None = None,
    data_dir: str | None = None,
    config: str | None = None,
) -> dict:
    """Fetch and load the articles of the given (else the configured) feeds, sitemaps and URL lists."""
    from warehouse.load import record_run
    from warehouse.views import write_views_script

    logger = get_run_logger()
    settings = load_settings(config, data_dir)
    feeds, sitemaps, url_files = _configured(settings, feeds, sitemaps, url_lists)
    w = settings.warehouse
    warehouse = warehouse_for(settings)
    run_id = new_run_id()
    started = datetime.now(timezone.utc)
    with stops_at_batch_boundaries(), warehouse.lock(f"nightly run {run_id}", on_wait=logger.warning):
        io_runner: ThreadPoolTaskRunner[Fetched] = ThreadPoolTaskRunner(max_workers=settings.fetch.concurrency)
        with (
            Fetcher(settings.fetch, allow_private) as fetcher,
            io_runner as io,
            processing_runner(settings) as cpu,
        ):
            crawl = Crawl(settings, fetcher, io, warehouse, run_id, logger)
            counts = run_batches(settings, crawl.documents(feeds, sitemaps, url_files), run_id, logger, runner=cpu)
            crawl.save()
        summary = run_summary(counts)
        parameters = {"feeds": feeds, "sitemaps": sitemaps, "url_lists": [str(p) for p in url_files]}
        record_run(warehouse, run_id, "nightly", parameters, started, datetime.now(timezone.utc), summary)
        warehouse.compact_if_needed(w.compact_after_files, w.compact_retention_hours)
        write_views_script(warehouse, settings.events.min_confidence)
    fetch_counts = {
        k: crawl.counts.get(k, 0)
        for k in (
            "feeds_read",
            "feeds_not_modified",
            "feeds_failed",
            "links",
            "new_links",
            "fetched",
            "not_modified",
            "fetch_failed",
        )
    }
    logger.info("nightly %s: %s", run_id, ", ".join(f"{k} {v}" for k, v in {**fetch_counts, **summary}.items()))
    publish_run_summary("nightly", run_id, {**fetch_counts, **summary}, settings, logger)
    return {"run_id": run_id, "data_dir": w.location, **summary, **fetch_counts}


def run_nightly(
    feeds: list[str] | None,
    sitemaps: list[str] | None,
    url_lists: list[str] | None,
    allow_private: bool | None,
    settings_path: str | None,
    data_dir: str | None,
) -> dict:
    """Run the nightly flow from the command line (a temporary Prefect server when none is configured)."""
    settings = load_settings(settings_path, data_dir)
    _configured(settings, feeds, sitemaps, url_lists)  # fail before starting a flow run
    with prefect_api():
        return nightly(
            feeds=feeds,
            sitemaps=sitemaps,
            url_lists=url_lists,
            allow_private=allow_private,
            data_dir=settings.warehouse.location,
            config=settings_path,
        )
