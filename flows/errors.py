"""The errors of the orchestration layer, in the one hierarchy of transforms/errors.py: what a fetch
or an archive read can fail with. Each is an InputError, so it becomes a rejects row."""
from __future__ import annotations

from transforms.errors import InputError


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


class ArchiveError(InputError):
    """A WARC archive is corrupt, truncated or not a WARC file at all."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, "read archive", problem)
