"""The task runner for the CPU-bound batch work, chosen by `compute.backend`."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from functools import cache
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows.settings import Settings
from flows.stopping import prepare_worker


def workers(settings: Settings) -> int:
    return settings.ingest.workers or os.cpu_count() or 1


def processing_runner(settings: Settings) -> TaskRunner[Any]:
    """Where batches are processed: a Dask cluster (the one at `compute.dask_address`, else a local
    cluster of `ingest.workers` workers started for the run), or on this machine, on a thread of
    the flow process when there is one worker and in worker processes when there are more.

    One worker on a thread needs no second copy of Prefect and no pickling of batches and results:
    about 160 MiB less, for runs 10-20% slower (reading and writing no longer run beside
    parsing). Parsing holds the GIL, so more than one worker needs processes to use more cores.
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
    return ProcessPoolTaskRunner(max_workers=workers(settings), initializer=prepare_worker)


# glibc's mallopt parameter for the number of heap arenas (malloc.h).
_M_ARENA_MAX = -8


@cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


@cache
def keep_warehouse_writes_lean() -> None:
    """Allocator settings for a process that rewrites warehouse partitions (called once per process).

    Arrow's own allocator (mimalloc) kept the pages of every partition rewrite it served: a writer
    loading 100-article batches into one growing month partition went from 250 to 610 MiB over
    10,000 articles. The package sets ARROW_DEFAULT_MEMORY_POOL to "system" on import (see
    flows/__init__.py), so Arrow allocates through glibc, whose freed pages `return_freed_memory`
    hands back; and glibc is held to two heap arenas here, since with one arena per Arrow thread
    freed memory stayed scattered over a dozen of them. With both the writer stays at about
    150-200 MiB. A MALLOC_ARENA_MAX set by the user is left as it is.
    """
    libc = _libc()
    if "MALLOC_ARENA_MAX" not in os.environ and libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_ARENA_MAX, 2)


def _libc_malloc_trim():
    return getattr(_libc(), "malloc_trim", None)  # not glibc (musl, macOS): nothing to trim


def return_freed_memory() -> None:
    """Free what a batch left behind and hand it back to the operating system.

    A batch's results sit in reference cycles (Prefect futures and states) that only a full
    collection frees, which Python runs rarely: without one, the flow process grew by about the
    size of every result it had received. And glibc keeps freed heap pages for reuse, fragmented
    by a batch's many small allocations (parse trees, Arrow buffers), so they are trimmed.
    """
    gc.collect()
    trim = _libc_malloc_trim()
    if trim is not None:
        trim(0)
