"""The real Beam job (FnApiRunner) end to end: shards read back with `webdataset`, byte-identical
reruns, kill-and-rerun, every shared page and archive accounted for, and a Dataflow dry run."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image

from m3w_builder.demo.crawl import write_sample_crawl
from m3w_builder.demo.crawl_media import PALETTE
from m3w_builder.samples.tokenizer import Tokenizer
from pipelines.m3w import run
from pipelines.progress import is_drop
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ["--direct_num_workers=1", "--no_http"]  # no network here: media come from the crawl or fail
DESCRIPTION = re.compile(r"(red|green|blue|yellow|purple|orange|black|white) (circle|square|triangle|star|stripes)")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return write_sample_crawl(tmp_path_factory.mktemp("crawl"))


@pytest.fixture(scope="module")
def built(sample, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("m3w")
    dataset = run(["--input", str(sample), "--output", str(out), *LOCAL])
    return out, dataset


def md5s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.suffix in (".tar", ".idx", ".parquet", ".model")}


def test_shards_read_back_with_webdataset_and_keep_the_contract(built):
    out, dataset = built
    tok = Tokenizer((out / "tokenizer.model").read_bytes())
    assert dataset["tokenizer"]["image_token_id"] == tok.image_id
    shards = dataset["shardlist"]
    assert shards and sum(s["nsamples"] for s in shards) >= 30
    n = 0
    for shard in shards:
        path = out / shard["url"]
        assert hashlib.md5(path.read_bytes()).hexdigest() == shard["md5sum"]
        assert path.stat().st_size == shard["filesize"]
        for sample in wds.WebDataset(str(path), shardshuffle=False):
            n += 1
            meta = json.loads(sample["json"])
            ids = meta["input_ids"]
            images = sorted(k for k in sample if k.endswith(".jpg"))
            assert len(ids) <= 256
            assert ids.count(tok.image_id) == len(meta["images"]) == meta["text"].count("<image>") <= 5
            assert tok.decode(ids) == meta["text"]
            assert len(images) == sum(len(m.get("frames", [])) or 1 for m in meta["images"])
            for entry in meta["images"]:
                members = [f["member"] for f in entry["frames"]] if entry["kind"] == "video" else [entry["member"]]
                for member in members:
                    with Image.open(io.BytesIO(sample[member])) as im:
                        assert im.mode == "RGB" and min(im.size) <= 256
        rows = pq.read_table(out / shard["url"].replace(".tar", ".parquet")).to_pylist()
        assert sum(1 for r in rows if r["status"] == "success") == shard["nsamples"]
        idx = (out / shard["url"].replace(".tar", ".idx")).read_text().splitlines()
        assert idx[0] == f"v1.2 {shard['nsamples']}"
    assert n == sum(s["nsamples"] for s in shards)
    stats = json.loads((out / "stats.json").read_text())["counters"]
    assert stats == dataset["stats"] and stats["media/kept"] > 100


def test_each_image_sits_in_the_slot_its_text_describes(built):
    """The paragraph after each <image> in the sample describes that image: check the pixels."""
    out, dataset = built
    checked = 0
    for shard in dataset["shardlist"]:
        for sample in wds.WebDataset(str(out / shard["url"]), shardshuffle=False):
            meta = json.loads(sample["json"])
            chunks = meta["text"].split("<image>")[1:]
            for entry, after in zip(meta["images"], chunks):
                match = DESCRIPTION.search(after.split("<EOC>")[0][:200])
                if entry["kind"] != "image" or not match or match.start() > 120:
                    continue
                with Image.open(io.BytesIO(sample[entry["member"]])) as im:
                    pixels = np.asarray(im.convert("RGB"), dtype=np.int32).reshape(-1, 1, 3)
                names = list(PALETTE)
                palette = np.array([PALETTE[c] for c in names], dtype=np.int32).reshape(1, -1, 3)
                nearest = np.bincount(((pixels - palette) ** 2).sum(axis=2).argmin(axis=1), minlength=len(names))
                top_two = {names[i] for i in np.argsort(nearest)[-2:]}
                assert match.group(1) in top_two, (meta["key"], match.group(0))
                checked += 1
    assert checked >= 20


def test_videos_become_frame_sequences(built):
    out, dataset = built
    frames = []
    for shard in dataset["shardlist"]:
        for sample in wds.WebDataset(str(out / shard["url"]), shardshuffle=False):
            for entry in json.loads(sample["json"])["images"]:
                if entry["kind"] == "video":
                    frames.append([f["t"] for f in entry["frames"]])
    if not frames:
        pytest.skip("no window of this seed holds a video")
    assert all(ts == sorted(ts) and len(ts) >= 2 for ts in frames)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(built, sample, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    run(["--input", str(sample), "--output", str(again), *LOCAL])
    assert md5s(again) == md5s(out)
    random_windows = ["--window_mode", "random", "--windows_per_doc", "2", *LOCAL]
    first, second = tmp_path / "seed0", tmp_path / "seed1"
    run(["--input", str(sample), "--output", str(first), *random_windows])
    run(["--input", str(sample), "--output", str(second), "--seed", "1", *random_windows])
    assert md5s(first) != md5s(second)


def test_killed_run_leaves_no_truncated_tar_and_rerun_matches(sample, tmp_path):
    args = ["--input", str(sample), "--samples_per_shard", "20", *LOCAL]
    reference = tmp_path / "reference"
    run([*args, "--output", str(reference)])
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "pipelines.m3w", *args, "--output", str(killed)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(killed.glob("*.tar")) and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "dataset.json").exists(), "the job finished before it could be killed"
    expected = md5s(reference)
    for tar in killed.glob("*.tar"):  # whatever is under a final name is complete and final
        with tarfile.open(tar) as t:
            t.getmembers()
        assert hashlib.md5(tar.read_bytes()).hexdigest() == expected[tar.name]
    run([*args, "--output", str(killed)])
    assert md5s(killed) == expected
    assert not [p for p in killed.iterdir() if ".tmp-" in p.name]


def _drops(stats: dict, stage: str) -> int:
    """Items `stage` dropped: every counter of it but `kept` and the volumes `n_*`."""
    return sum(v for k, v in stats.items() if k.split("/")[0] == stage and is_drop(k))


def test_kept_plus_dropped_equals_what_came_in(built):
    """Stage by stage on the embedded sample, and a rejects row for every dropped document."""
    out, dataset = built
    stats = dataset["stats"]
    chain = ["read", "extract", "filter", "language", "url_dedup", "near_dup", "image_set_dedup", "paragraph_dedup",
             "assemble"]
    for before, stage in zip(chain, chain[1:]):
        assert stats[f"{stage}/kept"] + _drops(stats, stage) == stats[f"{before}/kept"], stage
    assert stats["window/kept"] + stats.get("window/too_few_images", 0) == stats["window/n_windows_made"]
    assert stats["shard/n_samples"] == stats["window/kept"] == sum(s["nsamples"] for s in dataset["shardlist"])
    rows = pq.read_table(out / "rejects").to_pylist()
    for stage in [*chain, "media", "media_requests", "assemble_media"]:
        assert sum(1 for r in rows if r["stage"] == stage) == _drops(stats, stage), stage
    assert _drops(stats, "assemble_media") > 0  # media nodes that left in assembly: each has its row
    # a document without any window has a row; windows cut short of images are counted only
    assert sum(1 for r in rows if r["stage"] == "window") == stats.get("window/no_window", 0)


def test_small_dataset_splits_across_dataloader_workers(built):
    """`--min_shards` (default 8): two DataLoader workers each get shards of the embedded sample."""
    torch_data = pytest.importorskip("torch.utils.data")
    out, dataset = built
    urls = [str(out / s["url"]) for s in dataset["shardlist"]]
    assert len(urls) == 8
    source = wds.WebDataset(urls, shardshuffle=False, workersplitter=wds.split_by_worker).map(lambda s: s["__key__"])
    keys = list(torch_data.DataLoader(source, num_workers=2, batch_size=None))
    assert len(keys) == len(set(keys)) == sum(s["nsamples"] for s in dataset["shardlist"])


def test_every_shared_html_page_is_accounted_for(tmp_path):
    html = shared_path("html")
    files = sorted(p for p in html.rglob("*") if p.suffix.lower() in (".html", ".htm"))
    out = tmp_path / "html"
    inputs = sorted({str(p.parent / f"*{p.suffix}") for p in files})
    args = [a for i in inputs for a in ("--input", i)]
    dataset = run([*args, "--output", str(out), "--url_map", str(html / "warc-extracted" / "index.jsonl"),
                   "--min_doc_images", "0", "--min_window_images", "0", *LOCAL])
    stats = dataset["stats"]
    assert stats["read/n_html_files"] == stats["read/kept"] == len(files)
    assert stats["extract/kept"] + _drops(stats, "extract") == len(files)
    assert stats["filter/kept"] + _drops(stats, "filter") == stats["extract/kept"]
    rejects = pq.read_table(out / "rejects").to_pylist()
    quality_drops = sum(1 for r in rejects if r["stage"] not in ("read", "extract", "extract_media", "filter",
                                                                  "media_requests", "media", "assemble",
                                                                  "assemble_media", "window"))
    assert quality_drops == sum(_drops(stats, s) for s in
                                ("url_dedup", "near_dup", "image_set_dedup", "optout", "language", "paragraph_dedup"))
    capped = _drops(stats, "media_requests")
    assert stats["assemble/kept"] + stats.get("assemble/duplicate_document", 0) + quality_drops + capped == \
        stats["filter/kept"]
    assert stats["media/not_found"] > 0  # no network: every image is a counted failure
    page_drops = sum(_drops(stats, s) for s in ("extract", "filter", "media_requests", "assemble"))
    assert sum(1 for r in rejects if r["stage"] in ("extract", "filter", "media_requests", "assemble")) == page_drops
    assert sum(1 for r in rejects if r["stage"] == "media") == _drops(stats, "media")
    over_limit = stats.get("extract_media/media_over_page_limit", 0)  # one row per page
    over_rows = sum(1 for r in rejects if r["reason"] == "media_over_page_limit")
    assert sum(1 for r in rejects if r["stage"] == "extract_media") == _drops(stats, "extract_media") - over_limit + over_rows
    assert _drops(stats, "extract_media") > 1000  # logos, teasers, images outside the content
    assert sum(1 for r in rejects if r["stage"] == "assemble_media") == _drops(stats, "assemble_media")


def test_every_shared_warc_is_accounted_for(tmp_path):
    warc = shared_path("warc")
    files = sorted(p for p in warc.rglob("*") if p.is_file())
    out = tmp_path / "warc"
    args = [a for d in sorted({p.parent for p in files}) for a in ("--input", str(d / "*"))]
    dataset = run([*args, "--output", str(out), "--min_doc_images", "0", "--min_window_images", "0",
                   "--min_words", "5", *LOCAL])
    stats = dataset["stats"]
    assert stats["read/n_archives"] == len(files)
    assert stats["extract/kept"] + _drops(stats, "extract") == stats["read/kept"] == stats["read/n_html_records"]
    assert "read/unknown_format" not in stats and stats["read/recovered_whole_file_gzip"] >= 1  # LZ4 WARCs are read
    assert stats["media/unsupported_format"] >= 1  # iana.warc.gz replays its own SVGs from the archive


def test_dataflow_dry_run_translates_the_real_graph(monkeypatch):
    pytest.importorskip("apache_beam.runners.dataflow.dataflow_runner")
    pytest.importorskip("google.cloud.storage")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    result = run(["--input", "gs://m3w-placeholder/crawl/*.warc.gz", "--output", "gs://m3w-placeholder/out",
                  "--runner=DataflowRunner", "--dry_run=True", "--project=m3w-placeholder", "--region=us-central1",
                  "--temp_location=gs://m3w-placeholder/tmp", f"--setup_file={ROOT / 'setup.py'}"])
    assert result["dry_run"] is True
    for step in ("Stores", "Documents", "Quality", "Media", "FrequentContent", "TrainTokenizer",
                 "Shards", "Finalize", "Rejects"):
        assert step in result["steps"], step


def test_common_crawl_paths_list_is_expanded(tmp_path):
    """A `warc.paths.gz` list (relative paths, as Common Crawl publishes them) under --cc_base."""
    import gzip

    warc = shared_path("warc")
    relative = ["resiliparse/warcfile.warc.gz", "dolma/sample-0000.warc.gz"]
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(gzip.compress("\n".join(relative).encode()))
    dataset = run(["--input", str(listing), "--cc_base", str(warc) + "/", "--output", str(tmp_path / "out"),
                   "--min_doc_images", "0", "--min_window_images", "0", "--no_report", *LOCAL])
    assert dataset["stats"]["read/n_archives"] == 2 and dataset["stats"]["read/kept"] > 10
