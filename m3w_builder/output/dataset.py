"""Read back a finished output folder (dataset.json + shards): the one reader the exporters and
`m3w_builder.show` share, so they agree on what a sample is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import webdataset as wds


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
    dataset_dir = Path(dataset_dir)
    for shard in load_dataset_json(dataset_dir)["shardlist"]:
        for raw in wds.WebDataset(str(dataset_dir / shard["url"]), shardshuffle=False):
            members = {k: v for k, v in raw.items() if not k.startswith("__")}
            meta = json.loads(members.pop("json"))
            yield Sample(raw["__key__"], meta, members, shard["url"])
