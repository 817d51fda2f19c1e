"""The task runner for the CPU-bound batch work, chosen by `compute.backend`."""

from __future__ import annotations

import os
from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.settings import Settings
from flows.workers import WorkerPool


def workers(settings: Settings) -> int:
    """`ingest.workers`, or with 0 one per core this process may run on."""
    if settings.ingest.workers:
        return settings.ingest.workers
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def processing_runner(settings: Settings) -> TaskRunner[Any]:
    """Where batches are processed: a Dask cluster (the one at `compute.dask_address`, else a local
    cluster of `ingest.workers` workers started for the run), or on this machine: on a thread of
    the flow process when there is one worker, and in worker processes forked from one loaded
    pipeline when there are more (`flows/workers.py`).

    One worker on a thread needs no pickling of batches and results, and is what a one-core
    machine gets. Parsing holds the GIL, so more cores need processes; forked from one that
    loaded the pipeline they share its memory, and none of them holds a copy of Prefect.
    """
    compute = settings.compute
    if compute.backend == "dask":
        from prefect_dask import DaskTaskRunner

        if compute.dask_address:
            return DaskTaskRunner(address=compute.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": workers(settings),
                "threads_per_worker": compute.dask_threads_per_worker,
                "processes": compute.dask_processes,
                "dashboard_address": None,
            }
        )
    if workers(settings) == 1:
        return ThreadPoolTaskRunner(max_workers=1)
    return SharedPipelineTaskRunner(settings)


class SharedPipelineTaskRunner(ThreadPoolTaskRunner):
    """A thread per worker in the flow process, each handing its batch to a worker process of a
    `WorkerPool` (started when the runner is entered, stopped when it is left). Prefect sees and
    records every batch as a task run, as with any task runner."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(max_workers=workers(settings))
        self.settings = settings
        self.pool: WorkerPool | None = None

    def duplicate(self) -> SharedPipelineTaskRunner:
        return type(self)(self.settings)

    def __enter__(self) -> SharedPipelineTaskRunner:
        self.pool = WorkerPool(self.settings, workers(self.settings))
        self.pool.start()
        _active_pools.append(self.pool)
        try:
            return super().__enter__()
        except BaseException:
            self._stop_pool()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            super().__exit__(*exc)
        finally:
            self._stop_pool()

    def _stop_pool(self) -> None:
        if self.pool is not None:
            _active_pools.remove(self.pool)
            self.pool.close()
            self.pool = None


# The pools of the runners entered in this process (one, in practice): `active_pool` is how the
# batch task, running on one of the runner's threads, finds where to send its batch.
_active_pools: list[WorkerPool] = []


def active_pool() -> WorkerPool | None:
    """The worker pool of the entered SharedPipelineTaskRunner, if any (none in a Dask worker)."""
    return _active_pools[-1] if _active_pools else None
