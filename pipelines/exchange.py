"""Groupings through files: the corpus-level groupings of the M3W job without a Beam shuffle.

The local runner (FnApiRunner) holds every GroupByKey's input in the launcher, so any grouping
of one element per document makes the launcher grow with the corpus, however compact the
elements. A `FileCoGroupByKey` writes its inputs instead: each bundle of a writer step appends its
(partition, item) rows to one parquet file of its own (`_work/exchange/UUID.parquet`), a row group
per partition and flush (the partition is `key_partition` of the item's key, `partitions` of them),
and emits only the file's name with the pickled bytes it wrote per partition. A step over the
partition numbers (`Partitions`: P numbers spread over the workers by a grouping) then
reads them and groups them by key in memory (names and sizes arrive as a side input, so it
starts once every writer is done). Which partitions a reader takes is the *read plan*, a pure
function of that side input (`read_plan`): contiguous partitions are merged while their bytes
stay within `READ_BYTES`; the reader of a run's first partition reads the run, the others read
nothing. A small grouping is so read by one reader opening each file once, not by P readers each
opening every file; a large one keeps a reader per partition, each holding 1/P of it. A file with
no row in a reader's partitions is not opened. Across Beam go the P numbers and one (name, sizes)
per written bundle. The groups are those of a `CoGroupByKey` of the same inputs (same keys, same
values per tag; the order of keys and of a tag's values is a grouping's: none), so the decisions
taken from them are too.

A `FileCombinePerKey` goes through the same files with a binary `combine` (a sum): a writer
combines the values of a key within its bundle (writing them out when `COMBINE_KEYS` keys wait),
a reader combines a key's rows across files, so a hot key (a logo URL on every page) costs a
writer and a reader one value, not one per page.

A file is written under a temporary name and renamed at the bundle's end: a bundle that fails and
is retried leaves at most an unnamed orphan, never a half file in the list. The files live in
the job's `_work/` folder, removed once the dataset is published (and at the start of a run:
decisions are recomputed from the stores' stored keys on every run).
"""

from __future__ import annotations

import hashlib
import pickle
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
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
READ_BYTES = 4 << 20  # pickled items a reader of merged partitions holds at most (one larger partition alone)
COMBINE_KEYS = 100_000  # keys a combining writer holds before it writes their values
_SCHEMA = pa.schema([("partition", pa.int32()), ("item", pa.binary())])

Written = tuple[str, tuple[tuple[int, int], ...]]  # an exchange file: (path, ((partition, pickled bytes), ...))


Items = Callable[[Any], Iterable[tuple[Any, Any]]]  # an input element → its (key, value) pairs
Then = Callable[[Any], Iterable[Any]]  # a grouping's output (a group, a combined key) → what goes on


@dataclass(frozen=True)
class Exchange:
    """Where a job's file groupings write (`folder`) and into how many partitions they cut their
    keys: a reader holds at most 1/`partitions` of a grouping's input or `READ_BYTES`, whichever is
    more, so at web scale raise it with the corpus.

    Each grouping takes `items`, what its writer makes of an input element ((key, value) pairs;
    default: the element is one), and `then`, what its reader makes of each of its outputs
    (default: the output itself): the Map before a grouping and the FlatMap after it run inside
    its writer and its reader, not as steps of their own (every Beam step costs the launcher its
    build and translation and every worker an operation per stage)."""

    folder: str
    partitions: int

    def cogroup(self, items: dict[str, Items] | None = None, then: Then | None = None) -> FileCoGroupByKey:
        return FileCoGroupByKey(self, items, then)

    def group(self, items: Items | None = None, then: Then | None = None) -> FileGroupByKey:
        return FileGroupByKey(self, items, then)

    def combine(self, combine: Callable[[Any, Any], Any], items: Items | None = None,
                then: Then | None = None) -> FileCombinePerKey:
        return FileCombinePerKey(self, combine, items, then)


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
    one partition each, written whenever `FLUSH_BYTES` of them wait; emits the file's `Written`.
    With `combine`, items are (key, value) pairs and a key's values within the bundle are combined
    into one row (written whenever `COMBINE_KEYS` keys wait)."""

    def __init__(self, exchange: Exchange, items: Callable[[Any], Iterable[tuple[Any, Any]]],
                 combine: Callable[[Any, Any], Any] | None = None) -> None:
        self.exchange, self.items, self.combine = exchange, items, combine
        self._pending: dict[int, list[bytes]] = {}
        self._combined: dict[Any, Any] = {}
        self._bytes = 0
        self._sizes: dict[int, int] = {}
        self._file: tuple[str, str, Any, pq.ParquetWriter] | None = None

    def start_bundle(self) -> None:
        self._pending, self._combined, self._bytes, self._sizes, self._file = {}, {}, 0, {}, None

    def process(self, element: Any) -> None:
        if self.combine is not None:
            combined, combine = self._combined, self.combine
            for key, value in self.items(element):
                combined[key] = combine(combined[key], value) if key in combined else value
            if len(combined) >= COMBINE_KEYS:
                self._drain()
            return
        for key, item in self.items(element):
            self._add(key, item)

    def _add(self, key: Any, item: Any) -> None:
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending.setdefault(key_partition(key, self.exchange.partitions), []).append(data)
        self._bytes += len(data)
        if self._bytes >= FLUSH_BYTES:
            self._flush()

    def _drain(self) -> None:
        combined, self._combined = self._combined, {}
        for key, value in combined.items():
            self._add(key, (key, value))

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
            self._sizes[partition] = self._sizes.get(partition, 0) + sum(map(len, rows))
        self._pending, self._bytes = {}, 0

    def finish_bundle(self) -> Iterator[Any]:
        self._drain()
        if self._pending:
            self._flush()
        if self._file is not None:
            path, tmp, handle, writer = self._file
            writer.close()
            handle.close()
            fs.commit(tmp, path)
            self._file = None
            yield GlobalWindows.windowed_value((path, tuple(sorted(self._sizes.items()))))


def read_plan(files: Iterable[Written], partitions: int, budget: int) -> dict[int, int]:
    """First partition → end (exclusive) of each run of contiguous partitions one reader takes:
    a run grows while its bytes in `files` stay within `budget` (a larger partition is a run of
    its own). A pure function of the files' sizes, so every reader computes the same plan."""
    totals = [0] * partitions
    for _path, sizes in files:
        for partition, size in sizes:
            totals[partition] += size
    plan: dict[int, int] = {}
    start, held = 0, 0
    for partition, size in enumerate(totals):
        if partition > start and held + size > budget:
            plan[start] = partition
            start, held = partition, 0
        held += size
    plan[start] = partitions
    return plan


def read_partitions(files: Iterable[Written], first: int, end: int) -> Iterator[Any]:
    """The items of partitions `first` ≤ p < `end` of the exchange files `files`, reading only
    their row groups, from only the files that hold some."""
    for path, sizes in sorted(files):
        if not any(first <= partition < end for partition, _ in sizes):
            continue
        with fs.open_raw(path) as handle:
            reader = pq.ParquetFile(handle)
            meta = reader.metadata
            for group in range(meta.num_row_groups):
                if not first <= meta.row_group(group).column(0).statistics.min < end:
                    continue
                for data in reader.read_row_group(group, columns=["item"]).column(0).to_pylist():
                    yield pickle.loads(data)


class _PlannedReader(beam.DoFn):
    """A spread partition number (`Partitions`) → the items of its run of the read plan (none
    unless it starts a run); what the subclass makes of them goes through `then`."""

    def __init__(self, partitions: int, then: Then | None = None) -> None:
        self.partitions, self.then = partitions, then
        self._plan: tuple[list[Written], dict[int, int]] | None = None

    def items(self, partition: int, files: list[Written]) -> Iterator[Any]:
        if self._plan is None or self._plan[0] is not files:  # the same side input for a bundle
            self._plan = (files, read_plan(files, self.partitions, READ_BYTES))
        end = self._plan[1].get(partition)
        return iter(()) if end is None else read_partitions(files, partition, end)

    def outputs(self, partition: int, files: list[Written]) -> Iterable[Any]:
        raise NotImplementedError

    def process(self, spread: tuple[int, Iterable[None]], files: list[Written]) -> Iterator[Any]:
        outputs = self.outputs(spread[0], files)
        if self.then is None:
            yield from outputs
        else:
            for output in outputs:
                yield from self.then(output)


class ReadGroups(_PlannedReader):
    """A partition number → the (key, {tag: [values]}) groups of its run's items (with `single`,
    the tag's values alone: (key, [values]))."""

    def __init__(self, tags: list[str], partitions: int, then: Then | None = None, single: bool = False) -> None:
        super().__init__(partitions, then)
        self.tags, self.single = tags, single

    def outputs(self, partition: int, files: list[Written]) -> Iterable[tuple[Any, Any]]:
        groups: dict[Any, dict[str, list[Any]]] = {}
        for tag, key, value in self.items(partition, files):
            if key not in groups:
                groups[key] = {t: [] for t in self.tags}
            groups[key][tag].append(value)
        if self.single:
            return ((key, group[self.tags[0]]) for key, group in groups.items())
        return groups.items()


class ReadCombined(_PlannedReader):
    """A partition number → the (key, combined value) of its run's keys."""

    def __init__(self, combine: Callable[[Any, Any], Any], partitions: int, then: Then | None = None) -> None:
        super().__init__(partitions, then)
        self.combine = combine

    def outputs(self, partition: int, files: list[Written]) -> Iterable[tuple[Any, Any]]:
        combined: dict[Any, Any] = {}
        for key, value in self.items(partition, files):
            combined[key] = self.combine(combined[key], value) if key in combined else value
        return combined.items()


def _numbered(partitions: int, _impulse: bytes) -> Iterator[tuple[int, None]]:
    return ((partition, None) for partition in range(partitions))


_IMPULSES: weakref.WeakKeyDictionary[beam.Pipeline, beam.PCollection] = weakref.WeakKeyDictionary()
_NUMBERS: weakref.WeakKeyDictionary[beam.Pipeline, dict[int, beam.PCollection]] = weakref.WeakKeyDictionary()


def partition_numbers(pipeline: beam.Pipeline, partitions: int) -> beam.PCollection:
    """(number, None) for 0..`partitions`-1, made once per pipeline (and count) from one `Impulse`:
    every grouping spreads the same numbers, so the local runner makes them all in one stage (not
    15 in the M3W job) and the graph has one step for them, not one per grouping. They are
    applied where first asked for (`build_pipeline` asks at the top level)."""
    if pipeline not in _IMPULSES:
        _IMPULSES[pipeline] = pipeline | "PartitionsImpulse" >> beam.Impulse()
    numbers = _NUMBERS.setdefault(pipeline, {})
    if partitions not in numbers:
        numbers[partitions] = (_IMPULSES[pipeline]
                               | f"PartitionNumbers{partitions}" >> beam.FlatMap(partial(_numbered, partitions)))
    return numbers[partitions]


class Partitions(beam.PTransform):
    """The numbers 0..P-1 spread over the workers by a grouping on the number itself: what
    `Create(range(P))` gives, in one grouping over the pipeline's shared numbers
    (`partition_numbers`) instead of its 13 transforms (its `Reshuffle` adds random keys,
    timestamps and windows that P plain numbers do not need). Each file grouping has its own
    (one spread shared by every grouping would be fewer still, but the local runner then fuses
    readers whose side inputs wait on each other and never runs them). Out: (number, [None])."""

    def __init__(self, partitions: int) -> None:
        super().__init__()
        self.partitions = partitions

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return partition_numbers(pbegin.pipeline, self.partitions) | "Spread" >> beam.GroupByKey()


def _read_each_partition(pipeline: beam.Pipeline, exchange: Exchange, files: list[beam.PCollection],
                         reader: _PlannedReader) -> beam.PCollection:
    written = beam.pvalue.AsList(files[0] if len(files) == 1 else files | "Files" >> beam.Flatten())
    return pipeline | "Partitions" >> Partitions(exchange.partitions) | "Read" >> beam.ParDo(reader, written)


def _pairs(kv: tuple[Any, Any]) -> list[tuple[Any, Any]]:
    return [kv]


def _tagged(tag: str, items: Items) -> Items:
    """A cogroup writer's items: (key, (tag, key, value)) for each (key, value) of `items`."""
    return lambda element: [(key, (tag, key, value)) for key, value in items(element)]


class FileCoGroupByKey(beam.PTransform):
    """`CoGroupByKey` of a dict of keyed PCollections ((key, {tag: [values]}) out), through files."""

    def __init__(self, exchange: Exchange, items: dict[str, Items] | None = None, then: Then | None = None,
                 single: bool = False) -> None:
        super().__init__()
        self.exchange, self.items, self.then, self.single = exchange, items or {}, then, single

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.PCollection:
        tags = sorted(inputs)
        files = [inputs[tag] | f"Write_{tag}" >> beam.ParDo(WriteRows(self.exchange, _tagged(tag, self.items.get(tag, _pairs))))
                 for tag in tags]
        return _read_each_partition(inputs[tags[0]].pipeline, self.exchange, files,
                                    ReadGroups(tags, self.exchange.partitions, self.then, self.single))


class FileGroupByKey(beam.PTransform):
    """`GroupByKey` ((key, [values]) out) through files, as `FileCoGroupByKey` is."""

    def __init__(self, exchange: Exchange, items: Items | None = None, then: Then | None = None) -> None:
        super().__init__()
        self.exchange, self.items, self.then = exchange, items, then

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        items = {"value": self.items} if self.items is not None else None
        return {"value": pcoll} | "Group" >> FileCoGroupByKey(self.exchange, items, self.then, single=True)


class FileCombinePerKey(beam.PTransform):
    """`CombinePerKey` with a binary, associative and commutative `combine` ((key, combined)
    out), through files: a key holds one value in a writer's bundle and one in its reader."""

    def __init__(self, exchange: Exchange, combine: Callable[[Any, Any], Any], items: Items | None = None,
                 then: Then | None = None) -> None:
        super().__init__()
        self.exchange, self.combine, self.items, self.then = exchange, combine, items or _pairs, then

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        files = [pcoll | "Write" >> beam.ParDo(WriteRows(self.exchange, self.items, self.combine))]
        return _read_each_partition(pcoll.pipeline, self.exchange, files,
                                    ReadCombined(self.combine, self.exchange.partitions, self.then))
