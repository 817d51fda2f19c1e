"""The `ingest` flow: read sources in batches, process them in worker processes, load each batch."""
from __future__ import annotations

import sys
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner

from flows import sources
from flows.api import prefect_api
from flows.processing import process_batch
from flows.runners import keep_warehouse_writes_lean, processing_runner, return_freed_memory, workers
from flows.settings import Settings, load_settings
from transforms.records import BatchOutput, RawDocument, Reject

if TYPE_CHECKING:
    from warehouse.load import LoadCounts

# Warehouse modules are imported where they are used (see flows/__init__.py).


@task(name="load-batch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def load(settings: Settings, batch: BatchOutput, run_id: str, reprocess: bool = False) -> LoadCounts:
    """Write one batch; safe to retry because writes replace rather than append."""
    from warehouse.load import load_batch
    w = settings.warehouse
    try:
        return load_batch(w.open(), batch, run_id,
                          datetime.now(timezone.utc), reprocess=reprocess)
    finally:
        return_freed_memory()


def _batches(items: Iterable[RawDocument | Reject], size: int) -> Iterator[tuple[list[RawDocument], list[Reject]]]:
    """Batches of `size` documents; rejects met while reading travel with the next batch."""
    documents: list[RawDocument] = []
    rejects: list[Reject] = []
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        documents.append(item)
        if len(documents) >= size:
            yield documents, rejects
            documents, rejects = [], []
    if documents or rejects:
        yield documents, rejects


class _Progress:
    """Progress on a terminal (rich bar), a log line per batch elsewhere."""

    def __init__(self, logger) -> None:
        self.logger = logger
        self.started = datetime.now(timezone.utc)
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task("ingest", total=None)

    def update(self, batches: int, documents: int, counts: LoadCounts) -> None:
        seconds = max((datetime.now(timezone.utc) - self.started).total_seconds(), 1e-6)
        text = (f"batch {batches}: {documents} documents read, {counts.loaded} loaded, "
                f"{counts.rejected} rejected ({documents / seconds:.1f} docs/s)")
        if self.bar:
            self.bar.update(self.task, description=text)
        else:
            self.logger.info(text)

    def close(self) -> None:
        if self.bar:
            self.bar.stop()


def run_batches(settings: Settings, items: Iterable[RawDocument | Reject], run_id: str, logger,
                runner: TaskRunner | None = None, reprocess: bool = False) -> LoadCounts:
    """Submit batches to `runner` (default: the flow's task runner), a bounded number at a time,
    and load them in order."""
    from warehouse.load import LoadCounts, known_actors
    keep_warehouse_writes_lean()
    w = settings.warehouse
    known = known_actors(w.open())
    totals = LoadCounts()
    in_flight: deque = deque()
    limit = workers(settings) + 1
    progress = _Progress(logger)
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
        for batch, read_rejects in _batches(items, settings.ingest.batch_size):
            documents += len(batch) + len(read_rejects)
            parameters = {"documents": batch, "settings": settings, "known_actors": known}
            future = runner.submit(process_batch, parameters) if runner else process_batch.submit(**parameters)
            in_flight.append((future, read_rejects))
            if len(in_flight) >= limit:
                finish_oldest()
        while in_flight:
            finish_oldest()
    finally:
        progress.close()
    return totals


@flow(name="ingest", task_runner=ProcessPoolTaskRunner())
def ingest(paths: list[str] | None = None, data_dir: str | None = None, config: str | None = None,
           reprocess: bool = False) -> dict:
    """Ingest local files and folders (the bundled sample corpus when none are given) into the warehouse.
    With `reprocess`, articles already stored unchanged are extracted and written again (after
    a change of model or dictionaries)."""
    from warehouse.load import record_run
    from warehouse.views import write_views_script

    logger = get_run_logger()
    settings = load_settings(config, data_dir)
    inputs = [Path(p) for p in paths] if paths else [settings.ingest.sample_corpus]
    w = settings.warehouse
    warehouse = w.open()
    run_id = _run_id()
    started = datetime.now(timezone.utc)
    with warehouse.lock(f"ingest run {run_id}", on_wait=logger.warning):
        items = sources.read_paths(inputs, settings.ingest.max_page_bytes)
        counts = run_batches(settings, items, run_id, logger, reprocess=reprocess)
        summary = {"read": counts.loaded + counts.unchanged + counts.duplicate + counts.skipped, **vars(counts)}
        record_run(warehouse, run_id, "ingest", {"paths": [str(p) for p in inputs], "reprocess": reprocess},
                   started, datetime.now(timezone.utc), summary)
        warehouse.compact_if_needed(w.compact_after_files, w.compact_retention_hours)
        write_views_script(warehouse)
    logger.info("ingest %s: %s", run_id, ", ".join(f"{k} {v}" for k, v in summary.items()))
    return {"run_id": run_id, "data_dir": w.location, **summary}


def _run_id() -> str:
    from prefect.runtime import flow_run
    return str(flow_run.id or uuid.uuid4())


def run_ingest(paths: list[str] | None, settings_path: str | None, data_dir: str | None,
               reprocess: bool = False) -> dict:
    """Run the ingest flow on the configured compute backend (worker processes or Dask)."""
    settings = load_settings(settings_path, data_dir)
    runner = processing_runner(settings)
    with prefect_api():
        return ingest.with_options(task_runner=runner)(
            paths=paths, data_dir=settings.warehouse.location, config=settings_path, reprocess=reprocess)
