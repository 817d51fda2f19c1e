"""The Parquet warehouse: table schemas, atomic writes, DuckDB views."""
