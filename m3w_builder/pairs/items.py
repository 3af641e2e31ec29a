"""Pair items and their shard form (CONTRACTS.md "Pair samples"); plain Python, no Beam.

A `PairItem` is one input row (a list row or an `<img>` harvested from a page) with its stable key.
`pair_sample` turns an item plus its `MediaResult` into tar members and a manifest row;
`failure_row` gives the manifest row of an item that produced no sample; `shard_stats` the
`{shard}_stats.json` of a shard.

Manifest rows follow img2dataset: `status` is `success`, `failed_to_download` (no media bytes:
input row, caption rule, duplicate, fetch failure) or `failed_to_resize` (bytes that did not decode,
pass the checks or resize), and `error_message` starts with our precise reason code, which is also
the `reason` column (`stage/reason` counters use it).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
from PIL import Image

from m3w_builder.extract.urls import without_userinfo
from m3w_builder.media.process import MediaResult
from m3w_builder.output.formats import MEDIA_COLUMNS
from m3w_builder.read.lists import MAX_EXTRA_COLUMNS
from m3w_builder.pairs.align import normalize_caption, pair_key
from m3w_builder.samples.assemble import ShardSample
from m3w_builder.samples.markers import neutralise

PENDING = "pending"
SUCCESS, FAILED_TO_DOWNLOAD, FAILED_TO_RESIZE = "success", "failed_to_download", "failed_to_resize"
PAIRS_SCHEMA = pa.schema([
    ("key", pa.string()), ("url", pa.string()), ("caption", pa.string()), ("kind", pa.string()),
    ("status", pa.string()), ("error_message", pa.string()), ("reason", pa.string()), ("width", pa.int32()),
    ("height", pa.int32()), ("original_width", pa.int32()), ("original_height", pa.int32()),
    ("sha256", pa.string()), ("exif", pa.string()), ("n_frames", pa.int32()), ("source", pa.string()),
    ("caption_encoding", pa.string()), ("shard", pa.string()),
])
EXTRA_COLUMNS = "extra_columns"  # a row's input columns past the job's MAX_EXTRA_COLUMNS, as JSON text
_RESERVED = frozenset(PAIRS_SCHEMA.names) | MEDIA_COLUMNS | {EXTRA_COLUMNS}  # parquet format: `jpg`/`frames` cells


@dataclass
class PairItem:
    """One input item: `status` is `pending` until it fails (a reason) or gets its media."""

    key: str
    url: str
    caption: str
    kind: str  # image | video
    source: str  # "list.parquet#12" or the page URL
    from_list: bool = True
    extra: dict = field(default_factory=dict)
    encoding: str = "utf-8"
    status: str = PENDING
    detail: str = ""
    retried: bool = False  # failed in the previous run, fetched again (--retry_failed)
    previous_row: dict | None = None  # its manifest row when it succeeded in the previous run

    @property
    def pending(self) -> bool:
        return self.status == PENDING


def make_item(url: str, caption: str, kind: str, source: str, *, from_list: bool = True, extra: dict | None = None,
              encoding: str = "utf-8") -> PairItem:
    """An item keyed by its URL and normalized caption (so reruns and retries agree); the URL
    without userinfo (`without_userinfo`: a password in a list is never written out)."""
    caption, url = neutralise(normalize_caption(caption)), without_userinfo(url)
    return PairItem(pair_key(url, caption), url, caption, kind, source, from_list, dict(extra or {}), encoding)


def broken_item(source: str, reason: str, detail: str, kind: str, url: str = "", caption: str = "",
                extra: dict | None = None, encoding: str = "utf-8") -> PairItem:
    """An unusable row, keyed by its position in the input (it has no usable url+caption)."""
    url = without_userinfo(url)
    return PairItem(pair_key("row:" + source, url + "\n" + caption), url, caption, kind, source, True,
                    dict(extra or {}), encoding, reason, detail)


def column_name(name: str) -> str:
    """The column (and json field) of an extra input column; ours keep their names (`x_` prefix).
    A name that is ours behind `x_`s (`x_key`) gets one more, so input columns `key` and `x_key`
    stay two columns (`x_key`, `x_x_key`): one of them silently replaced the other."""
    core = name
    while core.startswith("x_"):
        core = core[2:]
    return f"x_{name}" if core in _RESERVED else name


def _extra(extra: dict) -> dict:
    return {column_name(k): v for k, v in sorted(extra.items())}


def manifest_columns(name_counts: Iterable[tuple[str, int]]) -> list[str]:
    """The manifest columns (sorted) for the job's extra input columns and how many rows carry
    each: every one up to `MAX_EXTRA_COLUMNS`; past it the most frequent (ties by name) and
    `EXTRA_COLUMNS`, which holds the rest of a row's as JSON text (`manifest_row`). Names that
    change row by row made every shard's schema as wide as the list is long: 20k rows, 5.5 GB."""
    ranked = sorted(((column_name(n), c) for n, c in name_counts), key=lambda nc: (-nc[1], nc[0]))
    columns = [n for n, _c in ranked[:MAX_EXTRA_COLUMNS]]
    return sorted(columns + ([EXTRA_COLUMNS] if len(ranked) > MAX_EXTRA_COLUMNS else []))


def pairs_schema(columns: Iterable[str] = ()) -> pa.Schema:
    """The manifest schema: ours, then one string column per extra column (`manifest_columns`; a
    non-string value is stored as its JSON text, so every shard has the same schema)."""
    return pa.schema(list(PAIRS_SCHEMA) + [pa.field(name, pa.string()) for name in sorted(columns)])


def manifest_row(row: dict, columns: frozenset[str]) -> dict:
    """`row` with the extra cells that have no column among `columns` (the schema's names) folded
    into its `EXTRA_COLUMNS` cell (a table built with the schema would leave them out unseen)."""
    spare = {k: v for k, v in row.items() if k not in columns}
    if not spare:
        return row
    return {**{k: v for k, v in row.items() if k in columns},
            EXTRA_COLUMNS: json.dumps(spare, ensure_ascii=False, sort_keys=True)}


def _cells(extra: dict) -> dict:
    return {column_name(k): v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)
            for k, v in extra.items()}


def _row(item: PairItem, reason: str, message: str, stage: str = "download", **media) -> dict:
    """The manifest row of `item`: `reason` is `success` or our reason code."""
    if reason == SUCCESS:
        status, error = SUCCESS, None
    else:
        status = FAILED_TO_RESIZE if stage == "resize" else FAILED_TO_DOWNLOAD
        error = f"{reason}: {message}" if message else reason
    return {
        "key": item.key, "url": item.url, "caption": item.caption, "kind": item.kind, "status": status,
        "error_message": error, "reason": reason, "width": media.get("width"), "height": media.get("height"),
        "original_width": media.get("original_width"), "original_height": media.get("original_height"),
        "sha256": media.get("sha256"), "exif": media.get("exif"), "n_frames": media.get("n_frames"),
        "source": item.source, "caption_encoding": item.encoding, **_cells(item.extra),
    }


def failure_row(item: PairItem, reason: str | None = None, message: str | None = None,
                stage: str = "download") -> dict:
    """The manifest row of an item that has no sample (`stage` "resize" when its bytes failed)."""
    return _row(item, reason or item.status, message if message is not None else item.detail, stage)


def shard_stats(rows: list[dict], duration: float) -> dict:
    """img2dataset's `{shard}_stats.json` for a shard's manifest rows; `status_dict` counts our
    reason codes (img2dataset counts error message strings)."""
    statuses = Counter(r["status"] for r in rows)
    return {
        "count": len(rows), "successes": statuses[SUCCESS], "failed_to_download": statuses[FAILED_TO_DOWNLOAD],
        "failed_to_resize": statuses[FAILED_TO_RESIZE], "duration": round(duration, 3),
        "status_dict": dict(sorted(Counter(r.get("reason") or r["status"] for r in rows).items())),
    }


def _json(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _jpeg_size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as im:  # header only
        return im.size


def pair_sample(item: PairItem, result: MediaResult, video_frames: int = 0) -> ShardSample | dict:
    """The shard sample of a resolved item, or its failure row when the media did not make one.

    Images: `jpg`, `txt`, `json`. Videos: `txt`, `json`, `{t:03d}.jpg`; with `video_frames > 0`
    exactly that many frames (the first seconds), so every sample has the same members."""
    if not result.ok:
        return failure_row(item, result.status, result.error_message, result.stage)
    text = item.caption.encode("utf-8")
    base = {"key": item.key, "url": item.url, "caption": item.caption, "status": SUCCESS, "error_message": None,
            "source": item.source, "sha256": result.sha256, **_extra(item.extra)}
    if result.kind == "image":
        image = result.image
        sizes = {"width": image.width, "height": image.height, "original_width": image.original_width,
                 "original_height": image.original_height}
        exif = image.exif or None
        members = [("jpg", image.jpeg), ("txt", text), ("json", _json({**base, **sizes, "exif": exif}))]
        row = _row(item, SUCCESS, "", sha256=result.sha256, exif=exif, n_frames=0, **sizes)
        return ShardSample(item.key, members, row)
    frames = result.frames
    if video_frames:
        if len(frames) < video_frames:
            return failure_row(item, "too_few_frames", f"{len(frames)} frames < {video_frames}", "resize")
        frames = frames[:video_frames]
    listed = [{"t": f.t, "member": f"{int(f.t):03d}.jpg"} for f in frames]
    sizes = dict(zip(("width", "height"), _jpeg_size(frames[0].jpeg))) if frames else {}
    meta = {**base, **sizes, "original_width": result.width, "original_height": result.height, "frames": listed}
    members = [("txt", text), ("json", _json(meta))] + [(e["member"], f.jpeg) for e, f in zip(listed, frames)]
    row = _row(item, SUCCESS, "", sha256=result.sha256, n_frames=len(frames), original_width=result.width,
               original_height=result.height, **sizes)
    return ShardSample(item.key, members, row)
