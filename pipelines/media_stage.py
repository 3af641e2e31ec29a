"""Media stage: resolve every referenced media URL once (same-crawl records, then a local mirror),
decode/resize it, and send the result back to every document that references it.

Shuffles carry URLs and (doc id, media index) pairs; bytes move only from the record that holds
them to the one worker that processes that URL. Each URL is decoded once however many pages use it.
"""

from __future__ import annotations

import os

import apache_beam as beam

from m3w_builder.document import Document, VideoNode
from m3w_builder.media import MediaResult, failed, process_media
from m3w_builder.records import WebRecord
from pipelines.config import JobConfig
from pipelines.metrics import count


def media_requests(doc: Document):
    """(url, (doc_id, media_index, kind)) for every media node of a document."""
    for index, node in enumerate(doc.media):
        kind = "video" if isinstance(node, VideoNode) else "image"
        yield node.src, (doc.doc_id, index, kind)


def _choose_record(records: list[WebRecord]) -> WebRecord:
    """The latest capture of a URL; ties broken by source so every run picks the same one."""
    return max(records, key=lambda r: (r.fetch_time, r.source))


def _mirror_path(mirror_dir: str, url: str) -> str | None:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    relative = unquote(parts.path).lstrip("/")
    if parts.query:
        relative += "?" + parts.query
    path = os.path.normpath(os.path.join(mirror_dir, parts.netloc, relative))
    if not path.startswith(os.path.normpath(mirror_dir) + os.sep):
        return None  # "../" in a URL must not escape the mirror
    return path if os.path.isfile(path) else None


class ResolveMedia(beam.DoFn):
    """(url, {requests, records}) → (doc_id, (media_index, MediaResult)) for each request."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config

    def _result(self, url: str, kind: str, records: list[WebRecord]) -> MediaResult:
        if records:
            return process_media(url, kind, _choose_record(records).body, self.config.images)
        if self.config.mirror_dir:
            path = _mirror_path(self.config.mirror_dir, url)
            if path:
                with open(path, "rb") as f:
                    return process_media(url, kind, f.read(), self.config.images)
        return failed(url, kind, "not_found", "no record in the crawl and no mirror copy")

    def process(self, element):
        url, grouped = element
        requests = sorted(grouped["requests"])  # empty: a crawled image no kept page references
        if requests:
            result = self._result(url, requests[0][2], list(grouped["records"]))
            count("media", result.status)
            if len(requests) > 1:
                count("media", "reused_references", len(requests) - 1)
            for doc_id, index, _kind in requests:
                yield doc_id, (index, result)
