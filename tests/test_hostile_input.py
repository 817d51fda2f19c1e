"""Hostile input never stops a run (issue 14): each case once crashed a whole run, and now costs
only itself, as a `rejects` row naming the input, the step and the reason."""

from __future__ import annotations

import gzip
import json
import os
import random
import tracemalloc
from pathlib import Path

import pytest

from support import run_cli, write_config
from warehouse.views import connect

BODY = (
    "The foreign ministers of Chile and Peru met in Lima on Monday to discuss border trade, "
    "and agreed to open two new crossings before the end of the year."
)
OTHER = (
    "Kenya and Tanzania held talks in Nairobi on Tuesday on removing barriers to trade between "
    "the two neighbours, officials said, and pledged to settle a maize dispute within weeks."
)


def rows(data: Path, sql: str) -> list[tuple]:
    return connect(data).execute(sql).fetchall()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "eventlake.toml", ingest={"batch_size": 4, "workers": 1})


def run(folder: Path, data: Path, config: Path):
    result = run_cli("run", str(folder), "--data", str(data), "--config", str(config))
    assert result.returncode == 0, result.stderr
    return result


# --- one bad record, link or file name ---------------------------------------------------------


@pytest.mark.usefixtures("prefect_server")
def test_bad_url_and_deep_nesting_in_jsonl_cost_only_their_lines(tmp_path, config):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(f"Border talks\n\n{BODY}\n", encoding="utf-8")
    (folder / "records.jsonl").write_text(
        json.dumps({"id": "bad-url", "url": "http://[::1", "text": OTHER})
        + "\n"
        + "[" * 100_000
        + "\n"
        + json.dumps({"id": "fine", "url": "https://example.org/kenya", "text": OTHER})
        + "\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    run(folder, data, config)
    assert rows(data, "SELECT url FROM articles ORDER BY url NULLS FIRST") == [(None,), ("https://example.org/kenya",)]
    rejects = {(Path(i).name, s): r for i, s, r in rows(data, "SELECT input, step, reason FROM rejects")}
    assert rejects == {
        ("records.jsonl:1 (id bad-url)", "read"): "\"url\" 'http://[::1' is not a valid http(s) URL; give an "
        'absolute http:// or https:// URL, or leave "url" out',
        ("records.jsonl:2", "read"): "JSON nested too deeply to read",
    }
    # `extract` on the same lines: one answer per line, in order.
    result = run_cli("extract", str(folder / "records.jsonl"), "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["bad-url", None, "fine"]
    assert "error" in out[0] and "nested too deeply" in out[1]["error"] and "error" not in out[2]


@pytest.mark.usefixtures("prefect_server")
def test_a_file_name_that_is_not_utf8_is_stored_losslessly(tmp_path, config):
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9-report.txt")
    (folder / name).write_text(f"Border talks\n\n{BODY}\n", encoding="utf-8")
    (folder / "other.txt").write_text(f"Trade talks\n\n{OTHER}\n", encoding="utf-8")
    data = tmp_path / "data"
    first = run(folder, data, config)
    assert "loaded 2" in first.stdout
    paths = sorted(Path(p).name for (p,) in rows(data, "SELECT source_path FROM articles"))
    assert paths == ["caf\\xe9-report.txt", "other.txt"]
    again = run(folder, data, config)
    assert "loaded 0, unchanged 2" in again.stdout
    assert (
        rows(data, "SELECT count(*) FROM actor_mentions WHERE article_id IN (SELECT article_id FROM articles)")[0][0]
        > 0
    )


@pytest.mark.usefixtures("prefect_server")
def test_a_feed_item_with_a_broken_link_costs_only_that_item(tmp_path):
    from webserver import ARTICLES, Route, Site

    config = write_config(
        tmp_path / "eventlake.toml",
        ingest={"batch_size": 4, "workers": 1},
        fetch={"timeout_seconds": 2.0, "retries": 0, "host_delay_seconds": 0.0},
    )
    good = next(iter(ARTICLES))
    with Site() as site:
        site.routes[good] = Route(ARTICLES[good])
        site.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        site.routes["/feed.xml"] = Route(
            (
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                f"<item><link>http://[::1</link></item><item><link>{site.url(good)}</link></item>"
                f"</channel></rss>"
            ).encode(),
            content_type="application/rss+xml",
        )
        site.routes["/other.xml"] = Route(
            b"<rss version='2.0'><channel><item><link>http://[::1</link></item></channel></rss>",
            content_type="application/rss+xml",
        )
        data = tmp_path / "data"
        result = run_cli(
            "nightly",
            "--feed",
            site.url("/feed.xml"),
            "--feed",
            site.url("/other.xml"),
            "--allow-private",
            "--data",
            str(data),
            "--config",
            str(config),
        )
    assert result.returncode == 0, result.stderr
    assert "feeds_read 2" in result.stdout and "fetched 1" in result.stdout
    assert rows(data, "SELECT url FROM articles") == [(site.url(good),)]


# --- the fuzz test -----------------------------------------------------------------------------


def _hostile_lines(rng: random.Random, count: int) -> list[str]:
    """JSONL lines of the kinds that broke readers and cleaners: bad URLs, deep nesting, wrong
    types, lone surrogates, NULs and control characters, huge numbers, broken markup, binary."""
    urls = [
        "http://[::1",
        "http://[::1]:99999/x",
        "javascript:alert(1)",
        "http://exa mple.org/",
        "//no-scheme",
        "http://%zz/",
        "ftp://example.org/",
        "https://" + "a" * 5000 + ".org/",
        "http://[v1.x]/",
        5,
        None,
        [],
        "http://\udcff.org/",
    ]
    texts = [
        "\x00" * 50,
        "\ud800 lone surrogate " * 10,
        "<" * 5000,
        "\u202e" * 100,
        "🙂" * 200,
        "a\x00b " * 40,
        "<html><body><p>" + "<div>" * 3000 + "x",
        "",
        "   ",
        12,
        {"nested": "object"},
        ["list"],
        True,
    ]
    shapes = [
        lambda: "[" * rng.randint(1000, 200_000),
        lambda: '{"a":' * rng.randint(1000, 50_000),
        lambda: json.dumps({"id": rng.random(), "url": rng.choice(urls), "text": rng.choice(texts)}),
        lambda: json.dumps({"id": "h", "html": rng.choice(texts), "url": rng.choice(urls)}),
        lambda: json.dumps({"id": 10**400 if rng.random() < 0.5 else "x" * 100_000, "text": rng.choice(texts)}),
        lambda: json.dumps(
            {"text": BODY, "url": rng.choice(urls), "date": rng.choice(["2024-02-30", "9999-99-99", "\x00", "", 7])}
        ),
        lambda: json.dumps(rng.choice([[], 1, "s", None, 1e308])),
        lambda: "".join(chr(rng.randint(1, 0xD7FF)) for _ in range(rng.randint(1, 300))),
        lambda: "1e999999",
        lambda: json.dumps({"id": "d", "text": BODY + "\x00" * 10}),
    ]
    return [rng.choice(shapes)() for _ in range(count)]


def test_readers_and_cleaning_never_raise_on_hostile_records():
    """Property: every hostile line gives a document or a reject, and cleaning one gives an
    article or a reject; nothing raises, no stored text holds NUL or a lone surrogate."""
    from hypothesis import given, settings as hsettings, strategies as st
    from flows.sources.files import guarded_record
    from transforms.clean import CleaningOptions, clean_documents
    from transforms.records import RawDocument

    json_values = st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=10,
    )
    records = st.fixed_dictionaries(
        {},
        optional={
            "id": json_values,
            "url": st.text() | json_values,
            "text": st.text(),
            "html": st.text(),
            "date": json_values,
        },
    )
    lines = st.one_of(records.map(json.dumps), st.text(), st.binary().map(lambda b: b.decode("utf-8", "replace")))

    @hsettings(max_examples=300, deadline=None)
    @given(lines)
    def check(line: str) -> None:
        item = guarded_record(line, "fuzz.jsonl:1", 5_000_000)
        if isinstance(item, RawDocument):
            articles, _ = clean_documents([item], CleaningOptions(min_text_chars=0))
            for article in articles:
                assert "\x00" not in article.text
                article.text.encode("utf-8")
                (article.url or "").encode("utf-8")

    check()


@pytest.mark.usefixtures("prefect_server")
def test_fuzz_hostile_records_and_files_exit_0_and_the_good_ones_load(tmp_path, config):
    rng = random.Random(14)
    folder = tmp_path / "in"
    folder.mkdir()
    # Texts of their own: a hostile record with the same text would make a good one a duplicate.
    good = {
        "good-1": "Peru and Bolivia signed an agreement in La Paz on Friday on sharing the waters of Lake "
        "Titicaca, officials from both governments said.",
        "good-2": "Poland warned Belarus on Thursday that it would close another border crossing if "
        "incidents involving migrants continued, the interior ministry in Warsaw said.",
    }
    lines = _hostile_lines(rng, 120)
    for index, (record_id, text) in enumerate(good.items()):
        lines.insert(
            rng.randint(0, len(lines)),
            json.dumps({"id": record_id, "text": text, "url": f"https://example.org/{index}"}),
        )
    (folder / "hostile.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    (folder / "hostile.jsonl.gz").write_bytes(
        gzip.compress(("\n".join(lines[:40]) + "\n").encode("utf-8", "surrogatepass"))
    )
    (folder / os.fsdecode(b"\xff\xfe name.html")).write_bytes(b"<html>" + os.urandom(3000))
    (folder / "nul.txt").write_bytes(b"Title\n\nA page with\x00\x00 NUL bytes in it is binary.")
    lines.append(
        json.dumps(
            {
                "id": "nul",
                "text": "The presidents of Ecuador and Colombia met on Monday to discuss "
                "border security and signed an accord,\u0000 officials said in Quito.",
            }
        )
    )
    (folder / "more.jsonl").write_text(lines[-1] + "\n", encoding="utf-8")
    (folder / "utf16.txt").write_bytes(
        (
            "Trade\n\nUganda and Rwanda agreed on Wednesday to reopen their border "
            "after talks in Nairobi, the two governments said."
        ).encode("utf-16-le")
    )
    os.mkfifo(folder / "fifo.html")
    os.symlink("loop.txt", folder / "loop.txt")
    os.symlink(".", folder / "self")
    data = tmp_path / "data"
    result = run(folder, data, config)
    assert "rejected" in result.stdout
    ids = {r for (r,) in rows(data, "SELECT url FROM articles WHERE url LIKE 'https://example.org/%'")}
    assert ids == {"https://example.org/0", "https://example.org/1"}
    texts = [t for (t,) in rows(data, "SELECT text FROM articles")]
    assert not any("\x00" in t for t in texts)
    assert any(t.endswith("Quito.") for t in texts) and any("Nairobi" in t for t in texts)
    reasons = {Path(i).name: r for i, s, r in rows(data, "SELECT input, step, reason FROM rejects")}
    assert reasons["fifo.html"].startswith("a FIFO, not a regular file")
    assert reasons["loop.txt"].startswith("cannot look at it (Too many levels of symbolic links")
    assert reasons["self"].startswith("symbolic link to a folder, not followed")
    assert reasons["nul.txt"].startswith("binary content")


# --- size caps, file types, decoding -----------------------------------------------------------


def test_a_huge_jsonl_line_is_skipped_while_reading_not_held(tmp_path):
    from flows.sources.files import read_paths
    from transforms.records import RawDocument, Reject

    path = tmp_path / "big.jsonl.gz"
    with gzip.open(path, "wb") as handle:  # a 40 MB line, well under 1 MB compressed
        handle.write(json.dumps({"id": "ok-1", "text": BODY}).encode() + b"\n")
        handle.write(b'{"id": "huge", "text": "' + b"a" * 40_000_000 + b'"}\n')
        handle.write(json.dumps({"id": "ok-2", "text": OTHER}).encode() + b"\n")
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    items = list(read_paths([path], 100_000, 10_000_000_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8_000_000, peak
    assert [i.record_id for i in items if isinstance(i, RawDocument)] == ["ok-1", "ok-2"]
    assert [(Path(r.input).name, r.reason[:40]) for r in items if isinstance(r, Reject)] == [
        ("big.jsonl.gz:2", "record is over the 100,000-byte page cap")
    ]
    # The file cap: reading stops, with a reject saying so.
    items = list(read_paths([path], 100_000, 1_000_000))
    assert [i.record_id for i in items if isinstance(i, RawDocument)] == ["ok-1"]
    assert items[-1].reason.startswith("over the 1,000,000-byte file cap after line 1")


def test_what_is_not_a_regular_file_is_a_reject_before_it_is_opened(tmp_path):
    from flows.sources.files import read_paths

    os.mkfifo(tmp_path / "named.html")
    os.symlink("/dev/zero", tmp_path / "zero.txt")
    items = list(read_paths([tmp_path / "named.html", tmp_path / "zero.txt", tmp_path], 100_000, 10**9))
    reasons = sorted((Path(r.input).name, r.reason.split(",")[0]) for r in items)
    assert reasons == [
        ("named.html", "a FIFO"),
        ("named.html", "a FIFO"),
        ("zero.txt", "a character device"),
        ("zero.txt", "a character device"),
    ]


def test_warc_reader_refuses_fifos_devices_and_text_files(tmp_path):
    from flows.sources.warc import WarcReader

    os.mkfifo(tmp_path / "fifo.warc")
    os.symlink("/dev/zero", tmp_path / "zero.warc")
    (tmp_path / "notes.warc").write_text("WARNING: not a warc\n" * 500)
    (tmp_path / "notes.warc.gz").write_bytes(gzip.compress(b"plain text\n" * 500))
    for name, reason in (
        ("fifo.warc", "a FIFO, not a regular file"),
        ("zero.warc", "a character device, not"),
        ("notes.warc", "not a WARC file"),
        ("notes.warc.gz", "not a WARC file"),
    ):
        reader = WarcReader(tmp_path / name, 100_000)
        items = list(reader)
        assert len(items) == 1 and items[0].reason.startswith(reason), (name, items)
        assert reader.records == 0 and reader.error


def test_decoding_utf8_with_a_bad_byte_utf16_without_bom_and_nul():
    from transforms.clean import decode_bytes, normalise_text
    from transforms.errors import InputError

    damaged = "José Martí met Peña Nieto in Brasília.\n".encode() * 3 + b"one bad byte: \xff here\n"
    assert decode_bytes(damaged, "x").startswith("José Martí met Peña Nieto")
    assert decode_bytes("Réunion à Zürich".encode("cp1252"), "x") == "Réunion à Zürich"
    assert decode_bytes("Ukraine talks in Kyiv".encode("utf-16-le"), "x") == "Ukraine talks in Kyiv"
    assert decode_bytes("Ukraine talks in Kyiv".encode("utf-16-be"), "x") == "Ukraine talks in Kyiv"
    with pytest.raises(InputError, match="UTF-16-LE without a byte-order mark"):
        decode_bytes("Kyiv talks".encode("utf-16-le") + b"\x01\xdc", "x")  # a lone low surrogate
    assert "\x00" not in normalise_text("a\x00b\x01c")
