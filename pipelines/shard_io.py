"""Shard output: explicit shard assignment, one atomic tar + `.idx` + parquet manifest per shard,
and the rejects files.

Shard ids come from a stable hash of the sample key (not from bundles), samples inside a shard are
sorted by key, so the same input and seed give byte-identical shards on any runner. A shard whose
record (`.NAME.done`: fingerprint, size, md5) matches this run is not rewritten: a rerun skips
finished work, and never keeps a shard built with other options.
"""

from __future__ import annotations

import hashlib
import io
import json
import math

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from m3w_builder.output.shards import ShardWriter, shard_name
from m3w_builder.samples.assemble import ShardSample
from pipelines import fs
from pipelines.metrics import count

MANIFEST_SCHEMA = pa.schema([
    ("key", pa.string()), ("doc_id", pa.string()), ("url", pa.string()), ("kind", pa.string()),
    ("status", pa.string()), ("error_message", pa.string()), ("n_tokens", pa.int32()),
    ("n_images", pa.int32()), ("shard", pa.string()),
])
REJECTS_SCHEMA = pa.schema([("id", pa.string()), ("url", pa.string()), ("stage", pa.string()), ("reason", pa.string()),
                            ("detail", pa.string())])
REJECT_BUCKETS = 16


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def num_shards(n_samples: int, per_shard: int, min_shards: int = 1) -> int:
    """Enough shards for `per_shard` samples each, and at least `min_shards` (never more than
    samples), so that a small dataset still splits across DataLoader workers and hosts."""
    return max(1, min(n_samples, max(min_shards, math.ceil(n_samples / max(1, per_shard)))))


def assign_shard(sample: ShardSample, n_samples: int, per_shard: int, min_shards: int = 1) -> tuple[int, ShardSample]:
    return stable_hash(sample.key) % num_shards(n_samples, per_shard, min_shards), sample


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


def record_path(output: str, name: str) -> str:
    """Where a finished shard's record (fingerprint, size, md5) lives: a hidden file beside it."""
    return fs.join(output, f".{name}.done")


def finished_shard_files_exist(output: str, name: str, nsamples: int = 1) -> bool:
    """Whether a previous run completed shard `name` (its tar, index, manifest and record exist;
    a shard of failures only has no tar and index)."""
    tar_path, idx_path, manifest_path = shard_paths(output, name)
    paths = (tar_path, idx_path, manifest_path) if nsamples else (manifest_path,)
    return all(fs.exists(p) for p in (*paths, record_path(output, name)))


def finished_shard(output: str, name: str, nsamples: int, fingerprint: str) -> dict | None:
    """The shardlist entry of a shard a previous run of the same fingerprint completed, else None:
    its record must name this fingerprint and sample count, and the tar its recorded size and md5."""
    if not finished_shard_files_exist(output, name, nsamples):
        return None
    try:
        record = json.loads(fs.read_bytes(record_path(output, name)))
    except ValueError:
        return None
    if record.get("fingerprint") != fingerprint or record.get("nsamples") != nsamples:
        return None
    if not nsamples:
        return _info(name, 0, 0, "")
    data = fs.read_bytes(shard_paths(output, name)[0])
    info = _info(name, nsamples, len(data), hashlib.md5(data).hexdigest())
    if (info["filesize"], info["md5sum"]) != (record.get("filesize"), record.get("md5sum")):
        return None
    count("shard", "n_skipped_existing")
    count("shard", "n_samples", nsamples)  # stats describe the whole dataset after a resume too
    return info


def write_shard(output: str, name: str, samples: list[ShardSample], rows: list[dict], schema: pa.Schema,
                fingerprint: str) -> dict:
    """Write a shard's tar, `.idx` and parquet manifest atomically, then its record; returns its
    shardlist entry. A shard whose rows are all failures (pairs) gets its manifest only: an empty
    tar makes webdataset's reader raise, so none is written (and a stale one is removed)."""
    tar_path, idx_path, manifest_path = shard_paths(output, name)
    if not samples:
        stale = [p for p in (tar_path, idx_path) if fs.exists(p)]
        if stale:
            FileSystems.delete(stale)
        fs.write_bytes_atomic(manifest_path, parquet_bytes([{**r, "shard": name} for r in rows], schema))
        info = _info(name, 0, 0, "")
        fs.write_bytes_atomic(record_path(output, name), json.dumps({**info, "fingerprint": fingerprint}).encode())
        count("shard", "n_manifest_only")
        return info
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
    info = _info(name, len(samples), writer.offset, writer.md5sum)
    fs.write_bytes_atomic(record_path(output, name), json.dumps({**info, "fingerprint": fingerprint}).encode())
    count("shard", "n_written")
    count("shard", "n_samples", len(samples))
    return info


class WriteShard(beam.DoFn):
    """(shard_id, samples) → the shard's tar, .idx and .parquet; yields its shardlist entry."""

    def __init__(self, output: str, prefix: str, fingerprint: str) -> None:
        self.output = output
        self.prefix = prefix
        self.fingerprint = fingerprint

    def process(self, element):
        shard_id, samples = element
        samples = sorted(samples, key=lambda s: s.key)
        name = shard_name(self.prefix, shard_id)
        info = finished_shard(self.output, name, len(samples), self.fingerprint)
        if info is None:
            rows = []
            for sample in samples:
                rows.append(sample.row)
                rows.extend({**f, "n_tokens": 0, "n_images": 0} for f in sample.failures)
            info = write_shard(self.output, name, samples, rows, MANIFEST_SCHEMA, self.fingerprint)
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
