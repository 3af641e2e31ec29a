"""Read back a finished output folder (dataset.json + shards): the one folder reader the exporters
and `m3w_builder.show` share, so they agree on what a sample is (shards of any output format are
read by `formats.py`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from m3w_builder.output import formats
from m3w_builder.output.shards import is_sample_key


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
    return checked_dataset_json(json.loads(path.read_text(encoding="utf-8")), path)


def _inside(name: str) -> bool:
    """Whether a shard or tokenizer name stays in the dataset folder (relative, no `..` part)."""
    return bool(name) and not name.startswith(("/", "\\")) and ".." not in name.replace("\\", "/").split("/")


def checked_dataset_json(meta, path) -> dict:
    """`meta` when it has the shape the readers use (an object; a `shardlist` of objects, each a
    `url` naming a file in the folder and its `nsamples`, a count (wids needs it); a `tokenizer` object whose `file` is
    a name in the folder), else a ValueError naming `path` and what is wrong: a list, a shard
    without its url or a number for a name ended every reader (show, the exporters, model.train)
    with a traceback, and `../x` read outside the folder."""
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: a JSON {type(meta).__name__}, not an object")
    shards = meta.get("shardlist", [])
    if not isinstance(shards, list):
        raise ValueError(f"{path}: shardlist is a {type(shards).__name__}, not a list")
    for i, shard in enumerate(shards):
        url = shard.get("url") if isinstance(shard, dict) else None
        if not isinstance(url, str) or not _inside(url):
            raise ValueError(f"{path}: shardlist[{i}] has no url naming a file in the folder")
        n = shard.get("nsamples")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"{path}: shardlist[{i}] nsamples {n!r} is no count")
    tokenizer = meta.get("tokenizer")
    if tokenizer is not None and not (isinstance(tokenizer, dict) and (
            tokenizer.get("file") is None or (isinstance(tokenizer["file"], str) and _inside(tokenizer["file"])))):
        raise ValueError(f"{path}: tokenizer has no file naming a file in the folder")
    return meta


class DamagedSample(ValueError):
    """A stored sample whose metadata the readers cannot use (a json member missing, unparsable or
    no object; fields of the wrong type)."""


# What converting a sample whose json has the wrong shape raises (a list where an object stood,
# a null text, a number for a frame): the exporters skip and count it instead of ending the export
DAMAGE_ERRORS = (DamagedSample, KeyError, IndexError, TypeError, AttributeError, ValueError)


def iter_samples(dataset_dir: Path, skipped: list[tuple[str, str]] | None = None) -> Iterator[Sample]:
    """Every sample of an output folder, in shard order then tar order. A sample whose json is
    missing, does not parse or is no object raises `DamagedSample`, unless `skipped` is given: it
    is left out and (key, reason) appended there."""
    for shard in load_dataset_json(dataset_dir)["shardlist"]:
        yield from _shard_samples(dataset_dir, shard["url"], skipped)


def converted(dataset_dir: Path, convert, skipped: list[tuple[str, str]]) -> Iterator:
    """`convert(sample)` of every sample; one it cannot convert (`DAMAGE_ERRORS`: its metadata
    has the wrong shape) is left out with (key, reason) appended to `skipped`."""
    for sample in iter_samples(dataset_dir, skipped):
        try:
            yield convert(sample)
        except DAMAGE_ERRORS as error:
            skipped.append((sample.key, f"{type(error).__name__}: {error}"[:200]))


def report_skipped(tool: str, skipped: list[tuple[str, str]], shown: int = 5) -> None:
    """One stderr line per skipped sample (the first `shown`) and one with their number."""
    for key, reason in skipped[:shown]:
        print(f"{tool}: skipped damaged sample {key}: {reason}", file=sys.stderr)
    if skipped:
        print(f"{tool}: {len(skipped)} damaged samples skipped", file=sys.stderr)


def _meta(key: str, data: bytes | None) -> dict:
    if data is None:
        raise DamagedSample(f"sample {key}: no json member")
    try:
        meta = json.loads(data)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise DamagedSample(f"sample {key}: json {type(error).__name__}: {error}") from None
    if not isinstance(meta, dict):
        raise DamagedSample(f"sample {key}: json is a {type(meta).__name__}, not an object")
    return meta


def _stored(dataset_dir: Path, shard: str) -> Iterator[tuple[str, list]]:
    """(key, members) of a shard's samples, none parsed."""
    folder = Path(dataset_dir)
    yield from formats.iter_shard(shard, lambda name: open(folder / name, "rb"),
                                  lambda sub: [p.name for p in (folder / sub).iterdir()])


def _sample(key: str, stored: list, shard: str) -> Sample:
    if not is_sample_key(key):  # a parquet shard's key column may hold anything: `../../x`, null
        raise DamagedSample(f"sample {key!r}: its key is no sample key (letters, digits, _ and - only)")
    members = dict(stored)
    return Sample(key, _meta(key, members.pop("json", None)), members, shard)


def _shard_samples(dataset_dir: Path, shard: str, skipped: list[tuple[str, str]] | None = None) -> Iterator[Sample]:
    for key, stored in _stored(dataset_dir, shard):
        try:
            sample = _sample(key, stored, shard)
        except DamagedSample as damaged:
            if skipped is None:
                raise
            skipped.append((key, str(damaged)))
            continue
        yield sample


def sample_at(dataset_dir: Path, index: int) -> Sample:
    """The sample at a global index (shard order, then tar order: the order wids indexes)."""
    start = 0
    for shard in load_dataset_json(dataset_dir)["shardlist"]:
        if index < start + shard["nsamples"]:
            for position, (key, stored) in enumerate(_stored(dataset_dir, shard["url"])):
                if position == index - start:  # only this one parsed: a damaged one before it is no matter
                    return _sample(key, stored, shard["url"])
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
            for stored_key, stored in _stored(dataset_dir, shard["url"]):
                if stored_key == key:
                    return _sample(key, stored, shard["url"])
    raise KeyError(f"no sample or manifest row with key {key!r}")
