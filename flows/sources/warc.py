"""WARC archives (CC-NEWS style, gzip per record) read as a stream of raw documents.

Records are read one at a time from the file, so memory stays flat however large the archive.
Only `response` records with a 2xx status and an HTML body become documents; their WARC-Date
bounds the publication date and is what --since/--until filter on.
"""
from __future__ import annotations

import glob
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from transforms.records import RawDocument, Reject

WARC_SUFFIXES = (".warc", ".warc.gz")
HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_warc(path: Path) -> bool:
    return path.name.lower().endswith(WARC_SUFFIXES)


def expand(sources: Iterable[str]) -> Iterator[Path | Reject]:
    """Paths named by the sources (globs expanded, sorted); a source matching nothing is a reject."""
    for source in sources:
        if any(char in source for char in "*?["):
            matches = sorted(glob.glob(source, recursive=True))
            if not matches:
                yield Reject(source, "read", "no file matches the pattern")
            yield from (Path(m) for m in matches)
        elif Path(source).exists():
            yield Path(source)
        else:
            yield Reject(source, "read", "no such file or folder")


def warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


class _Corrupt(Exception):
    pass


def _checked_iterator(handle):
    """warcio's iterator, noting whether the last gzip member ended properly: warcio itself reads
    a truncated .warc.gz to its cut without complaint."""
    from warcio.archiveiterator import ArchiveIterator

    class Checked(ArchiveIterator):
        truncated = False

        def close(self) -> None:
            decompressor = self.reader.decompressor if self.reader else None
            if decompressor is not None and not decompressor.eof:
                self.truncated = True
            super().close()

    return Checked(handle)


@dataclass
class WarcReader:
    """Documents from one archive; after iteration, `records`, `documents` and `error` say what was found."""

    path: Path
    max_bytes: int
    since: date | None = None
    until: date | None = None
    records: int = 0
    documents: int = 0
    error: str | None = None

    def __iter__(self) -> Iterator[RawDocument | Reject]:
        offset = 0
        try:
            with open(self.path, "rb") as handle:
                iterator = _checked_iterator(handle)
                records = iter(iterator)
                while True:
                    try:
                        record = next(records)
                    except StopIteration:
                        break
                    except Exception as exc:  # warcio raises assorted errors on corrupt input
                        raise _Corrupt(f"{type(exc).__name__}: {exc}") from None
                    self.records += 1
                    item = self._document(record)
                    # The offset is known once the record is read (it names the record in rejects).
                    offset = iterator.get_record_offset()
                    if item is not None:
                        yield replace(item, input=f"{self.path}@{offset}")
                if iterator.truncated:
                    raise _Corrupt("the gzip data ends early")
        except (_Corrupt, OSError, EOFError, zlib.error) as exc:
            self.error = f"archive is corrupt or truncated after offset {offset} ({exc})"
            yield Reject(str(self.path), "read archive", self.error)

    def _document(self, record) -> RawDocument | Reject | None:
        if record.rec_type != "response" or record.http_headers is None:
            return None
        captured = warc_date(record.rec_headers.get_header("WARC-Date"))
        day = captured.date() if captured else None
        if day is not None and ((self.since and day < self.since) or (self.until and day > self.until)):
            return None
        if (self.since or self.until) and day is None:
            return None
        status = record.http_headers.get_statuscode() or ""
        media = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
        if not status.startswith("2") or media not in HTML_TYPES:
            return None
        url = record.rec_headers.get_header("WARC-Target-URI")
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        stream = record.content_stream()
        try:
            body = stream.read(self.max_bytes + 1)
        except Exception as exc:  # a corrupt chunked or compressed body
            raise _Corrupt(f"unreadable body of {url} ({type(exc).__name__}: {exc})") from None
        if len(body) > self.max_bytes:
            return Reject("", "read", f"record body of {url} is over the {self.max_bytes:,}-byte page cap; "
                          "raise ingest.max_page_bytes to accept it", record_id=record_id)
        if stream is record.raw_stream and getattr(stream, "limit", 0) > 0:
            raise _Corrupt(f"the record of {url} ends early")
        self.documents += 1
        return RawDocument(input="", data=body, kind="html", url=url, capture_date=day, record_id=record_id)
