"""Rejects files grow with the data: as many parquet files per stage as its rows need, each
sorted, every row written once (a fixed number of buckets would make each file, sorted in
memory by its writer, grow with the corpus)."""

from __future__ import annotations

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipelines import shard_io


def test_rejects_files_follow_the_row_count(tmp_path, monkeypatch):
    monkeypatch.setattr(shard_io, "ROWS_PER_REJECTS_FILE", 100)
    rows = [{"id": f"doc-{i:04d}", "url": f"https://x.example/{i}", "stage": "extract" if i % 5 else "filter",
             "reason": "too_short", "detail": ""} for i in range(1000)]
    pipeline = beam.Pipeline(runner=FnApiRunner())
    _ = pipeline | beam.Create(rows, reshuffle=False) | shard_io.RejectsFiles(str(tmp_path))
    pipeline.run().wait_until_finish()
    files = sorted((tmp_path / "rejects").glob("*.parquet"))
    assert {f.name.split("-")[0] for f in files} == {"extract", "filter"}
    assert len(files) > 10  # 1000 rows at 100 per file: ~10 buckets per stage, some may be empty
    written = []
    for f in files:
        table = pq.read_table(f).to_pylist()
        assert table == sorted(table, key=lambda r: (r["id"], r["url"], r["reason"]))
        assert len(table) < 250
        written += table
    assert sorted(written, key=lambda r: r["id"]) == rows
