"""Pure transforms: raw documents in, cleaned articles, actors and events out. No I/O, no Prefect."""
