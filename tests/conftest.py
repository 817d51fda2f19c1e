"""Shared fixtures: one Prefect test server for the whole session, a temp config, the extractor.
Helpers that test modules import live in support.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from support import write_config


# Prefect reads these at import time, so they are set before any test module imports it.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="eventlake-prefect-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for every test that runs a flow (it takes seconds to start).
    Its URL is exported so that subprocesses (the CLI, worker processes) use it too."""
    from prefect.testing.utilities import prefect_test_harness
    from prefect.settings import get_current_settings

    with prefect_test_harness(server_startup_timeout=60):
        url = get_current_settings().api.url
        os.environ["PREFECT_API_URL"] = url
        yield url
        os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "eventlake.toml", ingest={"batch_size": 8, "workers": 2})


@pytest.fixture(scope="session")
def extractor():
    """The spaCy pipeline and dictionaries as configured, loaded once for the session."""
    from flows.resources import extractor_for
    from flows.settings import load_settings

    return extractor_for(load_settings())
