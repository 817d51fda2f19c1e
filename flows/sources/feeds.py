"""Article links from RSS 2.0/1.0 and Atom feeds (read by feedparser), news sitemaps and sitemap
indexes, and URL lists.

Every document is parsed by defusedxml first: entity declarations and external references are
refused, so a feed cannot expand into gigabytes or read local files; feedparser reads only what
passed. Each item is read in its own guard: a hostile one is a reject, the rest of the feed goes on.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from transforms.dates import parse_iso_date
from transforms.errors import InputError
from transforms.records import Reject
from transforms.urls import http_url


@dataclass(frozen=True, slots=True)
class Link:
    """An article URL as a feed lists it, with the date the feed gives (if any)."""

    url: str
    published: date | None = None


@dataclass(slots=True)
class FeedContent:
    kind: str  # "rss", "atom", "sitemap" or "sitemapindex"
    links: list[Link] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    # Items that could not be read (each in its own guard, so one bad item costs only itself).
    rejects: list[Reject] = field(default_factory=list)


_E = TypeVar("_E")
_T = TypeVar("_T")


def _each(elements: list[_E], read: Callable[[_E], _T | None], source: str, rejects: list[Reject]) -> list[_T]:
    """`read(element)` for each element, skipping None; an element that raises is a reject."""
    found: list[_T] = []
    for number, element in enumerate(elements, start=1):
        try:
            value = read(element)
        except InputError as exc:
            rejects.append(Reject(f"{source} (item {number})", "parse feed", exc.reason))
            continue
        except Exception as exc:  # noqa: BLE001 - a hostile item must not cost the feed
            rejects.append(Reject(f"{source} (item {number})", "parse feed", f"{type(exc).__name__}: {str(exc)[:300]}"))
            continue
        if value is not None:
            found.append(value)
    return found


def _name(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _name(child) == name]


def _text(element: Element, *names: str) -> str | None:
    for name in names:
        for child in _children(element, name):
            if child.text and child.text.strip():
                return child.text.strip()
    return None


def parse_date(value: str | None) -> date | None:
    """A feed date: RFC 822 (RSS) or ISO 8601 (Atom, sitemaps)."""
    if not value:
        return None
    value = value.strip()
    iso = parse_iso_date(value)
    if iso is not None:
        return iso
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        return None


def _absolute(base: str, href: str | None) -> str | None:
    return http_url(href, base)


def _feed_entries(data: bytes | str, url: str, rejects: list[Reject]) -> list[Link]:
    """The article links of an RSS 2.0, RSS 1.0 or Atom document, read by feedparser (only once
    defusedxml has found it well-formed and free of entity declarations): each entry's alternate
    link (or permalink guid) and its published or updated date, one guard per entry."""
    import feedparser

    raw = data.encode("utf-8") if isinstance(data, str) else data
    # A file object, never a string: feedparser would fetch a string that looks like a URL or path.
    # No base URL is given to it: links are resolved here, by the one URL check, which also sees
    # the links feedparser's own resolution would blank out ("http://[::1").
    parsed = feedparser.parse(io.BytesIO(raw), sanitize_html=False, resolve_relative_uris=False)

    def link_of(entry: dict) -> Link | None:
        href = entry.get("link")
        if not isinstance(href, str) or not href.strip():
            return None
        target = _absolute(url, href)
        if target is None:
            raise InputError(url, "parse feed", f"link {href.strip()[:200]!r} is not an http(s) URL")
        dated = next((entry[k] for k in ("published", "updated", "created") if isinstance(entry.get(k), str)), None)
        return Link(target, parse_date(dated))

    return _each(list(parsed.entries), link_of, url, rejects)


def _sitemap_url(entry: Element, base: str) -> Link | None:
    url = _absolute(base, _text(entry, "loc"))
    if not url:
        return None
    published = None
    for news in _children(entry, "news"):
        published = parse_date(_text(news, "publication_date"))
    return Link(url, published or parse_date(_text(entry, "lastmod")))


def parse_feed(data: bytes | str, url: str) -> FeedContent:
    """The links in a feed or sitemap document fetched from `url`; raises InputError naming it."""
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InputError(
            url,
            "parse feed",
            f"refused XML construct ({type(exc).__name__}: {exc})",
            "entity declarations and external references are not allowed in feeds",
        ) from None
    except ParseError as exc:
        raise InputError(url, "parse feed", f"not well-formed XML ({exc})") from None
    kind = _name(root)
    rejects: list[Reject] = []
    if kind in ("rss", "rdf", "feed"):  # RSS 2.0, RSS 1.0, Atom
        return FeedContent("atom" if kind == "feed" else "rss", _feed_entries(data, url, rejects), rejects=rejects)
    if kind == "urlset":
        return FeedContent(
            "sitemap", _each(_children(root, "url"), lambda e: _sitemap_url(e, url), url, rejects), rejects=rejects
        )
    if kind == "sitemapindex":
        sitemaps = _each(_children(root, "sitemap"), lambda e: _absolute(url, _text(e, "loc")), url, rejects)
        return FeedContent("sitemapindex", sitemaps=list(dict.fromkeys(sitemaps)), rejects=rejects)
    raise InputError(
        url,
        "parse feed",
        f"not an RSS, Atom or sitemap document (root element <{kind}>)",
        "check that the URL is a feed or a sitemap",
    )


def read_url_list(path: Path) -> tuple[list[Link], list[Reject]]:
    """URLs from a text file, one per line; blank lines and lines starting with # are passed over."""
    links: list[Link] = []
    rejects: list[Reject] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return [], [Reject(str(path), "read url list", f"cannot read file ({exc.strerror or exc})")]
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        url = _absolute("", line)
        if url:
            links.append(Link(url))
        else:
            rejects.append(Reject(f"{path}:{number}", "read url list", f"{line[:200]!r} is not an http(s) URL"))
    return links, rejects
