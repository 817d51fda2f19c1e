"""Source readers for local inputs: files and folders of HTML, text and JSONL. They do the I/O and
yield raw documents (or rejects naming the input); all cleaning happens in transforms.

Nothing that is not a regular file is opened (a FIFO or a device named `*.html` would hang the run
or never end), sizes are capped while reading, compressed or not, and every line of a JSONL file
is read inside a guard, so one hostile record is a reject and the rest go on.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from transforms.clean import failure_reason
from transforms.dates import parse_iso_date
from transforms.errors import InputError
from transforms.records import RawDocument, Reject
from transforms.urls import http_url

KINDS = {".html": "html", ".htm": "html", ".txt": "text", ".jsonl": "jsonl"}
# A JSONL file's lines are skipped this much at a time when one is over the page cap.
_SKIP_CHUNK = 1 << 20


def path_text(path: Path | str) -> str:
    """A path as text that any writer can store and that names the file losslessly: bytes that
    are not UTF-8 in a file name appear as \\xNN escapes instead of unencodable surrogates."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def kind_of(path: Path) -> str | None:
    """ "html", "text" or "jsonl" from the file name (a trailing .gz is looked through)."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return KINDS.get(suffixes[-1]) if suffixes else None


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def not_regular(path: Path) -> str | None:
    """Why `path` cannot be read as a file (None when it is a regular file, links followed)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file (a dangling symbolic link?)" if os.path.islink(path) else "no such file or folder"
    except OSError as exc:  # ELOOP for a symbolic link loop, EACCES, ...
        return f"cannot look at it ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    return f"{_file_type(mode)}, not a regular file; only regular files are read"


@contextmanager
def open_regular(path: Path) -> Iterator[BinaryIO]:
    """The file opened for reading, checked to be a regular file on the open descriptor itself
    (opened non-blocking, so a FIFO put in its place cannot hang the open)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(path_text(path), "read", f"cannot open it ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(
                path_text(path), "read", f"{_file_type(mode)}, not a regular file; only regular files are read"
            )
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def _walk(folder: Path) -> Iterator[Path | Reject]:
    """Input files under a folder, recursively, sorted; unknown file types are passed over, hidden
    files and folders too; what cannot be listed or is not a regular file is a reject."""
    found: list[tuple[str, Path | Reject]] = []

    def unreadable(exc: OSError) -> None:
        name = exc.filename if exc.filename is not None else folder
        found.append(
            (os.fsdecode(name), Reject(path_text(name), "read", f"cannot list folder ({exc.strerror or exc})"))
        )

    for top, dirnames, filenames in os.walk(folder, onerror=unreadable, followlinks=False):
        base = Path(top)
        for name in list(dirnames):
            if name.startswith("."):
                dirnames.remove(name)
            elif (base / name).is_symlink():
                # os.walk does not follow it; following could loop (a link to a parent folder).
                found.append(
                    (
                        str(base / name),
                        Reject(
                            path_text(base / name),
                            "read",
                            "symbolic link to a folder, not followed; name the folder itself to read it",
                        ),
                    )
                )
        dirnames.sort()
        for name in filenames:
            if name.startswith("."):
                continue
            path = base / name
            problem = not_regular(path)
            if problem is None:
                if kind_of(path):
                    found.append((str(path), path))
            else:
                found.append((str(path), Reject(path_text(path), "read", problem)))
    for _, item in sorted(found, key=lambda pair: pair[0]):
        yield item


def discover(paths: Iterable[Path]) -> Iterator[Path | Reject]:
    """Input files under the given paths, recursively, in a stable order; unknown files in folders
    are passed over, a named file of unknown type, a missing path or anything that is not a
    regular file is a reject."""
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
            continue
        problem = not_regular(path)
        if problem is not None:
            yield Reject(path_text(path), "read", problem)
        elif kind_of(path):
            yield path
        else:
            yield Reject(
                path_text(path), "read", "unsupported file type; expected .html, .htm, .txt or .jsonl (optionally .gz)"
            )


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, decompressed if gzip, refusing anything over `max_bytes` before reading it all."""
    name = path_text(path)
    try:
        with open_regular(path) as handle:
            if path.suffix.lower() == ".gz":
                with gzip.GzipFile(fileobj=handle) as unzipped:
                    data = unzipped.read(max_bytes + 1)
            else:
                size = os.fstat(handle.fileno()).st_size
                if size > max_bytes:
                    raise InputError(
                        name,
                        "read",
                        f"file is {size:,} bytes, over the {max_bytes:,}-byte page cap",
                        "raise ingest.max_page_bytes to accept it",
                    )
                data = handle.read(max_bytes + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(
            name, "read", f"corrupt or truncated gzip data ({exc})", "re-download or re-compress the file"
        ) from None
    except OSError as exc:
        raise InputError(name, "read", f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise InputError(
            name,
            "read",
            f"decompressed size is over the {max_bytes:,}-byte page cap",
            "raise ingest.max_page_bytes to accept it",
        )
    return data


def _storable(value: str) -> str:
    """The string with lone surrogates ("\\ud800" in JSON decodes to one) replaced: no UTF-8
    writer can store them."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", errors="replace").decode("utf-8")


def record_to_document(line: str, input: str, max_bytes: int) -> RawDocument:
    """One JSONL line ({"id", "text"|"html", "url"?, "date"?}) as a raw document."""
    if len(line) > max_bytes:
        raise InputError(
            input, "read", f"record is over the {max_bytes:,}-byte page cap", "raise ingest.max_page_bytes to accept it"
        )
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(input, "read", f"malformed JSON line ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise InputError(input, "read", "JSON nested too deeply to read") from None
    if not isinstance(record, dict):
        raise InputError(input, "read", "a JSON line must be an object with id and text or html")
    record_id = record.get("id")
    record_id = None if record_id is None else _storable(str(record_id)[:1000])
    where = f"{input} (id {record_id})" if record_id else input
    html, text = record.get("html"), record.get("text")
    if isinstance(html, str) and html.strip():
        data, kind = _storable(html), "html"
    elif isinstance(text, str) and text.strip():
        data, kind = _storable(text), "text"
    else:
        raise InputError(where, "read", 'record has neither a non-empty "text" nor "html" string')
    url = record.get("url")
    if url is not None and url != "":
        if http_url(url) is None or _storable(url) != url:
            raise InputError(
                where,
                "read",
                f'"url" {str(url)[:200]!r} is not a valid http(s) URL',
                'give an absolute http:// or https:// URL, or leave "url" out',
            )
    else:
        url = None
    date = record.get("date")
    return RawDocument(
        input=where,
        data=data,
        kind=kind,
        url=url,
        record_id=record_id,
        fallback_date=parse_iso_date(date) if isinstance(date, str) else None,
    )


def guarded_record(line: str, input: str, max_bytes: int) -> RawDocument | Reject:
    """`record_to_document`, with any failure (not only the expected ones) as a reject."""
    try:
        return record_to_document(line, input, max_bytes)
    except InputError as exc:
        return Reject(exc.input, exc.step, exc.reason)
    except Exception as exc:  # noqa: BLE001 - one hostile line must not stop the file
        return Reject(input, "read", failure_reason(exc))


def capped_lines(
    handle: BinaryIO | gzip.GzipFile, name: str, max_line: int, max_file: int
) -> Iterator[tuple[str, str] | Reject]:
    """(input, text) for each non-blank line of a binary stream, read at most `max_line` bytes at
    a time, so a huge line is never held: it is skipped and becomes a reject. Past `max_file`
    bytes in all, reading stops with a reject. Lines are decoded as UTF-8, bad bytes replaced."""
    total = 0
    number = 0
    while True:
        line = handle.readline(max_line + 1)
        if not line:
            return
        number += 1
        total += len(line)
        where = f"{name}:{number}"
        if len(line) > max_line and not line.endswith(b"\n"):
            while True:  # the rest of the line, dropped as it is read
                chunk = handle.readline(_SKIP_CHUNK)
                total += len(chunk)
                if not chunk or chunk.endswith(b"\n") or total > max_file:
                    break
            if total <= max_file:
                yield Reject(
                    where,
                    "read",
                    f"record is over the {max_line:,}-byte page cap; raise ingest.max_page_bytes to accept it",
                )
        if total > max_file:
            yield Reject(
                name,
                "read",
                f"over the {max_file:,}-byte file cap after line {number - 1}; the "
                "rest is not read; raise ingest.max_file_bytes or split the file",
            )
            return
        if len(line) > max_line and not line.endswith(b"\n"):
            continue
        text = line.decode("utf-8", errors="replace")
        if text.strip():
            yield where, text


def read_jsonl_lines(lines: Iterable[tuple[str, str] | Reject], max_bytes: int) -> Iterator[RawDocument | Reject]:
    for item in lines:
        yield item if isinstance(item, Reject) else guarded_record(item[1], item[0], max_bytes)


def read_file(path: Path, max_bytes: int, max_file_bytes: int) -> Iterator[RawDocument | Reject]:
    """The documents in one file: one for a page, one per line for JSONL (streamed)."""
    kind = kind_of(path)
    name = path_text(path)
    if kind == "jsonl":
        try:
            with open_regular(path) as raw:
                handle = gzip.GzipFile(fileobj=raw) if path.suffix.lower() == ".gz" else raw
                yield from read_jsonl_lines(capped_lines(handle, name, max_bytes, max_file_bytes), max_bytes)
        except InputError as exc:
            yield Reject(exc.input, exc.step, exc.reason)
        except (OSError, EOFError, zlib.error) as exc:
            yield Reject(name, "read", f"cannot read JSONL file ({exc})")
        return
    try:
        yield RawDocument(input=name, data=_read_capped(path, max_bytes), kind=kind or "text")
    except InputError as exc:
        yield Reject(exc.input, exc.step, exc.reason)


def read_paths(paths: Iterable[Path], max_bytes: int, max_file_bytes: int) -> Iterator[RawDocument | Reject]:
    """Every document under the given paths, one at a time, so memory stays flat."""
    for item in discover(paths):
        if isinstance(item, Reject):
            yield item
        else:
            yield from read_file(item, max_bytes, max_file_bytes)
