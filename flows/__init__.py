"""Orchestration: Prefect flows, source readers, fetching, and the command line.

Modules that define flows (ingest, backfill, nightly) and what they import at module level stay
free of the warehouse side (pyarrow, duckdb: about 70 MiB): worker processes import a flow's
module to rebuild the flow run's context, and they only clean and extract. Warehouse modules
are imported inside the functions that read or write.
"""

import os

# Arrow picks its allocator from this variable once, at its first allocation, so it is set as
# soon as the package is imported, before pyarrow; a user's own choice stands. Why "system": see
# flows/memory.py, keep_warehouse_writes_lean.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
