"""WARC archives (CC-NEWS style, gzip per record) read as a stream of raw documents.

Records are read one at a time from the file, so memory stays flat however large the archive.
Only `response` records with a 2xx status and an HTML body become documents; their WARC-Date
bounds the publication date and is what --since/--until filter on.
"""

from __future__ import annotations

import glob
import gzip
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from flows.errors import ArchiveError
from flows.sources.files import not_regular, open_regular, path_text
from transforms.dates import parse_iso_datetime
from transforms.errors import InputError
from transforms.records import RawDocument, Reject

if TYPE_CHECKING:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.recordloader import ArcWarcRecord

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
        elif Path(source).exists() or Path(source).is_symlink():
            yield Path(source)
        else:
            yield Reject(path_text(source), "read", "no such file or folder")


def warc_date(value: str | None) -> datetime | None:
    return parse_iso_datetime(value)


class _Corrupt(Exception):
    """Internal: ends the record loop; becomes the archive's reject."""


def check_warc_start(handle: BinaryIO, name: str) -> None:
    """Refuse a file that is not a WARC (a text file named .warc would be read as dozens of
    broken records): it must start with `WARC/`, or be gzip whose first member does."""
    head = handle.read(2)
    if head == b"\x1f\x8b":
        handle.seek(0)
        try:
            with gzip.GzipFile(fileobj=handle) as unzipped:
                head = unzipped.read(5)
        except (OSError, EOFError, zlib.error):
            head = b""
    else:
        head += handle.read(3)
    handle.seek(0)
    if head != b"WARC/":
        raise ArchiveError(name, "not a WARC file (it does not start with a WARC/1.x record header)")


def _checked_iterator(handle: BinaryIO) -> ArchiveIterator:
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
        name = path_text(self.path)
        problem = not_regular(self.path)
        if problem is not None:
            self.error = problem
            yield Reject(name, "read archive", problem)
            return
        try:
            with open_regular(self.path) as handle:
                check_warc_start(handle, name)
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
                        yield replace(item, input=f"{name}@{offset}")
                if iterator.truncated:
                    raise _Corrupt("the gzip data ends early")
        except InputError as exc:
            self.error = exc.reason
            yield Reject(name, "read archive", self.error)
        except (_Corrupt, OSError, EOFError, zlib.error) as exc:
            self.error = f"archive is corrupt or truncated after offset {offset} ({exc})"
            yield Reject(name, "read archive", self.error)

    def _document(self, record: ArcWarcRecord) -> RawDocument | Reject | None:
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
            return Reject(
                "",
                "read",
                f"record body of {url} is over the {self.max_bytes:,}-byte page cap; "
                "raise ingest.max_page_bytes to accept it",
                record_id=record_id,
            )
        if stream is record.raw_stream and getattr(stream, "limit", 0) > 0:
            raise _Corrupt(f"the record of {url} ends early")
        self.documents += 1
        return RawDocument(input="", data=body, kind="html", url=url, capture_date=day, record_id=record_id)
