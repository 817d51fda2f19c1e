"""Conversion of a warehouse in the old layout (one `period=<P>/data.parquet` per partition, no
Delta log) into Delta tables, in place: the Parquet files stay where they are and a first commit
lists them. Run by `eventlake migrate`, or by the first write to such a warehouse."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pyarrow as pa

from warehouse.schema import PARTITION_COLUMN, TABLES
from warehouse.store import DELTA_LOG, Warehouse, forget_indexes

OLD_DATA_FILE = "data.parquet"


def old_layout_tables(warehouse: Warehouse) -> list[str]:
    """Tables stored in the old layout (local data directories only: the old layout was never on S3)."""
    if warehouse.remote:
        return []
    return [
        name
        for name in TABLES
        if not (warehouse.table_dir(name) / DELTA_LOG).exists()
        and any(warehouse.table_dir(name).glob(f"{PARTITION_COLUMN}=*/{OLD_DATA_FILE}"))
    ]


def migrate(warehouse: Warehouse, say: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> list[str]:
    """Convert every old-layout table; returns their names. Call with the write lock held."""
    from deltalake import Schema, convert_to_deltalake

    converted = []
    for name in old_layout_tables(warehouse):
        folder = warehouse.table_dir(name)
        # Files a killed run of the old writer staged but never published.
        for staged in folder.glob(f"{PARTITION_COLUMN}=*/.staging-*"):
            staged.unlink()
        convert_to_deltalake(
            str(folder.resolve()),
            partition_by=Schema.from_arrow(pa.schema([(PARTITION_COLUMN, pa.string())])),
            partition_strategy="hive",
            name=name,
        )
        converted.append(name)
    if converted:
        forget_indexes()
        say(f"{warehouse.uri}: converted {', '.join(converted)} from the old Parquet layout to Delta tables")
    return converted


def migrate_if_needed(warehouse: Warehouse) -> None:
    if old_layout_tables(warehouse):
        migrate(warehouse)
