"""Export M3W shards for OpenFlamingo's MMC4 loader (DESIGN §4).

Each window becomes one `{key}.json` sample in the MMC4 layout: `text_list` (the text chunks of
the window), `image_info` (base64 JPEGs in marker order, with `matched_text_index`) and a
`similarity_matrix` of 1.0/0.0 that encodes our DOM placement exactly: image i is matched to the
chunk that follows its `<image>` marker, which is where OpenFlamingo's loader puts it back. Video
markers are exported as their first frame (the MMC4 format has no video).

    python -m m3w_builder.mmc4 M3W_DATASET_DIR EXPORT_DIR
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from m3w_builder.output.shards import ShardWriter, shard_name
from m3w_builder.output.tars import iter_samples
from m3w_builder.samples.markers import EOC_TOKEN, IMAGE_TOKEN


def to_mmc4(meta: dict, members: dict[str, bytes]) -> dict:
    """One M3W window (its json and image members) as an MMC4 document."""
    pieces = meta["text"].split(IMAGE_TOKEN)
    text_list: list[str] = []
    image_info: list[dict] = []
    for i, piece in enumerate(pieces):
        if i > 0:  # image i-1 stood right before this piece
            entry = meta["images"][i - 1]
            member = entry["member"] if entry["kind"] == "image" else entry["frames"][0]["member"]
            image_info.append({
                "image_name": f"{meta['key']}.{member}", "raw_url": entry["src"],
                "matched_text_index": len(text_list), "matched_sim": 1.0,
                "image_base64": base64.b64encode(members[member]).decode("ascii"),
            })
        text_list.append(piece.replace(EOC_TOKEN, "").strip())
    similarity = [[1.0 if j == info["matched_text_index"] else 0.0 for j in range(len(text_list))]
                  for info in image_info]
    return {"url": meta["url"], "text_list": text_list, "image_info": image_info,
            "similarity_matrix": similarity, "doc_id": meta["doc_id"], "window": meta["window"]}


def iter_windows(dataset_dir: Path) -> Iterator[tuple[str, dict, dict[str, bytes]]]:
    """(key, json, members) of every window of an M3W dataset, in shard order."""
    dataset = json.loads((dataset_dir / "dataset.json").read_text())
    for shard in dataset["shardlist"]:
        with open(dataset_dir / shard["url"], "rb") as handle:
            for key, stored in iter_samples(handle):
                members = dict(stored)
                yield key, json.loads(members.pop("json")), members


def _write(path: Path, samples: list[tuple[str, bytes]]) -> None:
    """One tar of `{key}.json` samples, written under a temporary name and renamed when complete."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        writer = ShardWriter(handle)
        for key, payload in samples:
            writer.add_sample(key, [("json", payload)])
        writer.close()
    tmp.replace(path)


def export(dataset_dir: Path, out_dir: Path, samples_per_shard: int = 1000) -> list[Path]:
    """Write MMC4 tar shards (`mmc4-000000.tar`, ...) of `{key}.json` samples; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    pending: list[tuple[str, bytes]] = []
    for key, meta, members in iter_windows(dataset_dir):
        payload = json.dumps(to_mmc4(meta, members), ensure_ascii=False, sort_keys=True).encode("utf-8")
        pending.append((key, payload))
        if len(pending) == samples_per_shard:
            paths.append(out_dir / shard_name("mmc4", len(paths)))
            _write(paths[-1], pending)
            pending = []
    if pending:
        paths.append(out_dir / shard_name("mmc4", len(paths)))
        _write(paths[-1], pending)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export M3W shards for OpenFlamingo's MMC4 loader.")
    parser.add_argument("dataset_dir", type=Path, help="an M3W output folder (with dataset.json)")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--samples_per_shard", type=int, default=1000)
    args = parser.parse_args(argv)
    paths = export(args.dataset_dir, args.export_dir, args.samples_per_shard)
    print(f"wrote {len(paths)} MMC4 shards to {args.export_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
