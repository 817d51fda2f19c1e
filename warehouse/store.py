"""Delta Lake tables (delta-rs): loads that cost O(batch), atomic commits, snapshot reads.

Each table is a Delta table `<data>/warehouse/<table>/`, hive-partitioned by `period`. A write is
one Delta commit: new rows go to new files, and the files that held replaced keys are rewritten
without them (their removal is in the same commit), so readers see all of a write or none of it.

Which files hold which keys is known from a key index kept in memory per process: it reads the
key columns of each file once, then follows the table's commits (files added and removed), so a
load reads only what changed since the last one, never every stored id.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq

from transforms.errors import WarehouseError
from warehouse.schema import PARTITION_COLUMN, TABLES, TableSpec, period_of

if TYPE_CHECKING:
    from deltalake import DeltaTable

# How often a commit that lost a race with another writer is attempted again.
COMMIT_ATTEMPTS = 8
ROW_GROUP_ROWS = 32_768
# Files a commit leaves behind are kept this long by `compact` (readers of older snapshots).
DEFAULT_RETENTION_HOURS = 7 * 24
COMPACT_TARGET_BYTES = 128 * 2**20
# Opening or committing replays the log since the last checkpoint: a checkpoint every few commits
# keeps that short (at the default of 100, load times rose in a sawtooth with the commit count).
TABLE_CONFIGURATION = {"delta.checkpointInterval": "10"}
DELTA_LOG = "_delta_log"
# The Parquet codecs a warehouse writes (warehouse.compression in the settings), and delta-rs's
# names for them, which its compaction rewrite takes.
Compression = Literal["zstd", "snappy", "gzip", "none"]
DELTA_CODECS: dict[str | None, Literal["ZSTD", "SNAPPY", "GZIP", "UNCOMPRESSED"]] = {
    "zstd": "ZSTD",
    "snappy": "SNAPPY",
    "gzip": "GZIP",
    None: "UNCOMPRESSED",
}


def is_remote(location: str | Path) -> bool:
    return "://" in str(location)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Warehouse:
    """A data directory (local or `s3://bucket/prefix`) holding one Delta table per table."""

    def __init__(
        self,
        root: Path | str,
        granularity: str = "month",
        compression: Compression = "zstd",
        storage_options: dict[str, str] | None = None,
    ) -> None:
        self.remote = is_remote(root)
        self.uri = str(root).rstrip("/") if self.remote else str(Path(root).resolve())
        # Local directories only: where the lock file and views.sql live.
        self.root = Path(root) if not self.remote else Path(".")
        self.granularity = granularity
        self.compression = None if compression == "none" else compression
        self.storage_options = dict(storage_options or {})

    # --- layout ---------------------------------------------------------------------------

    def table_uri(self, table: str) -> str:
        return f"{self.uri}/warehouse/{table}"

    def table_dir(self, table: str) -> Path:
        return self.root / "warehouse" / table

    def filesystem(self, table: str) -> pa_fs.FileSystem:
        """A pyarrow filesystem rooted at the table's folder (paths as in the Delta log)."""
        if not self.remote:
            return pa_fs.SubTreeFileSystem(self.table_uri(table), pa_fs.LocalFileSystem())
        from deltalake.fs import DeltaStorageHandler

        return pa_fs.PyFileSystem(DeltaStorageHandler(self.table_uri(table), self.storage_options))

    def delta(self, table: str, version: int | str | datetime | None = None) -> DeltaTable | None:
        """A fresh snapshot of the table (the current version, or `version`), or None if it has none yet."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            dt = DeltaTable(self.table_uri(table), storage_options=self.storage_options or None)
        except TableNotFoundError:
            return None
        if version is not None:
            try:
                dt.load_as_version(version)
            except Exception as exc:  # delta-rs raises plain Exception/ValueError for versions it lacks
                if isinstance(version, int):
                    raise WarehouseError(
                        table,
                        "time travel",
                        f"no version {version} ({str(exc).splitlines()[0]})",
                        "list the versions with `eventlake history`",
                    ) from None
                return None  # the table did not exist yet at that time
        return dt

    def version_time(self, version: int) -> datetime:
        """When version `version` of `articles` (each batch's last commit) was committed."""
        dt = self.delta("articles")
        entry = next((e for e in (dt.history() if dt else []) if e.get("version") == version), None)
        if entry is None:
            raise WarehouseError(
                "articles", "time travel", f"no version {version}", "list the versions with `eventlake history`"
            )
        return datetime.fromtimestamp(entry["timestamp"] / 1000, timezone.utc)

    def dataset(self, table: str, version: int | str | datetime | None = None) -> ds.Dataset | None:
        """The rows of one snapshot as a pyarrow dataset (its file list is fixed: later commits don't show)."""
        dt = self.delta(table, version)
        if dt is None:
            return None
        return _snapshot_dataset(self, table, dt)

    def data_files(self, table: str) -> list[str]:
        """Paths (relative to the table folder) of the current version's files."""
        dt = self.delta(table)
        return [] if dt is None else _relative_paths(dt)

    # --- locking --------------------------------------------------------------------------

    @contextmanager
    def lock(self, owner: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the data directory's write lock; a second run waits for the first to finish.

        Local directories only: on object storage, Delta's optimistic commits order the writers."""
        if self.remote:
            yield
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(self.root / ".lock", "a+", encoding="utf-8")
        except OSError as exc:
            raise WarehouseError(
                str(self.root),
                "lock data directory",
                f"cannot create it ({exc.strerror})",
                "pass a writable --data DIR",
            ) from None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                message = (
                    f"{self.root}: another eventlake run holds the write lock ({holder}); waiting for it to finish"
                )
                (on_wait or (lambda m: print(m, file=sys.stderr)))(message)
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{owner}, pid {os.getpid()}\n")
            handle.flush()
            try:
                from warehouse.migrate import migrate_if_needed

                migrate_if_needed(self)
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- reads ----------------------------------------------------------------------------

    def lookup(self, table: str, column: str, values: list[str], columns: list[str]) -> pa.Table:
        """Current rows of `table` whose `column` is one of `values` (only the named columns, plus period).

        Served from the key index when it holds those columns; otherwise a scan of the table."""
        spec = TABLES[table]
        wanted = list(dict.fromkeys([*columns, PARTITION_COLUMN]))
        empty = pa.table({name: pa.array([], _field_type(spec, name)) for name in wanted})
        if not values:
            return empty
        index = _index_for(self, table)
        with index.guard:
            dt = index.refresh()
            if dt is None:
                return empty
            if index.covers(column, wanted):
                return index.rows(column, values, wanted)
        dataset = _snapshot_dataset(self, table, dt)
        return dataset.to_table(columns=wanted, filter=pc.field(column).isin(values))

    def scan(self, table: str, columns: list[str], where: pc.Expression | None = None) -> Iterator[pa.RecordBatch]:
        """The named columns of `table`'s rows matching `where`, a record batch at a time."""
        dataset = self.dataset(table)
        if dataset is not None:
            yield from dataset.to_batches(columns=columns, filter=where)

    # --- writes ---------------------------------------------------------------------------

    def replace(self, table: str, rows: pa.Table, replace_keys: list[str], run_id: str | None = None) -> int:
        """Remove every row whose replace key is in `replace_keys` or in `rows`, then add `rows`: one commit.

        Returns the number of rows added. The files that held replaced keys are found in the key
        index, so the cost follows the batch and those files, not the table. A commit that loses to
        a concurrent one is attempted again on the new version; if another writer appended the same
        new key at the same time, the next attempt replaces that copy too, so no key is left twice.
        """
        from deltalake.exceptions import CommitFailedError

        spec = TABLES[table]
        rows = rows.cast(spec.schema)
        keys = sorted(set(replace_keys) | set(rows.column(spec.replace_key).to_pylist()))
        if not keys:
            return 0
        dates = rows.column(spec.partition_date).to_pylist()
        period_by_date = {value: period_of(value, self.granularity) for value in set(dates)}
        periods = pa.array([period_by_date[value] for value in dates], pa.string())
        index = _index_for(self, table)
        with index.guard:
            for attempt in range(COMMIT_ATTEMPTS):
                dt = index.refresh(create=True)
                written: list[str] = []
                try:
                    actions, added = self._replace_actions(spec, dt, index, keys, rows, periods, written)
                    if not actions:
                        return 0
                    metadata = {"run_id": run_id} if run_id else {}
                    _commit(dt, spec, actions, f"replace {len(keys)} {spec.replace_key}", metadata)
                except CommitFailedError:
                    _delete_quietly(self.filesystem(table), written)
                    time.sleep(0.05 * (attempt + 1))
                    continue
                except OSError as exc:
                    _delete_quietly(self.filesystem(table), written)
                    raise WarehouseError(
                        self.table_uri(table),
                        "write table",
                        f"write failed ({exc})",
                        "check free space and permissions of the data directory",
                    ) from None
                index.refresh(known=added)
                # Another writer's blind append of one of these keys, committed beside ours: go again.
                ours = set(added)
                if not index.paths(spec.replace_key, rows.column(spec.replace_key).unique().to_pylist()) - ours:
                    return rows.num_rows
            raise WarehouseError(
                self.table_uri(table),
                "commit",
                f"lost {COMMIT_ATTEMPTS} races with other writers",
                "run again; if it persists, check for a writer stuck in a loop",
            )

    def _replace_actions(
        self,
        spec: TableSpec,
        dt: DeltaTable,
        index: _KeyIndex,
        keys: list[str],
        rows: pa.Table,
        periods: pa.Array,
        written: list[str],
    ) -> tuple[list, dict[str, pa.Table]]:
        from deltalake.transaction import AddAction
        from deltalake._internal import RemoveAction

        fs = self.filesystem(spec.name)
        key_set = pa.array(keys, pa.string())
        actions: list = []
        added: dict[str, pa.Table] = {}

        def add(period: str, table: pa.Table) -> None:
            path = f"{PARTITION_COLUMN}={period}/part-{uuid.uuid4().hex}.{self.compression or 'none'}.parquet"
            written.append(path)
            size = _write_file(
                fs, path, table, self.compression, None if self.remote else f"{self.table_uri(spec.name)}/{path}"
            )
            actions.append(
                AddAction(
                    path, size, {PARTITION_COLUMN: period}, _now_ms(), True, json.dumps({"numRecords": table.num_rows})
                )
            )
            added[path] = table.append_column(PARTITION_COLUMN, pa.array([period] * table.num_rows, pa.string()))

        for path in sorted(index.paths(spec.replace_key, keys)):
            period = index.period(path)
            old = pq.read_table(path, filesystem=fs, schema=spec.schema)
            kept = old.filter(pc.invert(pc.is_in(old.column(spec.replace_key), value_set=key_set)))
            if kept.num_rows:
                add(period, kept)
            actions.append(RemoveAction(path, True, _now_ms(), None, {PARTITION_COLUMN: period}))
        for period in sorted(set(periods.to_pylist())):
            part = rows.filter(pc.equal(periods, period))
            add(period, part.sort_by([(c, "ascending") for c in spec.sort_by]))
        return actions, added

    # --- maintenance ----------------------------------------------------------------------

    def compact(self, retention_hours: float = DEFAULT_RETENTION_HOURS) -> dict[str, dict[str, int]]:
        """Merge small files into large ones, then delete files no version within the retention needs."""
        from deltalake import WriterProperties
        from deltalake.transaction import CommitProperties

        report: dict[str, dict[str, int]] = {}
        for table in TABLES:
            dt = self.delta(table)
            if dt is None:
                continue
            before = len(dt.file_uris())
            dt.optimize.compact(
                target_size=COMPACT_TARGET_BYTES,
                writer_properties=WriterProperties(compression=DELTA_CODECS[self.compression]),
                commit_properties=CommitProperties(custom_metadata={"eventlake": "compact"}),
            )
            deleted = dt.vacuum(retention_hours=int(retention_hours), enforce_retention_duration=False, dry_run=False)
            report[table] = {"files_before": before, "files_after": len(dt.file_uris()), "deleted": len(deleted)}
        return report

    def compact_if_needed(self, max_files: int, retention_hours: float) -> dict[str, dict[str, int]] | None:
        """The settings' policy after a run: compact when some table holds more than `max_files` files."""
        if max_files <= 0 or not any(len(self.data_files(t)) > max_files for t in TABLES):
            return None
        return self.compact(retention_hours)

    def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits of every table, newest first: table, version, time, operation, run id."""
        commits = []
        for table in TABLES:
            dt = self.delta(table)
            if dt is None:
                continue
            for entry in dt.history(limit):
                commits.append(
                    {
                        "table": table,
                        "version": entry.get("version"),
                        "timestamp": datetime.fromtimestamp(entry["timestamp"] / 1000, timezone.utc),
                        "operation": entry.get("operation"),
                        "run_id": entry.get("run_id"),
                    }
                )
        commits.sort(key=lambda c: (c["timestamp"], c["table"]), reverse=True)
        return commits[:limit] if limit else commits


# --- files and commits ------------------------------------------------------------------------


def delta_schema(spec: TableSpec) -> pa.Schema:
    return spec.schema.append(pa.field(PARTITION_COLUMN, pa.string()))


def _field_type(spec: TableSpec, name: str) -> pa.DataType:
    return pa.string() if name == PARTITION_COLUMN else spec.schema.field(name).type


def _write_file(
    fs: pa_fs.FileSystem, path: str, table: pa.Table, compression: str | None, local_path: str | None
) -> int:
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pq.write_table(table, path, filesystem=fs, compression=compression, row_group_size=ROW_GROUP_ROWS)
    if local_path:
        # On disk before the commit that names it (a power cut then leaves no commit without its file).
        with open(local_path, "rb") as handle:
            os.fsync(handle.fileno())
    return fs.get_file_info(path).size


def _delete_quietly(fs: pa_fs.FileSystem, paths: list[str]) -> None:
    for path in paths:
        try:
            fs.delete_file(path)
        except OSError:
            pass


def _commit(dt: DeltaTable, spec: TableSpec, actions: list, operation: str, metadata: dict[str, str]) -> None:
    from deltalake.transaction import CommitProperties

    dt.create_write_transaction(
        actions,
        "append",
        delta_schema(spec),
        partition_by=[PARTITION_COLUMN],
        commit_properties=CommitProperties(custom_metadata={"eventlake": operation, **metadata}),
    )


def _create_table(warehouse: Warehouse, spec: TableSpec) -> DeltaTable:
    from deltalake import DeltaTable

    try:
        return DeltaTable.create(
            warehouse.table_uri(spec.name),
            delta_schema(spec),
            mode="ignore",
            partition_by=[PARTITION_COLUMN],
            name=spec.name,
            configuration=TABLE_CONFIGURATION,
            storage_options=warehouse.storage_options or None,
        )
    except Exception:
        # Another writer created it first.
        dt = warehouse.delta(spec.name)
        if dt is None:
            raise
        return dt


def _relative_paths(dt: DeltaTable) -> list[str]:
    # Every file is `period=<P>/<name>` under the table folder (one partition column).
    return ["/".join(uri.rsplit("/", 2)[-2:]) for uri in dt.file_uris()]


def _snapshot_dataset(warehouse: Warehouse, table: str, dt: DeltaTable) -> ds.Dataset:
    if warehouse.remote:
        return dt.to_pyarrow_dataset()
    return dt.to_pyarrow_dataset(filesystem=warehouse.filesystem(table))


# --- the key index ----------------------------------------------------------------------------


class _KeyIndex:
    """Which current files of one table hold which keys, with a few columns for lookups.

    Per file it keeps the key column (distinct values only, for tables with no lookup columns) and
    the table's lookup columns; maps from value to file are built per looked-up column. It follows
    the table by reading the files added since it last looked and forgetting the removed ones.
    """

    def __init__(self, warehouse: Warehouse, spec: TableSpec) -> None:
        self.warehouse = warehouse
        self.spec = spec
        self.columns = [spec.replace_key, *spec.lookup_columns]
        self.files: dict[str, pa.Table] = {}
        self.maps: dict[str, dict[str, Any]] = {spec.replace_key: {}}
        self.dt: DeltaTable | None = None
        self.version = -1
        self.guard = threading.RLock()

    @overload
    def refresh(self, create: Literal[True], known: dict[str, pa.Table] | None = None) -> DeltaTable: ...

    @overload
    def refresh(self, create: bool = False, known: dict[str, pa.Table] | None = None) -> DeltaTable | None: ...

    def refresh(self, create: bool = False, known: dict[str, pa.Table] | None = None) -> DeltaTable | None:
        """Bring the index to the table's latest version; `known` are files this process just wrote."""
        if self.dt is None:
            self.dt = self.warehouse.delta(self.spec.name)
            if self.dt is None:
                if not create:
                    return None
                self.dt = _create_table(self.warehouse, self.spec)
        else:
            self.dt.update_incremental()
        if self.dt.version() == self.version:
            return self.dt
        current = _relative_paths(self.dt)
        live = set(current)
        for path in [p for p in self.files if p not in live]:
            self._forget(path)
        for path, table in (known or {}).items():
            if path in live and path not in self.files:
                self._learn(path, table.select([*self.columns, PARTITION_COLUMN]))
        new = [p for p in current if p not in self.files]
        if new:
            read = ds.dataset(
                new, format="parquet", filesystem=self.warehouse.filesystem(self.spec.name), schema=self.spec.schema
            ).to_table(columns=[*self.columns, "__filename"])
            names = read.column("__filename")
            for path in new:
                part = read.filter(pc.equal(names, path)).drop_columns(["__filename"])
                self._learn(
                    path,
                    part.append_column(
                        PARTITION_COLUMN, pa.array([_period_of_path(path)] * part.num_rows, pa.string())
                    ),
                )
        self.version = self.dt.version()
        return self.dt

    def _learn(self, path: str, table: pa.Table) -> None:
        if not self.spec.lookup_columns:
            keys = pc.unique(table.column(self.spec.replace_key))
            table = pa.table(
                {
                    self.spec.replace_key: keys,
                    PARTITION_COLUMN: pa.array([_period_of_path(path)] * len(keys), pa.string()),
                }
            )
        self.files[path] = table
        for column, mapping in self.maps.items():
            for value in pc.unique(table.column(column)).to_pylist():
                if value is not None:
                    _link(mapping, value, path)

    def _forget(self, path: str) -> None:
        table = self.files.pop(path)
        for column, mapping in self.maps.items():
            for value in pc.unique(table.column(column)).to_pylist():
                if value is not None:
                    _unlink(mapping, value, path)

    def covers(self, column: str, wanted: list[str]) -> bool:
        held = {*self.columns, PARTITION_COLUMN}
        return (
            column in held
            and set(wanted) <= held
            and (column == self.spec.replace_key or bool(self.spec.lookup_columns))
        )

    def _map(self, column: str) -> dict[str, Any]:
        if column not in self.maps:
            mapping: dict[str, Any] = {}
            for path, table in self.files.items():
                for value in pc.unique(table.column(column)).to_pylist():
                    if value is not None:
                        _link(mapping, value, path)
            self.maps[column] = mapping
        return self.maps[column]

    def paths(self, column: str, values: list[str]) -> set[str]:
        mapping = self._map(column)
        found: set[str] = set()
        for value in values:
            held = mapping.get(value)
            if held is None:
                continue
            found.update(held if isinstance(held, tuple) else (held,))
        return found

    def period(self, path: str) -> str:
        return _period_of_path(path)

    def rows(self, column: str, values: list[str], wanted: list[str]) -> pa.Table:
        value_set = pa.array(list(values), pa.string())
        parts = [
            self.files[p].filter(pc.is_in(self.files[p].column(column), value_set=value_set)).select(wanted)
            for p in sorted(self.paths(column, values))
        ]
        if not parts:
            return pa.table({n: pa.array([], _field_type(self.spec, n)) for n in wanted})
        return pa.concat_tables(parts)


def _period_of_path(path: str) -> str:
    return path.split("/", 1)[0].split("=", 1)[1]


def _link(mapping: dict[str, Any], value: str, path: str) -> None:
    held = mapping.get(value)
    if held is None:
        mapping[value] = path
    elif isinstance(held, tuple):
        if path not in held:
            mapping[value] = held + (path,)
    elif held != path:
        mapping[value] = (held, path)


def _unlink(mapping: dict[str, Any], value: str, path: str) -> None:
    held = mapping.get(value)
    if held == path:
        del mapping[value]
    elif isinstance(held, tuple):
        rest = tuple(p for p in held if p != path)
        mapping[value] = rest[0] if len(rest) == 1 else rest


_INDEXES: dict[str, _KeyIndex] = {}
_INDEXES_GUARD = threading.Lock()


def _index_for(warehouse: Warehouse, table: str) -> _KeyIndex:
    """The process's key index of a table (shared by every Warehouse object on the same location)."""
    uri = warehouse.table_uri(table)
    with _INDEXES_GUARD:
        index = _INDEXES.get(uri)
        if index is None or index.warehouse.storage_options != warehouse.storage_options:
            index = _INDEXES[uri] = _KeyIndex(warehouse, TABLES[table])
        return index


def forget_indexes() -> None:
    """Drop every key index (after a table was rewritten outside this process's writes, e.g. migrated)."""
    with _INDEXES_GUARD:
        _INDEXES.clear()
