"""The nightly flow end to end against a loopback site, under the session's Prefect server:
feeds, a sitemap index with a gzip sitemap, a URL list, failures of every kind, and re-runs."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from support import run_cli, write_config
from warehouse.views import connect
from webserver import ARTICLES, Route, Site, article_page, news_sitemap, rss

pytestmark = pytest.mark.usefixtures("prefect_server")

DATA_TABLES = ("articles", "rejects", "actor_mentions", "event_mentions", "quotes")
PATHS = list(ARTICLES)


def rows(data: Path, sql: str) -> list[tuple]:
    return connect(data).execute(sql).fetchall()


def nightly_config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "eventlake.toml",
        ingest={"batch_size": 4, "workers": 1},
        fetch={
            "timeout_seconds": 1.0,
            "retries": 1,
            "retry_delay_seconds": 0.2,
            "host_delay_seconds": 0.0,
            "max_attempts": 2,
        },
    )


def build_site(site: Site) -> None:
    for path, body in ARTICLES.items():
        site.routes[path] = Route(body)
    site.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    site.routes["/r/poland"] = Route(status=301, headers={"Location": PATHS[3]})
    site.routes["/wire/brief.txt"] = Route(
        b"Peru and Bolivia sign a water sharing accord\n\nPeru and Bolivia signed an agreement in La Paz on "
        b"Friday on sharing the waters of Lake Titicaca, officials from both governments said. The accord "
        b"sets up a joint commission to monitor water levels.\n",
        content_type="text/plain; charset=utf-8",
    )
    site.routes["/500"] = Route(b"oops", status=500)
    site.routes["/slow"] = Route(ARTICLES[PATHS[0]], delay=2.5)
    site.routes["/logo.png"] = Route(b"\x89PNG", content_type="image/png")
    site.routes["/private/leak.html"] = Route(article_page("Private", ["Not to be fetched."]))
    feed_links = [(site.url(p), "Mon, 04 Mar 2024 10:00:00 GMT") for p in PATHS[:3]]
    feed_links += [(site.url(p), None) for p in ("/gone", "/500", "/slow", "/logo.png", "/private/leak.html")]
    site.routes["/feed.xml"] = Route(rss(feed_links), content_type="application/rss+xml", etag='"feed-v1"')
    site.routes["/sitemap-index.xml"] = Route(
        f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/sitemap-news.xml.gz')}</loc></sitemap></sitemapindex>".encode(),
        content_type="application/xml",
        etag='"index-v1"',
    )
    site.routes["/sitemap-news.xml.gz"] = Route(
        gzip.compress(news_sitemap([(site.url("/r/poland"), "2024-03-07"), (site.url(PATHS[0]), "2024-03-04")])),
        content_type="application/x-gzip",
    )


def test_nightly_fetches_new_articles_once_and_a_rerun_adds_no_row(tmp_path):
    from flows.nightly import run_nightly

    config, data = nightly_config(tmp_path), tmp_path / "data"
    with Site() as site:
        build_site(site)
        (tmp_path / "urls.txt").write_text(
            f"# watch list\n{site.url('/wire/brief.txt')}\n{site.url(PATHS[1])}\nnot-a-url\n"
        )
        args = ([site.url("/feed.xml")], [site.url("/sitemap-index.xml")], [str(tmp_path / "urls.txt")], True)
        first = run_nightly(*args, str(config), str(data))

        assert (first["feeds_read"], first["fetched"], first["fetch_failed"]) == (3, 5, 5)
        assert first["loaded"] == 5 and first["rejected"] == 6
        stored = rows(data, "SELECT url, title, source_path FROM articles ORDER BY url")
        assert [(u.removeprefix(site.base), t) for u, t, _ in stored] == [
            ("/wire/brief.txt", "Peru and Bolivia sign a water sharing accord"),
            (PATHS[0], "Chile and Peru agree to open new border crossings"),
            (PATHS[2], "Japan and the Philippines sign a defence access agreement"),
            (PATHS[1], "Kenya and Tanzania hold talks on trade barriers"),
            (PATHS[3], "Poland warns Belarus over border incidents"),  # reached through a redirect
        ]
        assert site.url("/r/poland") in [s for _, _, s in stored]
        assert (
            rows(data, f"SELECT published FROM articles WHERE url = '{site.url(PATHS[0])}'")[0][0].isoformat()
            == "2024-03-04"
        )
        rejects = {
            (i.removeprefix(site.base), s): r for i, s, r in rows(data, "SELECT input, step, reason FROM rejects")
        }
        assert rejects == {
            ("/gone", "fetch"): "HTTP 404",
            ("/500", "fetch"): "HTTP 500",
            ("/slow", "fetch"): "timed out after 1s",
            ("/logo.png", "fetch"): "content type image/png is not one of text/html, application/xhtml+xml, text/plain",
            ("/private/leak.html", "fetch"): "disallowed by the site's robots.txt",
            (f"{tmp_path}/urls.txt:4", "read url list"): "'not-a-url' is not an http(s) URL",
        }
        # Transient failures were retried within the run (Prefect task retries, with backoff).
        hits_500 = site.hits("/500")
        assert len(hits_500) == 2 and hits_500[1].at - hits_500[0].at >= 0.09
        assert not site.hits("/private/leak.html")
        state = {
            u.removeprefix(site.base): (k, s, e, a, d)
            for u, k, s, e, a, d in rows(data, "SELECT url, kind, status, etag, attempts, done FROM fetch_state")
        }
        assert state["/feed.xml"] == ("feed", 200, '"feed-v1"', 1, True)
        assert state["/sitemap-news.xml.gz"][:2] == ("sitemap", 200)
        assert state[PATHS[0]] == ("article", 200, None, 1, True)
        assert state["/500"] == ("article", 500, None, 1, False)  # to be tried again
        assert state["/gone"] == ("article", 404, None, 1, True)  # not worth trying again

        snapshot = {name: rows(data, f"SELECT * FROM {name} ORDER BY ALL") for name in DATA_TABLES}
        states_before = len(state)
        second = run_nightly(*args, str(config), str(data))

        assert second["loaded"] == 0 and second["fetched"] == 0
        assert second["feeds_not_modified"] == 2  # the feed and the index answered 304
        assert second["fetch_failed"] == 2  # only the transient failures were tried again
        for name, before in snapshot.items():
            assert rows(data, f"SELECT * FROM {name} ORDER BY ALL") == before, name
        assert rows(data, "SELECT count(*) FROM fetch_state")[0][0] == states_before
        assert [h.headers.get("If-None-Match") for h in site.hits("/feed.xml")] == [None, '"feed-v1"']
        for path in (*PATHS, "/wire/brief.txt", "/gone", "/logo.png"):
            assert len(site.hits(path)) == 1, path
        assert rows(data, f"SELECT attempts, done FROM fetch_state WHERE url = '{site.url('/500')}'") == [(2, True)]
        assert rows(data, "SELECT flow, counts.loaded FROM runs ORDER BY started") == [("nightly", 5), ("nightly", 0)]


def test_nightly_command_refuses_loopback_feeds_unless_allowed(tmp_path):
    config = write_config(
        tmp_path / "eventlake.toml",
        ingest={"batch_size": 4, "workers": 1},
        fetch={"retries": 0, "host_delay_seconds": 0.0},
    )
    with Site() as site:
        build_site(site)
        result = run_cli(
            "nightly", "--feed", site.url("/feed.xml"), "--data", str(tmp_path / "data"), "--config", str(config)
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "feeds_failed 1" in result.stdout and "warning: 1 input(s) rejected" in result.stderr
        assert site.requests == []
    assert rows(tmp_path / "data", "SELECT input, step, reason FROM rejects") == [
        (
            site.url("/feed.xml"),
            "fetch feed",
            "127.0.0.1 is a private, loopback or link-local address; pass --allow-private or set "
            "fetch.allow_private = true to fetch it",
        )
    ]


def test_nightly_without_sources_says_how_to_add_them(tmp_path):
    config = write_config(tmp_path / "eventlake.toml")
    result = run_cli("nightly", "--data", str(tmp_path / "data"), "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'sources.toml'}: nightly: no feeds, sitemaps or URL lists "
        "are configured; add them to the sources file or pass --feed URL"
    )
