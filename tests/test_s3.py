"""Object storage: the warehouse on S3 (a moto server on 127.0.0.1, in its own process) through the CLI:
run, sql, an idempotent re-run, compact, history, time travel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from support import REPO, write_config

SERVER = textwrap.dedent("""
    import sys
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # until the test closes our stdin
    server.stop()
""")


@pytest.fixture(scope="module")
def s3_env():
    """A local S3 server (a separate process: delta-rs holds the GIL while it waits for S3, so a
    server thread in the test process would stall) and the AWS variables that point at it."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = int(server.stdout.readline())
        env = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        import boto3

        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="lake")
        yield env
    finally:
        server.stdin.close()
        server.wait(timeout=30)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def eventlake(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=REPO, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def sql(data: str, query: str, *extra: str) -> list[dict]:
    return json.loads(eventlake("sql", query, "--format", "json", "--data", data, *extra).stdout)


def test_s3_round_trip_run_sql_rerun_compact(s3_env, tmp_path):
    from flows.ingest import run_ingest

    config = write_config(tmp_path / "eventlake.toml", ingest={"batch_size": 8, "workers": 1})
    data = "s3://lake/eventlake"
    first = run_ingest(None, str(config), data)
    assert first["loaded"] > 10 and first["data_dir"] == data
    query = "SELECT article_id, content_hash, period FROM articles ORDER BY article_id"
    stored = sql(data, query)
    assert len(stored) == first["loaded"] + first["skipped"]
    events = sql(data, "SELECT count(*) AS n FROM event_mentions")[0]["n"]
    assert events > 0

    again = run_ingest(None, str(config), data)
    assert again["loaded"] == 0
    assert sql(data, query) == stored

    history = eventlake("history", "--data", data, "--format", "json").stdout
    commits = json.loads(history)
    assert {c["run_id"] for c in commits if c["table"] == "articles"} >= {first["run_id"]}
    first_version = max(c["version"] for c in commits if c["table"] == "articles" and c["run_id"] == first["run_id"])
    assert len(sql(data, query, "--as-of", str(first_version))) == len(stored)
    assert sql(data, "SELECT count(*) AS n FROM articles", "--as-of", "2000-01-01T00:00:00Z") == [{"n": 0}]

    out = eventlake("compact", "--data", data, "--retention-hours", "0").stdout
    assert "articles:" in out
    assert sql(data, query) == stored
    assert sql(data, "SELECT count(*) AS n FROM event_mentions")[0]["n"] == events
