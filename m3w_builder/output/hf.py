"""Export an output folder as Hugging Face parquet in the OBELICS layout, which `datasets` and the
Hub viewer read natively (no loading script, no glue).

Each sample is one row: `images` and `texts` are two lists of equal length that interleave the
sample, exactly one of them null at each position (`images[i]` is `{"bytes", "path"}`, the stored
JPEG). M3W windows keep their marker order (a video node stands as its first frame; its frames are
listed in `metadata`); ALIGN/LTIP pairs are `[image, caption]`; VTP clips are their frames at 1 FPS
followed by the caption. `metadata` is a JSON list with one entry per position (null for text),
`general_metadata` the sample's own json without its bulky fields; `key`, `url` and the kind's
main fields are real columns. The schema carries the `huggingface` features metadata, so
`datasets` decodes `images` as `Image` features.

Files are `data/train-{i:05d}-of-{n:05d}.parquet` (the Hub's split naming), each written under a
temporary name and renamed when complete; stale files of that pattern from an earlier export are
removed so two exports never mix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from m3w_builder.output.dataset import Sample, converted, load_dataset_json
from m3w_builder.samples.markers import EOC_TOKEN, IMAGE_TOKEN

ROWS_PER_FILE = 1000
ROW_GROUP_SIZE = 100  # the Hub viewer pages by row group: keep groups of images small
_IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
_COMMON = [("key", pa.string()), ("url", pa.string()), ("images", pa.list_(_IMAGE)),
           ("texts", pa.list_(pa.string())), ("metadata", pa.string()), ("general_metadata", pa.string())]
_KIND_COLUMNS = {
    "m3w": [("doc_id", pa.string()), ("text", pa.string()), ("n_images", pa.int32()), ("n_tokens", pa.int32())],
    "pairs": [("caption", pa.string()), ("width", pa.int32()), ("height", pa.int32()),
              ("original_width", pa.int32()), ("original_height", pa.int32()), ("sha256", pa.string())],
    "vtp": [("caption", pa.string()), ("timestamps", pa.list_(pa.float32())), ("width", pa.int32()),
            ("height", pa.int32()), ("sha256", pa.string())],
}
_BULKY = ("input_ids", "text")  # kept out of general_metadata (text has its own column)


def _features(schema: pa.Schema) -> dict:
    """The `huggingface` schema metadata `datasets` reads to type each column."""
    def feature(kind: pa.DataType) -> dict:
        if kind == _IMAGE:
            return {"_type": "Image"}
        if pa.types.is_list(kind):
            return {"_type": "List", "feature": feature(kind.value_type)}
        return {"_type": "Value", "dtype": {"int32": "int32", "float": "float32"}.get(str(kind), str(kind))}
    return {"info": {"features": {f.name: feature(f.type) for f in schema}}}


def schema_for(kind: str) -> pa.Schema:
    """The export schema of a dataset kind (`m3w`, `align`, `ltip`, `vtp`), with HF features."""
    columns = _COMMON + _KIND_COLUMNS["m3w" if kind == "m3w" else "vtp" if kind == "vtp" else "pairs"]
    schema = pa.schema(columns)
    return schema.with_metadata({"huggingface": json.dumps(_features(schema))})


def _image(sample: Sample, member: str) -> dict:
    return {"bytes": sample.members[member], "path": f"{sample.key}.{member}"}


def _m3w_row(sample: Sample) -> dict:
    meta = sample.meta
    images, texts, metadata = [], [], []
    for i, piece in enumerate(meta["text"].split(IMAGE_TOKEN)):
        if i > 0:  # media i-1 stood right before this piece
            entry = meta["images"][i - 1]
            member = entry["member"] if entry["kind"] == "image" else entry["frames"][0]["member"]
            images.append(_image(sample, member))
            texts.append(None)
            metadata.append({k: v for k, v in entry.items() if k != "member"})
        text = piece.replace(EOC_TOKEN, "").strip()
        if text:
            images.append(None)
            texts.append(text)
            metadata.append(None)
    return {"images": images, "texts": texts, "metadata": metadata, "doc_id": meta["doc_id"], "text": meta["text"],
            "n_images": len(meta["images"]), "n_tokens": len(meta.get("input_ids", []))}


def _pair_row(sample: Sample) -> dict:
    meta = sample.meta
    sizes = {k: meta.get(k) for k in ("width", "height", "original_width", "original_height")}
    return {"images": [_image(sample, "jpg"), None], "texts": [None, meta["caption"]],
            "metadata": [{"sha256": meta.get("sha256"), **sizes}, None], "caption": meta["caption"],
            "sha256": meta.get("sha256"), **sizes}


def _vtp_row(sample: Sample) -> dict:
    meta = sample.meta
    frames = meta.get("frames", [])
    return {"images": [_image(sample, f["member"]) for f in frames] + [None],
            "texts": [None] * len(frames) + [meta["caption"]],
            "metadata": [{"t": f["t"]} for f in frames] + [None], "caption": meta["caption"],
            "timestamps": [float(f["t"]) for f in frames], "width": meta.get("width"),
            "height": meta.get("height"), "sha256": meta.get("sha256")}


def to_row(kind: str, sample: Sample) -> dict:
    """One sample as an export row (see the module docstring for the layout)."""
    row = _m3w_row(sample) if kind == "m3w" else _vtp_row(sample) if kind == "vtp" else _pair_row(sample)
    row["metadata"] = json.dumps(row["metadata"], ensure_ascii=False, sort_keys=True)
    general = {k: v for k, v in sample.meta.items() if k not in _BULKY and k not in ("images", "frames")}
    return {"key": sample.key, "url": sample.meta.get("url"),
            "general_metadata": json.dumps(general, ensure_ascii=False, sort_keys=True), **row}


def _batches(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def export(dataset_dir: Path, export_dir: Path, rows_per_file: int = ROWS_PER_FILE,
           skipped: list[tuple[str, str]] | None = None) -> list[Path]:
    """Write `export_dir/data/train-*.parquet` for an output folder; returns the files in order.
    A sample whose metadata has the wrong shape is left out, (key, reason) appended to `skipped`
    (one sample ended the whole export with a traceback)."""
    skipped = [] if skipped is None else skipped
    kind = load_dataset_json(dataset_dir)["kind"]
    schema = schema_for(kind)
    data_dir = Path(export_dir) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob("train-*-of-*.parquet"):
        stale.unlink()
    written: list[Path] = []
    for batch in _batches(converted(dataset_dir, lambda s: to_row(kind, s), skipped), rows_per_file):
        tmp = data_dir / f".part-{len(written):05d}.parquet.tmp"
        pq.write_table(pa.Table.from_pylist(batch, schema=schema), tmp, row_group_size=ROW_GROUP_SIZE,
                       compression="zstd")
        written.append(tmp)
    final = [data_dir / f"train-{i:05d}-of-{len(written):05d}.parquet" for i in range(len(written))]
    for tmp, path in zip(written, final):
        tmp.replace(path)
    return final
