"""The one check of an http(s) URL: a value that `urlsplit` cannot take ("http://[::1") or that has
another scheme or no host is not one. Never raises, so a hostile link cannot stop a batch."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit


def http_url(value: object, base: str = "") -> str | None:
    """`value` (resolved against `base`) as an absolute http or https URL with a host, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        url = urljoin(base, value.strip()) if base else value.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return None
    if any(ord(c) < 0x21 for c in url):
        return None
    return url


def host_of(url: str | None) -> str | None:
    """The host name of a URL, None when there is none or the URL does not parse."""
    if not url:
        return None
    try:
        return urlsplit(url).hostname or None
    except ValueError:
        return None
