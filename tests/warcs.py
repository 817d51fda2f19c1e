"""WARC archives built for the tests and the benchmark with warcio (gzip per record, as CC-NEWS)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def response(
    writer: WARCWriter,
    url: str,
    body: bytes,
    captured: datetime,
    status: str = "200 OK",
    content_type: str = "text/html; charset=utf-8",
) -> None:
    http = StatusAndHeaders(
        status, [("Content-Type", content_type), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
    )
    record = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": captured.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    writer.write_record(record)


def request(writer: WARCWriter, url: str, captured: datetime) -> None:
    http = StatusAndHeaders(f"GET {url} HTTP/1.1", [("User-Agent", "test")], is_http_request=True)
    record = writer.create_warc_record(
        url, "request", http_headers=http, warc_headers_dict={"WARC-Date": captured.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )
    writer.write_record(record)


def write_warc(path: Path, pages: Iterable[tuple[str, bytes, datetime]], extras: bool = True) -> Path:
    """A .warc.gz with a warcinfo record, then a request and a response per page; with `extras`,
    also an image response and a 404 response, which the reader passes over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "eventlake tests"}))
        last = None
        for url, body, captured in pages:
            request(writer, url, captured)
            response(writer, url, body, captured)
            last = captured
        if extras and last is not None:
            response(
                writer,
                "https://news.example.org/logo.png",
                b"\x89PNG\r\n\x1a\n" + bytes(200),
                last,
                content_type="image/png",
            )
            response(
                writer,
                "https://news.example.org/missing.html",
                b"<html><body>Not found</body></html>",
                last,
                status="404 Not Found",
            )
    return path
