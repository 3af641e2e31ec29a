"""Beam stages of the pairs job: list rows and page alts → items, dedup/retry, alt frequency,
composition of samples, and the pair shard writer (every drop counted as `stage/reason`)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from urllib.parse import urlsplit

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from m3w_builder.drops import Rejected
from m3w_builder.output.shards import shard_name
from m3w_builder.pairs.align import alt_key, caption_reason, check_candidate, harvest
from m3w_builder.pairs.items import (FAILED_TO_DOWNLOAD, PairItem, broken_item, failure_row, make_item, pair_sample,
                                     pairs_schema, shard_stats)
from m3w_builder.read.lists import read_list
from m3w_builder.read.records import WebRecord
from m3w_builder.samples.assemble import ShardSample
from pipelines import fs
from pipelines.metrics import count, drop
from pipelines.shard_io import finished_shard, finished_shard_files_exist, shard_paths, write_shard

REUSE = "reuse"


def _is_local(url: str) -> bool:
    scheme = urlsplit(url).scheme
    return scheme == "file" or scheme == "" or (len(scheme) == 1 and os.name == "nt")


def local_url(url: str, list_path: str) -> str:
    """A local path of a list row as an absolute `file://` URL (relative to the list's folder)."""
    path = urlsplit(url).path if url.startswith("file:") else url
    if not os.path.isabs(path) and "://" not in list_path:
        path = os.path.join(os.path.dirname(os.path.abspath(list_path)), path)
    return "file://" + os.path.normpath(path)


class ReadPairList(beam.DoFn):
    """A list file → one `PairItem` per data row (broken rows carry their reason)."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def process(self, path: str):
        cfg = self.cfg
        count("list", "files")
        for row in read_list(path, lambda: fs.open_raw(path), cfg.list_options):
            count("list", "rows")
            if row.encoding != "utf-8":
                count("list", "non_utf8_caption")
            if row.error:
                count("list", row.error)
                yield broken_item(row.row_id, row.error, row.detail,
                                  cfg.kind, row.url, row.caption, row.extra, row.encoding)
                continue
            url = row.url
            if _is_local(url):
                if not cfg.local_paths:
                    count("list", "local_path_refused")
                    yield broken_item(row.row_id, "local_path_refused", url, cfg.kind, url, row.caption, row.extra)
                    continue
                url = local_url(url, path)
            item = make_item(url, row.caption, cfg.kind, row.row_id, extra=row.extra, encoding=row.encoding)
            reason = caption_reason(item.caption, cfg.caption_rules)
            if reason:
                count("list", reason)
                item.status, item.detail = reason, item.caption[:200]
            yield item


class HarvestAlts(beam.DoFn):
    """A page record → one `PairItem` per `<img>` whose alt text passes the caption rules."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def process(self, record: WebRecord):
        cfg = self.cfg
        headers = record.optout_headers or None
        try:
            candidates = list(harvest(record.body, record.url, content_type=record.content_type, headers=headers,
                                      options=cfg.extract))
        except Rejected as rejected:
            yield drop("align_page", rejected.reason, record.source, record.url)
            return
        except Exception as error:  # a page must never crash the job
            yield drop("align_page", f"error_{type(error).__name__}", record.source, record.url)
            return
        count("align_page", "pages")
        for candidate in candidates:
            count("align", "candidates")
            try:
                check_candidate(candidate, cfg.caption_rules, cfg.job.images.min_side)
            except Rejected as rejected:
                yield drop("align", rejected.reason, record.url, candidate.src)
                continue
            yield make_item(candidate.src, candidate.alt, "image", candidate.page_url, from_list=False)


def _stored_row(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "shard"}


class Settle(beam.DoFn):
    """(key, {items, prev}) → items: one per key (later list rows become `duplicate`, later page
    pairs are dropped); with a previous manifest, earlier successes become `reuse` and earlier
    failures are retried."""

    def process(self, element):
        key, grouped = element
        items = sorted(grouped["items"], key=lambda i: (i.source, i.url))
        prev = list(grouped["prev"])
        if not items:
            return
        first, rest = items[0], items[1:]
        for dup in rest:
            if dup.from_list:
                count("list", "duplicate")
                yield broken_item(dup.source, "duplicate", f"same url and caption as {first.source}", dup.kind,
                                  dup.url, dup.caption, dup.extra, dup.encoding)
            else:
                yield drop("align", "duplicate_pair", dup.source, dup.url)
        if prev and first.pending:
            if prev[0].get("status") == "success":
                count("retry", "reused")
                first.status, first.previous_row = REUSE, _stored_row(prev[0])
            else:
                count("retry", "retried")
                first.retried = True
        yield first


class FrequentCaptions(beam.DoFn):
    """(alt key, items) → items; all items whose caption is shared by more than `limit` distinct
    image URLs fail with `frequent_caption` (ALIGN: shared by more than 10 images)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def process(self, element):
        _alt, items = element
        items = list(items)
        urls = {i.url for i in items if i.pending or i.status == REUSE}
        if self.limit and len(urls) > self.limit:
            for item in items:
                if item.pending or item.status == REUSE:
                    if not item.from_list:
                        yield drop("align", "frequent_caption", item.source, item.url)
                        continue
                    count("list", "frequent_caption")
                    item.status, item.detail = "frequent_caption", f"{len(urls)} images > {self.limit}"
                    item.previous_row = None
                yield item
            return
        yield from items


def alt_keyed(item: PairItem):
    return alt_key(item.caption), item


def media_request(item: PairItem):
    if item.pending:
        yield item.url, (item.key, 0, item.kind)


def local_urls(item: PairItem):
    if item.pending and item.from_list and item.url.startswith("file://"):  # never for page-derived srcs
        yield item.url


def read_local(url: str):
    """(url, WebRecord) for a local media file (status 404 when it cannot be read)."""
    path = urlsplit(url).path
    try:
        with open(path, "rb") as f:
            body = f.read()
        count("media_source", "local_file")
        yield url, WebRecord(url, body, source=path)
    except OSError:
        yield url, WebRecord(url, b"", http_status=404, source=path)


class Compose(beam.DoFn):
    """(key, {items, media}) → (key, entry): ("sample", ShardSample, retried) | ("row", dict, retried)."""

    def __init__(self, video_frames: int) -> None:
        self.video_frames = video_frames

    def process(self, element):
        key, grouped = element
        items = list(grouped["items"])
        if not items:
            return
        item = items[0]
        retried, row = item.retried, item.previous_row
        results = [r for _i, r in grouped["media"]]
        if item.status == REUSE:
            count("pairs", "success")
            yield key, ("reuse", row, False)
        elif not item.pending:
            count("pairs", item.status)
            yield key, ("row", failure_row(item), retried)
        elif not results:
            count("pairs", "no_media_result")
            yield key, ("row", failure_row(item, "no_media_result", ""), retried)
        else:
            out = pair_sample(item, results[0], self.video_frames)
            if isinstance(out, ShardSample):
                count("pairs", "success")
                yield key, ("sample", out, retried)
            else:
                count("pairs", out["reason"])
                yield key, ("row", out, retried)


def _old_members(tar_path: str, keys: set[str]) -> dict[str, list[tuple[str, bytes]]]:
    """Members of `keys` in an existing shard, in their tar order."""
    found: dict[str, list[tuple[str, bytes]]] = {}
    if not keys or not fs.exists(tar_path):
        return found
    with tarfile.open(fileobj=io.BytesIO(fs.read_bytes(tar_path)), mode="r:") as tar:
        for member in tar:
            key, _, suffix = member.name.partition(".")
            if key in keys and member.isfile():
                found.setdefault(key, []).append((suffix, tar.extractfile(member).read()))
    return found


class WritePairShard(beam.DoFn):
    """(shard id, entries), extra column names → tar + .idx + .parquet (a row per item, failures
    included, extra input columns as columns) and
    img2dataset's `{shard}_stats.json` (its `duration` is this writer's time: media are resolved
    in an earlier stage).

    A shard whose three files exist is kept as is, unless it holds an item retried now; then its
    earlier successes are copied from the old tar, so the result equals a run where the retried
    items had succeeded at once."""

    def __init__(self, output: str, prefix: str) -> None:
        self.output = output
        self.prefix = prefix

    def process(self, element, extra_names=()):
        started = time.monotonic()
        shard_id, entries = element
        entries = sorted(entries, key=lambda e: e[0])
        name = shard_name(self.prefix, shard_id)
        tar_path = shard_paths(self.output, name)[0]
        nsamples = sum(1 for _k, (kind, _v, _r) in entries if kind in ("sample", "reuse"))
        if not any(retried for _k, (_kind, _v, retried) in entries):
            info = finished_shard(self.output, name, nsamples)
            if info is not None:
                yield info
                return
        complete = finished_shard_files_exist(self.output, name)
        old = _old_members(tar_path, {k for k, (kind, _v, _r) in entries if kind == "reuse"}) if complete else {}
        samples: list[ShardSample] = []
        rows: list[dict] = []
        for key, (kind, value, _retried) in entries:
            if kind == "sample":
                samples.append(value)
                rows.append(value.row)
            elif kind == "reuse" and key in old:
                samples.append(ShardSample(key, old[key], value))
                rows.append(value)
            elif kind == "reuse":
                count("retry", "reuse_missing")
                rows.append({**value, "status": FAILED_TO_DOWNLOAD, "reason": "reuse_missing",
                             "error_message": "reuse_missing: not in the previous shard"})
            else:
                rows.append(value)
        info = write_shard(self.output, name, samples, rows, pairs_schema(extra_names))
        stats = json.dumps(shard_stats(rows, time.monotonic() - started), indent=1, sort_keys=True)
        fs.write_bytes_atomic(fs.join(self.output, name[: -len(".tar")] + "_stats.json"), stats.encode("utf-8"))
        yield info


def manifest_rows(pattern: str):
    """(key, row) of every row of the manifests matching `pattern` (previous run, for retries)."""
    for result in FileSystems.match([pattern]):
        for meta in result.metadata_list:
            for row in pq.read_table(io.BytesIO(fs.read_bytes(meta.path))).to_pylist():
                if row.get("key"):
                    yield row["key"], row
