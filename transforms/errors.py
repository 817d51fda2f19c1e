"""Every error eventlake raises. A message names the input, the step that failed and, where one exists, the fix."""
from __future__ import annotations


class EventlakeError(Exception):
    """Base error: `input` is what was being processed (a path, a record id, a config key)."""

    def __init__(self, input: str, step: str, problem: str, fix: str = "") -> None:
        self.input = input
        self.step = step
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.input}: {self.step}: {self.problem}"
        return f"{text}; {self.fix}" if self.fix else text

    @property
    def reason(self) -> str:
        """The part stored in a rejects row (the input and step have columns of their own)."""
        return f"{self.problem}; {self.fix}" if self.fix else self.problem


class InputError(EventlakeError):
    """One input (file, record, page) cannot be used; it becomes a rejects row and the batch goes on."""


class ConfigError(EventlakeError):
    """The settings file or a dictionary in config/ is invalid."""


class WarehouseError(EventlakeError):
    """The data directory cannot be read or written as needed."""


class QueryError(EventlakeError):
    """A SQL query given to `eventlake sql` failed."""
