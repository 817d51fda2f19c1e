"""Shared fixtures: one Prefect test server for the whole session, sample corpus paths, temp configs."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "articles"
EXPECTED = json.loads((REPO / "samples" / "expected.json").read_text(encoding="utf-8"))
SHARED = REPO.parent / "shared"

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


def write_config(path: Path, **sections: dict) -> Path:
    """A settings file whose relative paths still point into the repo, with some values changed."""
    base = {
        "ingest": {"sample_corpus": str(SAMPLES)},
        "dictionaries": {"dir": str(REPO / "config" / "dictionaries")},
        "events": {"confidence_model": str(REPO / "config" / "models" / "confidence.json")},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "eventlake.toml", ingest={"batch_size": 8, "workers": 2})


def sample_document(name: str):
    """A sample corpus file as the reader would hand it over (gzip looked through)."""
    import gzip
    from transforms.records import RawDocument
    path = SAMPLES / name
    data = gzip.open(path).read() if name.endswith(".gz") else path.read_bytes()
    return RawDocument(input=name, data=data, kind="html" if ".htm" in name else "text")


@pytest.fixture(scope="session")
def extractor():
    """The spaCy pipeline and dictionaries as configured, loaded once for the session."""
    from flows.resources import extractor_for
    from flows.settings import load_settings
    return extractor_for(load_settings())


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared evaluation folder is absent)")
    return path
