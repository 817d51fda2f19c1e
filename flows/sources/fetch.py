"""HTTP fetching for `nightly`: bounded, polite and kept out of private networks.

Every request is checked before it is sent (http/https only, robots.txt, the address guard) and
while it is read (size cap, overall deadline); redirects are followed by hand so each hop gets the
same checks. A failure is either permanent (`FetchRefused`: a later run would get the same answer)
or transient (`FetchTransient`: timeouts, connection errors, 5xx, 429), which callers retry.
"""

from __future__ import annotations

import gzip
import io
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from protego import Protego

from flows.errors import AddressRefused, FetchError, FetchRefused, FetchTransient
from flows.settings import FetchSettings
from transforms.urls import http_url

__all__ = ["AddressRefused", "FetchError", "FetchRefused", "FetchTransient", "Fetched", "Fetcher"]

ROBOTS_MAX_BYTES = 500_000
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
TRANSIENT_CODES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful (2xx) or not-modified (304) response."""

    url: str
    final_url: str
    status: int
    body: bytes | None
    media_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def text_or_bytes(self) -> bytes | str:
        """The body decoded with the charset the server declared, else raw bytes for the cleaner to sniff."""
        assert self.body is not None
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:
                pass
        return self.body


# --- the private-address guard -------------------------------------------------------------


def is_public_address(address: str) -> bool:
    """False for private, loopback, link-local, shared, reserved, multicast and unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchTransient(f"host {host} does not resolve ({exc})") from None
    # Host names resolve to IPv4 and IPv6 socket addresses, whose first item is the address string.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal_reason(host: str, addresses: Iterable[str]) -> str:
    private = [a for a in addresses if not is_public_address(a)]
    where = "is" if private == [host] else f"resolves to ({', '.join(private)})"
    return (
        f"{host} {where} a private, loopback or link-local address; "
        "pass --allow-private or set fetch.allow_private = true to fetch it"
    )


# The deadline of the request this thread is making (time.monotonic()), read by every socket
# operation: httpx's timeouts restart with each read, so a server trickling its headers a byte a
# second would otherwise hold a fetch (and the warehouse lock) for as long as it liked.
_request = threading.local()


def _bounded(timeout: float | None) -> float | None:
    deadline = getattr(_request, "deadline", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise httpcore.ReadTimeout("the request's overall deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Connections bounded by the request's deadline and, when `guard` is set, made only to public
    addresses, checked on the address actually connected to, so a name that resolves differently
    between the check and the connection (DNS rebinding) is caught."""

    def __init__(self, guard: bool = True) -> None:
        self.guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if not self.guard:
            return _DeadlineStream(super().connect_tcp(host, port, _bounded(timeout), local_address, socket_options))
        try:
            addresses = _addresses(host, port)
        except FetchTransient as exc:
            raise httpcore.ConnectError(exc.reason) from None
        allowed = [a for a in addresses if is_public_address(a)]
        if not allowed:
            raise AddressRefused(refusal_reason(host, addresses))
        error: Exception | None = None
        for address in allowed:
            try:
                return _DeadlineStream(
                    super().connect_tcp(address, port, _bounded(timeout), local_address, socket_options)
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error  # type: ignore[misc]


class _Transport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses our backend."""

    def __init__(self, limits: httpx.Limits, guard: bool) -> None:  # super().__init__ would build its own pool
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )


# --- politeness ----------------------------------------------------------------------------


class _Host:
    def __init__(self, concurrency: int, delay: float) -> None:
        self.slots = threading.BoundedSemaphore(concurrency)
        self.lock = threading.Lock()
        self.next_start = 0.0
        self.delay = delay


class HostLimiter:
    """At most `concurrency` requests at a time per host, and request starts `delay` seconds apart."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self.concurrency = concurrency
        self.delay = delay
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def host(self, name: str) -> _Host:
        with self._lock:
            if name not in self._hosts:
                self._hosts[name] = _Host(self.concurrency, self.delay)
            return self._hosts[name]

    def slow_down(self, name: str, delay: float) -> None:
        host = self.host(name)
        with host.lock:
            host.delay = max(host.delay, delay)

    def acquire(self, name: str) -> _Host:
        host = self.host(name)
        host.slots.acquire()
        with host.lock:
            now = time.monotonic()
            start = max(now, host.next_start)
            host.next_start = start + host.delay
        if start > now:
            time.sleep(start - now)
        return host


# --- the fetcher ---------------------------------------------------------------------------


def _media_type(header: str | None) -> tuple[str | None, str | None]:
    if not header:
        return None, None
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return media.strip().lower() or None, charset


def check_url(url: str) -> tuple[str, str]:
    """(scheme, host) of an http(s) URL; anything else is refused."""
    if http_url(url) is None:
        try:
            scheme = urlsplit(url).scheme
        except ValueError:
            raise FetchRefused(f"{url[:200]!r} is not a valid URL") from None
        if scheme not in ("http", "https"):
            raise FetchRefused(f"only http and https URLs are fetched, not {scheme or 'a relative'} URL")
        raise FetchRefused("URL has no host or is not valid")
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or ""


class Fetcher:
    """A shared HTTP client for one run, safe to use from many threads."""

    def __init__(self, settings: FetchSettings, allow_private: bool | None = None) -> None:
        self.settings = settings
        self.allow_private = settings.allow_private if allow_private is None else allow_private
        limits = httpx.Limits(
            max_connections=max(settings.concurrency, 1) * 2,
            max_keepalive_connections=settings.concurrency,
            keepalive_expiry=5,
        )
        self._client = httpx.Client(
            transport=_Transport(limits, guard=not self.allow_private),
            timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self.limiter = HostLimiter(settings.host_concurrency, settings.host_delay_seconds)
        self._robots: dict[str, Protego | FetchTransient] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(
        self,
        url: str,
        accept: Iterable[str] | None,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        robots: bool = True,
    ) -> Fetched:
        """GET `url` (conditionally when a validator is given), following up to `max_redirects`.

        `accept` lists the media types taken (None takes any). Raises FetchRefused or FetchTransient.
        """
        max_bytes = max_bytes or self.settings.max_bytes
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self.settings.max_redirects + 1):
            _, host = check_url(current)
            if not self.allow_private:
                addresses = _addresses(host, 443)
                if not all(is_public_address(a) for a in addresses):
                    raise FetchRefused(refusal_reason(host, addresses))
            if robots and self.settings.respect_robots and not self._robots_allow(current):
                raise FetchRefused("disallowed by the site's robots.txt")
            slot = self.limiter.acquire(host)
            try:
                # Time spent waiting for the host's turn does not count against the timeout.
                deadline = time.monotonic() + self.settings.timeout_seconds
                # One deadline for connect, headers and body: every socket operation of this
                # thread's request is bounded by it (see _bounded).
                _request.deadline = deadline
                response = self._send(current, headers, deadline)
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_CODES and location:
                        try:  # the next hop is checked like the first (check_url, guard, robots.txt)
                            current = urljoin(current, location.strip())
                        except ValueError:
                            raise FetchRefused(
                                f"redirect to {location[:200]!r}, not a valid URL", response.status_code
                            ) from None
                        headers = {}  # validators belong to the first URL only
                        continue
                    return self._finish(url, current, response, accept, max_bytes, deadline)
                finally:
                    response.close()
            finally:
                _request.deadline = None
                slot.slots.release()
        raise FetchRefused(f"more than {self.settings.max_redirects} redirects (a redirect loop?)")

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTransient(f"timed out after {self.settings.timeout_seconds:g}s")
        timeout = httpx.Timeout(
            min(self.settings.timeout_seconds, remaining), connect=min(self.settings.connect_timeout_seconds, remaining)
        )
        try:
            return self._client.send(
                self._client.build_request("GET", url, headers=headers, timeout=timeout), stream=True
            )
        except AddressRefused as exc:
            raise FetchRefused(exc.reason) from None
        except httpx.TimeoutException:
            raise FetchTransient(f"timed out after {self.settings.timeout_seconds:g}s") from None
        except httpx.TransportError as exc:
            raise FetchTransient(f"connection failed ({type(exc).__name__}: {exc})") from None

    def _finish(
        self,
        url: str,
        final_url: str,
        response: httpx.Response,
        accept: Iterable[str] | None,
        max_bytes: int,
        deadline: float,
    ) -> Fetched:
        status = response.status_code
        etag, last_modified = response.headers.get("etag"), response.headers.get("last-modified")
        if status == 304:
            return Fetched(url, final_url, status, None, None, None, etag, last_modified)
        if status in TRANSIENT_CODES or status >= 500:
            raise FetchTransient(f"HTTP {status}", status)
        if not 200 <= status < 300:
            raise FetchRefused(f"HTTP {status}", status)
        media, charset = _media_type(response.headers.get("content-type"))
        accepted = None if accept is None else tuple(accept)
        if media and accepted is not None and media not in accepted:
            raise FetchRefused(f"content type {media} is not one of {', '.join(accepted)}", status)
        body = self._read(response, max_bytes, deadline)
        return Fetched(url, final_url, status, body, media, charset, etag, last_modified)

    def _read(self, response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchRefused(
                f"body is {int(declared):,} bytes, over the {max_bytes:,}-byte cap (fetch.max_bytes)",
                response.status_code,
            )
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchRefused(
                        f"body is over the {max_bytes:,}-byte cap (fetch.max_bytes)", response.status_code
                    )
                # The read timeout restarts with every chunk; this bounds a page sent a byte at a time.
                if time.monotonic() > deadline:
                    raise FetchTransient(f"timed out after {self.settings.timeout_seconds:g}s reading the body")
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise FetchTransient(f"timed out after {self.settings.timeout_seconds:g}s reading the body") from None
        except httpx.DecodingError as exc:
            raise FetchRefused(f"body could not be decoded ({exc})", response.status_code) from None
        except httpx.TransportError as exc:
            raise FetchTransient(f"connection failed while reading ({type(exc).__name__}: {exc})") from None
        return b"".join(chunks)

    # --- robots.txt ------------------------------------------------------------------------

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._robots:
                self._robots[origin] = self._load_robots(origin, parts.hostname or "")
        rules = self._robots[origin]
        if isinstance(rules, FetchTransient):
            raise rules
        return rules.can_fetch(url, self.settings.user_agent)

    def _load_robots(self, origin: str, host: str) -> Protego | FetchTransient:
        """The site's rules (RFC 9309, read by protego: `*` and `$` patterns, the longest matching
        rule wins): a 4xx means no rules; an unreachable file means no fetching from the site in
        this run."""
        try:
            fetched = self.fetch(origin + "/robots.txt", None, max_bytes=ROBOTS_MAX_BYTES, robots=False)
        except FetchRefused as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return Protego.parse("")
            return FetchTransient(f"robots.txt could not be read ({exc.reason})")
        except FetchTransient as exc:
            return FetchTransient(f"robots.txt could not be read ({exc.reason})")
        rules = Protego.parse((fetched.body or b"").decode("utf-8", errors="replace"))
        delay = rules.crawl_delay(self.settings.user_agent)
        if delay:
            self.limiter.slow_down(host, min(float(delay), self.settings.max_crawl_delay_seconds))
        return rules


def gunzip_capped(data: bytes, max_bytes: int) -> bytes:
    """Decompress a gzip body (a .xml.gz sitemap), refusing more than `max_bytes` of output."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            out = handle.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FetchRefused(f"corrupt gzip body ({exc})") from None
    if len(out) > max_bytes:
        raise FetchRefused(f"decompressed body is over the {max_bytes:,}-byte cap (fetch.max_bytes)")
    return out
