"""Memory housekeeping for flow and worker processes: glibc's allocator told to hand back what a
batch freed. A module of its own, free of Prefect, since worker processes use it too."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from functools import cache


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
