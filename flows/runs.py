"""What every flow (ingest, nightly, backfill) builds the same way: its warehouse, its run id and
its run summary. The warehouse side is imported inside the functions (see flows/__init__.py)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from flows.settings import Settings

if TYPE_CHECKING:
    from warehouse.load import LoadCounts
    from warehouse.store import Warehouse


def warehouse_for(settings: Settings) -> Warehouse:
    """The warehouse the settings name (location, partitioning, compression, storage options)."""
    return settings.warehouse.open()


def new_run_id() -> str:
    """The Prefect flow run's id, or a fresh one outside a flow run."""
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())


def run_summary(counts: LoadCounts) -> dict[str, int]:
    """The counts a run reports and stores in `runs`: `read` first, then the load counts."""
    return {"read": counts.loaded + counts.unchanged + counts.duplicate + counts.skipped, **vars(counts)}
