"""Shard output: explicit shard assignment, one atomic tar + `.idx` + parquet manifest per shard,
and the dataset-level files (dataset.json, tokenizer.model, rejects).

Shard ids come from a stable hash of the sample key (not from bundles), samples inside a shard are
sorted by key, so the same input and seed give byte-identical shards on any runner. A shard whose
tar, index and manifest already exist is not rewritten: a rerun skips finished work.
"""

from __future__ import annotations

import hashlib
import io
import json
import math

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from m3w_builder.output.shards import ShardWriter, shard_name
from m3w_builder.samples.assemble import ShardSample
from pipelines import fs
from pipelines.metrics import count

MANIFEST_SCHEMA = pa.schema([
    ("key", pa.string()), ("doc_id", pa.string()), ("url", pa.string()), ("kind", pa.string()),
    ("status", pa.string()), ("error_message", pa.string()), ("n_tokens", pa.int32()),
    ("n_images", pa.int32()), ("shard", pa.string()),
])
REJECTS_SCHEMA = pa.schema([("id", pa.string()), ("url", pa.string()), ("stage", pa.string()), ("reason", pa.string())])
REJECT_BUCKETS = 16


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def num_shards(n_samples: int, per_shard: int) -> int:
    return max(1, math.ceil(n_samples / max(1, per_shard)))


def assign_shard(sample: ShardSample, n_samples: int, per_shard: int) -> tuple[int, ShardSample]:
    return stable_hash(sample.key) % num_shards(n_samples, per_shard), sample


def parquet_bytes(rows: list[dict], schema: pa.Schema) -> bytes:
    """Rows as an uncompressed-dictionary, zstd parquet file (deterministic for equal rows)."""
    table = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _info(name: str, nsamples: int, size: int, md5: str) -> dict:
    return {"url": name, "nsamples": nsamples, "filesize": size, "md5sum": md5}


def shard_paths(output: str, name: str) -> tuple[str, str, str]:
    """The tar, index and manifest paths of shard `name`."""
    tar_path = fs.join(output, name)
    return tar_path, tar_path[:-4] + ".idx", tar_path[:-4] + ".parquet"


def finished_shard_files_exist(output: str, name: str) -> bool:
    """Whether a previous run completed shard `name` (its tar, index and manifest all exist)."""
    return all(fs.exists(p) for p in shard_paths(output, name))


def finished_shard(output: str, name: str, nsamples: int) -> dict | None:
    """The shardlist entry of a shard a previous run completed (all three files exist), else None."""
    if not finished_shard_files_exist(output, name):
        return None
    data = fs.read_bytes(shard_paths(output, name)[0])
    count("shard", "skipped_existing")
    return _info(name, nsamples, len(data), hashlib.md5(data).hexdigest())


def write_shard(output: str, name: str, samples: list[ShardSample], rows: list[dict], schema: pa.Schema) -> dict:
    """Write a shard's tar, `.idx` and parquet manifest atomically; returns its shardlist entry."""
    tar_path, idx_path, manifest_path = shard_paths(output, name)
    writer: ShardWriter | None = None

    def write(f) -> None:
        nonlocal writer
        writer = ShardWriter(f)
        for sample in samples:
            writer.add_sample(sample.key, sample.members)
        writer.close()

    fs.write_atomic(tar_path, write)
    fs.write_bytes_atomic(idx_path, writer.index_text().encode("ascii"))
    fs.write_bytes_atomic(manifest_path, parquet_bytes([{**r, "shard": name} for r in rows], schema))
    count("shard", "written")
    count("shard", "samples", len(samples))
    return _info(name, len(samples), writer.offset, writer.md5sum)


class WriteShard(beam.DoFn):
    """(shard_id, samples) → the shard's tar, .idx and .parquet; yields its shardlist entry."""

    def __init__(self, output: str, prefix: str) -> None:
        self.output = output
        self.prefix = prefix

    def process(self, element):
        shard_id, samples = element
        samples = sorted(samples, key=lambda s: s.key)
        name = shard_name(self.prefix, shard_id)
        info = finished_shard(self.output, name, len(samples))
        if info is None:
            rows = []
            for sample in samples:
                rows.append(sample.row)
                rows.extend({**f, "n_tokens": 0, "n_images": 0} for f in sample.failures)
            info = write_shard(self.output, name, samples, rows, MANIFEST_SCHEMA)
        yield info


def reject_bucket(row: dict) -> tuple[str, dict]:
    return f"{row['stage']}-{stable_hash(row['id'] + row['url']) % REJECT_BUCKETS:03d}", row


class WriteRejects(beam.DoFn):
    """(stage-bucket, rows) → `rejects/{stage}-{bucket}.parquet`, rows sorted (deterministic)."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element):
        name, rows = element
        rows = sorted(rows, key=lambda r: (r["id"], r["url"], r["reason"]))
        fs.ensure_dir(fs.join(self.output, "rejects"))
        fs.write_bytes_atomic(fs.join(self.output, "rejects", f"{name}.parquet"), parquet_bytes(rows, REJECTS_SCHEMA))
        yield name


def dataset_json(kind: str, shards: list[dict], tokenizer: dict | None, window: dict | None, options: dict,
                 stats: dict | None = None) -> bytes:
    """The dataset.json document (wids shard-index layout plus our own fields)."""
    doc = {
        "format": "m3w-builder", "version": 1, "kind": kind, "wids_version": 1,
        "name": kind, "shardlist": sorted(shards, key=lambda s: s["url"]),
        "tokenizer": tokenizer, "window": window, "options": options, "stats": stats or {},
    }
    return json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")
