"""Pair items and their shard form (CONTRACTS.md "Pair samples"); plain Python, no Beam.

A `PairItem` is one input row (a list row or an `<img>` harvested from a page) with its stable key.
`pair_sample` turns an item plus its `MediaResult` into tar members and a manifest row;
`failure_row` gives the manifest row of an item that produced no sample (img2dataset's
`status`/`error_message`).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import pyarrow as pa
from PIL import Image

from m3w_builder.media.process import MediaResult
from m3w_builder.pairs.align import normalize_caption, pair_key
from m3w_builder.samples.assemble import ShardSample
from m3w_builder.samples.markers import neutralise

PENDING = "pending"
PAIRS_SCHEMA = pa.schema([
    ("key", pa.string()), ("url", pa.string()), ("caption", pa.string()), ("kind", pa.string()),
    ("status", pa.string()), ("error_message", pa.string()), ("width", pa.int32()), ("height", pa.int32()),
    ("original_width", pa.int32()), ("original_height", pa.int32()), ("sha256", pa.string()),
    ("n_frames", pa.int32()), ("source", pa.string()), ("caption_encoding", pa.string()),
    ("extra", pa.string()), ("shard", pa.string()),
])
_RESERVED = frozenset(("key", "url", "caption", "status", "error_message", "width", "height", "original_width",
                       "original_height", "sha256", "source", "frames", "kind", "caption_encoding"))


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
    """An item keyed by its URL and normalized caption (so reruns and retries agree)."""
    caption = neutralise(normalize_caption(caption))
    return PairItem(pair_key(url, caption), url, caption, kind, source, from_list, dict(extra or {}), encoding)


def broken_item(source: str, reason: str, detail: str, kind: str, url: str = "", caption: str = "",
                extra: dict | None = None, encoding: str = "utf-8") -> PairItem:
    """An unusable row, keyed by its position in the input (it has no usable url+caption)."""
    return PairItem(pair_key("row:" + source, url + "\n" + caption), url, caption, kind, source, True,
                    dict(extra or {}), encoding, reason, detail)


def _extra(extra: dict) -> dict:
    return {(f"x_{k}" if k in _RESERVED else k): v for k, v in sorted(extra.items())}


def _row(item: PairItem, status: str, message: str, **media) -> dict:
    return {
        "key": item.key, "url": item.url, "caption": item.caption, "kind": item.kind, "status": status,
        "error_message": message, "width": media.get("width"), "height": media.get("height"),
        "original_width": media.get("original_width"), "original_height": media.get("original_height"),
        "sha256": media.get("sha256"), "n_frames": media.get("n_frames"), "source": item.source,
        "caption_encoding": item.encoding,
        "extra": json.dumps(item.extra, ensure_ascii=False, sort_keys=True) if item.extra else None,
    }


def failure_row(item: PairItem, status: str | None = None, message: str | None = None) -> dict:
    """The manifest row of an item that has no sample."""
    return _row(item, status or item.status, message if message is not None else item.detail)


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
        return failure_row(item, result.status, result.error_message)
    text = item.caption.encode("utf-8")
    base = {"key": item.key, "url": item.url, "caption": item.caption, "status": "success", "error_message": None,
            "source": item.source, "sha256": result.sha256, **_extra(item.extra)}
    if result.kind == "image":
        image = result.image
        sizes = {"width": image.width, "height": image.height, "original_width": image.original_width,
                 "original_height": image.original_height}
        members = [("jpg", image.jpeg), ("txt", text), ("json", _json({**base, **sizes}))]
        row = _row(item, "success", "", sha256=result.sha256, n_frames=0, **sizes)
        return ShardSample(item.key, members, row)
    frames = result.frames
    if video_frames:
        if len(frames) < video_frames:
            return failure_row(item, "too_few_frames", f"{len(frames)} frames < {video_frames}")
        frames = frames[:video_frames]
    listed = [{"t": f.t, "member": f"{int(f.t):03d}.jpg"} for f in frames]
    sizes = dict(zip(("width", "height"), _jpeg_size(frames[0].jpeg))) if frames else {}
    meta = {**base, **sizes, "original_width": result.width, "original_height": result.height, "frames": listed}
    members = [("txt", text), ("json", _json(meta))] + [(e["member"], f.jpeg) for e, f in zip(listed, frames)]
    row = _row(item, "success", "", sha256=result.sha256, n_frames=len(frames), original_width=result.width,
               original_height=result.height, **sizes)
    return ShardSample(item.key, members, row)
