"""Media stage: resolve every referenced media URL once, decode/resize it, and send the result back
to every document (or pair) that references it.

Resolution order (DESIGN §5): records of the same crawl, `--mirror_dir`, `--media_cache`, then the
safe HTTP fetcher (private addresses refused, caps, robots.txt, X-Robots-Tag). Shuffles carry URLs
and (item id, media index) pairs; bytes move only from the record that holds them to the one worker
that processes that URL, so each URL is fetched and decoded once however many pages use it. URLs
referenced more than `max_url_references` times are dropped before anything is fetched (OBELICS).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import apache_beam as beam

from m3w_builder.document import Document, VideoNode
from m3w_builder.media.fetch import Fetcher, MirrorResolver
from m3w_builder.media.process import MediaResult, failed, process_media
from m3w_builder.quality.optout import image_drop_reason
from m3w_builder.read.records import WebRecord
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


def cache_path(cache_dir: str, url: str) -> Path:
    """Where the media cache keeps the source bytes of `url`."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return Path(cache_dir) / digest[:2] / digest


class ResolveMedia(beam.DoFn):
    """Batches of (url, {requests, records}) → (item_id, (media_index, MediaResult)) per request.

    Batches (`beam.BatchElements`) let one worker download many URLs at once on a thread pool; the
    result of a URL never depends on the batch it came in, so output stays deterministic.
    """

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self.fetcher: Fetcher | None = None
        self.mirror: MirrorResolver | None = None
        self.pool: ThreadPoolExecutor | None = None

    def setup(self) -> None:
        media = self.config.media
        self.fetcher = Fetcher(media.fetch) if media.http else None
        self.mirror = MirrorResolver(self.config.mirror_dir) if self.config.mirror_dir else None
        self.pool = ThreadPoolExecutor(max(1, media.fetch_threads))

    def teardown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def _bytes(self, url: str, records: list[WebRecord]) -> tuple[bytes | None, str, str]:
        """Source bytes of `url` and where they came from, or (None, status, message)."""
        if records:
            record = _choose_record(records)
            if record.http_status not in (None, 200):
                return None, f"http_{record.http_status}", "the crawl holds a non-200 response"
            honoured = self.config.media.fetch.x_robots_directives  # empty with --no_robots
            directive = image_drop_reason([("X-Robots-Tag", record.x_robots_tag)], honoured=honoured)
            if directive:
                return None, "x_robots_tag", f"X-Robots-Tag: {directive}"
            return record.body, "crawl", ""
        if self.mirror is not None:
            data = self.mirror.read(url)
            if data is not None:
                return data, "mirror", ""
        cache = self.config.media.media_cache
        if cache:
            path = cache_path(cache, url)
            if path.is_file():
                return path.read_bytes(), "cache", ""
        if self.fetcher is None:
            return None, "not_found", "no record in the crawl, no mirror copy, HTTP off"
        result = self.fetcher.fetch(url)
        if result.status != "success":
            return None, result.status, result.error_message or ""
        if cache:
            path = cache_path(cache, url)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(result.body)
            tmp.replace(path)
        return result.body, "http", ""

    def _resolve(self, element) -> tuple[list, str, MediaResult | None]:
        """(requests, origin of the bytes, result); runs on a pool thread, so it counts nothing
        (Beam metrics only register on the bundle's own thread)."""
        url, grouped = element
        requests = sorted(grouped["requests"])  # empty: a crawled item no kept page references
        if not requests:
            return requests, "", None
        kind = requests[0][2]
        limit = self.config.media.max_url_references
        if limit and len(requests) > limit:
            return requests, "", failed(url, kind, "url_too_frequent", f"{len(requests)} references > {limit}")
        data, origin, message = self._bytes(url, list(grouped["records"]))
        if data is None:
            return requests, "", failed(url, kind, origin, message)
        return requests, origin, process_media(url, kind, data, self.config.images, self.config.video)

    def process(self, batch):
        for requests, origin, result in self.pool.map(self._resolve, batch):
            if result is None:
                continue
            if origin:
                count("media", f"n_from_{origin}")
            count("media", "kept" if result.status == "success" else result.status)
            if len(requests) > 1:
                count("media", "n_reused_references", len(requests) - 1)
            for item_id, index, _kind in requests:
                yield item_id, (index, result)


class ResolveMediaTransform(beam.PTransform):
    """Group requests and records by URL, then resolve in batches (see `ResolveMedia`)."""

    def __init__(self, config: JobConfig) -> None:
        super().__init__()
        self.config = config

    def expand(self, inputs):
        return (
            inputs
            | "GroupByMediaUrl" >> beam.CoGroupByKey()
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=64)
            | "Resolve" >> beam.ParDo(ResolveMedia(self.config))
        )


def content_keys(element):
    """(content key, item id) for a stored image: its sha256 and its perceptual hash."""
    item_id, (_index, result) = element
    if result.ok and result.image is not None:
        yield result.sha256, item_id
        yield result.image.phash, item_id


class FrequentContent(beam.PTransform):
    """The sha256/phash values found in more than `limit` items (logos, stock photos, spacers).

    Only the small keys are shuffled; the image bytes stay where they are."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def expand(self, media):
        limit = self.limit
        return (
            media
            | "ContentKeys" >> beam.FlatMap(content_keys)
            | "DistinctItems" >> beam.Distinct()
            | "CountItems" >> beam.combiners.Count.PerKey()
            | "OverLimit" >> beam.Filter(lambda kv: limit > 0 and kv[1] > limit)
            | "Keys" >> beam.Keys()
        )
