"""The temporary Prefect server a command starts when no PREFECT_API_URL is configured."""

from __future__ import annotations

import os
import subprocess
import sys

from support import REPO

# Starts a temporary server on a fresh PREFECT_HOME (its database not yet created), registers a
# flow through it, and prints the answer.
START_AND_USE = """
import httpx
from flows.api import TemporaryServer
server = TemporaryServer()
url = server.start()
try:
    print(httpx.post(f"{url}/flows/", json={"name": "probe"}, timeout=10).json()["name"])
finally:
    server.stop()
"""


def _environment(home) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    return env


def test_temporary_server_creates_its_database_before_serving(tmp_path):
    env = _environment(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-c", START_AND_USE], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "probe"
    assert (tmp_path / "home" / "prefect.db").stat().st_size > 0


def test_a_database_that_cannot_be_migrated_is_a_clear_error(tmp_path):
    home = tmp_path / "home"
    env = {
        **_environment(home),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path}/missing/dir/prefect.db",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--data", str(tmp_path / "data")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"error: Prefect database (PREFECT_HOME {home}): migrate temporary Prefect server's database: "
    )
    assert result.stderr.rstrip().endswith("run `prefect server database upgrade` to see the full error")
    assert not (tmp_path / "data" / "warehouse").exists()


def test_a_run_on_a_temporary_server_prints_no_dead_view_at_link(tmp_path):
    env = {**_environment(tmp_path / "home"), "PREFECT_LOGGING_LEVEL": "INFO"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "run",
            str(REPO / "samples" / "articles" / "001_kenya_tanzania_talks.txt"),
            "--data",
            str(tmp_path / "data"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Beginning flow run" in result.stdout + result.stderr  # the flow's log lines are shown...
    assert "View at" not in result.stdout + result.stderr  # ...but not a link to a server that is gone
