"""The task runner for the CPU-bound batch work, chosen by `compute.backend`."""
from __future__ import annotations

import os

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner

from flows.settings import Settings


def workers(settings: Settings) -> int:
    return settings.ingest.workers or os.cpu_count() or 1


def processing_runner(settings: Settings) -> TaskRunner:
    """Worker processes on this machine, or a Dask cluster: the one at `compute.dask_address`,
    else a local cluster of `ingest.workers` workers started for the run."""
    compute = settings.compute
    if compute.backend == "dask":
        from prefect_dask import DaskTaskRunner
        if compute.dask_address:
            return DaskTaskRunner(address=compute.dask_address)
        return DaskTaskRunner(cluster_kwargs={
            "n_workers": workers(settings), "threads_per_worker": compute.dask_threads_per_worker,
            "processes": compute.dask_processes, "dashboard_address": None,
        })
    return ProcessPoolTaskRunner(max_workers=workers(settings))
