"""Inputs that do not exist are errors before any Prefect server starts when nothing named exists:
paths, globs that match nothing, a nightly with no sources at all. (Among inputs that exist, a
missing one is a reject of the run: tests/test_backfill.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support import REPO, write_config


def eventlake(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)  # a run would start a temporary server (and create its database)
    config = write_config(tmp_path / "eventlake.toml")
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args, "--data", str(tmp_path / "data"), "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "{tmp}/missing.txt"], "error: no such file or directory: {tmp}/missing.txt"),
        (
            ["run", "{tmp}/missing.txt", "{tmp}/gone/"],
            "error: no such file or directory: {tmp}/missing.txt\nerror: no such file or directory: {tmp}/gone/",
        ),
        (
            ["backfill", "{tmp}/CC-NEWS-*.warc.gz"],
            "error: {tmp}/CC-NEWS-*.warc.gz: backfill: no file matches the pattern",
        ),
        (["backfill", "{tmp}/archive.warc.gz"], "error: no such file or directory: {tmp}/archive.warc.gz"),
        (["nightly", "--urls", "{tmp}/watchlist.txt"], "error: no such file or directory: {tmp}/watchlist.txt"),
        (
            ["nightly"],
            "error: {tmp}/sources.toml: nightly: no feeds, sitemaps or URL lists are configured; "
            "add them to the sources file or pass --feed URL",
        ),
    ],
)
def test_missing_inputs_fail_before_a_server_starts(tmp_path, args, message):
    result = eventlake(tmp_path, *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert result.stderr.strip() == message.format(tmp=tmp_path)
    # No temporary server was started (it would have created its database) and nothing was written.
    assert not (tmp_path / "home" / "prefect.db").exists()
    assert not (tmp_path / "data" / "warehouse").exists()
