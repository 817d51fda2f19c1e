"""WARC archives: streaming reads, the date window, resumable backfills, corrupt archives, and the
same flow on a Dask LocalCluster."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from support import SAMPLES, run_cli, write_config
from flows.sources.warc import WarcReader
from transforms.records import RawDocument, Reject
from warcs import write_warc
from warehouse.views import connect
from webserver import ARTICLES, article_page

pytestmark = pytest.mark.usefixtures("prefect_server")

PATHS = list(ARTICLES)
SITE = "https://news.example.org"
# Captured 1, 5, 6 and 20 March; the Poland page says it was published on the 7th, after its capture.
CAPTURES = [datetime(2024, 3, 1, 9), datetime(2024, 3, 5, 9), datetime(2024, 3, 20, 9), datetime(2024, 3, 6, 9)]


def rows(data: Path, sql: str) -> list[tuple]:
    return connect(data).execute(sql).fetchall()


def archive(path: Path) -> Path:
    return write_warc(path, [(SITE + p, body, captured) for (p, body), captured in zip(ARTICLES.items(), CAPTURES)])


def test_reader_streams_records_in_the_window(tmp_path):
    warc = archive(tmp_path / "news.warc.gz")
    reader = WarcReader(warc, 5_000_000, since=date(2024, 3, 2), until=date(2024, 3, 10))
    items = iter(reader)
    first = next(items)
    # Lazy: the first document comes before the rest of the archive is read.
    assert isinstance(first, RawDocument) and reader.records < 8
    documents = [first, *items]
    assert [(d.url, d.capture_date) for d in documents] == [
        (SITE + PATHS[1], date(2024, 3, 5)),
        (SITE + PATHS[3], date(2024, 3, 6)),
    ]
    assert all(
        d.kind == "html" and d.input.startswith(f"{warc}@") and d.record_id.startswith("<urn:uuid:") for d in documents
    )
    assert documents[0].data == ARTICLES[PATHS[1]]
    # warcinfo + 4 requests + 4 responses + an image + a 404, none of the last two taken.
    assert (reader.records, reader.documents, reader.error) == (11, 2, None)
    every = list(WarcReader(warc, 5_000_000))
    assert len(every) == 4


def test_oversized_and_corrupt_records_become_rejects(tmp_path):
    big = article_page("Big", ["word " * 20_000])
    warc = write_warc(
        tmp_path / "big.warc.gz",
        [(SITE + "/big.html", big, CAPTURES[0]), (SITE + PATHS[0], ARTICLES[PATHS[0]], CAPTURES[0])],
        extras=False,
    )
    items = list(WarcReader(warc, 50_000))
    assert isinstance(items[0], Reject) and items[0].input.startswith(f"{warc}@")
    assert items[0].reason.startswith(f"record body of {SITE}/big.html is over the 50,000-byte page cap")
    assert isinstance(items[1], RawDocument)

    truncated = tmp_path / "truncated.warc.gz"
    truncated.write_bytes(warc.read_bytes()[: warc.stat().st_size - 200])
    reader = WarcReader(truncated, 5_000_000)
    items = list(reader)
    assert isinstance(items[-1], Reject) and items[-1].step == "read archive"
    assert items[-1].input == str(truncated) and reader.error.startswith("archive is corrupt or truncated")


def test_backfill_is_resumable_and_a_rerun_adds_no_row(tmp_path):
    from flows.backfill import run_backfill

    config = write_config(tmp_path / "eventlake.toml", ingest={"batch_size": 4, "workers": 1})
    data = tmp_path / "data"
    warc = archive(tmp_path / "archives" / "CC-NEWS-20240301.warc.gz")
    broken = tmp_path / "archives" / "CC-NEWS-20240302.warc.gz"
    broken.write_bytes(warc.read_bytes()[:700])
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(SAMPLES / "001_kenya_tanzania_talks.txt", pages)
    sources = [str(tmp_path / "archives" / "CC-NEWS-*.warc.gz"), str(pages), str(tmp_path / "nothing-*.warc")]

    first = run_backfill(date(2024, 3, 2), date(2024, 3, 10), sources, str(config), str(data))
    assert (first["archives_read"], first["archives_failed"], first["archives_skipped"]) == (1, 1, 0)
    assert first["loaded"] == 3 and first["rejected"] == 2
    articles = rows(data, "SELECT url, published FROM articles WHERE url IS NOT NULL ORDER BY url")
    assert [url for url, _ in articles] == [SITE + PATHS[1], SITE + PATHS[3]]
    assert articles[0][1] == date(2024, 3, 5)
    assert articles[1][1] <= date(2024, 3, 6)  # the page says the 7th; its WARC-Date bounds it
    assert {(Path(i).name, s) for i, s in rows(data, "SELECT input, step FROM rejects")} == {
        ("CC-NEWS-20240302.warc.gz", "read archive"),
        ("nothing-*.warc", "read"),
    }
    finished = rows(data, "SELECT url, kind, error IS NULL, done FROM fetch_state ORDER BY url")
    assert finished == [
        (f"{warc.as_uri()}#since=2024-03-02&until=2024-03-10", "archive", True, True),
        (f"{broken.as_uri()}#since=2024-03-02&until=2024-03-10", "archive", False, True),
    ]
    assert rows(data, "SELECT count(*) FROM event_mentions")[0][0] > 0

    snapshot = {
        name: rows(data, f"SELECT * FROM {name} ORDER BY ALL")
        for name in ("articles", "rejects", "actor_mentions", "event_mentions", "quotes", "fetch_state")
    }
    again = run_cli(
        "backfill",
        "--since",
        "2024-03-02",
        "--until",
        "2024-03-10",
        *sources,
        "--data",
        str(data),
        "--config",
        str(config),
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "archives_read 0, archives_skipped 2" in again.stdout and "loaded 0, unchanged 1" in again.stdout
    for name, before in snapshot.items():
        assert rows(data, f"SELECT * FROM {name} ORDER BY ALL") == before, name

    # Another window is other work: the archive is read again and only the new records load.
    wider = run_backfill(date(2024, 3, 1), date(2024, 3, 31), [str(warc)], str(config), str(data))
    assert (wider["archives_read"], wider["loaded"], wider["unchanged"]) == (1, 2, 2)
    assert rows(data, "SELECT count(*) FROM articles")[0][0] == 5


def test_backfill_on_a_dask_local_cluster(tmp_path):
    from prefect_dask import DaskTaskRunner

    from flows.backfill import run_backfill
    from flows.runners import processing_runner
    from flows.settings import load_settings

    config = write_config(
        tmp_path / "eventlake.toml",
        ingest={"batch_size": 1, "workers": 1},
        compute={"backend": "dask", "dask_processes": False},
    )
    runner = processing_runner(load_settings(config))
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_kwargs == {
        "n_workers": 1,
        "threads_per_worker": 1,
        "processes": False,
        "dashboard_address": None,
    }
    from flows.resources import extractor_for

    calls = extractor_for.cache_info()
    warc = archive(tmp_path / "news.warc.gz")
    summary = run_backfill(date(2024, 3, 2), date(2024, 3, 10), [str(warc)], str(config), str(tmp_path / "data"))
    assert (summary["archives_read"], summary["loaded"], summary["rejected"]) == (1, 2, 0)
    # The batches were processed by the in-process Dask worker (threads), not by worker processes.
    after = extractor_for.cache_info()
    assert after.hits + after.misses >= calls.hits + calls.misses + 2
    assert rows(tmp_path / "data", "SELECT count(*) FROM articles")[0][0] == 2
    assert rows(tmp_path / "data", "SELECT count(*) FROM event_mentions")[0][0] > 0


def test_backfill_window_must_not_end_before_it_starts(tmp_path):
    config = write_config(tmp_path / "eventlake.toml")
    result = run_cli(
        "backfill",
        "--since",
        "2024-03-10",
        "--until",
        "2024-03-01",
        str(tmp_path),
        "--config",
        str(config),
        "--data",
        str(tmp_path / "d"),
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --since 2024-03-10 --until 2024-03-01: backfill: the window ends before it starts; swap the dates"
    )
