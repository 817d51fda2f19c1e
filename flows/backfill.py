"""The `backfill` flow: WARC archives and folders of pages into the warehouse, resumably.

Each archive is streamed record by record into `run_batches`, then recorded as finished in
`fetch_state` (keyed by its path and the date window, versioned by its size and modification
time), so a re-run skips it and an interrupted backfill resumes with the first unfinished one.
Folders are read like `eventlake run` reads them; loading is idempotent either way.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from itertools import chain
from pathlib import Path

from prefect import flow, get_run_logger

from flows.sources import state
from flows.sources.warc import WarcReader, expand, is_warc
from flows.artifacts import publish_run_summary
from flows.api import prefect_api
from flows.runs import new_run_id, run_summary, warehouse_for
from flows.ingest import run_batches
from flows.runners import processing_runner
from flows.settings import Settings, load_settings, load_sources
from flows.stopping import stop_requested, stops_at_batch_boundaries
from flows.sources.files import not_regular, path_text, read_paths
from transforms.errors import ConfigError
from transforms.records import Reject

# Warehouse modules are imported where they are used (see flows/__init__.py).


def archive_key(path: Path, since: date | None, until: date | None) -> str:
    """The fetch_state URL of an archive read over a date window (another window is other work)."""
    return f"{path.resolve().as_uri()}#since={since or ''}&until={until or ''}"


def archive_version(path: Path) -> str:
    """Changes when the file is replaced (a re-download), so a changed archive is read again."""
    stat = path.stat()
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def _configured(settings: Settings, sources: list[str] | None, since: date | None, until: date | None) -> list[str]:
    """The sources to read (named, else configured); raises ConfigError when there are none."""
    if since and until and since > until:
        raise ConfigError(
            f"--since {since} --until {until}", "backfill", "the window ends before it starts", "swap the dates"
        )
    if sources:
        return list(sources)
    configured = load_sources(settings)
    names = [*configured.warcs, *(str(p) for p in configured.folders)]
    if not names:
        raise ConfigError(
            str(settings.sources.file),
            "backfill",
            "no WARC archives or folders are configured",
            "add them to the sources file or name them on the command line",
        )
    return names


@flow(name="backfill")
def backfill(
    since: date | None = None,
    until: date | None = None,
    sources: list[str] | None = None,
    data_dir: str | None = None,
    config: str | None = None,
) -> dict:
    """Load WARC archives (records dated within since..until) and folders (the configured ones when none are given)."""
    from warehouse.load import LoadCounts, record_run
    from warehouse.views import write_views_script

    logger = get_run_logger()
    settings = load_settings(config, data_dir)
    names = _configured(settings, sources, since, until)
    w = settings.warehouse
    warehouse = warehouse_for(settings)
    run_id = new_run_id()
    started = datetime.now(timezone.utc)
    totals = LoadCounts()
    archives = {"archives_read": 0, "archives_skipped": 0, "archives_failed": 0, "records": 0}
    with stops_at_batch_boundaries(), warehouse.lock(f"backfill run {run_id}", on_wait=logger.warning):
        with processing_runner(settings) as runner:
            rejects: list[Reject] = []
            for item in expand(names):
                if stop_requested():
                    break
                if isinstance(item, Reject):
                    rejects.append(item)
                    continue
                if item.is_dir() or not is_warc(item):
                    documents = read_paths([item], settings.ingest.max_page_bytes, settings.ingest.max_file_bytes)
                    totals.add(run_batches(settings, chain(rejects, documents), run_id, logger, runner=runner))
                    rejects = []
                    continue
                problem = not_regular(item)
                if problem is not None:  # a FIFO or a device named .warc would hang the read
                    rejects.append(Reject(path_text(item), "read archive", problem))
                    archives["archives_failed"] += 1
                    continue
                key, version = archive_key(item, since, until), archive_version(item)
                previous = state.lookup(warehouse, [key]).get(key)
                if previous and previous.done and previous.etag == version:
                    logger.info("backfill: %s already finished in run %s; skipped", item, previous.run_id)
                    archives["archives_skipped"] += 1
                    continue
                reader = WarcReader(item, settings.ingest.max_page_bytes, since, until)
                totals.add(run_batches(settings, chain(rejects, reader), run_id, logger, runner=runner))
                rejects = []
                if stop_requested():  # stopped inside the archive: not finished, read again next time
                    logger.warning("backfill: stopped in %s after %d records", item, reader.records)
                    break
                archives["archives_failed" if reader.error else "archives_read"] += 1
                archives["records"] += reader.records
                # Recorded only now that its batches are loaded: a killed run reads the archive again.
                state.save(
                    warehouse,
                    [
                        state.FetchState(
                            key,
                            "archive",
                            None,
                            version,
                            None,
                            reader.error,
                            1,
                            True,
                            run_id,
                            datetime.now(timezone.utc),
                        )
                    ],
                )
                logger.info(
                    "backfill: %s: %d records, %d documents%s",
                    item,
                    reader.records,
                    reader.documents,
                    f" ({reader.error})" if reader.error else "",
                )
            if rejects:
                totals.add(run_batches(settings, rejects, run_id, logger, runner=runner))
        summary = run_summary(totals)
        parameters = {"since": since, "until": until, "sources": names}
        record_run(warehouse, run_id, "backfill", parameters, started, datetime.now(timezone.utc), summary)
        warehouse.compact_if_needed(w.compact_after_files, w.compact_retention_hours)
        write_views_script(warehouse, settings.events.min_confidence)
    logger.info("backfill %s: %s", run_id, ", ".join(f"{k} {v}" for k, v in {**archives, **summary}.items()))
    publish_run_summary("backfill", run_id, {**archives, **summary}, settings, logger)
    return {"run_id": run_id, "data_dir": w.location, **summary, **archives}


def run_backfill(
    since: date | None, until: date | None, sources: list[str] | None, settings_path: str | None, data_dir: str | None
) -> dict:
    """Run the backfill flow from the command line (a temporary Prefect server when none is configured)."""
    settings = load_settings(settings_path, data_dir)
    _configured(settings, sources, since, until)  # fail before starting a flow run
    with prefect_api():
        return backfill(
            since=since, until=until, sources=sources, data_dir=settings.warehouse.location, config=settings_path
        )
