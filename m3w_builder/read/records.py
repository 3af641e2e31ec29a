"""Read web records from WARC/ARC archives (warcio) and plain HTML files.

Every record comes out as a `WebRecord` or as a `ReadIssue` naming why it (or the rest of the
file) could not be read: revisit records, truncated files and bad gzip are counted, never fatal.
A whole-file gzip (not per-record "chunked" gzip, which warcio refuses) is re-read through `gzip`.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from m3w_builder.read.remote import RemoteError

HTML_TYPES = ("text/html", "application/xhtml+xml")
MEDIA_PREFIXES = ("image/", "video/")


@dataclass
class WebRecord:
    """One captured HTTP response (or resource) with its payload."""

    url: str
    body: bytes
    content_type: str = ""
    http_status: int | None = None
    fetch_time: str = ""
    source: str = ""  # "path#record-index"
    x_robots_tag: str = ""

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def is_html(self) -> bool:
        return self.mime in HTML_TYPES or (not self.mime and self.body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")))

    @property
    def is_media(self) -> bool:
        return self.mime.startswith(MEDIA_PREFIXES)


@dataclass
class ReadIssue:
    """Why a record (or the rest of a file) was not read: a `read/<reason>` counter."""

    reason: str
    source: str
    url: str = ""
    detail: str = ""
    status: int | None = None  # HTTP status of a non-200 capture


def _record(rec, source: str, max_bytes: int) -> WebRecord | ReadIssue:
    url = rec.rec_headers.get_header("WARC-Target-URI") or ""
    if rec.rec_type == "revisit":
        return ReadIssue("revisit", source, url)
    if rec.rec_type not in ("response", "resource"):
        return ReadIssue(f"skipped_{rec.rec_type}", source, url)
    status = None
    content_type = ""
    robots = ""
    if rec.http_headers is not None:
        try:
            status = int(rec.http_headers.get_statuscode() or 0) or None
        except ValueError:
            status = None
        content_type = rec.http_headers.get_header("Content-Type") or ""
        robots = rec.http_headers.get_header("X-Robots-Tag") or ""
    else:
        content_type = rec.rec_headers.get_header("Content-Type") or ""
    body = rec.content_stream().read(max_bytes + 1)
    if len(body) > max_bytes:
        return ReadIssue("record_too_large", source, url)
    if getattr(rec.raw_stream, "limit", 0) > 0:  # fewer bytes than Content-Length: the file was cut
        return ReadIssue("truncated_record", source, url)
    if status is not None and status != 200:
        return ReadIssue(f"http_{status // 100}xx", source, url, status=status)
    return WebRecord(
        url=url, body=body, content_type=content_type, http_status=status,
        fetch_time=rec.rec_headers.get_header("WARC-Date") or "", source=source, x_robots_tag=robots,
    )


def _iterate(stream: BinaryIO, path: str, max_bytes: int, skip: int) -> Iterator[WebRecord | ReadIssue]:
    for index, rec in enumerate(ArchiveIterator(stream, arc2warc=True)):
        if index >= skip:
            yield _record(rec, f"{path}#{index}", max_bytes)


def read_archive(
    open_stream: Callable[[], BinaryIO], path: str, max_record_bytes: int = 50_000_000
) -> Iterator[WebRecord | ReadIssue]:
    """Records of one WARC/ARC file; `open_stream()` opens the raw (still compressed) bytes."""
    done = 0
    try:
        with open_stream() as stream:
            for item in _iterate(stream, path, max_record_bytes, 0):
                done += 1
                yield item
        return
    except ArchiveLoadFailed as err:
        if "non-chunked gzip" not in str(err):
            reason = "unknown_format" if "Unknown archive format" in str(err) else "archive_error"
            yield ReadIssue(reason, f"{path}#{done}")
            return
    except RemoteError as err:  # an http(s) input that could not be read to its end
        yield ReadIssue("remote_error", f"{path}#{done}", detail=str(err)[:300])
        return
    except (EOFError, zlib.error, OSError, ValueError) as err:
        yield ReadIssue("truncated" if isinstance(err, EOFError) else "corrupt", f"{path}#{done}", detail=str(err)[:200])
        return
    yield ReadIssue("recovered_whole_file_gzip", path)
    try:
        with open_stream() as raw, gzip.GzipFile(fileobj=raw) as stream:
            yield from _iterate(stream, path, max_record_bytes, done)
    except RemoteError as err:
        yield ReadIssue("remote_error", path, detail=str(err)[:300])
    except (ArchiveLoadFailed, EOFError, zlib.error, OSError, ValueError) as err:
        yield ReadIssue("corrupt", path, detail=str(err)[:200])
