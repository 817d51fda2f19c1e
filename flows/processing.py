"""The CPU-bound batch task, in a module of its own: Dask workers import this module to run it,
and nothing here pulls in the warehouse side (pyarrow, duckdb), which workers never use."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE as NO_CACHE

from flows.settings import Settings
from transforms.records import BatchOutput, RawDocument


@task(name="process-batch", cache_policy=NO_CACHE)
def clean_and_extract(documents: list[RawDocument], settings: Settings, known_actors: dict) -> BatchOutput:
    """Clean and extract one batch: in a worker process of the runner's pool when it has one, else here."""
    from flows.memory import return_freed_memory
    from flows.runners import active_pool

    pool = active_pool()
    if pool is not None:
        return pool.process(documents, known_actors)
    # Imported here: with a pool the flow process never cleans or parses, and spaCy and
    # trafilatura would only add to its memory.
    from flows import resources
    from transforms import pipeline

    try:
        return pipeline.process_batch(
            documents, resources.cleaning_options(settings), resources.extractor_for(settings), known_actors
        )
    finally:
        return_freed_memory()
