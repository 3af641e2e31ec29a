"""Per-store work: the unit the M3W job reads, resumes and writes by.

A *store* is one input archive, or a batch of small input files (single HTML pages). Each pass
over a store (documents, media, shards) writes its bulky results to intermediate files under
`OUTPUT/_work/` and a completion marker holding its counters and its small outputs. A rerun with
the same fingerprint skips every store pass whose marker is there: it counts the stored counters
again and re-emits the stored small outputs, so the rerun's stats and shards equal a clean run's
(img2dataset's incremental mode, datatrove's completion markers). Bulky values never go through a
Beam shuffle, so neither the launcher nor a worker holds more than one store's batch at a time.
The intermediate files are removed when the job has published its dataset.
"""

from __future__ import annotations

import bisect
import hashlib
import pickle
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipelines import fs
from pipelines.metrics import REJECTS, count, recording, replay
from pipelines.read import HTML_SUFFIXES
from pipelines.shard_io import RejectsWriter

WORK = "_work"
ROWS_PER_GROUP = 256  # pickled values per parquet row group: what a reader holds at once,
GROUP_BYTES = 8 << 20  # or fewer when they reach this size (documents with their decoded media: ~100 KB each)
FILES_PER_STORE = 64  # single-page inputs batched into one store
_SCHEMA = pa.schema([("value", pa.binary())])


def work_path(output: str, *parts: str) -> str:
    return fs.join(output, WORK, *parts)


def make_stores(files: list[str]) -> list[tuple[int, str, list[str]]]:
    """(ordinal, store id, files) for the sorted input files: each archive alone, single pages in
    batches of `FILES_PER_STORE`, so a folder of pages does not become a store (and a shard) per page."""
    groups: list[list[str]] = []
    pages: list[str] = []
    for path in sorted(set(files)):
        if path.lower().endswith(HTML_SUFFIXES):
            pages.append(path)
            if len(pages) == FILES_PER_STORE:
                groups.append(pages)
                pages = []
        else:
            groups.append([path])
    if pages:
        groups.append(pages)
    return [(i, hashlib.sha256("\n".join(g).encode("utf-8", "surrogatepass")).hexdigest()[:20], g)
            for i, g in enumerate(groups)]


class PickleWriter:
    """Append picklable values to a parquet file of one binary column, a row group at a time;
    written under a temporary name and renamed on `close` (a killed pass leaves no partial file)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.tmp = fs.temp_name(path)
        self.handle = FileSystems.create(self.tmp, compression_type=CompressionTypes.UNCOMPRESSED)
        self.writer = pq.ParquetWriter(self.handle, _SCHEMA, compression="zstd")
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.count = 0

    def append(self, value: Any) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self.pending.append(data)
        self.pending_bytes += len(data)
        self.count += 1
        if len(self.pending) >= ROWS_PER_GROUP or self.pending_bytes >= GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.table({"value": self.pending}, schema=_SCHEMA))
            self.pending = []
            self.pending_bytes = 0

    def close(self) -> None:
        self._flush()
        self.writer.close()
        self.handle.close()
        fs.commit(self.tmp, self.path)


def read_pickles(path: str) -> Iterator[Any]:
    """The values a `PickleWriter` wrote, in order, one row group in memory at a time."""
    with fs.open_raw(path) as handle:
        reader = pq.ParquetFile(handle)
        for group in range(reader.num_row_groups):
            for value in reader.read_row_group(group, columns=["value"]).column(0).to_pylist():
                yield pickle.loads(value)


class PickleRows:
    """Values of a `PickleWriter` file by row number, one row group in memory at a time: what a
    pass fetches a few values of a large file with (the crawled records a batch of documents needs)."""

    def __init__(self, path: str) -> None:
        self.handle = fs.open_raw(path)
        self.reader = pq.ParquetFile(self.handle)
        sizes = [self.reader.metadata.row_group(g).num_rows for g in range(self.reader.num_row_groups)]
        self.starts = [sum(sizes[:g]) for g in range(len(sizes))]
        self.group: tuple[int, list[bytes]] = (-1, [])

    def __getitem__(self, row: int) -> Any:
        group = bisect.bisect_right(self.starts, row) - 1
        if self.group[0] != group:
            self.group = (group, self.reader.read_row_group(group, columns=["value"]).column(0).to_pylist())
        return pickle.loads(self.group[1][row - self.starts[group]])

    def close(self) -> None:
        self.handle.close()


class StorePass(beam.DoFn):
    """A resumable pass over one store: `run(store, payload)` yields small outputs (main or
    tagged) and rejects rows; the pass writes the outputs to `_work/{name}/{store}.outputs.parquet`
    and the rows to `rejects/{name}-{store}-NNN.parquet` as they come, then its marker
    (fingerprint, counters). Then, and on a rerun that finds a marker of this fingerprint instead
    of running, it emits the stored outputs."""

    name = ""
    counter_stage = ""  # the stage a resumed store is counted under (`<stage>/n_resumed_stores`)

    def __init__(self, output: str, fingerprint: str) -> None:
        self.output = output
        self.fingerprint = fingerprint

    def marker(self, store: str) -> str:
        return work_path(self.output, self.name, f"{store}.done")

    def finished(self, store: str) -> dict | None:
        path = self.marker(store)
        if not fs.exists(path):
            return None
        try:
            done = pickle.loads(fs.read_bytes(path))
        except (pickle.UnpicklingError, EOFError, ValueError):
            return None
        return done if done.get("fingerprint") == self.fingerprint else None

    def run(self, store: str, payload: Any, *side: Any) -> Iterable[Any]:
        raise NotImplementedError

    def outputs(self, store: str) -> str:
        return work_path(self.output, self.name, f"{store}.outputs.parquet")

    def process(self, element, *side):
        store, payload = element
        done = self.finished(store)
        resumed = done is not None
        if resumed:
            count(self.counter_stage, "n_resumed_stores")
        else:
            done = self._run(store, payload, side)
        replay(done["counters"], live=resumed)
        for tag, value in read_pickles(self.outputs(store)):  # the run's outputs, a row group at a time
            yield value if tag is None else beam.pvalue.TaggedOutput(tag, value)

    def _run(self, store: str, payload: Any, side: tuple) -> dict:
        """Run the pass: its outputs go to a side file and its rejects rows to rejects files as they
        come (a store of 40k pages holds neither in memory), then the marker is written."""
        outputs = PickleWriter(self.outputs(store))
        rejects = RejectsWriter(self.output, f"{self.name}-{store}")
        with recording() as counters:
            for out in self.run(store, payload, *side):
                if isinstance(out, beam.pvalue.TaggedOutput) and out.tag == REJECTS:
                    rejects.add(out.value)
                elif isinstance(out, beam.pvalue.TaggedOutput):
                    outputs.append((out.tag, out.value))
                else:
                    outputs.append((None, out))
        rejects.close()
        outputs.close()
        done = {"fingerprint": self.fingerprint, "counters": dict(counters), "n_outputs": outputs.count}
        fs.write_bytes_atomic(self.marker(store), pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL))
        return done


def remove_work(output: str) -> None:
    """Delete the intermediate files once the dataset is published."""
    folder = fs.join(output, WORK)
    if fs.exists(folder):
        FileSystems.delete([folder])
