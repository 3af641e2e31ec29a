"""A document with resolved media → interleaved shard samples (CONTRACTS.md, "M3W sample").

`attach_media` drops the media nodes whose fetch/decode failed (so `<image>` markers only stand
for stored images); `build_samples` renders, tokenizes and windows the document and turns each
window into tar members plus a manifest row.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace

from m3w_builder.document import Document, TextNode
from m3w_builder.media.process import MediaResult
from m3w_builder.samples.markers import neutralise, render_segments
from m3w_builder.samples.tokenizer import Tokenizer
from m3w_builder.samples.windows import WindowOptions, make_windows


@dataclass
class ShardSample:
    """One sample ready for a shard: its key, `(suffix, bytes)` members and manifest row."""

    key: str
    members: list[tuple[str, bytes]]
    row: dict
    failures: list[dict] = field(default_factory=list)  # failed media of the document, for the manifest


def _hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def _duplicate_status(result: MediaResult, kept: list[MediaResult], phash_distance: int) -> str | None:
    """Whether an image repeats an earlier kept one of the same document (exactly or nearly)."""
    for earlier in kept:
        if result.sha256 and result.sha256 == earlier.sha256:
            return "duplicate_in_document"
        if (phash_distance >= 0 and result.image is not None and earlier.image is not None
                and _hamming(result.image.phash, earlier.image.phash) <= phash_distance):
            return "near_duplicate_in_document"
    return None


def attach_media(
    doc: Document, results: dict[int, MediaResult], phash_distance: int = -1, frequent: frozenset[str] = frozenset()
) -> tuple[Document, list[MediaResult], list[MediaResult]]:
    """Keep the media nodes whose result succeeded and that are not duplicates: (document, kept results
    in order, failures). Later copies of an image in the same document (same bytes, or a perceptual
    hash within `phash_distance` bits) and images whose sha256/phash is in `frequent` become failures."""
    nodes = []
    kept: list[MediaResult] = []
    failures: list[MediaResult] = []
    media_index = 0
    for node in doc.nodes:
        if isinstance(node, TextNode):
            nodes.append(node)
            continue
        result = results.get(media_index)
        media_index += 1
        if result is None:  # never silent: a node without a result is counted as a failure
            result = MediaResult(node.src, "video" if node.type == "video" else "image", "unresolved",
                                 "no media result reached the document")
        if result.ok:
            status = _duplicate_status(result, kept, phash_distance)
            if status is None and frequent:
                phash = result.image.phash if result.image is not None else ""
                if result.sha256 in frequent or phash in frequent:
                    status = "frequent_content"
            if status is not None:
                result = replace(result, status=status, error_message="", image=None, frames=[])
        if result.ok:
            nodes.append(node)
            kept.append(result)
        else:
            failures.append(result)
    return replace(doc, nodes=nodes), kept, failures


def _media_entry(index: int, node, result: MediaResult) -> tuple[dict, list[tuple[str, bytes]]]:
    if result.kind == "image":
        image = result.image
        entry = {
            "index": index, "kind": "image", "member": f"{index}.jpg", "src": node.src,
            "sha256": image.sha256, "phash": image.phash,
            "original_size": [image.original_width, image.original_height],
            "stored_size": [image.width, image.height],
            "alt": neutralise(getattr(node, "alt", "")), "caption": neutralise(getattr(node, "caption", "")),
            "image_class": getattr(node, "image_class", ""),
        }
        return entry, [(f"{index}.jpg", image.jpeg)]
    frames = [{"t": f.t, "member": f"{index}.{int(f.t):03d}.jpg"} for f in result.frames]
    entry = {
        "index": index, "kind": "video", "src": node.src, "sha256": result.sha256,
        "stored_size": [result.width, result.height], "frames": frames,
    }
    return entry, [(fr["member"], f.jpeg) for fr, f in zip(frames, result.frames)]


def failure_row(doc: Document, result: MediaResult) -> dict:
    """A manifest row for a media item that could not be stored."""
    return {"key": "", "doc_id": doc.doc_id, "url": result.url, "kind": result.kind,
            "status": result.status, "error_message": result.error_message}


def build_samples(
    doc: Document, media: list[MediaResult], tokenizer: Tokenizer, opts: WindowOptions, seed: int,
    failures: list[MediaResult] = (),
) -> tuple[list[ShardSample], Counter]:
    """Windows of one document as shard samples, plus counts (`windows_made`, `too_few_images`)."""
    counts: Counter = Counter()
    ids, media_order = tokenizer.encode_segments(render_segments(doc))
    nodes = doc.media
    samples: list[ShardSample] = []
    for window in make_windows(ids, media_order, image_id=tokenizer.image_id, eoc_id=tokenizer.eoc_id,
                               doc_id=doc.doc_id, seed=seed, opts=opts):
        counts["windows_made"] += 1
        if len(window.media) < opts.min_images:
            counts["too_few_images"] += 1
            continue
        key = f"{doc.doc_id}_{window.index:03d}"
        entries, files = [], []
        for i, media_index in enumerate(window.media):
            entry, members = _media_entry(i, nodes[media_index], media[media_index])
            entries.append(entry)
            files.extend(members)
        record = {
            "key": key, "doc_id": doc.doc_id, "url": doc.url, "title": neutralise(doc.title), "language": doc.language,
            "window": {"index": window.index, "token_start": window.token_start, "token_end": window.token_end,
                       "doc_tokens": len(ids)},
            "text": tokenizer.decode(window.input_ids), "input_ids": window.input_ids, "images": entries,
        }
        payload = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        row = {"key": key, "doc_id": doc.doc_id, "url": doc.url, "kind": "m3w", "status": "success",
               "error_message": "", "n_tokens": len(window.input_ids), "n_images": len(entries)}
        samples.append(ShardSample(key, [("json", payload)] + files, row))
    if samples and failures:
        samples[0].failures = [failure_row(doc, f) for f in failures]
    counts["windows_kept"] += len(samples)
    return samples, counts
