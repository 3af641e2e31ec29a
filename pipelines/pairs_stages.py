"""Beam stages of the pairs job: list rows and page alts → items, dedup/retry, alt frequency,
composition of samples, and the pair shard writer (every drop counted as `stage/reason`)."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from m3w_builder.drops import Rejected
from m3w_builder.output import formats
from m3w_builder.output.shards import shard_name
from m3w_builder.pairs.align import AltCandidate, alt_key, caption_reason, check_candidate, harvest
from m3w_builder.pairs.items import (
    FAILED_TO_DOWNLOAD,
    PairItem,
    broken_item,
    failure_row,
    make_item,
    manifest_row,
    pair_sample,
    pairs_schema,
    shard_stats,
)
from m3w_builder.pairs.paths import is_local, local_path, local_refusal, local_url
from m3w_builder.read.lists import read_list
from m3w_builder.read.local_files import read_local_file
from m3w_builder.read.records import ReadIssue, WebRecord
from m3w_builder.samples.assemble import ShardSample
from pipelines import fs
from pipelines.metrics import count
from pipelines.shard_io import finished_shard, parquet_bytes, record_path, write_shard
from pipelines.stages import Counts, Dropped, Kept, error_detail, error_reason

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
            try:
                item = self._item(row, path)
            except Exception as error:  # noqa: BLE001 - one odd row (a URL urlsplit refuses) fails alone
                item = broken_item(row.row_id, error_reason(error), error_detail(error), cfg.kind, row.url,
                                   row.caption, row.extra, row.encoding)
            yield Kept(item, volumes=volumes)

    def _item(self, row, path: str) -> PairItem:
        """The item of a well-formed row (local paths made absolute `file://` URLs)."""
        cfg = self.cfg
        url = row.url
        if is_local(url):
            refused = local_refusal(url, path, cfg.local_paths)
            if refused:
                return broken_item(row.row_id, *refused, cfg.kind, url, row.caption, row.extra, row.encoding)
            url = local_url(url, path)
        item = make_item(url, row.caption, cfg.kind, row.row_id, extra=row.extra, encoding=row.encoding)
        reason = caption_reason(item.caption, cfg.caption_rules)
        if reason:
            item.status, item.detail = reason, item.caption[:200]
        return item


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
                first.status, first.previous_row = REUSE, prev[0]  # its `shard` says where its media are
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


def read_local(url: str, max_bytes: int) -> Kept:
    """Stage function (`local_media`): (url, WebRecord) for a local media file, or (url, ReadIssue)
    saying why it could not be read (the item then fails as media with that reason)."""
    path = local_path(url)
    try:
        body = read_local_file(path, max_bytes)
    except Rejected as rejected:
        issue = ReadIssue(rejected.reason, path, url, rejected.detail)
        return Kept((url, issue), volumes={"unreadable": 1})
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


def _listing(folder: str) -> list[str]:
    """File names in a shard folder (none when it does not exist)."""
    if not fs.exists(folder):
        return []
    return [FileSystems.split(m.path)[1] for r in FileSystems.match([fs.join(folder, "*")]) for m in r.metadata_list]


class ReadReused(beam.DoFn):
    """(old shard url, reuse entries) → the entries as samples whose members are read from the shard
    of the previous run that holds them (a rerun may assign them to other shards: the shard count
    follows the number of successes). Runs before the shards are grouped, so every old shard is
    read before any is rewritten. A member no longer there makes the item fail `reuse_missing`."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element):
        url, entries = element
        entries = sorted(entries, key=lambda e: e[0])
        keys = {key for key, _entry in entries}
        old = {}
        if fs.exists(fs.join(self.output, url)):
            samples = formats.iter_shard(url, lambda name: fs.open_raw(fs.join(self.output, name)),
                                         lambda folder: _listing(fs.join(self.output, folder)))
            old = {key: members for key, members in samples if key in keys}
        for key, (_kind, row, retried) in entries:
            row = {k: v for k, v in row.items() if k != "shard"}
            if key in old:
                yield key, ("sample", ShardSample(key, old[key], row), retried)
                continue
            count("shard", "n_reuse_missing")
            yield key, ("row", {**row, "status": FAILED_TO_DOWNLOAD, "reason": "reuse_missing",
                                "error_message": "reuse_missing: not in the previous shard"}, retried)


def reused_by_shard(entry):
    """(old shard url, entry) of a reused item; nothing for the others."""
    if entry[1][0] == REUSE:
        yield entry[1][1]["shard"], entry


def not_reused(entry) -> bool:
    return entry[1][0] != REUSE


def _record(output: str, url: str) -> str:
    return record_path(output, url.rstrip("/"))


def _data(output: str, url: str) -> dict[str, bytes] | None:
    """The bytes a parquet/files shard's record describes (its parquet, or its folder's files)."""
    path = fs.join(output, url)
    if formats.format_of(url) == formats.PARQUET:
        return {url: fs.read_bytes(path)} if fs.exists(path) else None
    names = _listing(path)
    return {name: fs.read_bytes(fs.join(path, name)) for name in names} if names else None


def _digest(url: str, data: dict[str, bytes]) -> tuple[int, str]:
    if formats.format_of(url) == formats.PARQUET:
        return len(data[url]), hashlib.md5(data[url]).hexdigest()
    return formats.folder_digest(data)


class WritePairShard(beam.DoFn):
    """(shard id, entries), extra column names → the shard in `output_format` with its manifest (a
    row per item, failures included, extra input columns as columns) and img2dataset's
    `{shard}_stats.json` (its `duration` is this writer's time: media are resolved in an earlier
    stage). webdataset: tar + .idx + .parquet; parquet: one .parquet, the manifest with the media
    in a column; files: a folder of `KEY.jpg/.txt/.json` + .parquet (`m3w_builder.output.formats`).

    A finished shard (its manifest lists these items, its record names this fingerprint, and its
    bytes the recorded md5) is kept as is, unless it holds an item retried now. Reused items come
    as samples (`ReadReused`), so a retry equals a run where the retried items had succeeded at
    once. A shard whose items all failed has its manifest only."""

    def __init__(self, output: str, prefix: str, fingerprint: str, output_format: str, kind: str) -> None:
        self.output = output
        self.prefix = prefix
        self.fingerprint = fingerprint
        self.output_format = output_format
        self.kind = kind

    def process(self, element, extra_columns=()):
        started = time.monotonic()
        shard_id, entries = element
        entries = sorted(entries, key=lambda e: e[0])
        stem = shard_name(self.prefix, shard_id)[: -len(".tar")]
        url = formats.shard_url(stem, self.output_format)
        nsamples = sum(1 for _k, (kind, _v, _r) in entries if kind == "sample")
        if not any(retried for _k, (_kind, _v, retried) in entries) and self._same_items(url, entries):
            info = self._finished(url, nsamples)
            if info is not None:
                yield info
                return
        samples = [value for _k, (kind, value, _r) in entries if kind == "sample"]
        schema = pairs_schema(extra_columns)
        columns = frozenset(schema.names)
        rows = [manifest_row(value.row if kind == "sample" else value, columns) for _k, (kind, value, _r) in entries]
        if self.output_format == formats.WEBDATASET:
            info = write_shard(self.output, url, samples, rows, schema, self.fingerprint)
        else:
            info = self._write(url, samples, rows, schema)
        stats = json.dumps(shard_stats(rows, time.monotonic() - started), indent=1, sort_keys=True)
        fs.write_bytes_atomic(fs.join(self.output, stem + "_stats.json"), stats.encode("utf-8"))
        yield info

    def _same_items(self, url: str, entries: list) -> bool:
        """Whether the manifest of the existing shard `url` lists exactly these items (a rerun that
        succeeds on more items has more shards, so a shard id may hold other items than before)."""
        manifest = fs.join(self.output, formats.manifest_name(url))
        if not fs.exists(manifest):
            return False
        keys = pq.read_table(io.BytesIO(fs.read_bytes(manifest)), columns=["key"]).column("key").to_pylist()
        return sorted(keys) == [key for key, _entry in entries]

    def _finished(self, url: str, nsamples: int) -> dict | None:
        """The shardlist entry of a shard a previous run of this fingerprint completed, else None."""
        if self.output_format == formats.WEBDATASET:
            return finished_shard(self.output, url, nsamples, self.fingerprint)
        record_file = _record(self.output, url)
        if not fs.exists(record_file) or not fs.exists(fs.join(self.output, formats.manifest_name(url))):
            return None
        try:
            record = json.loads(fs.read_bytes(record_file))
        except ValueError:
            return None
        if record.get("fingerprint") != self.fingerprint or record.get("nsamples") != nsamples:
            return None
        if nsamples:
            data = _data(self.output, url)
            if data is None or _digest(url, data) != (record.get("filesize"), record.get("md5sum")):
                return None
        count("shard", "n_skipped_existing")
        count("shard", "n_samples", nsamples)
        return _shard_info(record)

    def _write(self, url: str, samples: list[ShardSample], rows: list[dict], schema) -> dict:
        """Write a parquet or files shard atomically: each file under a temporary name, its record
        last, so a killed writer leaves bytes that no record's md5 matches and a rerun rewrites."""
        rows = [{**r, "shard": url} for r in rows]
        members = {s.key: s.members for s in samples}
        if self.output_format == formats.PARQUET:
            cells = {key: formats.media_cells(m) for key, m in members.items()}
            data = {url: parquet_bytes([{**r, **cells.get(r["key"], {})} for r in rows],
                                       formats.parquet_schema(schema, self.kind))}
            fs.write_bytes_atomic(fs.join(self.output, url), data[url])
        else:
            folder = fs.join(self.output, url)
            if fs.exists(folder):
                FileSystems.delete([folder])  # a stale member must not stay beside the new ones
            data = formats.folder_files([(s.key, s.members) for s in samples])
            if data:
                fs.ensure_dir(folder)
            for name, payload in data.items():
                fs.write_bytes_atomic(fs.join(folder, name), payload)
            fs.write_bytes_atomic(fs.join(self.output, formats.manifest_name(url)), parquet_bytes(rows, schema))
        size, md5 = _digest(url, data) if samples else (0, "")
        info = {"url": url, "nsamples": len(samples), "filesize": size, "md5sum": md5}
        fs.write_bytes_atomic(_record(self.output, url), json.dumps({**info, "fingerprint": self.fingerprint}).encode())
        count("shard", "n_written" if samples else "n_manifest_only")
        if samples:
            count("shard", "n_samples", len(samples))
        return info


def _shard_info(record: dict) -> dict:
    return {k: record[k] for k in ("url", "nsamples", "filesize", "md5sum")}


def manifest_rows(pattern: str):
    """(key, row) of every row of the manifests matching `pattern` (previous run, for retries);
    media columns (parquet format) are not read: reused media come from the old shard."""
    for result in FileSystems.match([pattern]):
        for meta in result.metadata_list:
            handle = pq.ParquetFile(io.BytesIO(fs.read_bytes(meta.path)))
            columns = [n for n in handle.schema_arrow.names if n not in formats.MEDIA_COLUMNS]
            for row in handle.read(columns=columns).to_pylist():
                if row.get("key"):
                    yield row["key"], row
