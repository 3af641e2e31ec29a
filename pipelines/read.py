"""Read stage: input patterns → files → web records (pages on the main output, media on `media`)."""

from __future__ import annotations

import gzip
import json
from typing import BinaryIO

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from m3w_builder.read.records import ReadIssue, WebRecord, read_archive
from m3w_builder.read.remote import is_http, open_remote
from pipelines import fs
from pipelines.metrics import count, drop

MEDIA = "media"
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
PATHS_SUFFIXES = (".paths", ".paths.gz")
COMMON_CRAWL_BASE = "s3://commoncrawl/"


def open_input(path: str) -> BinaryIO:
    """An input's raw bytes: http(s) streamed with Range-resume, anything else through Beam FileSystems."""
    return open_remote(path) if is_http(path) else fs.open_raw(path)


def read_input(path: str) -> bytes:
    with open_input(path) as f:
        return f.read()


class ExpandInputs(beam.DoFn):
    """A file, glob or Common Crawl `*.paths(.gz)` list → sorted file paths."""

    def __init__(self, cc_base: str = COMMON_CRAWL_BASE) -> None:
        self.cc_base = cc_base

    def process(self, pattern: str):
        if pattern.endswith(PATHS_SUFFIXES):
            data = read_input(pattern)
            if pattern.endswith(".gz"):
                data = gzip.decompress(data)
            for line in data.decode("utf-8").splitlines():
                if line.strip():
                    yield self.cc_base.rstrip("/") + "/" + line.strip().lstrip("/")
            return
        if is_http(pattern):  # a URL names one file: there is nothing to glob
            yield pattern
            return
        matched = sorted(m.path for r in FileSystems.match([pattern]) for m in r.metadata_list)
        if not matched:
            yield drop("read", "no_such_input", pattern, pattern)
        yield from matched


class ReadRecords(beam.DoFn):
    """One file → WebRecords: HTML pages on the main output, images/videos on `media`."""

    def __init__(self, url_map_path: str | None, max_record_bytes: int = 50_000_000) -> None:
        self.url_map_path = url_map_path
        self.max_record_bytes = max_record_bytes
        self.url_map: dict[str, dict] = {}

    def setup(self) -> None:
        if self.url_map_path:
            for line in fs.read_bytes(self.url_map_path).decode("utf-8").splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.url_map[entry["file"]] = entry

    def _html_file(self, path: str) -> WebRecord:
        name = path.rsplit("/", 1)[-1]
        entry = self.url_map.get(name) or self.url_map.get(path) or {}
        url = entry.get("url") or (path if "://" in path else "file://" + path)
        return WebRecord(url=url, body=read_input(path), content_type=entry.get("http_content_type", ""),
                         fetch_time=entry.get("warc_date", ""), source=path)

    def process(self, path: str):
        if path.lower().endswith(HTML_SUFFIXES):
            count("read", "html_files")
            yield self._html_file(path)
            return
        count("read", "archives")
        for item in read_archive(lambda: open_input(path), path, self.max_record_bytes):
            if isinstance(item, ReadIssue):
                if item.status is not None:  # a non-200 capture still answers "what is at this URL"
                    yield beam.pvalue.TaggedOutput(MEDIA, (item.url, WebRecord(item.url, b"", http_status=item.status,
                                                                               source=item.source)))
                if item.reason.startswith("skipped_"):
                    count("read", item.reason)
                else:
                    yield drop("read", item.reason, item.source, item.url)
            elif item.is_html:
                count("read", "html_records")
                yield item
            elif item.is_media:
                count("read", "media_records")
                yield beam.pvalue.TaggedOutput(MEDIA, (item.url, item))
            else:
                count("read", "skipped_other_content")
