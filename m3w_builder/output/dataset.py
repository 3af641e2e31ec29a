"""Read back a finished output folder (dataset.json + shards): the one folder reader the exporters
and `m3w_builder.show` share, so they agree on what a sample is (shards of any output format are
read by `formats.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from m3w_builder.output import formats


@dataclass
class Sample:
    """One stored sample: its key, its parsed `{key}.json` and its other members by suffix."""

    key: str
    meta: dict
    members: dict[str, bytes]
    shard: str

    def media(self) -> list[tuple[str, list[str]]]:
        """(kind, member suffixes) per media item in marker order; a video lists its frames.

        M3W windows list `images`; ALIGN/LTIP pairs have one `jpg`; VTP clips list `frames`."""
        if "images" in self.meta:
            return [(e["kind"], [f["member"] for f in e["frames"]] if e["kind"] == "video" else [e["member"]])
                    for e in self.meta["images"]]
        if "frames" in self.meta:
            return [("video", [f["member"] for f in self.meta["frames"]])]
        return [("image", ["jpg"])] if "jpg" in self.members else []


def load_dataset_json(dataset_dir: Path) -> dict:
    """The folder's dataset.json (a one-line error for a folder that is not an output folder)."""
    path = Path(dataset_dir) / "dataset.json"
    if not path.is_file():
        raise FileNotFoundError(f"{dataset_dir}: no dataset.json (not an m3w-builder output folder)")
    return json.loads(path.read_text(encoding="utf-8"))


def iter_samples(dataset_dir: Path) -> Iterator[Sample]:
    """Every sample of an output folder, in shard order then tar order."""
    for shard in load_dataset_json(dataset_dir)["shardlist"]:
        yield from _shard_samples(dataset_dir, shard["url"])


def _shard_samples(dataset_dir: Path, shard: str) -> Iterator[Sample]:
    folder = Path(dataset_dir)
    for key, stored in formats.iter_shard(shard, lambda name: open(folder / name, "rb"),
                                          lambda sub: [p.name for p in (folder / sub).iterdir()]):
        members = dict(stored)
        yield Sample(key, json.loads(members.pop("json")), members, shard)


def sample_at(dataset_dir: Path, index: int) -> Sample:
    """The sample at a global index (shard order, then tar order: the order wids indexes)."""
    start = 0
    for shard in load_dataset_json(dataset_dir)["shardlist"]:
        if index < start + shard["nsamples"]:
            for position, sample in enumerate(_shard_samples(dataset_dir, shard["url"])):
                if position == index - start:
                    return sample
        start += shard["nsamples"]
    raise IndexError(f"index {index} out of range: the dataset has {start} samples")


def find_key(dataset_dir: Path, key: str) -> Sample | dict:
    """The sample of `key`, or its manifest row when the item failed (status, error_message)."""
    dataset_dir = Path(dataset_dir)
    dataset = load_dataset_json(dataset_dir)
    for name in dataset.get("failed_manifests", []):
        rows = pq.read_table(dataset_dir / name, filters=[("key", "==", key)]).to_pylist()
        if rows:
            return rows[0]
    for shard in dataset["shardlist"]:
        manifest = dataset_dir / formats.manifest_name(shard["url"])
        rows = pq.read_table(manifest, filters=[("key", "==", key)]).to_pylist() if manifest.exists() else []
        row = next((r for r in rows if r.get("status") == "success"), rows[0] if rows else None)
        if row is not None and row.get("status") != "success":
            return row
        if row is not None or not manifest.exists():
            for sample in _shard_samples(dataset_dir, shard["url"]):
                if sample.key == key:
                    return sample
    raise KeyError(f"no sample or manifest row with key {key!r}")
