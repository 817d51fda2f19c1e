"""The `ingest` flow: read sources in batches, process them on the settings' task runner, load each batch."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from logging import Logger, LoggerAdapter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.sources import files
from flows.artifacts import publish_run_summary
from flows.api import prefect_api
from flows.runs import new_run_id, run_summary, warehouse_for
from flows.processing import clean_and_extract
from flows.memory import keep_warehouse_writes_lean, return_freed_memory
from flows.runners import processing_runner, workers
from flows.settings import Settings, load_settings
from flows.stopping import stop_requested, stops_at_batch_boundaries
from transforms.records import BatchOutput, RawDocument, Reject

if TYPE_CHECKING:
    from rich.console import Console

    from warehouse.load import LoadCounts

# Warehouse modules are imported where they are used (see flows/__init__.py).


@task(name="load-batch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def load(settings: Settings, batch: BatchOutput, run_id: str, reprocess: bool = False) -> LoadCounts:
    """Write one batch; safe to retry because writes replace rather than append."""
    from warehouse.load import load_batch

    try:
        return load_batch(warehouse_for(settings), batch, run_id, datetime.now(timezone.utc), reprocess=reprocess)
    finally:
        return_freed_memory()


def _batches(
    items: Iterable[RawDocument | Reject], size: int, max_bytes: int | None = None
) -> Iterator[tuple[list[RawDocument], list[Reject]]]:
    """Batches of `size` documents, or fewer once they hold `max_bytes`; rejects met while reading
    travel with the next batch."""
    documents: list[RawDocument] = []
    rejects: list[Reject] = []
    held = 0
    # A stop (Ctrl-C, SIGTERM) is checked before each item is read: nothing is read that is not
    # then processed and loaded, so a nightly run never records as fetched a page it did not load.
    for item in _until_stopped(items):
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        documents.append(item)
        held += len(item.data)
        if len(documents) >= size or (max_bytes is not None and held >= max_bytes):
            yield documents, rejects
            documents, rejects, held = [], [], 0
    if documents or rejects:
        yield documents, rejects


def _until_stopped(items: Iterable[RawDocument | Reject]) -> Iterator[RawDocument | Reject]:
    iterator = iter(items)
    while not stop_requested():
        try:
            yield next(iterator)
        except StopIteration:
            return


class _Progress:
    """Progress on a terminal (a rich bar with the total where it is known, rate and ETA), a log
    line per batch elsewhere. While the bar is shown, Prefect's console log lines are printed
    through the bar's console, above it, so they do not tear it."""

    def __init__(
        self, logger: Logger | LoggerAdapter, total: int | None = None, console: Console | None = None
    ) -> None:
        self.logger = logger
        self.total = total
        self.started = datetime.now(timezone.utc)
        self.bar = None
        self._handlers: list = []
        if console is not None or sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            columns = [SpinnerColumn(), TextColumn("ingest")]
            if total is not None:
                columns += [BarColumn(), MofNCompleteColumn(), TextColumn("ETA"), TimeRemainingColumn()]
            columns += [TextColumn("{task.description}"), TimeElapsedColumn()]
            self.bar = Progress(*columns, console=console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=total)
            self._handlers = [(h, h.console) for h in _prefect_console_handlers()]
            for handler, _ in self._handlers:
                handler.console = self.bar.console

    def update(self, batches: int, documents: int, counts: LoadCounts) -> None:
        seconds = max((datetime.now(timezone.utc) - self.started).total_seconds(), 1e-6)
        rate = documents / seconds
        of_total = f" of {self.total}" if self.total is not None else ""
        text = (
            f"batch {batches}: {documents}{of_total} documents read, {counts.loaded} loaded, "
            f"{counts.rejected} rejected ({rate:.1f} docs/s)"
        )
        if self.bar:
            self.bar.update(
                self.task,
                completed=documents,
                description=f"{counts.loaded} loaded, {counts.rejected} rejected, {rate:.1f} docs/s",
            )
        else:
            if self.total is not None and rate > 0 and documents < self.total:
                text += f", about {(self.total - documents) / rate:.0f} s to go"
            self.logger.info(text)

    def close(self) -> None:
        if self.bar:
            self.bar.stop()
            for handler, console in self._handlers:
                handler.console = console


def _prefect_console_handlers() -> list:
    import logging
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [
        v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)
    ]
    found = {id(h): h for logger in loggers for h in logger.handlers if isinstance(h, PrefectConsoleHandler)}
    return list(found.values())


def count_documents(inputs: list[Path]) -> int | None:
    """How many documents the inputs hold, when that is known without reading them: one per page
    file or reject; unknown (None) when a JSONL file is among them (one document per line)."""
    total = 0
    for item in files.discover(inputs):
        if not isinstance(item, Reject) and files.kind_of(item) == "jsonl":
            return None
        total += 1
    return total


def run_batches(
    settings: Settings,
    items: Iterable[RawDocument | Reject],
    run_id: str,
    logger: Logger | LoggerAdapter,
    runner: TaskRunner | None = None,
    reprocess: bool = False,
    total: int | None = None,
) -> LoadCounts:
    """Submit batches to `runner` (default: the flow's task runner), a bounded number at a time,
    and load them in order."""
    from warehouse.load import LoadCounts, known_actors

    keep_warehouse_writes_lean()
    known = known_actors(warehouse_for(settings))
    totals = LoadCounts()
    in_flight: deque = deque()
    limit = workers(settings) + 1
    progress = _Progress(logger, total)
    documents = batches = 0

    def finish_oldest() -> None:
        nonlocal batches
        future, read_rejects = in_flight.popleft()
        output: BatchOutput = future.result()
        output.rejects[:0] = read_rejects
        totals.add(load(settings, output, run_id, reprocess))
        batches += 1
        progress.update(batches, documents, totals)

    try:
        for batch, read_rejects in _batches(items, settings.ingest.batch_size, settings.ingest.batch_bytes):
            documents += len(batch) + len(read_rejects)
            parameters: dict[str, Any] = {"documents": batch, "settings": settings, "known_actors": known}
            future = runner.submit(clean_and_extract, parameters) if runner else clean_and_extract.submit(**parameters)
            in_flight.append((future, read_rejects))
            if len(in_flight) >= limit:
                finish_oldest()
        while in_flight:
            finish_oldest()
    finally:
        progress.close()
    return totals


# The task runner is the settings' (`run_ingest` passes processing_runner); this is for a bare call.
# Prefect types task_runner as TaskRunner[PrefectFuture], which no concrete runner is (the type is invariant).
@flow(name="ingest", task_runner=ThreadPoolTaskRunner(max_workers=1))  # type: ignore[arg-type]
def ingest(
    paths: list[str] | None = None, data_dir: str | None = None, config: str | None = None, reprocess: bool = False
) -> dict:
    """Ingest local files and folders (the bundled sample corpus when none are given) into the warehouse.
    With `reprocess`, articles already stored unchanged are extracted and written again (after
    a change of model or dictionaries)."""
    from warehouse.load import record_run
    from warehouse.views import write_views_script

    logger = get_run_logger()
    settings = load_settings(config, data_dir)
    inputs = [Path(p) for p in paths] if paths else [settings.ingest.sample_corpus]
    w = settings.warehouse
    warehouse = warehouse_for(settings)
    run_id = new_run_id()
    started = datetime.now(timezone.utc)
    with stops_at_batch_boundaries(), warehouse.lock(f"ingest run {run_id}", on_wait=logger.warning):
        items = files.read_paths(inputs, settings.ingest.max_page_bytes, settings.ingest.max_file_bytes)
        counts = run_batches(settings, items, run_id, logger, reprocess=reprocess, total=count_documents(inputs))
        summary = run_summary(counts)
        record_run(
            warehouse,
            run_id,
            "ingest",
            {"paths": [str(p) for p in inputs], "reprocess": reprocess},
            started,
            datetime.now(timezone.utc),
            summary,
        )
        warehouse.compact_if_needed(w.compact_after_files, w.compact_retention_hours)
        write_views_script(warehouse, settings.events.min_confidence)
    logger.info("ingest %s: %s", run_id, ", ".join(f"{k} {v}" for k, v in summary.items()))
    publish_run_summary("ingest", run_id, summary, settings, logger)
    return {"run_id": run_id, "data_dir": w.location, **summary}


def run_ingest(
    paths: list[str] | None, settings_path: str | None, data_dir: str | None, reprocess: bool = False
) -> dict:
    """Run the ingest flow on the configured compute backend (worker processes or Dask)."""
    settings = load_settings(settings_path, data_dir)
    runner = processing_runner(settings)
    with prefect_api():
        return ingest.with_options(task_runner=runner)(
            paths=paths, data_dir=settings.warehouse.location, config=settings_path, reprocess=reprocess
        )
