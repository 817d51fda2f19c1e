"""Warehouse: Delta round trip through DuckDB, idempotent replaces, partitions, locking, unpublished files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timezone

import pyarrow.parquet as pq
import pytest

from transforms.errors import QueryError
from transforms.records import Article, BatchOutput, Reject
from warehouse.load import load_batch
from warehouse.schema import period_of
from warehouse.store import Warehouse
from warehouse.views import connect, format_rows, run_query

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def article(n: int, text: str | None = None, published: date | None = date(2024, 4, 14), **extra) -> Article:
    text = text or f"Article number {n} says something about Ukraine and Poland."
    from transforms.clean import content_hash

    return Article(
        article_id=f"id{n:04d}",
        input=f"file{n}.txt",
        text=text,
        content_hash=content_hash(text),
        language="en",
        published=published,
        **extra,
    )


def test_round_trip_keeps_unicode_nulls_and_dates(tmp_path):
    wh = Warehouse(tmp_path)
    tricky = article(
        1,
        text="Zürich, Kyiv – «Łódź» 北京 ‘quotes’ \u2028 emoji 🙂 and a NUL-free\nnew line.",
        title=None,
        author="Ana Müller",
    )
    undated = article(2, published=None)
    load_batch(wh, BatchOutput(articles=[tricky, undated]), "run1", NOW)
    rows = (
        connect(tmp_path)
        .execute(
            "SELECT article_id, text, title, author, published, period, ingested_at FROM articles ORDER BY article_id"
        )
        .fetchall()
    )
    assert rows[0][1] == tricky.text and rows[0][2] is None and rows[0][3] == "Ana Müller"
    assert rows[0][4] == date(2024, 4, 14) and rows[0][5] == "2024-04"
    assert rows[0][6] == NOW
    assert rows[1][4] is None and rows[1][5] == "unknown"


def test_reloading_the_same_batch_changes_nothing(tmp_path):
    wh = Warehouse(tmp_path)
    batch = BatchOutput(articles=[article(i) for i in range(5)], rejects=[Reject("bad.txt", "read", "empty file")])
    first = load_batch(wh, batch, "run1", NOW)
    before = {f: f.read_bytes() for f in (tmp_path / "warehouse").rglob("*.parquet")}
    second = load_batch(wh, batch, "run2", datetime(2024, 6, 1, tzinfo=timezone.utc))
    after = {f: f.read_bytes() for f in (tmp_path / "warehouse").rglob("*.parquet")}
    assert (first.loaded, second.loaded, second.unchanged) == (5, 0, 5)
    assert before == after


def test_changed_article_replaces_its_row_even_across_partitions(tmp_path):
    wh = Warehouse(tmp_path)
    load_batch(wh, BatchOutput(articles=[article(1, published=date(2024, 1, 5))]), "run1", NOW)
    load_batch(
        wh, BatchOutput(articles=[article(1, text="A corrected text.", published=date(2024, 3, 9))]), "run2", NOW
    )
    rows = connect(tmp_path).execute("SELECT article_id, text, period FROM articles").fetchall()
    assert rows == [("id0001", "A corrected text.", "2024-03")]
    assert [p.split("/")[0] for p in wh.data_files("articles")] == ["period=2024-03"]


def test_exact_duplicates_are_counted_not_loaded(tmp_path):
    wh = Warehouse(tmp_path)
    same = "The same wire story, syndicated by two sites."
    counts = load_batch(wh, BatchOutput(articles=[article(1, text=same), article(2, text=same)]), "r", NOW)
    later = load_batch(wh, BatchOutput(articles=[article(3, text=same.upper())]), "r2", NOW)
    assert (counts.loaded, counts.duplicate, later.duplicate) == (1, 1, 1)
    assert connect(tmp_path).execute("SELECT count(*) FROM articles").fetchone() == (1,)


@pytest.mark.parametrize("granularity,expected", [("day", "2024-04-14"), ("month", "2024-04"), ("year", "2024")])
def test_partition_granularity(granularity, expected):
    assert period_of(date(2024, 4, 14), granularity) == expected
    assert period_of(None, granularity) == "unknown"


def test_views_exist_before_any_load_and_sql_errors_are_clear(tmp_path):
    columns, rows = run_query(tmp_path, "SELECT count(*) AS n FROM articles")
    assert (columns, rows) == (["n"], [(0,)])
    with pytest.raises(QueryError) as caught:
        run_query(tmp_path, "SELECT nope FROM articles")
    assert str(caught.value).startswith("sql: run query: Binder Error")


def test_output_formats():
    columns, rows = ["a", "b"], [(1, "x,y"), (None, date(2024, 1, 2))]
    assert json.loads(format_rows(columns, rows, "json")) == [{"a": 1, "b": "x,y"}, {"a": None, "b": "2024-01-02"}]
    assert format_rows(columns, rows, "csv") == 'a,b\n1,"x,y"\n,2024-01-02'
    assert format_rows(columns, rows, "table").splitlines()[-1] == "(2 rows)"


def test_files_without_a_commit_are_invisible(tmp_path):
    wh = Warehouse(tmp_path)
    load_batch(wh, BatchOutput(articles=[article(1)]), "run1", NOW)
    partition = tmp_path / "warehouse" / "articles" / "period=2024-04"
    (published,) = partition.glob("*.parquet")
    # What a run killed between writing a file and committing it leaves behind.
    pq.write_table(pq.read_table(published), partition / "part-dead.parquet")
    assert connect(tmp_path).execute("SELECT count(*) FROM articles").fetchone() == (1,)
    assert (tmp_path / "views.sql").exists() is False or "part-dead" not in (tmp_path / "views.sql").read_text()


def test_second_writer_waits_for_the_lock(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time
        from warehouse.store import Warehouse
        with Warehouse({str(tmp_path)!r}).lock("holder run"):
            print("locked", flush=True)
            time.sleep(2)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    messages = []
    started = time.monotonic()
    with Warehouse(tmp_path).lock("second run", on_wait=messages.append):
        waited = time.monotonic() - started
    holder.wait(timeout=10)
    assert waited >= 1.0
    assert len(messages) == 1
    assert "another eventlake run holds the write lock (holder run, pid" in messages[0]
    assert messages[0].endswith("waiting for it to finish")


def test_reprocess_rewrites_unchanged_articles_without_duplicating(tmp_path):
    wh = Warehouse(tmp_path)
    batch = BatchOutput(articles=[article(i) for i in range(3)])
    load_batch(wh, batch, "run1", NOW)
    again = load_batch(wh, batch, "run2", NOW, reprocess=True)
    assert (again.loaded, again.unchanged) == (3, 0)
    rows = (
        connect(tmp_path).execute("SELECT count(*), count(DISTINCT article_id), min(run_id) FROM articles").fetchone()
    )
    assert rows == (3, 3, "run2")


def test_a_replace_rewrites_only_the_files_holding_its_keys(tmp_path):
    wh = Warehouse(tmp_path)
    for start in range(0, 30, 6):
        load_batch(wh, BatchOutput(articles=[article(i) for i in range(start, start + 6)]), f"run{start}", NOW)
    before = set(wh.data_files("articles"))
    assert len(before) == 5

    changed = [article(i, text=f"Corrected report {i} on Poland.") for i in (0, 13)]
    load_batch(wh, BatchOutput(articles=changed), "run-fix", NOW)
    after = set(wh.data_files("articles"))
    # The batches of articles 0 and 13 are rewritten without them, plus one file with the new rows.
    assert len(before - after) == 2 and len(after - before) == 3
    rows = connect(tmp_path).execute("SELECT article_id, text FROM articles ORDER BY article_id").fetchall()
    assert len(rows) == 30 and len({r[0] for r in rows}) == 30
    assert {r[0] for r in rows if r[1].startswith("Corrected")} == {"id0000", "id0013"}


def test_known_actors_takes_each_persons_usual_coding_and_unambiguous_surnames(tmp_path):
    from transforms.records import ActorMention
    from warehouse.load import known_actors

    def person(article_id: str, start: int, name: str, code: str | None, country: str | None) -> ActorMention:
        return ActorMention(
            article_id, 0, start, start + len(name), name, name.lower(), name, code, country, "PERSON", 0.9
        )

    wh = Warehouse(tmp_path)
    assert known_actors(wh) == {}
    mentions = [
        person("id0001", 0, "Fumio Kishida", "JPNGOV", "JPN"),
        person("id0001", 40, "Fumio Kishida", "JPNGOV", "JPN"),
        person("id0002", 0, "Fumio Kishida", "JPNELI", "JPN"),
        person("id0002", 30, "Ann Lee", "USAGOV", "USA"),
        person("id0002", 60, "Bo Lee", "KORGOV", "KOR"),
        person("id0002", 90, "Jan Novak", None, "CZE"),
    ]
    load_batch(wh, BatchOutput(articles=[article(1), article(2)], actor_mentions=mentions), "run1", NOW)
    known = known_actors(wh)
    assert known["Fumio Kishida"] == ("JPN", "JPNGOV")
    assert known["Kishida"] == ("JPN", "JPNGOV")
    assert known["Ann Lee"] == ("USA", "USAGOV") and "Lee" not in known
    assert "Jan Novak" not in known and "Novak" not in known
