"""`eventlake sql` is a read-only window: one SELECT over the views, no files, no extensions, no settings."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from transforms.clean import content_hash
from transforms.errors import QueryError
from transforms.records import Article, BatchOutput
from warehouse.load import load_batch
from warehouse.store import Warehouse
from warehouse.views import run_query

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture()
def data(tmp_path):
    text = "Kenya and Tanzania held talks on the border."
    articles = [
        Article(
            article_id=f"id{n:04d}",
            input=f"f{n}.txt",
            text=f"{text} {n}",
            content_hash=content_hash(f"{text} {n}"),
            language="en",
            published=date(2024, 4, 14),
        )
        for n in range(12)
    ]
    load_batch(Warehouse(tmp_path), BatchOutput(articles=articles), "run1", NOW)
    return tmp_path


def refused(data, sql: str) -> str:
    with pytest.raises(QueryError) as caught:
        run_query(data, sql)
    return str(caught.value)


def count(data) -> int:
    return run_query(data, "SELECT count(*) FROM articles")[1][0][0]


def test_plain_queries_still_work(data):
    assert count(data) == 12
    columns, rows = run_query(data, "WITH a AS (SELECT period FROM articles) SELECT DISTINCT period FROM a")
    assert (columns, rows) == (["period"], [("2024-04",)])
    assert run_query(data, "SELECT count(*) FROM events")[1] == [(0,)]


def test_reading_files_outside_the_views_is_refused(data):
    message = refused(data, "SELECT * FROM read_text('/etc/passwd')")
    assert "Permission Error" in message and "root:" not in message
    (partition,) = (data / "warehouse" / "articles").glob("period=*")
    stored = next(partition.glob("*.parquet"))
    assert "Permission Error" in refused(data, f"SELECT count(*) FROM read_parquet('{stored}')")


def test_copy_over_a_partition_is_refused_and_destroys_nothing(data):
    (partition,) = (data / "warehouse" / "articles").glob("period=*")
    target = next(partition.glob("*.parquet"))
    before = target.read_bytes()
    message = refused(data, f"COPY (SELECT * FROM articles LIMIT 0) TO '{target}' (FORMAT parquet)")
    assert "COPY statements are not allowed" in message
    assert target.read_bytes() == before and count(data) == 12


def test_attach_and_create_table_are_refused(data, tmp_path_factory):
    other = tmp_path_factory.mktemp("other") / "copy.duckdb"
    message = refused(data, f"ATTACH '{other}' AS other; CREATE TABLE other.a AS SELECT * FROM articles")
    assert "2 statements given; one query at a time" in message
    assert "ATTACH statements are not allowed" in refused(data, f"ATTACH '{other}' AS other")
    assert "CREATE statements are not allowed" in refused(data, "CREATE TABLE t AS SELECT 1")
    assert not other.exists()


def test_several_statements_are_refused(data):
    assert "2 statements given" in refused(data, "SELECT 1; SELECT 2")


def test_extensions_and_settings_are_refused(data):
    assert "LOAD statements are not allowed" in refused(data, "INSTALL delta FROM 'http://127.0.0.1:9/'")
    assert "LOAD statements are not allowed" in refused(data, "LOAD delta")
    assert "SET statements are not allowed" in refused(data, "SET enable_external_access = true")
    # A function of an extension that is not loaded is not fetched and loaded behind the query's back.
    assert "Catalog Error" in refused(data, "SELECT * FROM delta_scan('x')")
