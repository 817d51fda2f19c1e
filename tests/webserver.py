"""A loopback web site for the fetching tests: http.server in a thread on 127.0.0.1, serving routes
the test defines (pages, feeds, errors, slow and huge bodies) and recording every request."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    delay: float = 0.0  # before the response starts
    drip: float = 0.0  # between body chunks (a page sent slowly)
    stream_bytes: int = 0  # send this many bytes with no Content-Length (a huge page)
    declared_length: int | None = None  # a Content-Length to announce instead of the real one


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float


class Site:
    """Start with `with Site() as site:`; `site.url("/feed.xml")` is the full URL of a route."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.active = 0
        self.max_active: dict[str, int] = {}
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with site._lock:
                    site.requests.append(Seen(path, dict(self.headers.items()), time.monotonic()))
                    site.active += 1
                    site.max_active[path] = max(site.max_active.get(path, 0), site.active)
                try:
                    site._serve(self, path)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with site._lock:
                        site.active -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "Site":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def _serve(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        route = self.routes.get(path)
        if route is None:
            route = Route(b"<html><body><h1>Not found</h1></body></html>", status=404)
        if route.delay:
            time.sleep(route.delay)
        if route.etag and handler.headers.get("If-None-Match") == route.etag:
            handler.send_response(304)
            handler.send_header("ETag", route.etag)
            handler.end_headers()
            return
        handler.send_response(route.status)
        if route.content_type:
            handler.send_header("Content-Type", route.content_type)
        if route.etag:
            handler.send_header("ETag", route.etag)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.stream_bytes:
            handler.end_headers()
            chunk = b"<p>" + b"x" * 65_530 + b"</p>"
            sent = 0
            while sent < route.stream_bytes:
                handler.wfile.write(chunk)
                sent += len(chunk)
            return
        handler.send_header("Content-Length", str(route.declared_length or len(route.body)))
        handler.end_headers()
        if route.drip:
            for start in range(0, len(route.body), 64):
                handler.wfile.write(route.body[start : start + 64])
                handler.wfile.flush()
                time.sleep(route.drip)
        elif route.declared_length is None:
            handler.wfile.write(route.body)


def article_page(title: str, paragraphs: list[str], published: str | None = None) -> bytes:
    """A small news page: head metadata, navigation, the article, a footer."""
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>{meta}</head>"
        f"<body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{title}</h1>{body}</article>"
        f"<footer>Copyright Example News</footer></body></html>"
    ).encode("utf-8")


ARTICLES = {
    "/world/chile-peru-border.html": article_page(
        "Chile and Peru agree to open new border crossings",
        [
            "The foreign ministers of Chile and Peru met in Lima on Monday to discuss border trade, "
            "and agreed to open two new crossings before the end of the year.",
            "Officials from both countries said the crossings would ease the movement of goods and "
            "reduce long queues of trucks at the existing post near Tacna.",
        ],
        "2024-03-04",
    ),
    "/world/kenya-tanzania-talks.html": article_page(
        "Kenya and Tanzania hold talks on trade barriers",
        [
            "Kenya and Tanzania held talks in Nairobi on Tuesday on removing barriers to trade "
            "between the two neighbours, officials said.",
            "The Kenyan trade minister met his Tanzanian counterpart and both pledged to settle "
            "a dispute over maize exports within weeks.",
        ],
        "2024-03-05",
    ),
    "/world/japan-philippines-drills.html": article_page(
        "Japan and the Philippines sign a defence access agreement",
        [
            "Japan and the Philippines signed an agreement in Manila on Wednesday that allows their "
            "troops to train on each other's soil, the two governments said.",
            "The agreement follows months of talks and comes as both countries seek closer security "
            "ties in the region.",
        ],
        "2024-03-06",
    ),
    "/world/poland-belarus-border.html": article_page(
        "Poland warns Belarus over border incidents",
        [
            "Poland warned Belarus on Thursday that it would close another border crossing if "
            "incidents involving migrants continued, the interior ministry in Warsaw said.",
            "Belarus rejected the accusations and said Polish guards had provoked the incidents.",
        ],
        "2024-03-07",
    ),
}


def rss(items: list[tuple[str, str | None]], title: str = "Example News: World") -> bytes:
    entries = "".join(
        f"<item><title>item</title><link>{link}</link>" + (f"<pubDate>{date}</pubDate>" if date else "") + "</item>"
        for link, date in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.org/</link>{entries}</channel></rss>"
    ).encode("utf-8")


def news_sitemap(urls: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<url><loc>{u}</loc><news:news><news:publication_date>{d}</news:publication_date></news:news></url>"
        for u, d in urls
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{entries}</urlset>"
    ).encode("utf-8")
