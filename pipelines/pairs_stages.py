"""Beam stages of the pairs job: list rows and page alts → items, dedup/retry, alt frequency,
composition of samples, and the pair shard writer (every drop counted as `stage/reason`)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from m3w_builder.output.shards import shard_name
from m3w_builder.output.tars import Members, iter_samples
from m3w_builder.pairs.align import AltCandidate, alt_key, caption_reason, check_candidate, harvest
from m3w_builder.pairs.items import (
    FAILED_TO_DOWNLOAD,
    PairItem,
    broken_item,
    failure_row,
    make_item,
    pair_sample,
    pairs_schema,
    shard_stats,
)
from m3w_builder.pairs.paths import is_local, local_url
from m3w_builder.read.lists import read_list
from m3w_builder.read.records import WebRecord
from m3w_builder.samples.assemble import ShardSample
from pipelines import fs
from pipelines.metrics import count
from pipelines.shard_io import finished_shard, finished_shard_files_exist, shard_paths, write_shard
from pipelines.stages import Counts, Dropped, Kept

REUSE = "reuse"


class ReadPairList:
    """Stage function (`list`): a list file → one `PairItem` per data row. Every row goes on:
    broken ones carry their reason and are settled (counted, manifest row) by `Compose`."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def __call__(self, path: str) -> Iterator[Any]:
        cfg = self.cfg
        yield Counts(volumes={"files": 1})
        for row in read_list(path, lambda: fs.open_raw(path), cfg.list_options):
            volumes = {"rows": 1, "non_utf8_caption": int(row.encoding != "utf-8")}
            if row.error:
                yield Kept(broken_item(row.row_id, row.error, row.detail, cfg.kind, row.url, row.caption, row.extra,
                                       row.encoding), volumes=volumes)
                continue
            url = row.url
            if is_local(url):
                if not cfg.local_paths:
                    yield Kept(broken_item(row.row_id, "local_path_refused", url, cfg.kind, url, row.caption,
                                           row.extra), volumes=volumes)
                    continue
                url = local_url(url, path)
            item = make_item(url, row.caption, cfg.kind, row.row_id, extra=row.extra, encoding=row.encoding)
            reason = caption_reason(item.caption, cfg.caption_rules)
            if reason:
                item.status, item.detail = reason, item.caption[:200]
            yield Kept(item, volumes=volumes)


class HarvestPage:
    """Stage function (`align_page`): a page record → its `<img>` alt candidates."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def __call__(self, record: WebRecord) -> Kept:
        headers = record.optout_headers or None
        candidates = list(harvest(record.body, record.url, content_type=record.content_type, headers=headers,
                                  options=self.cfg.extract))
        return Kept(candidates, volumes={"candidates": len(candidates)})


class CheckCandidate:
    """Stage function (`align`): an alt candidate → a `PairItem` under the caption and size rules."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def __call__(self, candidate: AltCandidate) -> PairItem:
        check_candidate(candidate, self.cfg.caption_rules, self.cfg.images.min_side)
        return make_item(candidate.src, candidate.alt, "image", candidate.page_url, from_list=False)


def _stored_row(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "shard"}


class Settle:
    """Stage function (`settle`): (key, {items, prev}) → one item per key (later list rows become
    `duplicate`, later page pairs are dropped); with a previous manifest, earlier successes become
    `reuse` and earlier failures are retried."""

    def __call__(self, element) -> Iterator[Any]:
        key, grouped = element
        items = sorted(grouped["items"], key=lambda i: (i.source, i.url))
        prev = list(grouped["prev"])
        if not items:
            return
        first, rest = items[0], items[1:]
        for dup in rest:
            if dup.from_list:
                yield broken_item(dup.source, "duplicate", f"same url and caption as {first.source}", dup.kind,
                                  dup.url, dup.caption, dup.extra, dup.encoding)
            else:
                yield Dropped("duplicate_pair", dup.source, dup.url, f"same pair as on {first.source}")
        if prev and first.pending:
            if prev[0].get("status") == "success":
                yield Counts(volumes={"reused": 1})
                first.status, first.previous_row = REUSE, _stored_row(prev[0])
            else:
                yield Counts(volumes={"retried": 1})
                first.retried = True
        yield first


class FrequentCaptions:
    """Stage function (`captions`): (alt key, items) → items; all items whose caption is shared by
    more than `limit` distinct image URLs fail with `frequent_caption` (ALIGN: more than 10 images)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, element) -> Iterator[Any]:
        _alt, items = element
        items = list(items)
        urls = {i.url for i in items if i.pending or i.status == REUSE}
        if not (self.limit and len(urls) > self.limit):
            yield from items
            return
        for item in items:
            if item.pending or item.status == REUSE:
                if not item.from_list:
                    yield Dropped("frequent_caption", item.source, item.url, f"{len(urls)} images > {self.limit}")
                    continue
                item.status, item.detail = "frequent_caption", f"{len(urls)} images > {self.limit}"
                item.previous_row = None
            yield item


def alt_keyed(item: PairItem):
    return alt_key(item.caption), item


def media_request(item: PairItem):
    if item.pending:
        yield item.url, (item.key, 0, item.kind)


def local_urls(item: PairItem):
    if item.pending and item.from_list and item.url.startswith("file://"):  # never for page-derived srcs
        yield item.url


def read_local(url: str) -> Kept:
    """Stage function (`local_media`): (url, WebRecord) for a local media file (status 404 when it
    cannot be read, so the item fails as media)."""
    path = urlsplit(url).path
    try:
        with open(path, "rb") as f:
            body = f.read()
    except OSError:
        return Kept((url, WebRecord(url, b"", http_status=404, source=path)), volumes={"unreadable": 1})
    return Kept((url, WebRecord(url, body, source=path)))


class Compose:
    """Stage function (`pairs`): (key, {items, media}) → (key, entry), entry ("sample", ShardSample,
    retried) | ("reuse", row, False) | ("row", dict, retried). A failed item is counted
    `pairs/<status>` with a rejects row and still goes on to its manifest row."""

    def __init__(self, video_frames: int) -> None:
        self.video_frames = video_frames

    def __call__(self, element) -> Iterator[Any]:
        key, grouped = element
        items = list(grouped["items"])
        if not items:
            return
        item = items[0]
        retried, row = item.retried, item.previous_row
        results = [r for _i, r in grouped["media"]]
        if item.status == REUSE:
            yield key, ("reuse", row, False)
            return
        if not item.pending:
            row = failure_row(item)
        elif not results:
            row = failure_row(item, "no_media_result", "")
        else:
            out = pair_sample(item, results[0], self.video_frames)
            if isinstance(out, ShardSample):
                yield key, ("sample", out, retried)
                return
            row = out
        yield Dropped(row.get("reason") or row["status"], item.source, item.url, row.get("error_message") or "",
                      carry=(key, ("row", row, retried)))


def _old_members(tar_path: str, keys: set[str]) -> dict[str, Members]:
    """Members of `keys` in an existing shard, in their tar order."""
    if not keys or not fs.exists(tar_path):
        return {}
    with fs.open_raw(tar_path) as handle:
        return {key: members for key, members in iter_samples(handle) if key in keys}


class WritePairShard(beam.DoFn):
    """(shard id, entries), extra column names → tar + .idx + .parquet (a row per item, failures
    included, extra input columns as columns) and
    img2dataset's `{shard}_stats.json` (its `duration` is this writer's time: media are resolved
    in an earlier stage).

    A shard whose three files exist is kept as is, unless it holds an item retried now; then its
    earlier successes are copied from the old tar, so the result equals a run where the retried
    items had succeeded at once."""

    def __init__(self, output: str, prefix: str, fingerprint: str) -> None:
        self.output = output
        self.prefix = prefix
        self.fingerprint = fingerprint

    def process(self, element, extra_names=()):
        started = time.monotonic()
        shard_id, entries = element
        entries = sorted(entries, key=lambda e: e[0])
        name = shard_name(self.prefix, shard_id)
        tar_path = shard_paths(self.output, name)[0]
        nsamples = sum(1 for _k, (kind, _v, _r) in entries if kind in ("sample", "reuse"))
        if not any(retried for _k, (_kind, _v, retried) in entries):
            info = finished_shard(self.output, name, nsamples, self.fingerprint)
            if info is not None:
                yield info
                return
        complete = finished_shard_files_exist(self.output, name, nsamples)
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
                count("shard", "n_reuse_missing")
                rows.append({**value, "status": FAILED_TO_DOWNLOAD, "reason": "reuse_missing",
                             "error_message": "reuse_missing: not in the previous shard"})
            else:
                rows.append(value)
        info = write_shard(self.output, name, samples, rows, pairs_schema(extra_names), self.fingerprint)
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
