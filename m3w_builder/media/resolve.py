"""Media resolution without Beam: which requests a document makes, where a URL's bytes come from,
and the decode of those bytes under a per-process concurrency bound.

Resolution order (DESIGN §5): a record of the same crawl, `--mirror_dir`, `--media_cache`, then the
safe HTTP fetcher. Everything here is deterministic given the same inputs and no network: nothing
depends on timing, batch composition or thread scheduling (`pipelines/media_stage.py` only wires it).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from m3w_builder.document import Document, VideoNode
from m3w_builder.drops import Rejected
from m3w_builder.media.fetch import Fetcher, MirrorResolver
from m3w_builder.media.files import LOCAL, Files
from m3w_builder.media.images import ImageOptions
from m3w_builder.media.process import MediaResult, failed, process_media
from m3w_builder.media.video import VideoOptions
from m3w_builder.quality.optout import image_drop_reason
from m3w_builder.read.records import ReadIssue, WebRecord

Request = tuple[str, int, str]  # (item id, media index, kind)


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# Decodes at once in this process: one per core. Fetch threads wait on the network, decodes on the
# CPU and memory; a decode holds up to ~1.5× its decoded size, so more of them than cores only adds
# memory (and, on a loaded machine, MemoryErrors that differ from run to run).
DECODE_SLOTS = threading.BoundedSemaphore(_cores())


def media_requests(doc: Document) -> Iterator[tuple[str, Request]]:
    """(url, (doc_id, media_index, kind)) for every media node of a document."""
    for index, node in enumerate(doc.media):
        kind = "video" if isinstance(node, VideoNode) else "image"
        yield node.src, (doc.doc_id, index, kind)


def check_request_cap(doc: Document, limit: int) -> None:
    """`Rejected("too_many_media")` for a document with more than `limit` media nodes (0: no cap),
    before any of them is fetched: it could only be kept if nearly all of them failed."""
    n = len(doc.media)
    if limit and n > limit:
        raise Rejected("too_many_media", f"{n} media nodes > {limit}")


def choose_record(records: Sequence[WebRecord]) -> WebRecord:
    """The latest capture of a URL; ties broken by source so every run picks the same one."""
    return max(records, key=lambda r: (r.fetch_time, r.source))


class MediaCache:
    """Fetched source bytes by URL (`cache_dir/ab/abcd…`, the URL's sha256), on any filesystem
    `files` reaches, so reruns and `--retry_failed` do not fetch a URL twice."""

    def __init__(self, cache_dir: str, files: Files = LOCAL) -> None:
        self.root = cache_dir
        self.files = files

    def path_for(self, url: str) -> str:
        digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        return self.files.join(self.root, digest[:2], digest)

    def read(self, url: str) -> bytes | None:
        """The cached bytes of `url`, None when absent (or unreadable: it is fetched again)."""
        return self.files.read(self.path_for(url))

    def write(self, url: str, data: bytes) -> bool:
        """Store `data` for `url` atomically; False when the storage refuses."""
        return self.files.write_atomic(self.path_for(url), data)


@dataclass
class Resolved:
    """The outcome for one URL: its result and where the bytes came from ('' when none came)."""

    result: MediaResult
    origin: str = ""


class MediaResolver:
    """One per worker: resolves a URL's bytes in the documented order and decodes them."""

    def __init__(self, images: ImageOptions, video: VideoOptions | None = None, *, fetcher: Fetcher | None = None,
                 mirror_dir: str | None = None, media_cache: str | None = None, files: Files = LOCAL,
                 max_url_references: int = 0, honoured: Sequence[str] = ("noai", "noimageai", "tdm_reserved")) -> None:
        """`fetcher`: None means no HTTP; `files` reaches `mirror_dir` and `media_cache`."""
        self.images = images
        self.video = video
        self.fetcher = fetcher
        self.mirror = MirrorResolver(mirror_dir, files) if mirror_dir else None
        self.cache = MediaCache(media_cache, files) if media_cache else None
        self.max_url_references = max_url_references
        self.honoured = tuple(honoured)

    def source_bytes(self, url: str, records: Sequence[WebRecord | ReadIssue]) -> tuple[bytes | None, str, str]:
        """(bytes, origin, '') of `url`, or (None, failure status, message). A `ReadIssue` among
        the records (a pair list's local file that could not be read) is the answer when no record
        holds the URL: a local path is looked up nowhere else."""
        issues = [r for r in records if isinstance(r, ReadIssue)]
        records = [r for r in records if not isinstance(r, ReadIssue)]
        if issues and not records:
            return None, issues[0].reason, issues[0].detail
        if records:
            record = choose_record(records)
            if record.http_status not in (None, 200):
                return None, f"http_{record.http_status}", "the crawl holds a non-200 response"
            directive = image_drop_reason(record.optout_headers, honoured=self.honoured)
            if directive:
                return None, "x_robots_tag" if directive != "tdm_reserved" else directive, f"opt-out: {directive}"
            return record.body, "crawl", ""
        for origin, source in (("mirror", self.mirror), ("cache", self.cache)):
            data = source.read(url) if source is not None else None
            if data is not None:
                return data, origin, ""
        if self.fetcher is None:
            return None, "not_found", "no record in the crawl, no mirror copy, HTTP off"
        fetched = self.fetcher.fetch(url)
        if fetched.status != "success":
            return None, fetched.status, fetched.error_message or ""
        if self.cache is not None and not self.cache.write(url, fetched.body):
            return fetched.body, "http_uncached", ""
        return fetched.body, "http", ""

    def resolve(self, url: str, requests: Sequence[Request], records: Sequence[WebRecord | ReadIssue]) -> Resolved:
        """The result every request of `url` gets (`requests` non-empty, all of one kind)."""
        kind = requests[0][2]
        if self.max_url_references and len(requests) > self.max_url_references:
            return Resolved(failed(url, kind, "url_too_frequent",
                                   f"{len(requests)} references > {self.max_url_references}"))
        data, origin, message = self.source_bytes(url, records)
        if data is None:
            return Resolved(failed(url, kind, origin, message))
        with DECODE_SLOTS:
            return Resolved(process_media(url, kind, data, self.images, self.video), origin)
