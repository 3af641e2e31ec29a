"""Every reader opens our output with no glue, each tested with the real library on the embedded
samples: the DALI index (and DALI's webdataset reader when `nvidia-dali` is installed), wids random
access by index, the Hugging Face parquet export (datasets and pyarrow), and `m3w_builder.show`."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds

from m3w_builder.output.dataset import iter_samples
from m3w_builder.output.hf import export as export_hf
from tests.test_shards_records import assert_index_slices_members

KINDS = ["m3w", "ltip", "vtp"]


def _shards(out: Path) -> list[Path]:
    return [out / s["url"] for s in json.loads((out / "dataset.json").read_text())["shardlist"]]


@pytest.mark.parametrize("kind", KINDS)
def test_every_index_entry_slices_its_member(sample_output, kind):
    out = sample_output(kind)
    for tar in _shards(out):
        assert_index_slices_members(tar.with_suffix(".idx").read_text(), tar.read_bytes())


@pytest.mark.parametrize("kind", KINDS)
def test_dali_webdataset_reader_returns_our_bytes(sample_output, kind):
    pytest.importorskip("nvidia.dali", reason="nvidia-dali not installed (optional: pip install nvidia-dali-cuda120)")
    from nvidia.dali import fn, pipeline_def

    out = sample_output(kind)
    media_ext = {"m3w": "0.jpg;0.000.jpg", "ltip": "jpg", "vtp": "000.jpg"}[kind]
    for tar in _shards(out):
        expected = [s for s in wds.WebDataset(str(tar), shardshuffle=False)]

        @pipeline_def(batch_size=len(expected), num_threads=1, device_id=None, seed=0)
        def read(tar=tar):
            metas, media = fn.readers.webdataset(paths=[str(tar)], index_paths=[str(tar.with_suffix(".idx"))],
                                                 ext=["json", media_ext], missing_component_behavior="error",
                                                 random_shuffle=False)
            return metas, media

        pipe = read()
        pipe.build()
        metas, media = pipe.run()
        for i, sample in enumerate(expected):
            assert bytes(metas.at(i)) == sample["json"]
            first = next(sample[e] for e in media_ext.split(";") if e in sample)
            assert bytes(media.at(i)) == first


@pytest.mark.parametrize("kind", KINDS)
def test_wids_random_access_by_index(sample_output, kind):
    wids = pytest.importorskip("wids")
    out = sample_output(kind)
    ordered = list(iter_samples(out))
    dataset = wids.ShardListDataset(str(out / "dataset.json"), transformations=[])
    assert len(dataset) == len(ordered) > 0
    indices = sorted(random.Random(0).sample(range(len(ordered)), min(25, len(ordered))) + [0, len(ordered) - 1])
    for index in reversed(indices):  # backwards and scattered: no streaming order to lean on
        got, want = dataset[index], ordered[index]
        assert got["__key__"] == want.key
        assert json.loads(got[".json"].read()) == want.meta
        for _kind, members in want.media():
            assert got["." + members[0]].read() == want.members[members[0]]


@pytest.mark.parametrize("kind", KINDS)
def test_hugging_face_parquet_export(sample_output, kind, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = sample_output(kind)
    files = export_hf(out, tmp_path / "hf", rows_per_file=40)
    ordered = list(iter_samples(out))
    assert [f.name for f in files] == [f"train-{i:05d}-of-{len(files):05d}.parquet" for i in range(len(files))]
    table = pq.read_table(tmp_path / "hf" / "data")
    assert table.num_rows == len(ordered) and table.column("key").to_pylist() == [s.key for s in ordered]
    loaded = datasets.load_dataset("parquet", data_dir=str(tmp_path / "hf"), split="train",
                                   cache_dir=str(tmp_path / "cache"))
    assert isinstance(loaded.features["images"].feature, datasets.Image) and len(loaded) == len(ordered)
    raw = loaded.cast_column("images", datasets.List(datasets.Image(decode=False)))
    for row, sample in zip(raw, ordered):
        images, texts = row["images"], row["texts"]
        assert len(images) == len(texts) and all((i is None) != (t is None) for i, t in zip(images, texts))
        media = [members[0] for _kind, members in sample.media()] if kind != "vtp" else sample.media()[0][1]
        assert [i["bytes"] for i in images if i is not None] == [sample.members[m] for m in media]
        words = [t for t in texts if t is not None]
        if kind == "m3w":
            pieces = [p.replace("<EOC>", "").strip() for p in sample.meta["text"].split("<image>")]
            assert words == [p for p in pieces if p] and row["text"] == sample.meta["text"]
            assert [i is not None for i in images] == [p == "image" for p in _m3w_layout(sample.meta["text"])]
        else:
            assert words == [sample.meta["caption"]] and texts[-1] == sample.meta["caption"]
        assert json.loads(row["general_metadata"])["url"] == sample.meta["url"] == row["url"]
    first = loaded[0]["images"]
    assert any(image is not None and image.size[0] > 0 for image in first)  # decoded as PIL images


def _m3w_layout(text: str) -> list[str]:
    """'text' / 'image' per position of a window, from its marker text (the ground truth)."""
    layout = []
    for i, piece in enumerate(text.split("<image>")):
        if i:
            layout.append("image")
        if piece.replace("<EOC>", "").strip():
            layout.append("text")
    return layout


def _show(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "m3w_builder.show", *args], capture_output=True, text=True,
                          timeout=120)


def test_show_prints_a_sample_by_index_and_key_and_saves_its_images(sample_output, tmp_path):
    out = sample_output("m3w")
    sample = list(iter_samples(out))[3]
    by_index, by_key = _show(str(out), "3", "--save_images", str(tmp_path / "img")), _show(str(out), sample.key)
    assert by_index.returncode == by_key.returncode == 0
    assert by_index.stdout.split("\nsaved")[0].rstrip("\n") == by_key.stdout.rstrip("\n")
    assert f"key: {sample.key}" in by_key.stdout and sample.meta["text"] in by_key.stdout
    assert by_key.stdout.count("\n  [") == len(sample.meta["images"])
    saved = sorted(p.name for p in (tmp_path / "img").iterdir())
    assert saved == sorted(f"{sample.key}.{m}" for _k, members in sample.media() for m in members)
    assert (tmp_path / "img" / saved[0]).read_bytes() == sample.members[saved[0].split(".", 1)[1]]


def test_show_failed_key_and_bad_usage(sample_output):
    out = sample_output("ltip")
    failed = next(r for p in sorted(out.glob("*.parquet")) for r in pq.read_table(p).to_pylist()
                  if r["status"] != "success")
    shown = _show(str(out), failed["key"])
    assert shown.returncode == 1 and f"status: {failed['status']}" in shown.stdout
    missing = _show(str(out), "no-such-key")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no-such-key" in missing.stderr
    assert _show(str(out / "nowhere"), "0").returncode == 2
