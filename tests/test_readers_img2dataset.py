"""Pair datasets in img2dataset's layout: status vocabulary with our reason in `error_message`,
`{shard}_stats.json` per shard, an `exif` column (docs/readers.md lists what still differs)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import webdataset as wds

from m3w_builder.media.images import ImageOptions
from m3w_builder.media.process import process_media
from m3w_builder.pairs.items import make_item, pair_sample
from m3w_builder.samples.assemble import ShardSample
from tests.conftest import shared_path

STATUSES = {"success", "failed_to_download", "failed_to_resize"}


def test_manifest_status_and_shard_stats_follow_img2dataset(sample_output):
    out = sample_output("ltip")
    rows = [r for p in sorted(out.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert {r["status"] for r in rows} == STATUSES
    by_reason = {r["reason"]: r for r in rows}
    assert by_reason["http_404"]["status"] == by_reason["missing_caption"]["status"] == "failed_to_download"
    assert by_reason["too_small"]["status"] == by_reason["truncated"]["status"] == "failed_to_resize"
    for row in rows:
        if row["status"] == "success":
            assert row["error_message"] is None and row["reason"] == "success"
        else:
            assert row["error_message"].split(":")[0] == row["reason"] != "success"
    dataset = json.loads((out / "dataset.json").read_text())
    for shard in dataset["shardlist"]:
        stem = shard["url"][: -len(".tar")]
        stats = json.loads((out / f"{stem}_stats.json").read_text())
        shard_rows = pq.read_table(out / f"{stem}.parquet").to_pylist()
        assert stats["count"] == len(shard_rows) and stats["successes"] == shard["nsamples"]
        assert stats["successes"] + stats["failed_to_download"] + stats["failed_to_resize"] == stats["count"]
        assert sum(stats["status_dict"].values()) == stats["count"] and stats["duration"] >= 0
        assert stats["status_dict"]["success"] == stats["successes"]


def test_exif_of_the_source_image_is_kept():
    data = shared_path("images", "pillow-tests", "xmp_test.jpg").read_bytes()
    item = make_item("http://img.test/x.jpg", "a camera photo of a street", "image", "list.csv#1")
    sample = pair_sample(item, process_media(item.url, "image", data, ImageOptions()))
    assert isinstance(sample, ShardSample)
    exif = json.loads(sample.row["exif"])
    assert exif["DateTimeOriginal"] == "2018:10:27 13:27:23" and exif["ExifVersion"] == "0230"
    assert json.loads(dict(sample.members)["json"])["exif"] == sample.row["exif"]
    broken = pair_sample(item, process_media(item.url, "image", data[: len(data) // 3], ImageOptions()))
    assert broken["status"] == "failed_to_resize" and broken["error_message"].startswith(broken["reason"])


def test_extra_input_columns_are_real_columns_in_every_shard(tmp_path):
    from pipelines.pairs import run

    out = tmp_path / "ltip"
    run(["--source", "ltip", "--output", str(out), "--no_http", "--direct_num_workers=1", "--no_report",
         "--samples_per_shard", "8"])
    manifests = sorted(out.glob("ltip-*.parquet"))
    schemas = {str(pq.read_schema(p).remove_metadata()) for p in manifests}
    assert len(manifests) > 2 and len(schemas) == 1  # one schema, so any reader can concatenate them
    table = pq.read_table(manifests)
    assert "extra" not in table.column_names and table.schema.field("license").type == "string"
    rows = table.to_pylist()
    assert {r["license"] for r in rows if r["reason"] == "success"} == {"CC0-1.0"}
    row = next(r for r in rows if r["reason"] == "success")  # its sample json carries the same value
    sample = next(s for t in sorted(out.glob("*.tar")) for s in wds.WebDataset(str(t), shardshuffle=False)
                  if s["__key__"] == row["key"])
    assert json.loads(sample["json"])["license"] == row["license"]
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("parquet", data_files=[str(p) for p in manifests], split="train",
                                   cache_dir=str(tmp_path / "cache"))
    assert len(loaded) == len(rows) and "license" in loaded.column_names
