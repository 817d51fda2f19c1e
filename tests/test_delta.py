"""Delta tables: snapshot reads during loads, time travel, history, compaction, concurrent writers,
the duckdb CLI script and the conversion of the old layout."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.clean import content_hash
from transforms.errors import QueryError
from transforms.records import Article, BatchOutput, EventMention, ActorRef
from warehouse.load import load_batch
from warehouse.schema import TABLES
from warehouse.store import Warehouse
from warehouse.views import connect, run_query, write_views_script

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def article(n: int, text: str | None = None) -> Article:
    text = text or f"Report {n}: Kenya and Tanzania held talks on the border."
    return Article(
        article_id=f"id{n:05d}",
        input=f"f{n}.txt",
        text=text,
        content_hash=content_hash(text),
        language="en",
        published=date(2024, 4, 1 + n % 28),
    )


def with_events(articles: list[Article]) -> BatchOutput:
    kenya, tanzania = ActorRef("Kenya", "KEN", "KEN", "Kenya"), ActorRef("Tanzania", "TZA", "TZA", "Tanzania")
    events = [
        EventMention(
            a.article_id,
            s,
            0,
            10,
            kenya,
            tanzania,
            "036",
            "CONSULT",
            1,
            1.0,
            a.published,
            None,
            None,
            None,
            None,
            a.text[:40],
            0.9,
            "held talks",
        )
        for a in articles
        for s in range(2)
    ]
    return BatchOutput(articles=articles, event_mentions=events)


def test_a_reader_during_loads_sees_whole_batches_and_never_errors(tmp_path):
    wh = Warehouse(tmp_path)
    load_batch(wh, with_events([article(i) for i in range(20)]), "run0", NOW)
    errors, seen = [], []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                rows = run_query(tmp_path, "SELECT count(*), count(DISTINCT article_id) FROM articles")[1][0]
                seen.append(rows)
            except Exception as exc:  # noqa: BLE001 (any error fails the test below)
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for start in range(20, 200, 20):
            load_batch(wh, with_events([article(i) for i in range(start, start + 20)]), f"run{start}", NOW)
            # Re-ingesting changed articles replaces rows in files the reader may be reading.
            load_batch(
                wh, with_events([article(i, f"Corrected {i} at {start}.") for i in range(0, 20, 3)]), f"fix{start}", NOW
            )
    finally:
        done.set()
        reader.join()
    assert not errors
    assert seen and all(total == distinct and total % 20 == 0 for total, distinct in seen)
    counts = connect(tmp_path).execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone()
    assert counts == (200, 200)
    per_article = (
        connect(tmp_path)
        .execute("SELECT count(*) FROM (SELECT article_id, count(*) AS n FROM event_mentions GROUP BY 1) WHERE n <> 2")
        .fetchone()
    )
    assert per_article == (0,)


def test_time_travel_and_history(tmp_path):
    wh = Warehouse(tmp_path)
    load_batch(wh, BatchOutput(articles=[article(1), article(2)]), "first-run", NOW)
    version = wh.delta("articles").version()
    moment = datetime.now(timezone.utc)
    load_batch(wh, BatchOutput(articles=[article(1, "A corrected report."), article(3)]), "second-run", NOW)

    now = run_query(tmp_path, "SELECT article_id, run_id FROM articles ORDER BY 1")[1]
    assert now == [("id00001", "second-run"), ("id00002", "first-run"), ("id00003", "second-run")]
    for as_of in (version, moment):
        past = run_query(tmp_path, "SELECT article_id, run_id FROM articles ORDER BY 1", as_of=as_of)[1]
        assert past == [("id00001", "first-run"), ("id00002", "first-run")]
    before_any = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert run_query(tmp_path, "SELECT count(*) FROM articles", as_of=before_any)[1] == [(0,)]

    commits = [c for c in wh.history() if c["table"] == "articles"]
    assert [c["run_id"] for c in commits] == ["second-run", "first-run", None]
    assert commits[0]["version"] == version + 1


def test_compact_merges_files_and_an_older_snapshot_keeps_reading(tmp_path):
    wh = Warehouse(tmp_path)
    for start in range(0, 50, 10):
        load_batch(wh, with_events([article(i) for i in range(start, start + 10)]), f"run{start}", NOW)
    old_reader = connect(tmp_path)
    assert len(wh.data_files("articles")) == 5
    report = wh.compact()  # default retention: files of the last 7 days stay
    assert report["articles"]["files_before"] == 5 and report["articles"]["files_after"] == 1
    assert report["articles"]["deleted"] == 0
    assert old_reader.execute("SELECT count(*) FROM articles").fetchone() == (50,)
    assert connect(tmp_path).execute("SELECT count(*) FROM event_mentions").fetchone() == (100,)
    # Loads go on over the compacted files: a replace finds its key inside the merged file.
    load_batch(wh, with_events([article(7, "Corrected seven.")]), "fix", NOW)
    assert run_query(tmp_path, "SELECT count(*), count(DISTINCT article_id) FROM articles")[1] == [(50, 50)]
    assert run_query(tmp_path, "SELECT text FROM articles WHERE article_id = 'id00007'")[1] == [("Corrected seven.",)]
    # With no retention, files no current version needs are deleted, and the past they held with them.
    assert wh.compact(retention_hours=0)["articles"]["deleted"] >= 5
    with pytest.raises(QueryError, match="a file of that version is gone"):
        run_query(tmp_path, "SELECT count(*) FROM articles", as_of=1)


def test_compact_policy_runs_after_loads(tmp_path):
    wh = Warehouse(tmp_path)
    for start in range(0, 30, 10):
        load_batch(wh, BatchOutput(articles=[article(i) for i in range(start, start + 10)]), f"run{start}", NOW)
    assert wh.compact_if_needed(0, 168) is None and wh.compact_if_needed(3, 168) is None
    assert wh.compact_if_needed(2, 168)["articles"]["files_after"] == 1


WRITER = textwrap.dedent("""
    import sys
    from datetime import date, datetime, timezone
    from transforms.clean import content_hash
    from transforms.records import Article, BatchOutput
    from warehouse.load import load_batch
    from warehouse.store import Warehouse

    root, name, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    wh = Warehouse(root)
    for start in range(first, last, 5):
        articles = []
        for n in range(start, start + 5):
            text = f"{name} wrote article {n} on talks between Kenya and Tanzania."
            articles.append(Article(article_id=f"id{n:05d}", input=f"{n}.txt", text=text,
                                    content_hash=content_hash(text), language="en", published=date(2024, 4, 2)))
        load_batch(wh, BatchOutput(articles=articles), f"{name}-{start}", datetime.now(timezone.utc))
""")


def test_two_concurrent_writers_end_with_correct_rows(tmp_path):
    """Without the run lock (as on object storage): one writer's new articles, and articles both
    write at once, each end up exactly once."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    Warehouse(tmp_path).replace("articles", TABLES["articles"].schema.empty_table(), ["nothing"])
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name, first, last], env=env, stderr=subprocess.PIPE, text=True
        )
        for name, first, last in (("a", "0", "60"), ("b", "30", "90"))
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err[-2000:]
    rows = (
        connect(tmp_path)
        .execute("SELECT count(*), count(DISTINCT article_id), count(DISTINCT content_hash) FROM articles")
        .fetchone()
    )
    assert rows == (90, 90, 90)
    owners = dict(connect(tmp_path).execute("SELECT substr(text, 1, 1), count(*) FROM articles GROUP BY 1").fetchall())
    assert owners.get("a", 0) >= 30 and owners.get("b", 0) >= 30


def test_views_script_lists_the_active_files_with_relative_paths(tmp_path):
    wh = Warehouse(tmp_path)
    load_batch(wh, with_events([article(i) for i in range(10)]), "run1", NOW)
    load_batch(wh, with_events([article(i, f"Corrected {i}.") for i in range(3)]), "run2", NOW)
    script = write_views_script(wh).read_text()
    assert str(tmp_path) not in script
    active = {f"warehouse/articles/{p}" for p in wh.data_files("articles")}
    listed = {part.split("'")[0] for part in script.split("'warehouse/articles/")[1:]}
    assert {f"warehouse/articles/{p}" for p in listed} == active
    # What `cd DATA && duckdb -init views.sql` does.
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        connection = duckdb.connect()
        connection.execute(script)
        assert connection.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone() == (10, 10)
        assert connection.execute("SELECT sum(num_mentions) FROM events").fetchone() == (20,)
        assert connection.execute("SELECT DISTINCT period FROM articles").fetchall() == [("2024-04",)]
    finally:
        os.chdir(cwd)


def test_old_layout_is_converted_on_first_write(tmp_path):
    old = tmp_path / "warehouse" / "articles" / "period=2024-04"
    old.mkdir(parents=True)
    rows = [
        {
            "article_id": "old1",
            "text": "An article from before.",
            "content_hash": content_hash("An article from before."),
            "published": date(2024, 4, 3),
            "language": "en",
            "run_id": "old-run",
        }
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=TABLES["articles"].schema), old / "data.parquet")
    messages = []
    from warehouse.migrate import migrate, old_layout_tables

    wh = Warehouse(tmp_path)
    assert old_layout_tables(wh) == ["articles"]
    with wh.lock("test"):
        pass
    assert old_layout_tables(wh) == [] and migrate(wh, messages.append) == []
    load_batch(wh, BatchOutput(articles=[article(1)]), "new-run", NOW)
    assert run_query(tmp_path, "SELECT article_id, run_id FROM articles ORDER BY 1")[1] == [
        ("id00001", "new-run"),
        ("old1", "old-run"),
    ]


def test_storage_settings_reach_the_warehouse(tmp_path):
    from support import write_config
    from flows.settings import load_settings

    config = write_config(tmp_path / "eventlake.toml", warehouse={"data_dir": "s3://lake/prefix/"})
    config.write_text(config.read_text() + '\n[warehouse.storage]\naws_region = "eu-west-1"\naws_allow_http = "true"\n')
    settings = load_settings(config)
    warehouse = settings.warehouse.open()
    assert (warehouse.uri, warehouse.remote) == ("s3://lake/prefix", True)
    assert warehouse.storage_options == {"aws_allow_http": "true", "aws_region": "eu-west-1"}
    assert warehouse.table_uri("articles") == "s3://lake/prefix/warehouse/articles"
