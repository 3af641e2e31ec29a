"""`--output_format webdataset|parquet|files` of the pairs job, read back with the real readers
(pyarrow, Hugging Face `datasets`, plain files) against the webdataset build of the same input;
reruns skip finished shards and rewrite a lost one byte for byte; `--retry_failed` reuses media
from the old parquet shard and equals a clean run."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds

from m3w_builder.output.dataset import iter_samples
from pipelines.pairs import run
from tests.conftest import LOCAL_JOB, shared_path


def _build(out: Path, output_format: str, *flags: str) -> dict:
    return run(["--source", "ltip", "--output", str(out), "--output_format", output_format, *LOCAL_JOB,
                "--no_report", *flags])


@pytest.fixture(scope="module")
def webdataset_members(sample_output) -> dict[str, dict[str, bytes]]:
    """Members by key of the default (webdataset) build of the embedded LTIP sample."""
    out = sample_output("ltip")
    return {s["__key__"]: {k: v for k, v in s.items() if not k.startswith("__")}
            for t in sorted(out.glob("*.tar")) for s in wds.WebDataset(str(t), shardshuffle=False)}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`built(format)`: (output folder, dataset.json) of the embedded LTIP sample in that format."""
    cache: dict[str, tuple[Path, dict]] = {}

    def build(output_format: str) -> tuple[Path, dict]:
        if output_format not in cache:
            out = tmp_path_factory.mktemp(output_format) / "ltip"
            cache[output_format] = out, _build(out, output_format)
        return cache[output_format]

    return build


def _md5s(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in (".parquet", ".jpg", ".txt", ".json", ".tar", ".idx")
            and p.name != "dataset.json" and not p.name.endswith("stats.json") and "rejects" not in p.parts}


def test_parquet_format_is_the_manifest_with_image_bytes(built, webdataset_members, sample_output, tmp_path):
    out, dataset = built("parquet")
    shards = sorted(out.glob("ltip-*.parquet"))
    assert not list(out.glob("*.tar")) and [p.name for p in shards] == sorted(
        [s["url"] for s in dataset["shardlist"]] + dataset["failed_manifests"])
    assert len({str(pq.read_schema(p).remove_metadata()) for p in shards}) == 1
    table = pq.read_table(shards)
    assert table.schema.field("jpg").type == "binary"
    rows = table.to_pylist()
    webdataset_rows = pq.read_table(sorted(sample_output("ltip").glob("ltip-*.parquet"))).to_pylist()
    assert sorted((r["key"], r["status"], r["reason"]) for r in rows) == sorted(
        (r["key"], r["status"], r["reason"]) for r in webdataset_rows)
    for row in rows:
        if row["status"] == "success":
            assert row["jpg"] == webdataset_members[row["key"]]["jpg"]
            assert row["caption"] == webdataset_members[row["key"]]["txt"].decode()
            assert row["shard"] in {s["url"] for s in dataset["shardlist"]}
        else:
            assert row["jpg"] is None
    for shard in dataset["shardlist"]:
        stats = json.loads((out / (shard["url"][: -len(".parquet")] + "_stats.json")).read_text())
        assert stats["successes"] == shard["nsamples"] and shard["md5sum"] == hashlib.md5(
            (out / shard["url"]).read_bytes()).hexdigest()
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("parquet", data_files=[str(p) for p in shards], split="train",
                                   cache_dir=str(tmp_path / "hf"))
    assert len(loaded) == len(rows)
    success = next(r for r in loaded if r["status"] == "success")
    assert success["jpg"] == webdataset_members[success["key"]]["jpg"]


def test_files_format_is_a_folder_of_members_per_shard(built, webdataset_members):
    out, dataset = built("files")
    folders = sorted(p for p in out.iterdir() if p.is_dir() and p.name.startswith("ltip-"))
    assert [f"{p.name}/" for p in folders] == [s["url"] for s in dataset["shardlist"]]
    found: dict[str, dict[str, bytes]] = {}
    for folder, shard in zip(folders, dataset["shardlist"]):
        names = sorted(p.name for p in folder.iterdir())
        assert len(names) == 3 * shard["nsamples"]
        for name in names:
            key, _, suffix = name.partition(".")
            found.setdefault(key, {})[suffix] = (folder / name).read_bytes()
        manifest = pq.read_table(out / f"{folder.name}.parquet").to_pylist()
        assert {r["key"] for r in manifest if r["status"] == "success"} == {n.partition(".")[0] for n in names}
        assert json.loads((out / f"{folder.name}_stats.json").read_text())["successes"] == shard["nsamples"]
    assert found == webdataset_members  # KEY.jpg / KEY.txt / KEY.json: the tar's members, byte for byte


@pytest.mark.parametrize("output_format", ["parquet", "files"])
def test_output_folder_readers_see_the_same_samples(built, webdataset_members, output_format):
    out, _ = built(output_format)
    samples = {s.key: s for s in iter_samples(out)}  # what show and the exporters read
    assert {k: s.members["jpg"] for k, s in samples.items()} == {k: m["jpg"] for k, m in webdataset_members.items()}
    assert all(s.meta["caption"] == s.members["txt"].decode() for s in samples.values())


@pytest.mark.parametrize("output_format", ["parquet", "files"])
def test_rerun_skips_finished_shards_and_rewrites_a_lost_one_identically(built, output_format):
    out, dataset = built(output_format)
    before = _md5s(out)
    lost = out / dataset["shardlist"][0]["url"]
    shutil.rmtree(lost) if lost.is_dir() else lost.unlink()
    again = _build(out, output_format)
    assert again["stats"]["shard/n_skipped_existing"] == len(dataset["shardlist"]) + len(
        dataset["failed_manifests"]) - 1
    assert again["shardlist"] == dataset["shardlist"] and _md5s(out) == before


def test_vtp_in_parquet_has_the_frames_of_the_tars(sample_output, tmp_path):
    """VTP clips as a `frames` list of {t, jpg}, equal to the webdataset build's frame members."""
    out = tmp_path / "vtp"
    dataset = run(["--source", "vtp", "--output", str(out), "--output_format", "parquet", *LOCAL_JOB, "--no_report"])
    tars = sample_output("vtp")
    expected = {}
    for tar in sorted(tars.glob("*.tar")):
        for sample in wds.WebDataset(str(tar), shardshuffle=False):
            meta = json.loads(sample["json"])
            expected[sample["__key__"]] = [(f["t"], sample[f["member"]]) for f in meta["frames"]]
    shards = [out / s["url"] for s in dataset["shardlist"]]
    assert pq.read_schema(shards[0]).field("frames").type.value_type.field("jpg").type == "binary"
    rows = [r for r in pq.read_table(shards).to_pylist() if r["status"] == "success"]
    assert {r["key"]: [(f["t"], f["jpg"]) for f in r["frames"]] for r in rows} == expected
    assert all(len(frames) > 1 for frames in expected.values())
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("parquet", data_files=[str(p) for p in shards], split="train",
                                   cache_dir=str(tmp_path / "hf"))
    first = next(r for r in loaded if r["status"] == "success")
    assert [(f["t"], f["jpg"]) for f in first["frames"]] == expected[first["key"]]


def _captions_that_move_a_reused_item(urls: list[str]) -> list[str]:
    """Captions (a searched-for number in each) whose pair keys put the first two items in different
    shards of 2 and move one of them in 4 shards: the layout this test needs, wherever it runs."""
    from m3w_builder.pairs.items import make_item
    from pipelines.shard_io import stable_hash

    for n in range(1000):
        captions = [f"a landscape photograph with a tree number {n}-{i}" for i in range(len(urls))]
        shards = [stable_hash(make_item(u, c, "image", "").key) for u, c in zip(urls, captions)]
        if shards[0] % 2 != shards[1] % 2 and any(h % 4 != h % 2 for h in shards[:2]):
            return captions
    raise AssertionError("no caption numbering gives the layout")


def test_retry_failed_in_parquet_reuses_old_media_and_equals_a_clean_run(tmp_path):
    photos = sorted(shared_path("images", "exif-orientation-examples").glob("*.jpg"))[:4]
    early = [tmp_path / f"early-{i}.jpg" for i in range(2)]
    late = [tmp_path / f"late-{i}.jpg" for i in range(2)]
    for path, photo in zip(early, photos):
        shutil.copy(photo, path)
    captions = _captions_that_move_a_reused_item([p.as_uri() for p in [*early, *late]])
    listing = tmp_path / "list.csv"
    listing.write_text("url,caption\n" + "".join(f"{p},{c}\n" for p, c in zip([*early, *late], captions)))
    args = ["--input", str(listing), "--min_shards", "8"]  # 2 shards, then 4: a reused item moves shard
    out = tmp_path / "out"
    first = _build(out, "parquet", *args)
    assert sum(s["nsamples"] for s in first["shardlist"]) == len(first["shardlist"]) == 2
    for path, photo in zip(late, photos[2:]):
        shutil.copy(photo, path)
    retried = _build(out, "parquet", *args, "--retry_failed")
    assert retried["stats"]["settle/n_reused"] == 2 and retried["stats"]["settle/n_retried"] == 2
    assert retried["stats"]["media/kept"] == 2  # only the failed items were read again
    clean = tmp_path / "clean"
    _build(clean, "parquet", *args)
    assert _md5s(clean) == _md5s(out) and sum(s["nsamples"] for s in retried["shardlist"]) == 4


@pytest.mark.parametrize("output_format", ["parquet", "files"])
def test_dataset_json_manifests_and_sample_json_follow_the_schemas(built, output_format):
    from tests.test_schemas import errors

    out, _ = built(output_format)
    assert errors("dataset", [json.loads((out / "dataset.json").read_text())]) == []
    manifests = sorted(out.glob("ltip-*.parquet"))
    columns = [c for c in pq.read_schema(manifests[0]).names if c != "jpg"]
    assert errors("pair_manifest", pq.read_table(manifests, columns=columns).to_pylist()) == []
    if output_format == "files":
        assert errors("pair_sample", [json.loads(p.read_text()) for p in sorted(out.glob("ltip-*/*.json"))]) == []


def test_files_of_shards_a_run_did_not_write_are_removed(tmp_path):
    from pipelines.pairs import remove_stale_shards

    names = ["ltip-000001.tar", "ltip-000001.idx", "ltip-000001.parquet", "ltip-000001_stats.json",
             ".ltip-000001.tar.done", "ltip-000002.parquet", ".ltip-000002.done", "ltip-0000012.tar", "ltip-notes.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "ltip-000003").mkdir()
    (tmp_path / "ltip-000003" / "k.jpg").write_bytes(b"x")
    assert remove_stale_shards(str(tmp_path), "ltip", {"ltip-000002"}) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ltip-000002.done", "ltip-0000012.tar",
                                                          "ltip-000002.parquet", "ltip-notes.txt"]


def _trainer_samples(folder: Path) -> dict[str, dict[str, bytes]]:
    from model.data import DatasetInfo, _raw_samples

    return {raw["__key__"]: {k: v for k, v in raw.items() if not k.startswith("__")}
            for raw in _raw_samples(DatasetInfo.load(folder).shards)}


@pytest.mark.parametrize("kind, output_format", [("ltip", "parquet"), ("ltip", "files"), ("vtp", "files")])
def test_the_trainer_reads_every_output_format_as_it_reads_the_tars(sample_output, tmp_path, kind, output_format):
    out = tmp_path / kind
    run(["--source", kind, "--output", str(out), "--output_format", output_format, *LOCAL_JOB, "--no_report"])
    expected, got = _trainer_samples(sample_output(kind)), _trainer_samples(out)
    assert expected and got.keys() == expected.keys()
    for key, members in expected.items():  # a parquet row's json also carries the manifest's columns
        meta = json.loads(members.pop("json"))
        assert json.loads(got[key].pop("json")).items() >= meta.items() and got[key] == members


def test_the_trainer_trains_on_a_files_format_dataset_and_stops_on_a_folder_that_is_not_one(
        built, m3w_dataset, tmp_path):
    from model.train import main

    out, _ = built("files")
    tokenizer = m3w_dataset / json.loads((m3w_dataset / "dataset.json").read_text())["tokenizer"]["file"]
    logs = main(["--data", f"ltip={out}", "--steps", "2", "--batch-size", "2", "--tokenizer", str(tokenizer),
                 "--out", str(tmp_path / "run")])
    assert len(logs) == 2 and all(math.isfinite(r["loss"]) for r in logs)
    with pytest.raises(SystemExit, match=f"--data {tmp_path}: no dataset.json"):
        main(["--data", f"ltip={tmp_path}", "--steps", "1", "--out", str(tmp_path / "run2")])
