"""Worker processes that share one loaded pipeline: both cores within one memory budget.

A process that loads the spaCy pipeline, the dictionaries and the language model holds about
300 MiB; two of them, each with its own copy, and a flow process with Prefect did not fit in
1 GB. So one process (the zygote) loads everything once, warms it up on a small batch, freezes
the garbage collector's view of what it loaded, and then forks the workers. The children share
the zygote's pages copy-on-write: the model's weights, the vocabulary and the dictionaries are
read, never written, so each worker adds only what its own batches need.

The zygote is a new Python process (`python -m flows.workers`), not a fork of the flow process:
the flow process runs Prefect's threads (its event loop, its log and event workers), and a fork
of a process with threads may inherit a lock that one of them held. The zygote has no threads
of its own when it forks, and nothing in it imports Prefect or the warehouse side.

Each worker talks to the flow process over its own pipe (the zygote passes the flow its end):
a batch in, its `BatchOutput` out. The flow process hands batches out from Prefect task threads
(see `flows/runners.py`), one per idle worker. A worker that dies mid-batch (the kernel's OOM
killer, a crash in native code) costs that batch: its documents become rejects saying what
happened and are not stored, and the zygote forks a worker in its place.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import socket
import subprocess
import sys
import threading
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from transforms.errors import ConfigError

if TYPE_CHECKING:
    from flows.settings import Settings
    from transforms.clean import CleaningOptions
    from transforms.extract import Extractor
    from transforms.records import BatchOutput, RawDocument

# Seconds the zygote may take to load the pipeline and fork the workers before the run gives up.
START_TIMEOUT = 300.0


class WorkerPool:
    """`count` worker processes forked from one that loaded the pipeline; `process` is thread-safe."""

    def __init__(self, settings: Settings, count: int) -> None:
        self.settings = settings
        self.count = count
        self._idle: queue.Queue[Connection] = queue.Queue()
        self._control_lock = threading.Lock()
        self._zygote: subprocess.Popen | None = None
        self._control: Connection | None = None
        self._connections: list[Connection] = []

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the zygote, wait until it has loaded the pipeline (or failed to), fork the workers."""
        ours, theirs = socket.socketpair()
        # BLAS kept to one thread in the zygote and so in every worker: the workers are the
        # parallelism, and BLAS threads would only contend with them.
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._zygote = subprocess.Popen(
            [sys.executable, "-m", "flows.workers", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=environment,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._control = control = Connection(ours.detach())
        try:
            control.send(self.settings)
            if not control.poll(START_TIMEOUT):
                raise ConfigError("ingest.workers", "start worker processes", f"no answer in {START_TIMEOUT:.0f} s")
            status, detail = control.recv()
        except (EOFError, OSError):
            code = self._zygote.wait()
            self.close()
            raise ConfigError(
                "ingest.workers",
                "start worker processes",
                f"the worker process exited while loading the pipeline (exit code {code})",
                "run with ingest.workers = 1 to see the error in this process",
            ) from None
        except BaseException:
            self.close()
            raise
        if status == "error":
            self.close()
            raise detail
        for _ in range(self.count):
            self._idle.put(self._fork())

    def _fork(self) -> Connection:
        """A new worker, forked by the zygote; its end of the pipe is passed back over the control pipe."""
        with self._control_lock:
            if self._control is None:
                raise ConfigError("ingest.workers", "start a worker process", "the worker pool is closed")
            try:
                self._control.send("fork")
                handle = reduction.recv_handle(self._control)
            except (EOFError, OSError):
                raise ConfigError(
                    "ingest.workers",
                    "start a worker process",
                    "the process that forks the workers has died",
                    "run again; with ingest.workers = 1 no worker processes are used",
                ) from None
        connection = Connection(handle)
        self._connections.append(connection)
        return connection

    def process(self, documents: list[RawDocument], known_actors: dict) -> BatchOutput:
        """Clean and extract one batch in an idle worker (waits for one)."""
        from transforms.records import BatchOutput, Reject

        connection = self._idle.get()
        try:
            connection.send((documents, known_actors))
            status, result = connection.recv()
        except (EOFError, OSError):
            self._connections.remove(connection)
            connection.close()
            self._idle.put(self._fork())  # the dead worker's place
            status, result = "error", WORKER_DIED
        else:
            self._idle.put(connection)
        if status == "error":
            # Not one article's failure (process_batch keeps those to their article): the batch's.
            return BatchOutput(rejects=[Reject(d.input, "process batch", result, d.record_id) for d in documents])
        return result

    def worker_pids(self) -> list[int]:
        """The workers' process ids (for tests and diagnostics)."""
        with self._control_lock:
            if self._control is None:
                return []
            self._control.send("pids")
            return self._control.recv()

    def close(self) -> None:
        """Ask every worker to finish, then the zygote, and wait for it."""
        for connection in self._connections:
            try:
                connection.send(None)
            except OSError:
                pass
            connection.close()
        self._connections = []
        if self._control is not None:
            try:
                self._control.send("stop")
            except OSError:
                pass
            self._control.close()
            self._control = None
        if self._zygote is not None:
            try:
                self._zygote.wait(30)
            except subprocess.TimeoutExpired:
                self._zygote.kill()
                self._zygote.wait()
            self._zygote = None


WORKER_DIED = (
    "the worker process died while processing this batch (killed by the system, perhaps for lack of "
    "memory), so nothing of the batch is stored; lower ingest.batch_size or ingest.workers if it recurs"
)


def run_zygote(control: Connection) -> None:
    """In the zygote: load and warm the pipeline, then fork a worker each time the flow asks."""
    from flows import resources
    from flows.stopping import prepare_worker

    prepare_worker()
    try:
        settings = control.recv()
        extractor = resources.extractor_for(settings)
        cleaning = resources.cleaning_options(settings)
        _warm_up(extractor, cleaning)
    except Exception as exc:  # noqa: BLE001 - any load failure is told to the flow process, which raises it
        control.send(("error", exc))
        return
    # What was loaded stays in the collector's permanent generation: a collection in a worker then
    # never writes to those objects' headers, which would copy their pages into every worker.
    gc.collect()
    gc.freeze()
    control.send(("ready", os.getpid()))
    children: list[int] = []
    while True:
        try:
            message = control.recv()
        except EOFError:
            break  # the flow process is gone: its pipes are closed, so the workers are ending too
        if message == "stop":
            break
        children = [pid for pid in children if not _reaped(pid)]
        if message == "pids":
            control.send(children)
        elif message == "fork":
            ours, theirs = multiprocessing.Pipe()
            pid = os.fork()
            if pid == 0:
                # The worker keeps only its own end: a copy of the control pipe held here would
                # hide the zygote's end from the flow process, and ours the worker's death.
                control.close()
                ours.close()
                code = 0
                try:
                    _serve(theirs, extractor, cleaning)
                except BaseException:  # noqa: BLE001 - the flow process sees the pipe close
                    code = 1
                finally:
                    os._exit(code)
            theirs.close()
            reduction.send_handle(control, ours.fileno(), 0)  # the pid is for Windows only
            ours.close()
            children.append(pid)
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _reaped(pid: int) -> bool:
    """Whether a worker has exited (and is reaped now, so it leaves no zombie)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _warm_up(extractor: Extractor, cleaning: CleaningOptions) -> None:
    """Run one small page through cleaning and extraction, so what loads on first use (the language
    model, lazily built tables) is loaded here, before the fork, and shared."""
    from transforms import pipeline
    from transforms.records import RawDocument

    text = (
        "<html><head><title>Ministers meet in Paris</title></head><body><article><p>The French foreign "
        "minister met his German counterpart in Paris on Monday to discuss trade, officials said. "
        "Both sides agreed to hold further talks next month, and the meeting was described as "
        "constructive by both delegations.</p></article></body></html>"
    )
    pipeline.process_batch([RawDocument("warm-up", text, "html")], cleaning, extractor, {})


def _serve(connection: Connection, extractor: Extractor, cleaning: CleaningOptions) -> None:
    """In a worker: process batches until the flow process sends None or goes away."""
    from flows.memory import return_freed_memory
    from transforms import pipeline

    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        documents, known_actors = message
        result: tuple[str, BatchOutput | str]
        try:
            result = ("ok", pipeline.process_batch(documents, cleaning, extractor, known_actors))
        except Exception as exc:  # noqa: BLE001 - the batch's documents become rejects saying so
            result = ("error", f"processing the batch failed: {type(exc).__name__}: {exc}")
        connection.send(result)
        del message, documents, result
        return_freed_memory()


if __name__ == "__main__":
    run_zygote(Connection(int(sys.argv[1])))
