"""Media throughput on the real files in ../shared/data: images and video per CPU-second.

Images: `process_image` (draft + resize 256 + JPEG q95 + hashes) vs a naive baseline (full decode,
`convert('RGB')`, `thumbnail` without draft, JPEG q95), over the JPEG/PNG files it accepts.
Video: seconds of video turned into 1 FPS frames vs decoding and converting every frame.
CPU time is `time.process_time()` (all threads of this process). Run: python bench/bench_media.py
"""

from __future__ import annotations

import io
import sys
import time
import warnings
from pathlib import Path

import av
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from m3w_builder.drops import Rejected  # noqa: E402
from m3w_builder.media.images import process_image  # noqa: E402
from m3w_builder.media.video import VideoOptions, extract_frames  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ROUNDS = 3


def _naive_image(data: bytes) -> bytes:
    im = Image.open(io.BytesIO(data)).convert("RGB")
    im.thumbnail((256 * im.width // min(im.size), 256 * im.height // min(im.size)))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _accepted_images() -> list[bytes]:
    """JPEG/PNG files that process_image turns into a stored image with the default options."""
    out = []
    for p in sorted((DATA / "images").rglob("*")):
        if p.suffix.lower() not in (".jpg", ".jpeg", ".png") or not p.is_file():
            continue
        data = p.read_bytes()
        try:
            process_image(data)
        except Rejected:
            continue
        out.append(data)
    return out


def _rate(fn, items: list[bytes]) -> tuple[float, float]:
    """(items per CPU-second, CPU seconds) over ROUNDS passes."""
    start = time.process_time()
    for _ in range(ROUNDS):
        for data in items:
            fn(data)
    cpu = time.process_time() - start
    return ROUNDS * len(items) / cpu, cpu


def bench_images() -> None:
    items = _accepted_images()
    groups = {"all": items}
    for fmt in ("JPEG", "PNG"):
        groups[fmt] = [d for d in items if Image.open(io.BytesIO(d)).format == fmt]
    print(f"images: decode + resize(256) + JPEG q95, {ROUNDS} rounds, images per core-second")
    print(f"  {'set':5} {'files':>5} {'MP':>6} {'process_image':>14} {'naive':>8} {'ratio':>6}")
    for name, group in groups.items():
        megapixels = sum(Image.open(io.BytesIO(d)).width * Image.open(io.BytesIO(d)).height for d in group) / 1e6
        ours, _ = _rate(process_image, group)
        naive, _ = _rate(_naive_image, group)
        print(f"  {name:5} {len(group):5d} {megapixels:6.1f} {ours:14.1f} {naive:8.1f} {ours / naive:5.2f}x")


def _decode_all(data: bytes) -> float:
    """Baseline: decode every frame and convert each to an RGB image; returns seconds of video."""
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_count = 1
        last = 0.0
        for frame in c.decode(s):
            frame.to_image()
            if frame.time is not None:
                last = frame.time
    return last


def bench_video() -> None:
    clips = []
    for p in sorted(p for p in (DATA / "video").rglob("*") if p.is_file()):
        try:
            r = extract_frames(p.read_bytes(), VideoOptions(max_frames=10_000))
        except Rejected:
            continue
        clips.append((p.read_bytes(), len(r.frames)))
    seconds = sum(n for _, n in clips)
    opts = VideoOptions(max_frames=10_000)
    start = time.process_time()
    for data, _ in clips:
        extract_frames(data, opts)
    ours = time.process_time() - start
    start = time.process_time()
    for data, _ in clips:
        _decode_all(data)
    naive = time.process_time() - start
    print(f"video: {len(clips)} clips, {seconds} s of video at 1 FPS")
    print(f"  extract_frames (1 FPS) : {seconds / ours:8.1f} video-s/core-s")
    print(f"  decode+convert all     : {seconds / naive:8.1f} video-s/core-s")
    print(f"  ratio                  : {naive / ours:8.2f}x")


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # Pillow's notes on malformed files (the baseline sees them)
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent")
    bench_images()
    bench_video()
