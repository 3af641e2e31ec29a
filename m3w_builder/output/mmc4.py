"""Export M3W shards for OpenFlamingo's MMC4 loader (DESIGN §4).

Each window becomes one `{key}.json` sample in the MMC4 layout: `text_list` (the text chunks of
the window), `image_info` (base64 images in marker order, with `matched_text_index`) and a
`similarity_matrix` of 1.0/0.0 that encodes our DOM placement exactly: image i is matched to the
chunk that follows its `<image>` marker, which is where OpenFlamingo's loader puts it back. Video
markers are exported as their first frame (the MMC4 format has no video).

OpenFlamingo's loader silently drops every image of at most 10 KB (`len(bytes) // 1000 <= 10`);
our 256-pixel JPEGs are mostly smaller. By default (`small_images="png"`) such an image is stored
as a lossless PNG of the same pixels, which is larger and passes; images still under the cutoff
are counted (`below_cutoff`) and reported, never dropped here. The loader splits shards over
`workers × world_size`, so the export writes at least `min_shards` shards (fewer only when there
are fewer windows).

    python -m m3w_builder.mmc4 M3W_DATASET_DIR EXPORT_DIR [--min_shards 8] [--small_images png|keep]
"""

from __future__ import annotations

import base64
import io
import json
import math
import sys
from collections import Counter
from pathlib import Path

from PIL import Image

from m3w_builder.options import ArgumentParser
from m3w_builder.output.dataset import converted, load_dataset_json, report_skipped
from m3w_builder.output.shards import ShardWriter, shard_name
from m3w_builder.samples.markers import EOC_TOKEN, IMAGE_TOKEN

LOADER_MIN_BYTES = 11_000  # OpenFlamingo keeps an image only when len(bytes) // 1000 > MIN_KB (10)
SAMPLES_PER_SHARD = 1000
MIN_SHARDS = 8  # at least workers × world_size of the OpenFlamingo run that reads the export
SMALL_IMAGES = ("png", "keep")


def _png(jpeg: bytes) -> bytes:
    """The same pixels as a lossless PNG (deterministic: no timestamps, fixed compression)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def loader_bytes(jpeg: bytes, small_images: str, counts: Counter) -> bytes:
    """The bytes to export for one stored JPEG, counting what the loader's size cutoff does to it."""
    counts["images"] += 1
    data = jpeg
    if len(data) < LOADER_MIN_BYTES and small_images == "png":
        data = _png(jpeg)
        counts["stored_as_png"] += 1
    if len(data) < LOADER_MIN_BYTES:
        counts["below_cutoff"] += 1
    return data


def to_mmc4(meta: dict, members: dict[str, bytes], small_images: str = "png",
            counts: Counter | None = None) -> dict:
    """One M3W window (its json and image members) as an MMC4 document."""
    counts = Counter() if counts is None else counts
    pieces = meta["text"].split(IMAGE_TOKEN)
    text_list: list[str] = []
    image_info: list[dict] = []
    for i, piece in enumerate(pieces):
        if i > 0:  # image i-1 stood right before this piece
            entry = meta["images"][i - 1]
            member = entry["member"] if entry["kind"] == "image" else entry["frames"][0]["member"]
            data = loader_bytes(members[member], small_images, counts)
            image_info.append({
                "image_name": f"{meta['key']}.{member}", "raw_url": entry["src"],
                "matched_text_index": len(text_list), "matched_sim": 1.0,
                "image_base64": base64.b64encode(data).decode("ascii"),
            })
        text_list.append(piece.replace(EOC_TOKEN, "").strip())
    similarity = [[1.0 if j == info["matched_text_index"] else 0.0 for j in range(len(text_list))]
                  for info in image_info]
    return {"url": meta["url"], "text_list": text_list, "image_info": image_info,
            "similarity_matrix": similarity, "doc_id": meta["doc_id"], "window": meta["window"]}


def _write(path: Path, samples: list[tuple[str, bytes]]) -> None:
    """One tar of `{key}.json` samples, written under a temporary name and renamed when complete."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        writer = ShardWriter(handle)
        for key, payload in samples:
            writer.add_sample(key, [("json", payload)])
        writer.close()
    tmp.replace(path)


def shard_size(n_windows: int, samples_per_shard: int, min_shards: int) -> int:
    """Windows per shard: at most `samples_per_shard`, small enough for `min_shards` shards."""
    return max(1, min(samples_per_shard, math.ceil(n_windows / max(1, min_shards))))


def export(dataset_dir: Path, out_dir: Path, samples_per_shard: int = SAMPLES_PER_SHARD,
           min_shards: int = MIN_SHARDS, small_images: str = "png",
           skipped: list[tuple[str, str]] | None = None) -> tuple[list[Path], Counter]:
    """Write MMC4 tar shards (`mmc4-000000.tar`, ...) of `{key}.json` samples.

    Returns their paths and the counts `windows`, `images`, `stored_as_png`, `below_cutoff`,
    `skipped` (windows whose metadata has the wrong shape, each (key, reason) appended to `skipped`)."""
    skipped = [] if skipped is None else skipped
    if small_images not in SMALL_IMAGES:
        raise ValueError(f"small_images must be one of {SMALL_IMAGES}, not {small_images!r}")
    n_windows = sum(s["nsamples"] for s in load_dataset_json(dataset_dir)["shardlist"])
    per_shard = shard_size(n_windows, samples_per_shard, min_shards)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("mmc4-*.tar"):  # an earlier export with more shards must not mix in
        stale.unlink()
    counts: Counter = Counter()
    paths: list[Path] = []
    pending: list[tuple[str, bytes]] = []
    def encoded(sample) -> tuple[str, bytes]:
        window = Counter()  # counted only once the whole window converted
        doc = to_mmc4(sample.meta, sample.members, small_images, window)
        counts.update(window)
        return sample.key, json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")

    for entry in converted(dataset_dir, encoded, skipped):
        pending.append(entry)
        counts["windows"] += 1
        if len(pending) == per_shard:
            paths.append(out_dir / shard_name("mmc4", len(paths)))
            _write(paths[-1], pending)
            pending = []
    if pending:
        paths.append(out_dir / shard_name("mmc4", len(paths)))
        _write(paths[-1], pending)
    counts["skipped"] = len(skipped)
    return paths, counts


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description="Export M3W shards for OpenFlamingo's MMC4 loader.")
    parser.add_argument("dataset_dir", type=Path, help="an M3W output folder (with dataset.json)")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--samples_per_shard", type=int, default=SAMPLES_PER_SHARD,
                        help="most windows per shard")
    parser.add_argument("--min_shards", type=int, default=MIN_SHARDS,
                        help="fewest shards (set to at least workers × world_size of the OpenFlamingo run)")
    parser.add_argument("--small_images", choices=SMALL_IMAGES, default="png",
                        help="images under the loader's 10 KB cutoff: 'png' stores the same pixels "
                             "losslessly (larger, so kept), 'keep' exports them as they are (the loader drops them)")
    args = parser.parse_args(argv)
    skipped: list[tuple[str, str]] = []
    try:
        paths, counts = export(args.dataset_dir, args.export_dir, args.samples_per_shard, args.min_shards,
                               args.small_images, skipped)
    except FileNotFoundError as error:
        parser.exit(2, f"mmc4: {error}\n")
    except (OSError, ValueError) as error:  # EXPORT_DIR a file, a corrupt dataset.json or shard
        parser.exit(2, f"mmc4: {type(error).__name__}: {error}\n")
    report_skipped("mmc4", skipped)
    print(f"wrote {len(paths)} MMC4 shards ({counts['windows']} windows, {counts['images']} images) "
          f"to {args.export_dir}")
    print(f"images under OpenFlamingo's 10 KB cutoff (< {LOADER_MIN_BYTES} bytes): stored as PNG "
          f"{counts['stored_as_png']}, still below (the loader drops them) {counts['below_cutoff']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
