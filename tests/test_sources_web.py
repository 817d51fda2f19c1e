"""Fetching and feed parsing against a loopback web site: errors, caps, robots.txt, politeness,
conditional GET and the private-address guard; the sources file and new settings sections."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from support import REPO, write_config
from flows.sources.feeds import parse_feed, read_url_list
from flows.sources.fetch import AddressRefused, Fetcher, FetchRefused, FetchTransient, GuardedBackend, is_public_address
from flows.settings import FetchSettings, load_settings, load_sources
from transforms.errors import ConfigError, InputError
from webserver import ARTICLES, Route, Site, news_sitemap, rss

HTML = ("text/html", "application/xhtml+xml", "text/plain")
PAGE = "/world/chile-peru-border.html"


def fetcher(**settings) -> Fetcher:
    values = {"timeout_seconds": 1.0, "host_delay_seconds": 0.0, "max_bytes": 200_000, "max_redirects": 3}
    return Fetcher(FetchSettings(**{**values, **settings}), allow_private=True)


@pytest.fixture
def site():
    with Site() as site:
        for path, body in ARTICLES.items():
            site.routes[path] = Route(body)
        yield site


# --- fetching --------------------------------------------------------------------------------


def test_page_is_fetched_with_its_charset_and_validators(site):
    site.routes["/latin1.html"] = Route(
        "<html><body><p>Réunion à Zürich</p></body></html>".encode("latin-1"),
        content_type="text/html; charset=ISO-8859-1",
        etag='"abc"',
        headers={"Last-Modified": "Mon, 04 Mar 2024 10:00:00 GMT"},
    )
    with fetcher() as f:
        page = f.fetch(site.url(PAGE), HTML)
        latin = f.fetch(site.url("/latin1.html"), HTML)
    assert page.status == 200 and page.body == ARTICLES[PAGE] and page.media_type == "text/html"
    assert "Réunion à Zürich" in latin.text_or_bytes()
    assert (latin.etag, latin.last_modified) == ('"abc"', "Mon, 04 Mar 2024 10:00:00 GMT")
    assert site.hits(PAGE)[0].headers["User-Agent"].startswith("eventlake/")


@pytest.mark.parametrize(
    "route, error, reason",
    [
        (Route(status=404), FetchRefused, "HTTP 404"),
        (Route(status=410), FetchRefused, "HTTP 410"),
        (Route(b"oops", status=500), FetchTransient, "HTTP 500"),
        (Route(b"busy", status=429), FetchTransient, "HTTP 429"),
        (Route(b"\x89PNG", content_type="image/png"), FetchRefused, "content type image/png is not one of"),
        (Route(b"{}", content_type="application/json"), FetchRefused, "content type application/json"),
        (Route(ARTICLES[PAGE], delay=2.5), FetchTransient, "timed out after 1s"),
        (Route(ARTICLES[PAGE] * 4, drip=0.1), FetchTransient, "timed out after 1s reading the body"),
        (Route(stream_bytes=5_000_000), FetchRefused, "body is over the 200,000-byte cap"),
        (Route(b"x", declared_length=50_000_000), FetchRefused, "body is 50,000,000 bytes, over the 200,000-byte cap"),
        (Route(status=302, headers={"Location": "/bad"}), FetchRefused, "more than 3 redirects"),
        (Route(status=301, headers={"Location": "ftp://example.org/file"}), FetchRefused, "only http and https"),
    ],
    ids=[
        "404",
        "410",
        "500",
        "429",
        "image",
        "json",
        "slow",
        "drip",
        "huge-stream",
        "huge-declared",
        "redirect-loop",
        "redirect-to-ftp",
    ],
)
def test_failures_are_permanent_or_transient(site, route, error, reason):
    site.routes["/bad"] = route
    started = time.monotonic()
    with fetcher() as f, pytest.raises(error) as caught:
        f.fetch(site.url("/bad"), HTML)
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert caught.value.permanent is (error is FetchRefused)
    assert time.monotonic() - started < 2.2  # slow pages are cut off at the timeout
    if reason.startswith("more than"):
        assert len(site.hits("/bad")) == 4


def test_redirects_are_followed_to_the_final_url(site):
    site.routes["/old"] = Route(status=301, headers={"Location": "/moved"})
    site.routes["/moved"] = Route(status=302, headers={"Location": PAGE})
    with fetcher() as f:
        page = f.fetch(site.url("/old"), HTML)
    assert page.url == site.url("/old") and page.final_url == site.url(PAGE)
    assert page.body == ARTICLES[PAGE]


def test_conditional_get_sends_the_validators_and_takes_a_304(site):
    site.routes["/feed.xml"] = Route(rss([(site.url(PAGE), None)]), content_type="application/rss+xml", etag='"v1"')
    with fetcher() as f:
        first = f.fetch(site.url("/feed.xml"), None)
        again = f.fetch(site.url("/feed.xml"), None, etag=first.etag, last_modified="Mon, 04 Mar 2024 10:00:00 GMT")
    assert first.status == 200 and again.not_modified and again.body is None and again.etag == '"v1"'
    headers = site.hits("/feed.xml")[1].headers
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Mon, 04 Mar 2024 10:00:00 GMT"


def test_robots_txt_is_respected_and_read_once_per_site(site):
    site.routes["/robots.txt"] = Route(
        b"User-agent: eventlake\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n", content_type="text/plain"
    )
    site.routes["/private/page.html"] = Route(ARTICLES[PAGE])
    with fetcher() as f:
        assert f.fetch(site.url(PAGE), HTML).status == 200
        with pytest.raises(FetchRefused, match="disallowed by the site's robots.txt"):
            f.fetch(site.url("/private/page.html"), HTML)
    assert not site.hits("/private/page.html")
    assert len(site.hits("/robots.txt")) == 1
    with fetcher(respect_robots=False) as f:
        assert f.fetch(site.url("/private/page.html"), HTML).status == 200


def test_unreachable_robots_txt_stops_fetching_from_the_site_for_now(site):
    site.routes["/robots.txt"] = Route(b"down", status=503)
    with fetcher() as f, pytest.raises(FetchTransient, match=r"robots.txt could not be read \(HTTP 503\)"):
        f.fetch(site.url(PAGE), HTML)
    assert not site.hits(PAGE)


def test_per_host_concurrency_and_spacing(site):
    site.routes["/slowish"] = Route(ARTICLES[PAGE], delay=0.3)
    with fetcher(host_concurrency=2, host_delay_seconds=0.1, timeout_seconds=5.0) as f:
        threads = [threading.Thread(target=f.fetch, args=(site.url("/slowish"), HTML)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    starts = sorted(r.at for r in site.hits("/slowish"))
    assert len(starts) == 6
    assert site.max_active["/slowish"] == 2
    assert all(b - a >= 0.09 for a, b in zip(starts, starts[1:]))


def test_crawl_delay_from_robots_txt_spaces_requests(site):
    site.routes["/robots.txt"] = Route(b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain")
    with fetcher(max_crawl_delay_seconds=0.6) as f:
        for _ in range(3):
            f.fetch(site.url(PAGE), HTML)
    starts = [r.at for r in site.hits(PAGE)]
    assert all(b - a >= 0.55 for a, b in zip(starts, starts[1:]))  # capped at max_crawl_delay_seconds


# --- the private-address guard ---------------------------------------------------------------


@pytest.mark.parametrize(
    "address, public",
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.5", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("8.8.8.8", True),
        ("151.101.1.69", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_address_classification(address, public):
    assert is_public_address(address) is public


def test_guard_refuses_loopback_by_default_before_any_request(site):
    with Fetcher(FetchSettings()) as f:
        for url in (site.url(PAGE), f"http://localhost:{site.server.server_address[1]}{PAGE}"):
            with pytest.raises(FetchRefused, match="private, loopback or link-local address; pass --allow-private"):
                f.fetch(url, HTML)
        with pytest.raises(FetchRefused, match="169.254.169.254 is a private"):
            f.fetch("http://169.254.169.254/latest/meta-data/", HTML)
    assert site.requests == []


def test_guard_also_holds_at_connect_time(site):
    """The connection itself is refused, not only the name check (a DNS answer may change in between)."""
    port = site.server.server_address[1]
    with pytest.raises(AddressRefused):
        GuardedBackend().connect_tcp("127.0.0.1", port, timeout=1)
    with Fetcher(FetchSettings()) as f, pytest.raises(AddressRefused):
        f._client.get(site.url(PAGE))  # past the name check, straight to the guarded transport
    assert site.requests == []


def test_only_http_and_https(site):
    with fetcher() as f:
        for url in ("ftp://example.org/a.html", "file:///etc/passwd", "gopher://example.org/"):
            with pytest.raises(FetchRefused, match="only http and https"):
                f.fetch(url, HTML)


# --- feeds and sitemaps ----------------------------------------------------------------------


def test_rss_atom_rdf_and_sitemaps_give_absolute_links_and_dates():
    base = "https://news.example.org/feeds/world.xml"
    rss2 = parse_feed(
        rss(
            [
                ("https://news.example.org/a.html", "Mon, 04 Mar 2024 10:00:00 GMT"),
                ("/b.html", None),
                ("javascript:alert(1)", None),
            ]
        ),
        base,
    )
    assert [(link.url, str(link.published)) for link in rss2.links] == [
        ("https://news.example.org/a.html", "2024-03-04"),
        ("https://news.example.org/b.html", "None"),
    ]
    atom = parse_feed(
        b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
        <entry><title>x</title><link rel="self" href="/self"/><link href="c.html"/><updated>2024-03-05T08:00:00Z</updated></entry>
        <entry><link rel="alternate" type="text/html" href="https://other.example.com/d"/><published>2024-03-06</published></entry>
        </feed>""",
        base,
    )
    assert [(link.url, str(link.published)) for link in atom.links] == [
        ("https://news.example.org/feeds/c.html", "2024-03-05"),
        ("https://other.example.com/d", "2024-03-06"),
    ]
    rdf = parse_feed(
        b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title></channel>
        <item><title>e</title><link>https://news.example.org/e.html</link><dc:date>2024-03-07T00:00:00+01:00</dc:date></item>
        </rdf:RDF>""",
        base,
    )
    assert [(link.url, str(link.published)) for link in rdf.links] == [
        ("https://news.example.org/e.html", "2024-03-07")
    ]
    sitemap = parse_feed(news_sitemap([("https://news.example.org/f.html", "2024-03-08T09:00:00Z")]), base)
    assert sitemap.kind == "sitemap" and str(sitemap.links[0].published) == "2024-03-08"
    index = parse_feed(
        b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>https://news.example.org/sitemap-1.xml</loc></sitemap><sitemap><loc>/sitemap-2.xml.gz</loc></sitemap>
        </sitemapindex>""",
        base,
    )
    assert index.sitemaps == ["https://news.example.org/sitemap-1.xml", "https://news.example.org/sitemap-2.xml.gz"]


@pytest.mark.parametrize(
    "document, reason",
    [
        (
            b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
        <rss version="2.0"><channel><item><link>&lol2;</link></item></channel></rss>""",
            "refused XML construct",
        ),
        (
            b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <rss version="2.0"><channel><item><link>&xxe;</link></item></channel></rss>""",
            "refused XML construct",
        ),
        (b"<rss><channel><item>", "not well-formed XML"),
        (b"<html><body>Not a feed</body></html>", "not an RSS, Atom or sitemap document (root element <html>)"),
    ],
    ids=["billion-laughs", "external-entity", "truncated", "html"],
)
def test_bad_or_hostile_feeds_are_refused(document, reason):
    with pytest.raises(InputError) as caught:
        parse_feed(document, "https://news.example.org/feed.xml")
    assert caught.value.step == "parse feed" and caught.value.problem.startswith(reason)


def test_url_list(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text(
        "# watch list\nhttps://news.example.org/a.html\n\nnot a url\nftp://x/y\n  http://b.example.com/b  \n"
    )
    links, rejects = read_url_list(path)
    assert [link.url for link in links] == ["https://news.example.org/a.html", "http://b.example.com/b"]
    assert [(r.input, r.step) for r in rejects] == [(f"{path}:4", "read url list"), (f"{path}:5", "read url list")]
    assert read_url_list(tmp_path / "missing.txt")[1][0].reason.startswith("cannot read file")


# --- configuration ---------------------------------------------------------------------------


def test_shipped_config_and_empty_sources_file_load():
    settings = load_settings(REPO / "config" / "eventlake.toml")
    assert settings.sources.file == REPO / "config" / "sources.toml"
    assert (settings.schedule.nightly_cron, settings.compute.backend) == ("0 2 * * *", "processes")
    assert not settings.fetch.allow_private and settings.fetch.respect_robots
    sources = load_sources(settings)
    assert (sources.feeds, sources.sitemaps, sources.url_lists, sources.folders, sources.warcs) == ((),) * 5


def test_sources_file_paths_resolve_against_its_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "my-sources.toml").write_text(
        'feeds = ["https://news.example.org/rss.xml"]\nurl_lists = ["urls.txt"]\n'
        'folders = ["../pages"]\nwarcs = ["archives/*.warc.gz"]\n'
    )
    config = write_config(tmp_path / "conf" / "eventlake.toml", sources={"file": "my-sources.toml"})
    sources = load_sources(load_settings(config))
    assert sources.feeds == ("https://news.example.org/rss.xml",)
    assert sources.url_lists == (tmp_path / "conf" / "urls.txt",)
    assert sources.folders == (tmp_path / "pages",)
    assert sources.warcs == (str(tmp_path / "conf" / "archives" / "*.warc.gz"),)


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            'feeds = ["ftp://example.org/feed"]',
            "feeds: Value error, 'ftp://example.org/feed' is not an http:// or https:// URL",
        ),
        ('feed = ["https://example.org/feed"]', "feed: Extra inputs are not permitted"),
        ('warcs = "a.warc.gz"', "warcs: Input should be a valid tuple"),
        ("feeds = [", "invalid TOML"),
    ],
)
def test_bad_sources_file_names_the_problem(tmp_path, text, problem):
    (tmp_path / "sources.toml").write_text(text + "\n")
    config = write_config(tmp_path / "eventlake.toml")
    with pytest.raises(ConfigError) as caught:
        load_sources(load_settings(config))
    assert caught.value.input == str(tmp_path / "sources.toml") and caught.value.problem.startswith(problem)


@pytest.mark.parametrize(
    "section, values, problem",
    [
        ("schedule", {"nightly_cron": "0 2 * *"}, "schedule.nightly_cron: Value error, Invalid cron string"),
        ("schedule", {"timezone": "Mars/Olympus"}, "schedule.timezone: Value error, Invalid timezone"),
        ("compute", {"backend": "ray"}, "compute.backend: Input should be 'processes' or 'dask'"),
        (
            "compute",
            {"dask_address": "scheduler:8786"},
            "compute.dask_address: Value error, expected a scheduler address",
        ),
        ("fetch", {"timeout": 3}, "fetch.timeout: Extra inputs are not permitted"),
        ("fetch", {"concurrency": 0}, "fetch.concurrency: Input should be greater than or equal to 1"),
        (
            "warehouse",
            {"data_dir": "gs://bucket/eventlake"},
            "warehouse.data_dir: Value error, the data directory must be a local folder or an s3://bucket/prefix URL",
        ),
        ("warehouse", {"compact_after_files": -1}, "warehouse.compact_after_files: Input should be greater than"),
    ],
)
def test_bad_new_settings_name_the_key(tmp_path, section, values, problem):
    config = write_config(tmp_path / "eventlake.toml", **{section: values})
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.problem.startswith(problem), caught.value.problem


def test_unsupported_object_store_is_refused_not_written_locally(tmp_path):
    with pytest.raises(ConfigError, match="must be a local folder or an s3://bucket/prefix URL"):
        load_settings(write_config(tmp_path / "eventlake.toml"), "gs://bucket/eventlake")
    assert not (tmp_path / "gs:").exists()
    assert (
        load_settings(write_config(tmp_path / "eventlake.toml"), "s3://bucket/eventlake/").warehouse.location
        == "s3://bucket/eventlake"
    )


def test_config_example_sources_parse(tmp_path):
    """The commented examples in config/sources.toml are valid once uncommented."""
    text = (REPO / "config" / "sources.toml").read_text()
    uncommented = "\n".join(
        line.replace('# "', '"', 1) if line.lstrip().startswith('# "') else line for line in text.splitlines()
    )
    (tmp_path / "sources.toml").write_text(uncommented)
    sources = load_sources(load_settings(write_config(tmp_path / "eventlake.toml")))
    assert len(sources.feeds) == 2 and len(sources.sitemaps) == 1 and len(sources.warcs) == 1
    assert Path(sources.warcs[0]).is_absolute()


# --- robots.txt rules (RFC 9309, by protego) and the overall deadline --------------------------

ROBOTS = b"""User-agent: *
Disallow: /*.pdf$
Disallow: /news
Allow: /news/world
Disallow: /search?*q=
Crawl-delay: 0.4
"""


@pytest.mark.parametrize(
    "path, allowed",
    [
        ("/files/report.pdf", False),  # `*` and `$`
        ("/files/report.pdf?download=1", True),  # `$` anchors the end
        ("/news/politics.html", False),
        ("/news/world/chile.html", True),  # the longest matching rule wins, not the first
        ("/search?lang=en&q=chile", False),
        ("/world/chile-peru-border.html", True),
    ],
)
def test_robots_txt_wildcards_end_anchor_and_longest_match(site, path, allowed):
    site.routes["/robots.txt"] = Route(ROBOTS, content_type="text/plain")
    site.routes[path.split("?")[0]] = Route(ARTICLES[PAGE])
    with fetcher() as f:
        if allowed:
            assert f.fetch(site.url(path), HTML).status == 200
        else:
            with pytest.raises(FetchRefused, match="disallowed by the site's robots.txt"):
                f.fetch(site.url(path), HTML)


def test_robots_txt_crawl_delay_of_the_wildcard_group(site):
    site.routes["/robots.txt"] = Route(ROBOTS, content_type="text/plain")
    with fetcher() as f:
        for _ in range(3):
            f.fetch(site.url(PAGE), HTML)
    starts = [r.at for r in site.hits(PAGE)]
    assert all(b - a >= 0.35 for a, b in zip(starts, starts[1:]))


def test_headers_trickled_a_byte_at_a_time_hit_the_overall_deadline():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def trickle() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.recv(4096)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"a" * 200:
                    if stop.is_set():
                        break
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.1)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/page.html"
    try:
        with fetcher(timeout_seconds=1.0, respect_robots=False) as f:
            started = time.monotonic()
            with pytest.raises(FetchTransient, match="timed out"):
                f.fetch(url, HTML)
            assert time.monotonic() - started < 2.5
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
