"""The `fetch_state` table: what was fetched (with its validators) and which archives are finished."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warehouse.store import Warehouse

# Warehouse modules are imported where they are used (see flows/__init__.py).

LOOKUP_CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class FetchState:
    url: str
    kind: str
    status: int | None
    etag: str | None
    last_modified: str | None
    error: str | None
    attempts: int
    done: bool
    run_id: str
    fetched_at: datetime


COLUMNS = list(FetchState.__dataclass_fields__)


def lookup(warehouse: Warehouse, urls: list[str]) -> dict[str, FetchState]:
    """The stored state of these URLs (those never seen are absent)."""
    found: dict[str, FetchState] = {}
    for start in range(0, len(urls), LOOKUP_CHUNK):
        rows = warehouse.lookup("fetch_state", "url", urls[start : start + LOOKUP_CHUNK], COLUMNS)
        for row in rows.select(COLUMNS).to_pylist():
            found[row["url"]] = FetchState(**row)
    return found


def pending_articles(warehouse: Warehouse, max_attempts: int) -> list[str]:
    """Article URLs whose fetch failed for a reason worth another try."""
    from warehouse.views import connect

    connection = connect(warehouse.uri, storage_options=warehouse.storage_options or None)
    try:
        rows = connection.execute(
            "SELECT url FROM fetch_state WHERE kind = 'article' AND NOT done AND attempts < ? ORDER BY url",
            [max_attempts],
        ).fetchall()
    finally:
        connection.close()
    return [url for (url,) in rows]


def save(warehouse: Warehouse, states: list[FetchState]) -> None:
    """Replace the rows of these URLs (the last state of a URL wins)."""
    import pyarrow as pa

    from warehouse.schema import TABLES

    if not states:
        return
    latest = {s.url: s for s in states}
    table = pa.Table.from_pylist([asdict(s) for s in latest.values()], schema=TABLES["fetch_state"].schema)
    warehouse.replace("fetch_state", table, list(latest))
