"""Read stages: input patterns → files (`inputs`) → web records (`read`: pages on the main output,
media on `media`)."""

from __future__ import annotations

import glob
import gzip
from collections.abc import Iterator
from typing import Any, BinaryIO

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from m3w_builder.drops import Rejected
from m3w_builder.extract.urls import resolve, without_userinfo
from m3w_builder.read.commoncrawl import HTTPS_BASE
from m3w_builder.read.local_files import local_file_problem
from m3w_builder.read.records import ReadIssue, WebRecord, binary_type, read_archive
from m3w_builder.read.remote import is_http, open_remote
from m3w_builder.read.url_map import parse_url_map
from pipelines import fs
from pipelines.stages import Counts, Dropped, Kept, LibraryStage

MEDIA = "media"
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
PATHS_SUFFIXES = (".paths", ".paths.gz")


def open_input(path: str) -> BinaryIO:
    """An input's raw bytes: http(s) streamed with Range-resume, anything else through Beam FileSystems."""
    return open_remote(path) if is_http(path) else fs.open_raw(path)


def read_input(path: str) -> bytes:
    with open_input(path) as f:
        return f.read()


def media_key(url: str) -> str:
    """The URL a crawled media record answers for, spelt as a page's image URL is (`resolve`): keyed
    by its raw target URI, an image captured as `http://IMG.test/a.jpg`, `http://img.test:80/a.jpg`,
    `.../café.jpg` or `.../a.jpg#x` was never found for the page naming it `http://img.test/a.jpg`
    (`media/not_found`, or fetched again over HTTP)."""
    return resolve(url, url) or url


class ExpandInputs:
    """Stage function: a file, glob or Common Crawl `*.paths(.gz)` list → sorted file paths."""

    def __init__(self, cc_base: str = HTTPS_BASE) -> None:
        self.cc_base = cc_base

    def __call__(self, pattern: str) -> Iterator[str]:
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
        matched = {m.path for r in FileSystems.match([pattern]) for m in r.metadata_list}
        if "://" not in pattern and glob.has_magic(pattern):
            # Beam's local match leaves out the folders and broken links a glob matches, which
            # would vanish uncounted: they are added, and every match that is no plain file
            # (FIFOs and devices too, which Beam lists) is a counted drop, never opened
            matched |= {path for path in glob.glob(pattern) if local_file_problem(path)}
        if not matched:
            raise Rejected("no_such_input", f"nothing matches {pattern}")
        for path in sorted(matched):
            problem = None if "://" in path else local_file_problem(path)
            if problem:
                yield Dropped(problem[0], path, "", problem[1])
            else:
                yield path


class ReadRecords:
    """Stage function: one file → WebRecords, HTML pages on the main output, images/videos on `media`."""

    def __init__(self, url_map_path: str | None, max_record_bytes: int = 50_000_000) -> None:
        self.url_map_path = url_map_path
        self.max_record_bytes = max_record_bytes
        self.url_map: dict[str, dict] = {}

    def setup(self) -> None:
        if self.url_map_path:  # checked whole by the launcher (`checks.check_side_files`)
            self.url_map = parse_url_map(fs.read_bytes(self.url_map_path))

    def _html_file(self, path: str) -> WebRecord:
        """The page of an HTML file; `Rejected` when it holds more than a record may, or binary
        bytes (`not_html`, as a WARC record labelled HTML would be)."""
        name = path.rsplit("/", 1)[-1]
        entry = self.url_map.get(name) or self.url_map.get(path) or {}
        url = without_userinfo(entry.get("url") or (path if "://" in path else "file://" + path))
        with open_input(path) as f:
            body = f.read(self.max_record_bytes + 1)
        if len(body) > self.max_record_bytes:
            raise Rejected("record_too_large", f"{name}: over {self.max_record_bytes} bytes")
        binary = binary_type(body)
        if binary:
            raise Rejected("not_html", f"{name}: named HTML, the bytes are {binary}")
        return WebRecord(url=url, body=body, content_type=entry.get("http_content_type", ""),
                         fetch_time=entry.get("warc_date", ""), source=path)

    def __call__(self, path: str) -> Iterator[Any]:
        if path.lower().endswith(HTML_SUFFIXES):
            yield Kept(self._html_file(path), volumes={"html_files": 1})
            return
        yield Counts(volumes={"archives": 1})
        for item in read_archive(lambda: open_input(path), path, self.max_record_bytes):
            if isinstance(item, ReadIssue):
                if item.status is not None:  # a non-200 capture still answers "what is at this URL"
                    yield beam.pvalue.TaggedOutput(MEDIA, (media_key(item.url), WebRecord(
                        item.url, b"", http_status=item.status, source=item.source)))
                if item.reason.startswith("skipped_"):  # request, warcinfo, metadata records: not content
                    yield Counts(volumes={item.reason: 1})
                else:
                    yield Dropped(item.reason, item.source, item.url, item.detail)
            elif item.is_html:
                yield Kept(item, volumes={"html_records": 1})
            elif item.is_media:
                yield Counts(volumes={"media_records": 1})
                yield beam.pvalue.TaggedOutput(MEDIA, (media_key(item.url), item))
            else:
                yield Counts(volumes={"skipped_other_content": 1})


def read_stage(url_map_path: str | None, max_record_bytes: int = 50_000_000) -> LibraryStage:
    """The `read` stage: files → pages (main output) and media records (`MEDIA`)."""
    return LibraryStage("read", ReadRecords(url_map_path, max_record_bytes), many=True,
                        ident=lambda path: (path, path))


def expand_stage(cc_base: str = HTTPS_BASE) -> LibraryStage:
    """The `inputs` stage: input patterns → file paths."""
    return LibraryStage("inputs", ExpandInputs(cc_base), many=True)
