"""Atomic, idempotent Parquet writes: stage a partition file beside the old one, publish by rename."""
from __future__ import annotations

import fcntl
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from transforms.errors import WarehouseError
from warehouse.schema import PARTITION_COLUMN, TABLES, TableSpec, period_of

DATA_FILE = "data.parquet"
# Staged files start with a dot: DuckDB globs (`*.parquet`) and pyarrow datasets both skip them.
STAGING_PREFIX = ".staging-"


class Warehouse:
    """A data directory holding one hive-partitioned Parquet dataset per table."""

    def __init__(self, root: Path | str, granularity: str = "month", compression: str = "zstd") -> None:
        self.root = Path(root)
        self.granularity = granularity
        self.compression = None if compression == "none" else compression

    # --- layout ---------------------------------------------------------------------------

    def table_dir(self, table: str) -> Path:
        return self.root / "warehouse" / table

    def partition_file(self, table: str, period: str) -> Path:
        return self.table_dir(table) / f"{PARTITION_COLUMN}={period}" / DATA_FILE

    def data_files(self, table: str) -> list[Path]:
        return sorted(self.table_dir(table).glob(f"{PARTITION_COLUMN}=*/{DATA_FILE}"))

    # --- locking --------------------------------------------------------------------------

    @contextmanager
    def lock(self, owner: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the data directory's write lock; a second run waits for the first to finish."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(self.root / ".lock", "a+", encoding="utf-8")
        except OSError as exc:
            raise WarehouseError(str(self.root), "lock data directory", f"cannot create it ({exc.strerror})",
                                 "pass a writable --data DIR") from None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                message = (f"{self.root}: another eventlake run holds the write lock ({holder}); "
                           "waiting for it to finish")
                (on_wait or (lambda m: print(m, file=sys.stderr)))(message)
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{owner}, pid {os.getpid()}\n")
            handle.flush()
            try:
                self.remove_staged_files()
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def remove_staged_files(self) -> int:
        """Delete files a killed run staged but never published (only ever called under the lock)."""
        removed = 0
        for path in (self.root / "warehouse").glob(f"*/*/{STAGING_PREFIX}*"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    # --- reads ----------------------------------------------------------------------------

    def _dataset(self, spec: TableSpec) -> ds.Dataset | None:
        files = self.data_files(spec.name)
        if not files:
            return None
        return ds.dataset(
            [str(f) for f in files], schema=spec.schema.append(pa.field(PARTITION_COLUMN, pa.string())),
            format="parquet",
            partitioning=ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive"),
            partition_base_dir=str(self.table_dir(spec.name)),
        )

    def lookup(self, table: str, column: str, values: list[str], columns: list[str]) -> pa.Table:
        """Rows of `table` whose `column` is one of `values` (only the named columns, plus period)."""
        spec = TABLES[table]
        dataset = self._dataset(spec)
        wanted = list(dict.fromkeys([*columns, PARTITION_COLUMN]))
        if dataset is None or not values:
            return pa.table({name: pa.array([], pa.string()) for name in wanted})
        return dataset.to_table(columns=wanted, filter=pc.field(column).isin(values))

    # --- writes ---------------------------------------------------------------------------

    def replace(self, table: str, rows: pa.Table, replace_keys: list[str]) -> int:
        """Remove every row whose replace key is in `replace_keys`, then add `rows`; atomic per partition.

        Returns the number of rows added. Partitions touched are those the new rows fall in and
        those that held the replaced keys, so a row whose date moved does not linger in its old one.
        """
        spec = TABLES[table]
        rows = rows.cast(spec.schema)
        keys = sorted(set(replace_keys) | set(rows.column(spec.replace_key).to_pylist()))
        new_periods = [period_of(value, self.granularity)
                       for value in rows.column(spec.partition_date).to_pylist()]
        old_periods = set(self.lookup(table, spec.replace_key, keys, [spec.replace_key])
                          .column(PARTITION_COLUMN).to_pylist())
        by_period = pa.array(new_periods, pa.string())
        for period in sorted(set(new_periods) | old_periods):
            self._rewrite_partition(spec, period, keys, rows.filter(pc.equal(by_period, period)))
        return rows.num_rows

    def _rewrite_partition(self, spec: TableSpec, period: str, drop_keys: list[str], added: pa.Table) -> None:
        target = self.partition_file(spec.name, period)
        parts = [added]
        if target.exists():
            try:
                existing = pq.read_table(target, schema=spec.schema)
            except (OSError, pa.ArrowInvalid) as exc:
                raise WarehouseError(str(target), "read partition", f"unreadable Parquet file ({exc})",
                                     "restore it from backup or delete the partition and re-run its inputs") from None
            kept = existing.filter(pc.invert(pc.is_in(existing.column(spec.replace_key),
                                                     value_set=pa.array(drop_keys, pa.string()))))
            parts.insert(0, kept)
        merged = pa.concat_tables(parts)
        if merged.num_rows == 0:
            target.unlink(missing_ok=True)
            return
        merged = merged.sort_by([(column, "ascending") for column in spec.sort_by])
        self._publish(merged, target)

    def _publish(self, table: pa.Table, target: Path) -> None:
        """Write to a staged file in the partition's folder, flush it to disk, then rename over the target."""
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.parent / f"{STAGING_PREFIX}{uuid.uuid4().hex}.parquet"
        try:
            pq.write_table(table, staged, compression=self.compression)
            with open(staged, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(staged, target)
            directory = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise WarehouseError(str(target), "publish partition", f"write failed ({exc.strerror or exc})",
                                 "check free disk space and permissions of the data directory") from None
