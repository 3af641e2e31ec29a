"""Shard output: one atomic tar + `.idx` + parquet manifest per shard, and the rejects files.

A sample's shard comes from a stable hash of its key (not from bundles) and the samples of a shard
come in a fixed order (M3W: their store's record order; pairs: sorted by key), so the same input
and seed give byte-identical shards on any runner. A tar is written under a temporary name and
renamed when complete. A pairs shard whose record (`.NAME.done`: fingerprint, size, md5) matches
this run is not rewritten: a rerun skips finished work, and never keeps a shard built with other
options (M3W resumes by store instead: `pipelines.work`).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
from typing import BinaryIO

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from m3w_builder.output.shards import ShardWriter
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


ROWS_IN_MEMORY = 256  # manifest rows an open shard holds before it spills them to its temporary file


class OpenShard:
    """A shard written sample by sample under a temporary name; `close` renames it and writes its
    `.idx`, parquet manifest and record (so no reader ever sees a partial tar). Its manifest rows
    wait in a hidden temporary file beside it (a store pass keeps all its shards open: held in
    memory, their rows would grow with the pages of the store's input file)."""

    def __init__(self, output: str, name: str) -> None:
        self.output, self.name = output, name
        self.tar_path, self.idx_path, self.manifest_path = shard_paths(output, name)
        self.tmp = fs.temp_name(self.tar_path)
        self.handle = FileSystems.create(self.tmp, compression_type=CompressionTypes.UNCOMPRESSED)
        self.writer = ShardWriter(self.handle)
        self.rows: list[dict] = []
        self.spill: tuple[str, BinaryIO] | None = None
        self.nsamples = 0

    def add(self, sample: ShardSample, rows: list[dict]) -> None:
        self.writer.add_sample(sample.key, sample.members)
        self.add_rows(rows)
        self.nsamples += 1

    def add_rows(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= ROWS_IN_MEMORY:
            if self.spill is None:
                path = fs.temp_name(self.manifest_path)
                self.spill = path, FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)
            pickle.dump(self.rows, self.spill[1], protocol=pickle.HIGHEST_PROTOCOL)
            self.rows = []

    def _all_rows(self) -> list[dict]:
        """Every manifest row in order: the spilled ones, then those still held."""
        if self.spill is None:
            return self.rows
        path, handle = self.spill
        handle.close()
        rows: list[dict] = []
        with fs.open_raw(path) as spilled:
            while True:
                try:
                    rows.extend(pickle.load(spilled))
                except EOFError:
                    break
        FileSystems.delete([path])
        return rows + self.rows

    def close(self, schema: pa.Schema, fingerprint: str) -> dict:
        """Finish the tar and its side files; returns the shardlist entry."""
        self.writer.close()
        self.handle.close()
        fs.commit(self.tmp, self.tar_path)
        fs.write_bytes_atomic(self.idx_path, self.writer.index_text().encode("ascii"))
        fs.write_bytes_atomic(self.manifest_path,
                              parquet_bytes([{**r, "shard": self.name} for r in self._all_rows()], schema))
        info = _info(self.name, self.nsamples, self.writer.offset, self.writer.md5sum)
        fs.write_bytes_atomic(record_path(self.output, self.name), json.dumps({**info, "fingerprint": fingerprint}).encode())
        count("shard", "n_written")
        count("shard", "n_samples", self.nsamples)
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
    shard = OpenShard(output, name)
    for sample in samples:
        shard.add(sample, [])
    shard.add_rows(rows)
    return shard.close(schema, fingerprint)


ROWS_PER_REJECTS_FILE = 50_000  # rows one rejects file holds (and its writer sorts in memory)


def reject_bucket(row: dict, n_buckets: int) -> tuple[str, dict]:
    return f"{row['stage']}-{stable_hash(row['id'] + row['url']) % n_buckets:03d}", row


def reject_buckets(n_rows: int) -> int:
    """Rejects files per stage: enough for `ROWS_PER_REJECTS_FILE` rows each, whatever the corpus."""
    return max(1, math.ceil(n_rows / ROWS_PER_REJECTS_FILE))


class WriteRejects(beam.DoFn):
    """(stage-bucket, rows) → `rejects/{stage}-{bucket}.parquet`, rows sorted (deterministic)."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element):
        name, rows = element
        write_rejects_file(self.output, name, rows)
        yield name


def write_rejects_file(output: str, name: str, rows: list[dict]) -> None:
    """`rejects/{name}.parquet`, rows sorted (deterministic whatever order they came in)."""
    rows = sorted(rows, key=lambda r: (r["stage"], r["id"], r["url"], r["reason"]))
    fs.ensure_dir(fs.join(output, "rejects"))
    fs.write_bytes_atomic(fs.join(output, "rejects", f"{name}.parquet"), parquet_bytes(rows, REJECTS_SCHEMA))


class RejectsWriter:
    """Rejects rows of one piece of work (a store pass) → `rejects/{name}-NNN.parquet`, a file of
    at most `ROWS_PER_REJECTS_FILE` rows each time that many have come (each sorted), so the rows
    held in memory do not grow with the pages of an input file."""

    def __init__(self, output: str, name: str) -> None:
        self.output, self.name = output, name
        self.rows: list[dict] = []
        self.files = 0

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= ROWS_PER_REJECTS_FILE:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            write_rejects_file(self.output, f"{self.name}-{self.files:03d}", self.rows)
            self.rows = []
            self.files += 1

    def close(self) -> None:
        self._flush()


class RejectsFiles(beam.PTransform):
    """Rejects rows → parquet files in `rejects/`, as many per stage as the rows need."""

    def __init__(self, output: str) -> None:
        super().__init__()
        self.output = output

    def expand(self, rows):
        # no default count for no rows (5 steps more): the side input's default stands for it
        n_buckets = beam.pvalue.AsSingleton(rows | "CountRows" >> beam.combiners.Count.Globally().without_defaults()
                                            | "Buckets" >> beam.Map(reject_buckets), default_value=reject_buckets(0))
        return (rows | "RejectBuckets" >> beam.Map(reject_bucket, n_buckets)
                | "GroupRejects" >> beam.GroupByKey() | "WriteRejects" >> beam.ParDo(WriteRejects(self.output)))
