"""A store pass holds a bounded amount whatever the pages of its input file (one Common Crawl WARC
holds 30-40k pages): its outputs go to a side file and its rejects rows to rejects files as they
come, its marker holds counters only, and a resumed run streams the same outputs back. Measured by
the Python memory traced while the pass runs, not by time."""

from __future__ import annotations

import hashlib
import pickle
import tracemalloc

import apache_beam as beam
import pyarrow.parquet as pq

from pipelines import shard_io, work
from pipelines.metrics import count, drop
from pipelines.work import PickleRows, PickleWriter, StorePass

VALUE_BYTES = 4096


class BulkyPass(StorePass):
    """Per page: a 4 KB main output, a small tagged output and a rejects row."""

    name = "bulky"
    counter_stage = "bulky"

    def run(self, store: str, pages: int):
        for i in range(pages):
            count("bulky", "kept")
            yield i.to_bytes(4, "big") * (VALUE_BYTES // 4)
            yield beam.pvalue.TaggedOutput("side", (store, i))
            yield drop("bulky", "too_odd", f"id-{i:06d}", f"https://x.example/{i}", "odd")


def _pass_over(output: str, pages: int, rows_per_rejects_file: int) -> tuple[int, str, int]:
    """(traced peak bytes while the pass runs and its outputs are consumed, digest of the outputs
    in order, number of outputs). Run through the `fresh_interpreter` fixture: tracemalloc is unsafe
    in a process that ran a pipeline."""
    shard_io.ROWS_PER_REJECTS_FILE = rows_per_rejects_file
    digest = hashlib.sha256()
    n = 0
    tracemalloc.start()
    try:
        for out in BulkyPass(output, "fp").process((f"s{pages}", pages)):
            value = (out.tag, out.value) if isinstance(out, beam.pvalue.TaggedOutput) else (None, out)
            digest.update(pickle.dumps(value))
            n += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, digest.hexdigest(), n


def test_a_store_pass_holds_the_same_whatever_its_pages(tmp_path, fresh_interpreter):
    small, large = 1_000, 8_000
    peak_small, _, n_small = fresh_interpreter(_pass_over, str(tmp_path), small, 500)
    peak_large, digest, n_large = fresh_interpreter(_pass_over, str(tmp_path), large, 500)
    assert (n_small, n_large) == (2 * small, 2 * large)
    # Holding every output would take > 8000 x 4 KB = 32 MB: what it holds is a row group and a rejects chunk.
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)
    assert peak_large < large * VALUE_BYTES / 4
    marker = tmp_path / "_work" / "bulky" / f"s{large}.done"
    assert marker.stat().st_size < 1000  # fingerprint and counters, no outputs
    files = sorted((tmp_path / "rejects").glob(f"bulky-s{large}-*.parquet"))
    assert len(files) == large // 500
    rows = [row for f in files for row in pq.read_table(f).to_pylist()]
    assert all(len(pq.read_table(f)) <= 500 for f in files)
    assert [r["id"] for r in rows] == [f"id-{i:06d}" for i in range(large)]
    # A rerun finds the marker and streams the same outputs back, in the same order.
    assert fresh_interpreter(_pass_over, str(tmp_path), large, 500)[1:] == (digest, 2 * large)


def test_row_groups_are_bounded_in_bytes_and_rows_read_by_number(tmp_path, monkeypatch):
    """Large values (documents with their decoded media) close a row group early; any row can be
    read back by number, one row group in memory at a time."""
    monkeypatch.setattr(work, "GROUP_BYTES", 20_000)
    path = str(tmp_path / "values.parquet")
    writer = PickleWriter(path)
    for i in range(1000):
        writer.append((f"https://x.example/{i}", bytes([i % 256]) * (5000 if i % 100 == 0 else 10)))
    writer.close()
    groups = pq.ParquetFile(path).metadata
    assert groups.num_rows == 1000 and groups.num_row_groups > 1000 // work.ROWS_PER_GROUP + 1
    assert all(groups.row_group(g).total_byte_size < 4 * 20_000 for g in range(groups.num_row_groups))
    rows = PickleRows(path)
    try:
        wanted = (999, 0, 257, 256, 255, 500, 512)
        assert [rows[i] for i in wanted] == [(f"https://x.example/{i}", bytes([i % 256]) * (5000 if i % 100 == 0 else 10))
                                             for i in wanted]
    finally:
        rows.close()


def test_frequent_content_is_counted_per_item_through_files(tmp_path):
    """Content keys over the limit of items, counted per key through file groupings over the
    (key, item) pairs each item's media pass emits once: a logo on 3 pages goes, a photo on 2 stays (limit 2)."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    from pipelines.exchange import Exchange
    from pipelines.media_stage import FrequentContent

    pairs = [("logo", "doc-a"), ("logo", "doc-b"), ("logo", "doc-c"), ("photo", "doc-a"), ("photo", "doc-b"),
             ("own", "doc-c")]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        assert_that(p | beam.Create(pairs) | FrequentContent(2, Exchange(str(tmp_path), 2)), equal_to(["logo"]))
