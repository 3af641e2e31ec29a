"""Media stage: resolve every referenced media URL once, decode/resize it, and send the result back
to every document (or pair) that references it.

Resolution order (DESIGN §5): records of the same crawl, `--mirror_dir`, `--media_cache`, then the
safe HTTP fetcher (private addresses refused, caps, robots.txt, X-Robots-Tag). Shuffles carry URLs
and (item id, media index) pairs; bytes move only from the record that holds them to the one worker
that processes that URL, so each URL is fetched and decoded once however many pages use it. URLs
referenced more than `max_url_references` times are dropped before anything is fetched (OBELICS).
"""

from __future__ import annotations

import operator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import apache_beam as beam

from m3w_builder.document import Document
from m3w_builder.media.fetch import shared_fetcher
from m3w_builder.media.process import failed
from m3w_builder.media.resolve import MediaResolver, Resolved, check_request_cap
from pipelines import fs
from pipelines.config import JobConfig
from pipelines.exchange import Exchange
from pipelines.metrics import REJECTS, count, drop
from pipelines.stages import error_detail, error_reason


def cap_media_requests(limit: int, doc: Document) -> Document:
    """Stage function: documents with more media nodes than `limit` stop here, before a single
    request is made (`media_requests/too_many_media`)."""
    check_request_cap(doc, limit)
    return doc


def make_resolver(cfg: JobConfig, max_url_references: int) -> MediaResolver:
    """The worker's resolver for this job's media options: one fetcher per worker process,
    whatever number of instances Beam makes of the DoFn; mirror and cache through Beam FileSystems."""
    media = cfg.media
    return MediaResolver(
        cfg.images, cfg.video, fetcher=shared_fetcher(media.fetch) if media.http else None,
        mirror_dir=cfg.mirror_dir, media_cache=media.media_cache, files=fs.BeamFiles(),
        max_url_references=max_url_references,
        honoured=media.fetch.x_robots_directives)  # empty with --no_robots


def resolve_one(resolver: MediaResolver, url: str, requests: list, records: list) -> Resolved | None:
    """The result for one URL, or None when no request names it (a crawled item no kept page
    references). Runs on pool threads, so it counts nothing (Beam metrics only register on the
    bundle's own thread): `account` counts on that thread."""
    if not requests:
        return None
    try:
        return resolver.resolve(url, requests, records)
    except Exception as error:  # noqa: BLE001 - one odd media file must not fail the bundle
        return Resolved(failed(url, requests[0][2], error_reason(error), error_detail(error)))


def account(url: str, requests: list, resolved: Resolved):
    """Count one URL's outcome (`media/kept`, `media/<status>`, origin and reuse volumes) and yield
    its rejects row when it failed."""
    result = resolved.result
    if resolved.origin:
        count("media", f"n_from_{resolved.origin}")
    if result.ok:
        count("media", "kept")
    else:
        yield drop("media", result.status, url, url, result.error_message)
    if len(requests) > 1:
        count("media", "n_reused_references", len(requests) - 1)


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
        self.resolver = make_resolver(self.config, self.config.media.max_url_references)
        self.pool = ThreadPoolExecutor(max(1, self.config.media.fetch_threads))

    def teardown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def _resolve(self, element):
        url, grouped = element
        requests = sorted(grouped["requests"])
        return url, requests, resolve_one(self.resolver, url, requests, list(grouped["records"]))

    def process(self, batch):
        for url, requests, resolved in self.pool.map(self._resolve, batch):
            if resolved is None:
                continue
            yield from account(url, requests, resolved)
            for item_id, index, _kind in requests:
                yield item_id, (index, resolved.result)


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


def content_keys(item_id: str, result) -> list[tuple[str, str]]:
    """(content key, item id) for a stored image: its sha256 and its perceptual hash."""
    if result.ok and result.image is not None:
        return [(result.sha256, item_id), (result.image.phash, item_id)]
    return []


class FrequentContent(beam.PTransform):
    """(content key, item id) pairs, each pair once (its item's media pass emits it once) → the
    sha256/phash values found in more than `limit` items (logos, stock photos, spacers). The pairs
    are counted per content key through files (`exchange.combine`): a Beam shuffle would keep a partial
    count per content key and bundle in the local runner's launcher, a grouping would list a logo's
    items in one reader; the image bytes stay where they are."""

    def __init__(self, limit: int, exchange: Exchange) -> None:
        super().__init__()
        self.limit, self.exchange = limit, exchange

    def expand(self, keys):
        return keys | "CountItems" >> self.exchange.combine(operator.add, items=_one, then=partial(_over, self.limit))


def _one(pair: tuple[str, str]) -> list[tuple[str, int]]:
    return [(pair[0], 1)]


def _over(limit: int, counted: tuple[str, int]) -> list[str]:
    """The content key of a (key, items) count above `limit` (no limit at 0)."""
    return [counted[0]] if limit > 0 and counted[1] > limit else []
