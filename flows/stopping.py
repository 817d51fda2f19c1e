"""Ctrl-C and SIGTERM end a run cleanly: the first one asks the run to stop at the next batch
boundary (the batches in flight are finished and loaded, the run is recorded with its summary,
the temporary Prefect server and worker processes are stopped); the command then exits with
128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM). A second signal stops at once."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()
_signal: int | None = None
_active = False  # set while a command line's stop_on_signals() is in force


def stop_requested() -> bool:
    """True once a stop was asked for; readers and batch loops check it between batches."""
    return _requested.is_set()


def request_stop(signum: int = signal.SIGINT) -> None:
    global _signal
    _signal = _signal or signum
    _requested.set()


def exit_code() -> int | None:
    """128 + the number of the signal that stopped the run, None when none did."""
    return 128 + _signal if _requested.is_set() and _signal else None


def _handle(signum: int, frame: FrameType | None) -> None:
    if _requested.is_set():
        # The second signal: stop now, as the default action would.
        signal.signal(signum, signal.SIG_DFL)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        os.kill(os.getpid(), signum)
        return
    request_stop(signum)
    name = signal.Signals(signum).name
    print(f"\n{name}: stopping after the batches in flight (again to stop at once)", file=sys.stderr, flush=True)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Handle SIGINT and SIGTERM as above for the length of the block (main thread only)."""
    global _signal, _active
    _requested.clear()
    _signal = None
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handle) for s in (signal.SIGINT, signal.SIGTERM)}
    _active = True
    try:
        yield
    finally:
        _active = False
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def stops_at_batch_boundaries() -> Iterator[None]:
    """Inside a flow run started from the command line. Prefect's flow engine installs its own
    SIGTERM handler, which raises in the middle of whatever runs (a partition write); this takes
    the signals back for the length of the block. Outside the command line (a deployment run
    under `eventlake serve`) Prefect's handling is left as it is."""
    if not _active or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def prepare_worker() -> None:
    """For worker processes. Ctrl-C at a terminal reaches the whole process group, and the flow
    process decides when to stop (a worker dying mid-batch would fail its batch instead); and an
    eventlake error is logged as its one line, as in the flow process."""
    from flows.errors import one_line_errors

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_line_errors()
