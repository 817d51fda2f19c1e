"""Lookup views over the codebook files in config/dictionaries, and the events view with their names.

`cameo_codes`, `quad_classes`, `plover_types`, `countries` and `sectors` read the TSV files at
query time (DuckDB's read_csv), so an edited dictionary shows in the next query and the duckdb
CLI (`duckdb -init DATA/views.sql`) sees the same views. `events` is redefined on top of the
stored-table view so that every event carries its CAMEO, QuadClass and country names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from transforms.confidence import DEFAULT_MIN_CONFIDENCE

if TYPE_CHECKING:
    import duckdb

DICTIONARY_DIR = Path(__file__).resolve().parents[1] / "config" / "dictionaries"

# View name -> (file, column types in file order). Empty cells read as NULL.
LOOKUP_FILES: dict[str, tuple[str, dict[str, str]]] = {
    "_cameo_file": (
        "cameo.tsv",
        {"code": "VARCHAR", "name": "VARCHAR", "goldstein": "DOUBLE", "quadclass": "TINYINT", "plover": "VARCHAR"},
    ),
    "_plover_modes_file": ("plover_modes.tsv", {"cameo": "VARCHAR", "mode": "VARCHAR"}),
    "quad_classes": ("quad_classes.tsv", {"quad_class": "TINYINT", "label": "VARCHAR"}),
    "plover_types": (
        "plover_types.tsv",
        {"type": "VARCHAR", "quad_class": "TINYINT", "polecat_type": "VARCHAR", "description": "VARCHAR"},
    ),
    "countries": (
        "countries.tsv",
        {"iso3": "VARCHAR", "iso2": "VARCHAR", "name": "VARCHAR", "fips": "VARCHAR", "region": "VARCHAR"},
    ),
    "sectors": ("sectors.tsv", {"code": "VARCHAR", "name": "VARCHAR", "description": "VARCHAR"}),
}

# One row per CAMEO code. A code's PLOVER mode is the one listed for it or its nearest parent
# ("1831" suicide bombing before "183" bombing).
CAMEO_CODES = """
SELECT c.code, c.name, left(c.code, 2) AS root, r.name AS root_name,
       c.quadclass AS quad_class, q.label AS quad_label, c.goldstein, c.plover AS plover_type,
       (SELECT m.mode FROM _plover_modes_file m WHERE starts_with(c.code, m.cameo)
        ORDER BY length(m.cameo) DESC LIMIT 1) AS plover_mode
FROM _cameo_file c
LEFT JOIN _cameo_file r ON r.code = left(c.code, 2)
LEFT JOIN quad_classes q ON q.quad_class = c.quadclass
"""

# The stored-table events view with the lookups' names added.
NAMED_EVENTS = """
SELECT e.*, cc.name AS cameo_name, cc.root_name AS cameo_root_name, q.label AS quad_label,
       cc.plover_mode, lc.name AS location_country_name,
       sc.name AS source_country_name, tc.name AS target_country_name
FROM ({events}) e
LEFT JOIN cameo_codes cc ON cc.code = e.cameo
LEFT JOIN quad_classes q ON q.quad_class = e.quad_class
LEFT JOIN countries lc ON lc.iso3 = e.location_country
LEFT JOIN countries sc ON sc.iso3 = e.source.country
LEFT JOIN countries tc ON tc.iso3 = e.target.country
"""

LOOKUP_VIEWS = ("cameo_codes", "quad_classes", "plover_types", "countries", "sectors")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read_tsv(path: Path, columns: dict[str, str]) -> str:
    types = ", ".join(f"{_sql_string(name)}: {_sql_string(kind)}" for name, kind in columns.items())
    return (
        f"SELECT * FROM read_csv({_sql_string(str(path))}, delim = '\\t', header = true, "
        f"quote = '', escape = '', auto_detect = false, columns = {{{types}}})"
    )


def lookups_script(
    dictionary_dir: Path | None = None, materialise: bool = False, min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> str:
    """CREATE statements for the lookups and the named events view. `materialise` reads the
    dictionaries into tables once (for connections that then lose file access, as `eventlake sql`'s)."""
    from warehouse.views import derived_view_sql

    folder = Path(dictionary_dir or DICTIONARY_DIR).resolve()
    kind = "TABLE" if materialise else "VIEW"
    statements = [
        f"CREATE OR REPLACE {kind} {view} AS {_read_tsv(folder / name, columns)};"
        for view, (name, columns) in LOOKUP_FILES.items()
    ]
    statements.append(f"CREATE OR REPLACE VIEW cameo_codes AS {CAMEO_CODES.strip()};")
    events = NAMED_EVENTS.format(events=derived_view_sql("events", min_confidence).strip()).strip()
    statements.append(f"CREATE OR REPLACE VIEW events AS {events};")
    return "\n".join(statements) + "\n"


def install_lookups(
    connection: duckdb.DuckDBPyConnection,
    dictionary_dir: Path | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> None:
    """Add the lookups to a connection that already has the stored-table views."""
    connection.execute(lookups_script(dictionary_dir, materialise=True, min_confidence=min_confidence))
