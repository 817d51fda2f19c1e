"""DuckDB views over snapshots of the Delta tables, for `eventlake sql`, Python and the plain duckdb CLI."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from transforms.confidence import DEFAULT_MIN_CONFIDENCE
from transforms.errors import QueryError
from warehouse.lookups import LOOKUP_VIEWS, install_lookups
from warehouse.schema import PARTITION_COLUMN, TABLES, duckdb_type
from warehouse.store import Warehouse

if TYPE_CHECKING:
    import duckdb

# duckdb is imported by the functions that query: a loading run only writes the views script,
# and would carry the engine (about 20 MiB) for nothing.

# Views derived from the stored tables. Events are counted from their sightings, the way GDELT
# splits Events from Mentions, so re-loading an article can never double-count a mention.
DERIVED_VIEWS = {
    "events": """
        SELECT event_id,
               any_value(event_date) AS event_date,
               any_value(source) AS source, any_value(target) AS target,
               any_value(cameo) AS cameo, any_value(cameo_root) AS cameo_root,
               any_value(plover) AS plover, any_value(quad_class) AS quad_class,
               any_value(goldstein) AS goldstein,
               count(*) AS num_mentions,
               count(DISTINCT coalesce(site, article_id)) AS num_sources,
               count(DISTINCT article_id) AS num_articles,
               mode(location) AS location, mode(location_country) AS location_country,
               any_value(latitude) AS latitude, any_value(longitude) AS longitude,
               avg(confidence) AS avg_confidence,
               min(published) AS first_reported, max(published) AS last_reported,
               arg_min(url, published) AS source_url
        FROM event_mentions WHERE confidence >= {min_confidence} GROUP BY event_id""",
    "actors": """
        WITH by_actor AS (
            SELECT actor_id,
                   mode(name) AS name, mode(code) AS code, mode(country) AS country, mode(type) AS type,
                   min(published) AS first_seen, max(published) AS last_seen,
                   count(*) AS mentions, count(DISTINCT article_id) AS articles
            FROM actor_mentions GROUP BY actor_id),
        by_role AS (
            SELECT actor_id, role, code, min(published) AS since, max(published) AS until, count(*) AS mentions
            FROM actor_mentions WHERE role IS NOT NULL GROUP BY actor_id, role, code),
        roles AS (
            SELECT actor_id, list({'role': role, 'code': code, 'since': since, 'until': until,
                                   'mentions': mentions} ORDER BY since, role) AS roles
            FROM by_role GROUP BY actor_id)
        SELECT by_actor.*, roles.roles FROM by_actor LEFT JOIN roles USING (actor_id)""",
}


def derived_view_sql(name: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> str:
    """A derived view's query; the `events` view counts only mentions at or above `min_confidence`
    (event_mentions keeps them all)."""
    return DERIVED_VIEWS[name].replace("{min_confidence}", repr(float(min_confidence)))


def _empty_view_sql(table: str) -> str:
    # No file yet: an empty view with the same columns, so queries bind before the first load.
    columns = [f'CAST(NULL AS {duckdb_type(f.type)}) AS "{f.name}"' for f in TABLES[table].schema]
    columns.append(f'CAST(NULL AS VARCHAR) AS "{PARTITION_COLUMN}"')
    return f"SELECT {', '.join(columns)} WHERE false"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def views_script(warehouse: Warehouse, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> str:
    """SQL that creates every view over exactly the active files of each table's current version,
    with paths relative to the data directory: `cd DATA && duckdb -init views.sql`."""
    statements = []
    for name in TABLES:
        files = [f"warehouse/{name}/{path}" for path in warehouse.data_files(name)]
        if files:
            listed = ", ".join(_quote(f) for f in files)
            sql = (
                f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
                f"hive_types = {{'{PARTITION_COLUMN}': VARCHAR}}, union_by_name = true)"
            )
        else:
            sql = _empty_view_sql(name)
        statements.append(f"CREATE OR REPLACE VIEW {name} AS {sql};")
    statements += [
        f"CREATE OR REPLACE VIEW {name} AS {derived_view_sql(name, min_confidence).strip()};" for name in DERIVED_VIEWS
    ]
    return "\n".join(statements) + "\n"


def write_views_script(warehouse: Warehouse, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> Path | None:
    """Rewrite DATA/views.sql (local data directories; on object storage there is no file to open it from)."""
    if warehouse.remote:
        return None
    path = warehouse.root / "views.sql"
    from warehouse.lookups import lookups_script

    staged = path.with_name(f".views-{os.getpid()}.sql")
    staged.write_text(
        "-- Generated by eventlake after each load: views over the active files of the current "
        "Delta versions.\n-- Paths are relative to this folder: cd into it, then "
        "`duckdb -init views.sql`.\n"
        + views_script(warehouse, min_confidence)
        + lookups_script(min_confidence=min_confidence),
        encoding="utf-8",
    )
    os.replace(staged, path)
    return path


def connect(
    data_dir: Path | str,
    as_of: int | str | datetime | None = None,
    storage_options: dict[str, str] | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per table over one snapshot of each Delta table
    (the current version, or the one at `as_of`: a time, or a version of `articles`, meaning
    every table as it was when that version was committed); only reads.

    `articles` is read first: it commits last in a load, so the other tables' snapshots hold at
    least the rows of every article seen.
    """
    import duckdb

    warehouse = Warehouse(data_dir, storage_options=storage_options)
    if isinstance(as_of, int):
        as_of = warehouse.version_time(as_of)
    connection = duckdb.connect(":memory:")
    for name in TABLES:
        dataset = warehouse.dataset(name, as_of)
        if dataset is None:
            connection.execute(f"CREATE VIEW {name} AS {_empty_view_sql(name)}")
        else:
            connection.register(f"{name}_snapshot", dataset)
            connection.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_snapshot")
    for name in DERIVED_VIEWS:
        connection.execute(f"CREATE VIEW {name} AS {derived_view_sql(name, min_confidence)}")
    install_lookups(connection, min_confidence=min_confidence)
    return connection


def _query_error(problem: str) -> QueryError:
    return QueryError(
        "sql", "run query", problem, "the views are " + ", ".join([*TABLES, *DERIVED_VIEWS, *LOOKUP_VIEWS])
    )


def lock_down(connection: duckdb.DuckDBPyConnection) -> None:
    """No file, network or extension access from here on, and no setting can undo it: the views'
    snapshots are Arrow datasets registered in the connection, so they still read."""
    for setting in (
        "enable_external_access = false",
        "autoinstall_known_extensions = false",
        "autoload_known_extensions = false",
        "allow_community_extensions = false",
        "lock_configuration = true",
    ):
        connection.execute(f"SET {setting}")


def run_query(
    data_dir: Path | str,
    sql: str,
    as_of: int | str | datetime | None = None,
    storage_options: dict[str, str] | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> tuple[list[str], list[tuple]]:
    """Column names and rows of one read-only query (SELECT, WITH, VALUES, ...) over the warehouse views."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise _query_error(str(exc).splitlines()[0]) from None
    if len(statements) != 1:
        raise QueryError(
            "sql",
            "run query",
            f"{len(statements)} statements given; one query at a time",
            "pass a single SELECT statement",
        )
    if statements[0].type not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
        raise QueryError(
            "sql",
            "run query",
            f"{statements[0].type.name} statements are not allowed: the warehouse is read-only here",
            "pass a single SELECT statement",
        )
    connection = connect(data_dir, as_of, storage_options, min_confidence)
    try:
        lock_down(connection)
        result = connection.execute(sql)
        columns = [d[0] for d in result.description] if result.description else []
        return columns, result.fetchall()
    except duckdb.Error as exc:
        problem = str(exc).splitlines()[0]
        if as_of is not None and ("not found" in problem or "No such file" in problem):
            raise QueryError(
                "sql",
                "run query",
                f"a file of that version is gone ({problem})",
                "`eventlake compact` deletes files older than its retention; query a later version",
            ) from None
        raise _query_error(problem) from None
    finally:
        connection.close()


def _json_value(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


# Table cells: at most this many terminal columns; longer values end in "…".
MAX_CELL_WIDTH = 60


def _float_text(value: float) -> str:
    # Four decimals, trailing zeros dropped: float32 columns (goldstein, confidence) show 3.4,
    # not 3.4000000953674316.
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):
        # Midnight UTC timestamps read as days; others to the second, in UTC.
        if value.tzinfo is not None:
            from datetime import timezone

            value = value.astimezone(timezone.utc)
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(_rounded(_json_value(value)), ensure_ascii=False)
    return str(value)


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return float(_float_text(value)) if value == value else value
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _display_width(text: str) -> int:
    """Terminal columns of a string: East Asian wide characters take two, combining marks none."""
    import unicodedata

    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    """The text cut to `width` columns with a closing "…" when it does not fit, padded to width."""
    if _display_width(text) > width:
        kept, used = [], 0
        for char in text:
            size = _display_width(char)
            if used + size > width - 1:
                break
            kept.append(char)
            used += size
        text = "".join(kept) + "…"
    return text + " " * (width - _display_width(text))


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(_json_value(value), ensure_ascii=False)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def format_rows(columns: list[str], rows: list[tuple], fmt: str) -> str:
    """Rows as an aligned text table, CSV (structs and lists as JSON), or a JSON array of row objects."""
    if fmt == "json":
        return json.dumps(
            [{c: _json_value(v) for c, v in zip(columns, row)} for row in rows], ensure_ascii=False, indent=1
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_csv_value(v) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    cells = [[" ".join(_cell_text(v).split()) if isinstance(v, str) else _cell_text(v) for v in row] for row in rows]
    numeric = [
        bool(rows)
        and all(
            isinstance(r[i], (int, float, Decimal)) and not isinstance(r[i], bool) for r in rows if r[i] is not None
        )
        and any(r[i] is not None for r in rows)
        for i in range(len(columns))
    ]
    widths = [
        min(MAX_CELL_WIDTH, max([_display_width(c)] + [_display_width(r[i]) for r in cells]))
        for i, c in enumerate(columns)
    ]

    def line(values: list[str], align: bool = True) -> str:
        parts = []
        for i, (value, width) in enumerate(zip(values, widths)):
            fitted = _fit(value, width)
            if align and numeric[i] and _display_width(value) <= width:
                fitted = " " * (width - _display_width(value)) + value
            parts.append(fitted)
        return "  ".join(parts).rstrip()

    out = [line(list(columns), False), line(["-" * w for w in widths], False)] + [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)
