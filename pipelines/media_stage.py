"""Media stage: resolve every referenced media URL once, decode/resize it, and send the result back
to every document (or pair) that references it.

Resolution order (DESIGN §5): records of the same crawl, `--mirror_dir`, `--media_cache`, then the
safe HTTP fetcher (private addresses refused, caps, robots.txt, X-Robots-Tag). Shuffles carry URLs
and (item id, media index) pairs; bytes move only from the record that holds them to the one worker
that processes that URL, so each URL is fetched and decoded once however many pages use it. URLs
referenced more than `max_url_references` times are dropped before anything is fetched (OBELICS).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam

from m3w_builder.document import Document
from m3w_builder.media.fetch import shared_fetcher
from m3w_builder.media.process import failed
from m3w_builder.media.resolve import MediaResolver, Resolved, check_request_cap
from pipelines import fs
from pipelines.config import JobConfig
from pipelines.metrics import REJECTS, count, drop
from pipelines.stages import error_detail, error_reason


def cap_media_requests(limit: int, doc: Document) -> Document:
    """Stage function: documents with more media nodes than `limit` stop here, before a single
    request is made (`media_requests/too_many_media`)."""
    check_request_cap(doc, limit)
    return doc


class ResolveMedia(beam.DoFn):
    """Batches of (url, {requests, records}) → (item_id, (media_index, MediaResult)) per request,
    and a rejects row per URL that failed.

    Batches (`beam.BatchElements`) let one worker download many URLs at once on a thread pool
    (decodes are bounded per process by `resolve.DECODE_SLOTS`); every element of a batch gets its
    result, which never depends on the batch it came in or on timing, so output stays deterministic.
    """

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self.resolver: MediaResolver | None = None
        self.pool: ThreadPoolExecutor | None = None

    def setup(self) -> None:
        cfg = self.config
        media = cfg.media
        # one fetcher per worker process, whatever number of instances Beam makes of this DoFn
        self.resolver = MediaResolver(
            cfg.images, cfg.video, fetcher=shared_fetcher(media.fetch) if media.http else None,
            mirror_dir=cfg.mirror_dir, media_cache=media.media_cache, files=fs.BeamFiles(),
            max_url_references=media.max_url_references,
            honoured=media.fetch.x_robots_directives)  # empty with --no_robots
        self.pool = ThreadPoolExecutor(max(1, media.fetch_threads))

    def teardown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def _resolve(self, element):
        """(url, requests, Resolved | None); runs on a pool thread, so it counts nothing (Beam
        metrics only register on the bundle's own thread)."""
        url, grouped = element
        requests = sorted(grouped["requests"])  # empty: a crawled item no kept page references
        if not requests:
            return url, requests, None
        try:
            return url, requests, self.resolver.resolve(url, requests, list(grouped["records"]))
        except Exception as error:  # noqa: BLE001 - one odd media file must not fail the bundle
            return url, requests, Resolved(failed(url, requests[0][2], error_reason(error), error_detail(error)))

    def process(self, batch):
        for url, requests, resolved in self.pool.map(self._resolve, batch):
            if resolved is None:
                continue
            result = resolved.result
            if resolved.origin:
                count("media", f"n_from_{resolved.origin}")
            if result.ok:
                count("media", "kept")
            else:
                yield drop("media", result.status, url, url, result.error_message)
            if len(requests) > 1:
                count("media", "n_reused_references", len(requests) - 1)
            for item_id, index, _kind in requests:
                yield item_id, (index, result)


class ResolveMediaTransform(beam.PTransform):
    """Group requests and records by URL, then resolve in batches (see `ResolveMedia`):
    `{"media": (item_id, (index, result)), "rejects": rows}`."""

    def __init__(self, config: JobConfig) -> None:
        super().__init__()
        self.config = config

    def expand(self, inputs):
        resolved = (
            inputs
            | "GroupByMediaUrl" >> beam.CoGroupByKey()
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=64)
            | "Resolve" >> beam.ParDo(ResolveMedia(self.config)).with_outputs(REJECTS, main="media")
        )
        return {"media": resolved.media, "rejects": resolved[REJECTS]}


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
