"""Source readers for local inputs: files and folders of HTML, text and JSONL. They do the I/O and
yield raw documents (or rejects naming the input); all cleaning happens in transforms."""
from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from transforms.dates import parse_iso_date
from transforms.errors import InputError
from transforms.records import RawDocument, Reject

KINDS = {".html": "html", ".htm": "html", ".txt": "text", ".jsonl": "jsonl"}


def kind_of(path: Path) -> str | None:
    """"html", "text" or "jsonl" from the file name (a trailing .gz is looked through)."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return KINDS.get(suffixes[-1]) if suffixes else None


def discover(paths: Iterable[Path]) -> Iterator[Path | Reject]:
    """Input files under the given paths, recursively, in a stable order; unknown files in folders
    are passed over, a named file of unknown type or a missing path is a reject."""
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if kind_of(child) and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield child
        elif path.is_file():
            if kind_of(path):
                yield path
            else:
                yield Reject(str(path), "read", "unsupported file type; expected .html, .htm, .txt or .jsonl (optionally .gz)")
        else:
            yield Reject(str(path), "read", "no such file or folder")


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, decompressed if gzip, refusing anything over `max_bytes` before reading it all."""
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as handle:
                data = handle.read(max_bytes + 1)
        else:
            if path.stat().st_size > max_bytes:
                raise InputError(str(path), "read", f"file is {path.stat().st_size:,} bytes, over the "
                                 f"{max_bytes:,}-byte page cap", "raise ingest.max_page_bytes to accept it")
            data = path.read_bytes()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(str(path), "read", f"corrupt or truncated gzip data ({exc})",
                         "re-download or re-compress the file") from None
    except OSError as exc:
        raise InputError(str(path), "read", f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise InputError(str(path), "read", f"decompressed size is over the {max_bytes:,}-byte page cap",
                         "raise ingest.max_page_bytes to accept it")
    return data


def record_to_document(line: str, input: str, max_bytes: int) -> RawDocument:
    """One JSONL line ({"id", "text"|"html", "url"?, "date"?}) as a raw document."""
    if len(line) > max_bytes:
        raise InputError(input, "read", f"record is over the {max_bytes:,}-byte page cap")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(input, "read", f"malformed JSON line ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise InputError(input, "read", "a JSON line must be an object with id and text or html")
    record_id = record.get("id")
    record_id = None if record_id is None else str(record_id)
    where = f"{input} (id {record_id})" if record_id else input
    html, text = record.get("html"), record.get("text")
    if isinstance(html, str) and html.strip():
        data, kind = html, "html"
    elif isinstance(text, str) and text.strip():
        data, kind = text, "text"
    else:
        raise InputError(where, "read", "record has neither a non-empty \"text\" nor \"html\" string")
    url = record.get("url") if isinstance(record.get("url"), str) else None
    return RawDocument(input=where, data=data, kind=kind, url=url, record_id=record_id,
                       fallback_date=parse_iso_date(record.get("date") if isinstance(record.get("date"), str) else None))


def read_jsonl_lines(lines: Iterable[str], name: str, max_bytes: int) -> Iterator[RawDocument | Reject]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield record_to_document(line, f"{name}:{number}", max_bytes)
        except InputError as exc:
            yield Reject(exc.input, exc.step, exc.reason)


def read_file(path: Path, max_bytes: int) -> Iterator[RawDocument | Reject]:
    """The documents in one file: one for a page, one per line for JSONL (streamed)."""
    kind = kind_of(path)
    if kind == "jsonl":
        try:
            opener = gzip.open if path.suffix.lower() == ".gz" else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
                yield from read_jsonl_lines(handle, str(path), max_bytes)
        except (OSError, EOFError, zlib.error) as exc:
            yield Reject(str(path), "read", f"cannot read JSONL file ({exc})")
        return
    try:
        yield RawDocument(input=str(path), data=_read_capped(path, max_bytes), kind=kind or "text")
    except InputError as exc:
        yield Reject(exc.input, exc.step, exc.reason)


def read_paths(paths: Iterable[Path], max_bytes: int) -> Iterator[RawDocument | Reject]:
    """Every document under the given paths, one at a time, so memory stays flat."""
    for item in discover(paths):
        if isinstance(item, Reject):
            yield item
        else:
            yield from read_file(item, max_bytes)
