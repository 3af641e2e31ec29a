"""Groupings through files: the corpus-level groupings of the M3W job without a Beam shuffle.

The local runner (FnApiRunner) holds every GroupByKey's input in the launcher, so any grouping
of one element per document makes the launcher grow with the corpus, however compact the
elements. A `FileCoGroupByKey` writes its inputs instead: each bundle of a writer step appends its
(partition, item) rows to one parquet file of its own (`_work/exchange/UUID.parquet`), a row group
per partition and flush (the partition is `key_partition` of the item's key, `partitions` of them),
and emits only the file's name. A step over the partition numbers (`Create(range(P))`, which
spreads them with a reshuffle of P elements) then reads, for its partition, only that partition's row groups of
every file (the names arrive as a side input, so it starts once every writer is done) and groups
them by key in memory. Across Beam go the P numbers and one name per written bundle; what a
reader holds is 1/P of the grouping's input. The groups are those of a `CoGroupByKey` of the same
inputs (same keys, same values per tag; the order of keys and of a tag's values is a grouping's:
none), so the decisions taken from them are too.

A file is written under a temporary name and renamed at the bundle's end: a bundle that fails and
is retried leaves at most an unnamed orphan, never a half file in the list. The files live in
the job's `_work/` folder, removed once the dataset is published (and at the start of a run:
decisions are recomputed from the stores' stored keys on every run).
"""

from __future__ import annotations

import hashlib
import pickle
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from pipelines import fs

EXCHANGE = "exchange"  # the folder under the job's `_work/`
FLUSH_BYTES = 4 << 20  # pickled items a writer holds before it writes them, a row group per partition
_SCHEMA = pa.schema([("partition", pa.int32()), ("item", pa.binary())])


@dataclass(frozen=True)
class Exchange:
    """Where a job's file groupings write (`folder`) and into how many partitions they cut their
    keys: a reader holds 1/`partitions` of a grouping's input, so at web scale raise it with the corpus."""

    folder: str
    partitions: int

    def cogroup(self) -> FileCoGroupByKey:
        return FileCoGroupByKey(self)

    def group(self) -> FileGroupByKey:
        return FileGroupByKey(self)


def key_partition(key: Any, partitions: int) -> int:
    """A stable partition of a key (str, bytes, int or a tuple of them), the same on every worker."""
    digest = hashlib.blake2b(pickle.dumps(key, protocol=4), digest_size=4).digest()
    return int.from_bytes(digest, "big") % partitions


def remove_exchange(folder: str) -> None:
    """Delete the files of an earlier, killed run's groupings (a run reads only the files it wrote)."""
    if fs.exists(folder):
        FileSystems.delete([folder])


class WriteRows(beam.DoFn):
    """`items(element)` yields (key, item) pairs; a bundle's items go to one file, in row groups of
    one partition each, written whenever `FLUSH_BYTES` of them wait; emits the file's path."""

    def __init__(self, exchange: Exchange, items: Callable[[Any], Iterable[tuple[Any, Any]]]) -> None:
        self.exchange, self.items = exchange, items
        self._pending: dict[int, list[bytes]] = {}
        self._bytes = 0
        self._file: tuple[str, str, Any, pq.ParquetWriter] | None = None

    def start_bundle(self) -> None:
        self._pending, self._bytes, self._file = {}, 0, None

    def process(self, element: Any) -> None:
        partitions = self.exchange.partitions
        for key, item in self.items(element):
            data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
            self._pending.setdefault(key_partition(key, partitions), []).append(data)
            self._bytes += len(data)
            if self._bytes >= FLUSH_BYTES:
                self._flush()

    def _flush(self) -> None:
        if self._file is None:
            path = fs.join(self.exchange.folder, f"{uuid.uuid4().hex}.parquet")
            tmp = fs.temp_name(path)
            handle = FileSystems.create(tmp, compression_type=CompressionTypes.UNCOMPRESSED)
            self._file = (path, tmp, handle, pq.ParquetWriter(handle, _SCHEMA, compression="zstd"))
        writer = self._file[3]
        for partition in sorted(self._pending):
            rows = self._pending[partition]
            writer.write_table(pa.table({"partition": [partition] * len(rows), "item": rows}, schema=_SCHEMA),
                               row_group_size=len(rows))
        self._pending, self._bytes = {}, 0

    def finish_bundle(self) -> Iterator[Any]:
        if self._pending:
            self._flush()
        if self._file is not None:
            path, tmp, handle, writer = self._file
            writer.close()
            handle.close()
            fs.commit(tmp, path)
            self._file = None
            yield GlobalWindows.windowed_value(path)


def read_partition(paths: Iterable[str], partition: int) -> Iterator[Any]:
    """The items of one partition of the exchange files `paths`, reading only its row groups."""
    for path in sorted(paths):
        with fs.open_raw(path) as handle:
            reader = pq.ParquetFile(handle)
            meta = reader.metadata
            for group in range(meta.num_row_groups):
                if meta.row_group(group).column(0).statistics.min != partition:
                    continue
                for data in reader.read_row_group(group, columns=["item"]).column(0).to_pylist():
                    yield pickle.loads(data)


class ReadGroups(beam.DoFn):
    """A partition number → the (key, {tag: [values]}) groups of that partition's items."""

    def __init__(self, tags: list[str]) -> None:
        self.tags = tags

    def process(self, partition: int, paths: list[str]) -> Iterator[tuple[Any, dict[str, list[Any]]]]:
        groups: dict[Any, dict[str, list[Any]]] = {}
        for tag, key, value in read_partition(paths, partition):
            if key not in groups:
                groups[key] = {t: [] for t in self.tags}
            groups[key][tag].append(value)
        yield from groups.items()


class FileCoGroupByKey(beam.PTransform):
    """`CoGroupByKey` of a dict of keyed PCollections ((key, {tag: [values]}) out), through files."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__()
        self.exchange = exchange

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.PCollection:
        tags = sorted(inputs)

        def tagged(tag: str) -> Callable[[tuple[Any, Any]], list[tuple[Any, Any]]]:
            return lambda kv: [(kv[0], (tag, kv[0], kv[1]))]

        files = [inputs[tag] | f"Write_{tag}" >> beam.ParDo(WriteRows(self.exchange, tagged(tag))) for tag in tags]
        paths = beam.pvalue.AsList(files | "Files" >> beam.Flatten())
        pipeline = inputs[tags[0]].pipeline
        return (pipeline | "Partitions" >> beam.Create(range(self.exchange.partitions))  # reshuffled: spread
                | "Read" >> beam.ParDo(ReadGroups(tags), paths))


class FileGroupByKey(beam.PTransform):
    """`GroupByKey` ((key, [values]) out) through files, as `FileCoGroupByKey` is."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__()
        self.exchange = exchange

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return ({"value": pcoll} | "Group" >> FileCoGroupByKey(self.exchange)
                | "Values" >> beam.Map(lambda kv: (kv[0], kv[1]["value"])))
