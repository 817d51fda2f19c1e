"""Article links from RSS 2.0/1.0 and Atom feeds, news sitemaps and sitemap indexes, and URL lists.

XML is parsed by defusedxml: entity declarations and external references are refused, so a feed
cannot expand into gigabytes or read local files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from transforms.errors import InputError
from transforms.records import Reject


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
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        return None


def _absolute(base: str, href: str | None) -> str | None:
    if not href:
        return None
    url = urljoin(base, href.strip())
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _rss_items(items: list[Element], base: str) -> list[Link]:
    links = []
    for item in items:
        href = _text(item, "link")
        if href is None:
            guid = _children(item, "guid")
            if guid and guid[0].get("isPermaLink", "true").lower() != "false":
                href = (guid[0].text or "").strip()
        url = _absolute(base, href)
        if url:
            links.append(Link(url, parse_date(_text(item, "pubdate", "date", "published"))))
    return links


def _atom_entries(root: Element, base: str) -> list[Link]:
    links = []
    for entry in _children(root, "entry"):
        href = None
        for link in _children(entry, "link"):
            if link.get("rel", "alternate") == "alternate" and link.get("href"):
                href = link.get("href")
                break
        url = _absolute(base, href)
        if url:
            links.append(Link(url, parse_date(_text(entry, "published", "updated"))))
    return links


def _sitemap_urls(root: Element, base: str) -> list[Link]:
    links = []
    for entry in _children(root, "url"):
        url = _absolute(base, _text(entry, "loc"))
        if not url:
            continue
        published = None
        for news in _children(entry, "news"):
            published = parse_date(_text(news, "publication_date"))
        links.append(Link(url, published or parse_date(_text(entry, "lastmod"))))
    return links


def parse_feed(data: bytes | str, url: str) -> FeedContent:
    """The links in a feed or sitemap document fetched from `url`; raises InputError naming it."""
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InputError(url, "parse feed", f"refused XML construct ({type(exc).__name__}: {exc})",
                         "entity declarations and external references are not allowed in feeds") from None
    except ParseError as exc:
        raise InputError(url, "parse feed", f"not well-formed XML ({exc})") from None
    kind = _name(root)
    if kind == "rss":
        items = [item for channel in _children(root, "channel") for item in _children(channel, "item")]
        return FeedContent("rss", _rss_items(items, url))
    if kind == "rdf":  # RSS 1.0: items are siblings of the channel
        return FeedContent("rss", _rss_items(_children(root, "item"), url))
    if kind == "feed":
        return FeedContent("atom", _atom_entries(root, url))
    if kind == "urlset":
        return FeedContent("sitemap", _sitemap_urls(root, url))
    if kind == "sitemapindex":
        sitemaps = [u for u in (_absolute(url, _text(s, "loc")) for s in _children(root, "sitemap")) if u]
        return FeedContent("sitemapindex", sitemaps=list(dict.fromkeys(sitemaps)))
    raise InputError(url, "parse feed", f"not an RSS, Atom or sitemap document (root element <{kind}>)",
                     "check that the URL is a feed or a sitemap")


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
