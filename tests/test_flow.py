"""The ingest flow end to end, under the session's Prefect server: sample corpus, bad inputs, re-runs, crashes."""

from __future__ import annotations

import codecs
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import EXPECTED, REPO, Result, run_cli, write_config
from synthetic import write_corpus
from warehouse.views import connect

pytestmark = pytest.mark.usefixtures("prefect_server")


def eventlake(*args: str, check: bool = True) -> Result:
    """`eventlake ARGS`, in this process."""
    result = run_cli(*args)
    if check and result.returncode != 0:
        raise AssertionError(f"eventlake {args} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def table(data: Path, sql: str) -> list[tuple]:
    return connect(data).execute(sql).fetchall()


def test_sample_corpus_run_then_rerun_is_idempotent(tmp_path, config_file):
    from flows.ingest import run_ingest

    data = tmp_path / "data"
    first = run_ingest(None, str(config_file), str(data))
    readable = [n for n, e in EXPECTED.items()]
    duplicates = [n for n, e in EXPECTED.items() if "duplicate_of" in e]
    non_english = [n for n, e in EXPECTED.items() if e.get("language", "en") != "en"]
    assert first["rejected"] == 1  # the truncated gzip file
    assert first["duplicate"] == len(duplicates)
    assert first["skipped"] == len(non_english)
    assert first["loaded"] == len(readable) - len(duplicates) - len(non_english)
    reject = table(data, "SELECT input, step, reason FROM rejects")
    assert [(Path(r[0]).name, r[1]) for r in reject] == [("broken_truncated.html.gz", "read")]
    assert reject[0][2].startswith("corrupt or truncated gzip data")

    snapshot = {
        name: table(data, f"SELECT * FROM {name} ORDER BY ALL")
        for name in ("articles", "rejects", "actor_mentions", "event_mentions", "quotes")
    }
    second = run_ingest(None, str(config_file), str(data))
    assert second["loaded"] == 0 and second["rejected"] == 1
    # On a re-run a repeated text is already stored: it counts as unchanged like the rest.
    assert second["unchanged"] + second["duplicate"] == first["loaded"] + first["skipped"] + first["duplicate"]
    for name, rows in snapshot.items():
        assert table(data, f"SELECT * FROM {name} ORDER BY ALL") == rows, name
    runs = table(data, "SELECT flow, counts.loaded, counts.unchanged FROM runs ORDER BY started")
    assert runs == [("ingest", first["loaded"], 0), ("ingest", 0, second["unchanged"])]
    assert (data / "views.sql").read_text().count("CREATE OR REPLACE VIEW") >= 6


def test_bad_inputs_become_rejects_and_the_run_goes_on(tmp_path, config_file):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    body = (
        "The foreign ministers of Chile and Peru met in Lima on Monday to discuss border trade, "
        "and agreed to open two new crossings before the end of the year."
    )
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "binary.html").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    (inputs / "latin1.txt").write_bytes(("Réunion à Zürich\n\n" + body).encode("latin-1"))
    (inputs / "cp1252.txt").write_bytes(
        ("“Quoted” headline\n\n" + body.replace("Lima", "Lima’s port")).encode("cp1252")
    )
    (inputs / "utf16.txt").write_bytes(codecs.BOM_UTF16_LE + ("Ukraine talks\n\n" + body + " Kyiv").encode("utf-16-le"))
    (inputs / "truncated.html.gz").write_bytes(gzip.compress(f"<html><body><p>{body}</p></body></html>".encode())[:40])
    with open(inputs / "huge.html", "wb") as handle:  # 50 MB: refused by size before it is read
        handle.write(b"<html><body>" + b"<p>filler text</p>" * (50_000_000 // 18) + b"</body></html>")
    (inputs / "no_article.html").write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    (inputs / "records.jsonl").write_text(
        json.dumps({"id": "r1", "text": body + " Santiago"}) + "\n{not json\n" + json.dumps({"id": "r3"}) + "\n"
    )
    result = eventlake("run", str(inputs), "--data", str(tmp_path / "data"), "--config", str(config_file))
    assert "warning: 7 input(s) rejected" in result.stderr
    rejects = {
        (Path(r[0]).name, r[1]): r[2] for r in table(tmp_path / "data", "SELECT input, step, reason FROM rejects")
    }
    assert rejects[("empty.txt", "decode")] == "empty file; the file has no content to read"
    assert rejects[("binary.html", "decode")].startswith("binary content, not text or HTML")
    assert rejects[("truncated.html.gz", "read")].startswith("corrupt or truncated gzip data")
    assert rejects[("huge.html", "read")].startswith("file is 50,000,0")
    assert rejects[("no_article.html", "clean")].startswith("no article text found in the HTML page")
    assert rejects[("records.jsonl:2", "read")] == (
        "malformed JSON line (Expecting property name enclosed in double quotes at column 2)"
    )
    assert rejects[("records.jsonl:3 (id r3)", "read")] == 'record has neither a non-empty "text" nor "html" string'
    assert len(rejects) == 7
    texts = [r[0] for r in table(tmp_path / "data", "SELECT text FROM articles ORDER BY text")]
    assert len(texts) == 4
    assert any("Lima's port" in t for t in texts) and any(t.endswith("Kyiv") for t in texts)


def test_nothing_readable_exits_non_zero(tmp_path, config_file):
    (tmp_path / "empty.txt").write_bytes(b"")
    result = eventlake(
        "run", str(tmp_path / "empty.txt"), "--data", str(tmp_path / "data"), "--config", str(config_file), check=False
    )
    assert result.returncode == 1
    assert "error: no input could be read" in result.stderr


def test_killed_run_leaves_no_partial_partition_and_rerun_completes(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", 240)
    config = write_config(
        tmp_path / "small.toml", ingest={"batch_size": 4, "workers": 1}, warehouse={"partition": "day"}
    )
    data = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(corpus), "--data", str(data), "--config", str(config)],
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    articles = data / "warehouse" / "articles"
    deadline = time.monotonic() + 300
    # Ten commits of articles (plus a table-creating one): killed somewhere inside a later batch.
    while time.monotonic() < deadline and len(list(articles.glob("_delta_log/*.json"))) < 11:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode != 0
    partial = table(data, "SELECT count(*), count(DISTINCT article_id) FROM articles")[0]
    assert 0 < partial[0] < 240 and partial[0] == partial[1]

    eventlake("run", str(corpus), "--data", str(data), "--config", str(config))
    clean = tmp_path / "clean"
    eventlake("run", str(corpus), "--data", str(clean), "--config", str(config))
    for name, key in (
        ("articles", "article_id, text"),
        ("actor_mentions", "article_id, start, code"),
        ("event_mentions", "article_id, start, cameo"),
    ):
        recovered = table(data, f"SELECT {key} FROM {name} ORDER BY ALL")
        assert recovered == table(clean, f"SELECT {key} FROM {name} ORDER BY ALL"), name
    assert table(data, "SELECT count(*) FROM articles") == [(240,)]


def test_sql_command_formats(tmp_path, config_file):
    data = tmp_path / "data"
    eventlake("run", "--data", str(data), "--config", str(config_file))
    out = eventlake(
        "sql",
        "SELECT title FROM articles WHERE title LIKE 'Niger junta%' ORDER BY title",
        "--format",
        "json",
        "--data",
        str(data),
    )
    assert json.loads(out.stdout) == [{"title": EXPECTED["017_niger_expels_french_ambassador.html"]["title"]}]
    bad = eventlake("sql", "SELECT * FROM nowhere", "--data", str(data), check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: sql: run query: Catalog Error: Table with name nowhere does not exist!")


def test_worker_side_imports_stay_lean():
    """Worker processes import the flow modules (to rebuild the run context) and the batch task;
    the warehouse engines and Prefect's server application must not come with them."""
    code = (
        "import sys, flows.ingest, flows.backfill, flows.nightly, flows.processing, flows.api\n"
        "print(sorted(m for m in ('pyarrow', 'duckdb', 'prefect.server.api.server') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("workers", "expected"), [(1, "ThreadPoolTaskRunner"), (3, "SharedPipelineTaskRunner")])
def test_processing_runs_on_a_thread_with_one_worker_and_in_processes_with_more(tmp_path, workers, expected):
    """One worker shares the flow process (no pickled batches); more workers are processes forked
    from one loaded pipeline, since parsing holds the GIL."""
    from flows.runners import processing_runner
    from flows.settings import load_settings

    runner = processing_runner(load_settings(write_config(tmp_path / "c.toml", ingest={"workers": workers})))
    assert type(runner).__name__ == expected
    assert runner._max_workers == workers


def test_flow_processes_give_arrow_the_system_allocator():
    """Arrow's mimalloc pool kept the pages of every partition rewrite; see flows/memory.py."""
    code = "import flows.ingest, pyarrow\nprint(pyarrow.default_memory_pool().backend_name)"
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "system"
