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
# Rows read at a time when a partition is rewritten, and the size of the row groups written.
READ_BATCH_ROWS = 16_384
ROW_GROUP_ROWS = 32_768
ROW_GROUP_BYTES = 8 * 2**20


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

    def scan(self, table: str, columns: list[str], where: pc.Expression | None = None) -> Iterator[pa.RecordBatch]:
        """The named columns of `table`'s rows matching `where`, a record batch at a time."""
        dataset = self._dataset(TABLES[table])
        if dataset is not None:
            yield from dataset.to_batches(columns=columns, filter=where)

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
        """Copy the partition's file without the dropped keys, append `added`, publish the copy.

        The old file is streamed a row group at a time, so memory stays flat however large the
        partition grows (a month of nightly runs, a backfilled archive of one week). Only the
        added rows are sorted: a partition is a sequence of sorted runs, one per load.
        """
        target = self.partition_file(spec.name, period)
        added = added.sort_by([(column, "ascending") for column in spec.sort_by])
        existing = None
        if target.exists():
            try:
                existing = pq.ParquetFile(target)
                if not existing.schema_arrow.equals(spec.schema, check_metadata=False):
                    raise pa.ArrowInvalid(f"its columns differ from the {spec.name} schema")
            except (OSError, pa.ArrowInvalid) as exc:
                raise _unreadable(target, exc) from None
        dropped = pa.array(drop_keys, pa.string())

        def kept_batches() -> Iterator[pa.RecordBatch]:
            if existing is None:
                return
            try:
                for batch in existing.iter_batches(batch_size=READ_BATCH_ROWS):
                    keep = pc.invert(pc.is_in(batch.column(spec.replace_key), value_set=dropped))
                    yield batch.filter(keep)
            except (OSError, pa.ArrowInvalid) as exc:
                raise _unreadable(target, exc) from None

        def write(writer: pq.ParquetWriter) -> int:
            group = _RowGroups(writer)
            for batch in kept_batches():
                group.add(batch)
            for batch in added.to_batches(max_chunksize=READ_BATCH_ROWS):
                group.add(batch)
            return group.finish()

        try:
            self._publish(spec.schema, write, target)
        finally:
            if existing is not None:
                existing.close()

    def _publish(self, schema: pa.Schema, write: Callable[[pq.ParquetWriter], int], target: Path) -> None:
        """Write a staged file in the partition's folder through `write` (which returns the rows it
        wrote), flush it to disk, then rename it over the target; a partition left empty is removed."""
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.parent / f"{STAGING_PREFIX}{uuid.uuid4().hex}.parquet"
        try:
            try:
                with pq.ParquetWriter(staged, schema, compression=self.compression) as writer:
                    rows = write(writer)
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
            if rows == 0:
                staged.unlink()
                target.unlink(missing_ok=True)
                return
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


def _unreadable(target: Path, exc: Exception) -> WarehouseError:
    return WarehouseError(str(target), "read partition", f"unreadable Parquet file ({exc})",
                          "restore it from backup or delete the partition and re-run its inputs")


class _RowGroups:
    """Gathers record batches into row groups of about ROW_GROUP_ROWS rows or ROW_GROUP_BYTES bytes,
    whichever comes first: big enough for fast scans, small enough that rewriting a partition
    holds one group in memory at a time."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self.writer = writer
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = self.pending_bytes = self.written = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        self.pending_bytes += batch.nbytes
        if self.pending_rows >= ROW_GROUP_ROWS or self.pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            table = pa.Table.from_batches(self.pending)
            self.writer.write_table(table, row_group_size=table.num_rows)
            self.written += table.num_rows
        self.pending, self.pending_rows, self.pending_bytes = [], 0, 0

    def finish(self) -> int:
        self._flush()
        return self.written
