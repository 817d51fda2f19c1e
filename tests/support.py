"""Helpers the test modules import (conftest.py holds only fixtures): repository paths, the sample
corpus and its expectations, settings files for a test, and calling the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "articles"
EXPECTED = json.loads((REPO / "samples" / "expected.json").read_text(encoding="utf-8"))
SHARED = REPO.parent / "shared"


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


def sample_document(name: str):
    """A sample corpus file as the reader would hand it over (gzip looked through)."""
    import gzip
    from transforms.records import RawDocument

    path = SAMPLES / name
    data = gzip.open(path).read() if name.endswith(".gz") else path.read_bytes()
    return RawDocument(input=name, data=data, kind="html" if ".htm" in name else "text")


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared evaluation folder is absent)")
    return path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, stdin: bytes | None = None) -> Result:
    """`eventlake ARGS` in this process (`flows.cli.main`), with its output captured."""
    import sys

    from flows.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())
