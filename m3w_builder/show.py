"""Print one sample of an output folder: `python -m m3w_builder.show OUTPUT_DIR KEY|INDEX`.

An all-digit argument below the number of samples is a global index (shard order, then tar order,
as wids indexes); anything else is a sample key. A key whose item failed prints its manifest row
(status and error message). `--save_images DIR` writes the sample's images as `{key}.{member}`.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from PIL import Image

from m3w_builder.options import ArgumentParser
from m3w_builder.output.dataset import (
    DAMAGE_ERRORS,
    Sample,
    find_key,
    load_dataset_json,
    sample_at,
)

_SKIP = ("input_ids", "text", "images", "frames", "caption")


def _size(jpeg: bytes) -> str:
    with Image.open(io.BytesIO(jpeg)) as image:
        return f"{image.width}x{image.height}"


def describe(sample: Sample) -> str:
    """The sample as text: its fields, its text with markers (or caption), then its media list."""
    meta = sample.meta
    lines = [f"key: {sample.key}", f"shard: {sample.shard}"]
    lines += [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(meta.items())
              if k not in _SKIP and v is not None and k != "key"]
    if "input_ids" in meta:
        lines.append(f"tokens: {len(meta['input_ids'])}")
    lines += ["", "text:" if "text" in meta else "caption:", meta.get("text", meta.get("caption", "")), ""]
    entries = meta.get("images") or [{}] * len(sample.media())
    lines.append(f"media ({len(sample.media())}):")
    for i, ((kind, members), entry) in enumerate(zip(sample.media(), entries)):
        source = entry.get("src") or meta.get("url", "")
        alt = f" alt={entry['alt']!r}" if entry.get("alt") else ""
        frames = f" {len(members)} frames" if kind == "video" else ""
        lines.append(f"  [{i}] {kind}{frames} {', '.join(members[:3])}{' ...' if len(members) > 3 else ''} "
                     f"{_size(sample.members[members[0]])} {source}{alt}")
    return "\n".join(lines)


def save_images(sample: Sample, folder: Path) -> list[Path]:
    """Write every image member of the sample (frames included) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for _kind, members in sample.media():
        for member in members:
            path = folder / f"{sample.key}.{member}"
            path.write_bytes(sample.members[member])
            paths.append(path)
    return paths


def lookup(dataset_dir: Path, ref: str) -> Sample | dict:
    """A sample by global index or key (a failed key gives its manifest row)."""
    total = sum(s["nsamples"] for s in load_dataset_json(dataset_dir)["shardlist"])
    if ref.isdigit() and int(ref) < total:
        return sample_at(dataset_dir, int(ref))
    return find_key(dataset_dir, ref)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description="Print one sample of an m3w-builder output folder.")
    parser.add_argument("output_dir", type=Path, help="an output folder (with dataset.json)")
    parser.add_argument("ref", metavar="KEY|INDEX", help="a sample key, or its global index")
    parser.add_argument("--save_images", type=Path, metavar="DIR", help="write its images here")
    args = parser.parse_args(argv)
    try:
        found = lookup(args.output_dir, args.ref)
    except (FileNotFoundError, KeyError, IndexError) as error:
        parser.exit(2, f"show: {error.args[0] if error.args else error}\n")
    except (OSError, ValueError) as error:  # an unreadable folder, a corrupt dataset.json or shard
        parser.exit(2, f"show: {args.output_dir}: {type(error).__name__}: {error}\n")
    if isinstance(found, dict):
        print(f"key: {found['key']}\nstatus: {found['status']}\nerror_message: {found.get('error_message') or ''}")
        print(f"url: {found.get('url') or ''}\nshard: {found.get('shard') or ''}")
        return 1
    try:
        text = describe(found)
    except DAMAGE_ERRORS as error:  # json fields of the wrong type
        parser.exit(2, f"show: sample {found.key} is damaged: {type(error).__name__}: {error}\n")
    print(text)
    if args.save_images:
        try:
            paths = save_images(found, args.save_images)
        except OSError as error:  # e.g. DIR is a file
            parser.exit(2, f"show: --save_images {args.save_images}: {error.strerror or error}\n")
        except DAMAGE_ERRORS as error:  # a media list of the wrong shape
            parser.exit(2, f"show: sample {found.key} is damaged: {type(error).__name__}: {error}\n")
        print(f"\nsaved {len(paths)} images to {args.save_images}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
