"""The errors of the orchestration layer, in the one hierarchy of transforms/errors.py: what a fetch
or an archive read can fail with. Each is an InputError, so it becomes a rejects row."""

from __future__ import annotations

import logging

from transforms.errors import EventlakeError, InputError


class FetchError(InputError):
    """A URL could not be fetched; `reason` is what a rejects row says, `status` the HTTP status if any."""

    permanent = True

    def __init__(self, reason: str, status: int | None = None, url: str = "", step: str = "fetch") -> None:
        self.status = status
        super().__init__(url, step, reason)


class FetchRefused(FetchError):
    """Not fetched, and asking again would give the same answer (404, robots.txt, guard, caps)."""


class FetchTransient(FetchError):
    """Worth asking again later: timeouts, connection errors, 5xx and 429."""

    permanent = False


class AddressRefused(FetchRefused):
    """Raised at connect time when every address of a host is private (not an httpcore error, so
    httpx passes it through unchanged)."""


class _NoTracebackForOurErrors(logging.Filter):
    """Prefect logs a failed task or flow run with its traceback; for an eventlake error (raised
    in this process or a worker process) the one-line message says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], EventlakeError):
            record.exc_info = None
            record.exc_text = None
        return True


def one_line_errors() -> None:
    """Log eventlake errors of task and flow runs without their traceback (once per process)."""
    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTracebackForOurErrors) for f in logger.filters):
            logger.addFilter(_NoTracebackForOurErrors())


class ArchiveError(InputError):
    """A WARC archive is corrupt, truncated or not a WARC file at all."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, "read archive", problem)
