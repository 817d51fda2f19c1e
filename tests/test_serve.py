"""`eventlake serve` on a real Prefect server: deployments registered with their schedule and
parameters, scheduled nightly runs created by the server's scheduler, a backfill triggered with
`prefect deployment run` and its rows seen in the warehouse.

The session harness (tests/conftest.py) runs Prefect's server in ephemeral mode, where the
scheduler service is off, so this module starts `prefect server start` as its own process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from support import REPO, write_config
from warcs import write_warc
from warehouse.views import connect
from webserver import ARTICLES

SITE = "https://news.example.org"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def prefect_server_process(tmp_path_factory):
    """`prefect server start` on a free port, with its own PREFECT_HOME and database."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home}/prefect.db",
    }
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"prefect server exited:\n{(home / 'server.log').read_text()[-3000:]}")
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 120, "the Prefect server to start")
        yield url
    finally:
        stop(process)
        log.close()


def api(url: str, path: str, body: dict | None = None):
    response = (
        httpx.post(f"{url}{path}", json=body or {}, timeout=10)
        if body is not None
        else httpx.get(f"{url}{path}", timeout=10)
    )
    response.raise_for_status()
    return response.json()


def test_serve_registers_deployments_and_a_triggered_backfill_loads_rows(tmp_path, prefect_server_process):
    url = prefect_server_process
    config = write_config(
        tmp_path / "eventlake.toml",
        ingest={"batch_size": 4, "workers": 1},
        schedule={"nightly_cron": "30 3 * * *", "timezone": "Europe/Paris"},
    )
    data = tmp_path / "data"
    captures = [datetime(2024, 3, d, 9) for d in (1, 5, 6, 20)]
    warc = write_warc(
        tmp_path / "archives" / "news.warc.gz",
        [(SITE + p, body, c) for (p, body), c in zip(ARTICLES.items(), captures)],
    )
    env = {**os.environ, "PREFECT_API_URL": url}
    serve_log = open(tmp_path / "serve.log", "wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--data", str(data), "--config", str(config)],
        cwd=REPO,
        env=env,
        stdout=serve_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def registered():
            if serve.poll() is not None:
                raise AssertionError(f"eventlake serve exited:\n{(tmp_path / 'serve.log').read_text()[-3000:]}")
            found = api(url, "/deployments/filter", {})
            return found if len(found) == 2 else None

        deployments = wait_for(registered, 120, "both deployments")
        flows = {d["id"]: api(url, f"/flows/{d['flow_id']}")["name"] for d in deployments}
        by_name = {f"{flows[d['id']]}/{d['name']}": d for d in deployments}
        assert set(by_name) == {"nightly/nightly", "backfill/backfill"}
        common = {"data_dir": str(data), "config": str(config)}
        nightly, backfill = by_name["nightly/nightly"], by_name["backfill/backfill"]
        assert nightly["parameters"] == common and backfill["parameters"] == common
        assert [s["schedule"] for s in nightly["schedules"]] == [
            {"cron": "30 3 * * *", "timezone": "Europe/Paris", "day_or": True}
        ]
        assert backfill["schedules"] == []
        properties = backfill["parameter_openapi_schema"]["properties"]
        assert {"since", "until", "sources"} <= set(properties)
        assert {"format": "date", "type": "string"} in properties["since"]["anyOf"]

        # The server's scheduler creates the coming nightly runs at 03:30 Paris time.
        def scheduled():
            runs = api(
                url,
                "/flow_runs/filter",
                {"flow_runs": {"deployment_id": {"any_": [nightly["id"]]}, "state": {"type": {"any_": ["SCHEDULED"]}}}},
            )
            return runs or None

        runs = wait_for(scheduled, 90, "scheduled nightly runs")
        for run in runs:
            start = datetime.fromisoformat(run["expected_start_time"]).astimezone(ZoneInfo("Europe/Paris"))
            assert (start.hour, start.minute) == (3, 30)
            assert start - datetime.now(ZoneInfo("Europe/Paris")) < timedelta(days=101)

        trigger = subprocess.run(
            [
                sys.executable,
                "-m",
                "prefect",
                "deployment",
                "run",
                "backfill/backfill",
                "--param",
                "since=2024-03-02",
                "--param",
                "until=2024-03-10",
                "--param",
                f"sources={json.dumps([str(warc)])}",
                "--watch",
                "--watch-timeout",
                "300",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert trigger.returncode == 0, trigger.stdout[-3000:] + trigger.stderr[-3000:]
        assert "Completed" in trigger.stdout
    finally:
        stop(serve, signal.SIGINT)
        serve_log.close()

    rows = connect(data).execute("SELECT url FROM articles ORDER BY url").fetchall()
    assert rows == [(SITE + "/world/japan-philippines-drills.html",), (SITE + "/world/kenya-tanzania-talks.html",)]
    ((run_id, parameters),) = (
        connect(data).execute("SELECT run_id, parameters FROM runs WHERE flow = 'backfill'").fetchall()
    )
    flow_runs = api(url, "/flow_runs/filter", {"flow_runs": {"deployment_id": {"any_": [backfill["id"]]}}})
    assert [r["id"] for r in flow_runs] == [run_id]  # the served run is the one that wrote the rows
    assert flow_runs[0]["state"]["type"] == "COMPLETED"
    assert json.loads(parameters) == {"since": "2024-03-02", "until": "2024-03-10", "sources": [str(warc)]}
    assert date.fromisoformat(json.loads(parameters)["since"]) == date(2024, 3, 2)
