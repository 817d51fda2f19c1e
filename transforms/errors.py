"""Every error eventlake raises, rooted in `EventlakeError`. A message names the input, the step that
failed and, where one exists, the fix. Errors pickle (they cross worker processes and Dask), and the
command line prints them as that one line, exiting with `exit_code` (2: usage or configuration,
1: a failure while running). The flows layer adds its fetch and archive errors in flows/errors.py."""

from __future__ import annotations


def _rebuild(cls: type[EventlakeError], state: dict) -> EventlakeError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error


class EventlakeError(Exception):
    """Base error: `input` is what was being processed (a path, a record id, a config key)."""

    exit_code = 1

    def __init__(self, input: str, step: str, problem: str, fix: str = "") -> None:
        self.input = input
        self.step = step
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.input}: {self.step}: {self.problem}"
        return f"{text}; {self.fix}" if self.fix else text

    # Exception pickles as cls(*args), which our signature does not take: rebuilt from the fields.
    def __reduce__(self):
        return _rebuild, (type(self), dict(self.__dict__))

    @property
    def reason(self) -> str:
        """The part stored in a rejects row (the input and step have columns of their own)."""
        return f"{self.problem}; {self.fix}" if self.fix else self.problem


class InputError(EventlakeError):
    """One input (file, record, page) cannot be used; it becomes a rejects row and the batch goes on."""


class UsageError(EventlakeError):
    """The command line names something that cannot be used (a missing file, a bad window)."""

    exit_code = 2


class ConfigError(EventlakeError):
    """The settings file or a dictionary in config/ is invalid, or the run cannot be set up."""

    exit_code = 2


class WarehouseError(EventlakeError):
    """The data directory cannot be read or written as needed."""


class QueryError(EventlakeError):
    """A SQL query given to `eventlake sql` failed."""

    exit_code = 2
