"""Every table's Arrow schema and partition layout. Writers and views read them from here only.

Each table is a Delta Lake table `<data>/warehouse/<table>/`, hive-partitioned by `period`
(`period=<P>/part-*.parquet`, one or more files per partition; each write's rows sorted by `sort_by`).
`period` is derived from a date column at the configured granularity ("2024-04" for month),
or "unknown" when that date is missing. `replace_key` is the column whose values a write
replaces: writing rows for article X first removes every existing row of article X, wherever
it is, so re-running an input replaces its rows and never duplicates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa

PARTITION_COLUMN = "period"
UNKNOWN_PERIOD = "unknown"
GRANULARITIES = ("day", "month", "year")

_TS = pa.timestamp("us", tz="UTC")

ACTOR_REF = pa.struct(
    [
        ("name", pa.string()),
        ("code", pa.string()),
        ("country", pa.string()),
        ("text", pa.string()),
        ("actor_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    replace_key: str
    partition_date: str
    sort_by: tuple[str, ...]
    # Columns the writer's key index keeps in memory (besides the key) to answer lookups.
    lookup_columns: tuple[str, ...] = ()


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "articles",
            pa.schema(
                [
                    ("article_id", pa.string()),
                    ("url", pa.string()),
                    ("site", pa.string()),
                    ("title", pa.string()),
                    ("author", pa.string()),
                    ("published", pa.date32()),
                    ("language", pa.string()),
                    ("text", pa.string()),
                    ("content_hash", pa.string()),
                    ("source_path", pa.string()),
                    ("skipped_reason", pa.string()),
                    ("run_id", pa.string()),
                    ("ingested_at", _TS),
                ]
            ),
            replace_key="article_id",
            partition_date="published",
            sort_by=("article_id",),
            lookup_columns=("content_hash", "run_id"),
        ),
        TableSpec(
            "rejects",
            pa.schema(
                [
                    ("reject_id", pa.string()),
                    ("input", pa.string()),
                    ("step", pa.string()),
                    ("reason", pa.string()),
                    ("run_id", pa.string()),
                    ("at", _TS),
                ]
            ),
            replace_key="reject_id",
            partition_date="at",
            sort_by=("input", "step"),
            lookup_columns=("reason",),
        ),
        TableSpec(
            "runs",
            pa.schema(
                [
                    ("run_id", pa.string()),
                    ("flow", pa.string()),
                    ("parameters", pa.string()),
                    ("started", _TS),
                    ("finished", _TS),
                    (
                        "counts",
                        pa.struct(
                            [
                                ("read", pa.int64()),
                                ("loaded", pa.int64()),
                                ("unchanged", pa.int64()),
                                ("duplicate", pa.int64()),
                                ("skipped", pa.int64()),
                                ("rejected", pa.int64()),
                            ]
                        ),
                    ),
                ]
            ),
            replace_key="run_id",
            partition_date="started",
            sort_by=("started",),
        ),
        TableSpec(
            "actor_mentions",
            pa.schema(
                [
                    ("article_id", pa.string()),
                    ("sentence", pa.int32()),
                    ("start", pa.int32()),
                    ("end", pa.int32()),
                    ("text", pa.string()),
                    ("actor_id", pa.string()),
                    ("name", pa.string()),
                    ("code", pa.string()),
                    ("country", pa.string()),
                    ("type", pa.string()),
                    ("role", pa.string()),
                    ("confidence", pa.float32()),
                    ("published", pa.date32()),
                ]
            ),
            replace_key="article_id",
            partition_date="published",
            sort_by=("article_id", "start"),
        ),
        TableSpec(
            "event_mentions",
            pa.schema(
                [
                    ("event_id", pa.string()),
                    ("article_id", pa.string()),
                    ("sentence", pa.int32()),
                    ("start", pa.int32()),
                    ("end", pa.int32()),
                    ("event_date", pa.date32()),
                    ("source", ACTOR_REF),
                    ("target", ACTOR_REF),
                    ("cameo", pa.string()),
                    ("cameo_root", pa.string()),
                    ("plover", pa.string()),
                    ("quad_class", pa.int8()),
                    ("goldstein", pa.float32()),
                    ("location", pa.string()),
                    ("location_country", pa.string()),
                    ("latitude", pa.float64()),
                    ("longitude", pa.float64()),
                    ("evidence", pa.string()),
                    ("trigger", pa.string()),
                    ("confidence", pa.float32()),
                    ("site", pa.string()),
                    ("url", pa.string()),
                    ("published", pa.date32()),
                ]
            ),
            replace_key="article_id",
            partition_date="published",
            sort_by=("article_id", "start"),
        ),
        TableSpec(
            "quotes",
            pa.schema(
                [
                    ("article_id", pa.string()),
                    ("sentence", pa.int32()),
                    ("speaker", ACTOR_REF),
                    ("text", pa.string()),
                    ("published", pa.date32()),
                ]
            ),
            replace_key="article_id",
            partition_date="published",
            sort_by=("article_id", "sentence"),
        ),
        # One row per fetched URL (feeds, sitemaps, articles) and per finished archive (file:// URL):
        # what `nightly` and `backfill` need to skip work already done.
        TableSpec(
            "fetch_state",
            pa.schema(
                [
                    ("url", pa.string()),
                    ("kind", pa.string()),
                    ("status", pa.int32()),
                    ("etag", pa.string()),
                    ("last_modified", pa.string()),
                    ("error", pa.string()),
                    ("attempts", pa.int32()),
                    ("done", pa.bool_()),
                    ("run_id", pa.string()),
                    ("fetched_at", _TS),
                ]
            ),
            replace_key="url",
            partition_date="fetched_at",
            sort_by=("url",),
            lookup_columns=(
                "kind",
                "status",
                "etag",
                "last_modified",
                "error",
                "attempts",
                "done",
                "run_id",
                "fetched_at",
            ),
        ),
    ]
}


def period_of(value: date | datetime | None, granularity: str) -> str:
    """The partition value of a date at the given granularity."""
    if value is None:
        return UNKNOWN_PERIOD
    if granularity == "day":
        return value.strftime("%Y-%m-%d")
    if granularity == "month":
        return value.strftime("%Y-%m")
    if granularity == "year":
        return value.strftime("%Y")
    raise ValueError(f"partition granularity must be one of {GRANULARITIES}, not {granularity!r}")


def duckdb_type(arrow_type: pa.DataType) -> str:
    """The DuckDB SQL type for an Arrow type used above (for views over tables with no file yet)."""
    if pa.types.is_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_int8(arrow_type):
        return "TINYINT"
    if pa.types.is_int32(arrow_type):
        return "INTEGER"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_float32(arrow_type):
        return "FLOAT"
    if pa.types.is_float64(arrow_type):
        return "DOUBLE"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_struct(arrow_type):
        fields = ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in arrow_type)
        return f"STRUCT({fields})"
    if pa.types.is_list(arrow_type):
        return f"{duckdb_type(arrow_type.value_type)}[]"
    raise TypeError(f"no DuckDB type for {arrow_type}")
