"""Media for the sample crawl: shape pictures with a known description, clips and broken files.

Every function is a pure function of its arguments (no clocks, no global random state), so the
bytes it returns are reproducible; `random.Random` instances are seeded by the caller.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image, ImageDraw

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 210),
    "yellow": (240, 210, 20),
    "purple": (130, 40, 160),
    "orange": (245, 130, 20),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
}
SHAPE_COLOURS = ("red", "green", "blue", "yellow", "purple", "orange", "black", "white")
SHAPES = ("circle", "square", "triangle", "star", "stripes")
CONTENT_SIZES = ((320, 240), (256, 192), (240, 240), (200, 260), (300, 200), (192, 256))

# The smallest valid GIF: one transparent pixel (the classic lazy-load placeholder and beacon).
PIXEL_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
PIXEL_GIF_URI = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="


@dataclass(frozen=True)
class ShapeSpec:
    """What a content picture shows; `jitter` seeds its placement, tint and noise."""

    colour: str
    shape: str
    background: str
    jitter: int


def random_spec(rng: random.Random) -> ShapeSpec:
    """Draw a shape/colour/background triple with distinct shape and background colours."""
    colour = rng.choice(SHAPE_COLOURS)
    background = rng.choice([c for c in PALETTE if c != colour])
    return ShapeSpec(colour, rng.choice(SHAPES), background, rng.randrange(1 << 30))


def _tint(rgb: tuple[int, int, int], rng: random.Random) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, v + rng.randint(-12, 12))) for v in rgb)
    return r, g, b


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if shape == "triangle":
        corners = [(r, angle + k * 2 * math.pi / 3 - math.pi / 2) for k in range(3)]
    elif shape == "square":
        corners = [(r, angle + math.pi / 4 + k * math.pi / 2) for k in range(4)]
    else:  # star: alternate outer and inner radius
        corners = [(r if k % 2 == 0 else r * 0.45, angle + k * math.pi / 5 - math.pi / 2) for k in range(10)]
    return [(cx + d * math.cos(a), cy + d * math.sin(a)) for d, a in corners]


def draw_shape(spec: ShapeSpec, size: tuple[int, int]) -> Image.Image:
    """Render `spec` at `size` (RGB); the same spec gives the same picture at any scale."""
    rng = random.Random(spec.jitter)
    w, h = size
    scale = 2  # supersample for anti-aliased edges
    img = Image.new("RGB", (w * scale, h * scale), _tint(PALETTE[spec.background], rng))
    draw = ImageDraw.Draw(img)
    fill = _tint(PALETTE[spec.colour], rng)
    m = min(w, h) * scale
    cx = w * scale / 2 + rng.uniform(-0.1, 0.1) * m
    cy = h * scale / 2 + rng.uniform(-0.1, 0.1) * m
    r = m * rng.uniform(0.28, 0.38)
    angle = rng.uniform(-0.3, 0.3)
    if spec.shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif spec.shape == "stripes":
        vertical = rng.random() < 0.5
        band = (w if vertical else h) * scale / rng.choice((5, 7, 9))
        for k in range(1, 10, 2):
            if vertical:
                draw.rectangle((k * band, 0, (k + 1) * band, h * scale), fill=fill)
            else:
                draw.rectangle((0, k * band, w * scale, (k + 1) * band), fill=fill)
    else:
        draw.polygon(_polygon(spec.shape, cx, cy, r, angle), fill=fill)
    img = img.resize((w, h), Image.Resampling.LANCZOS)
    # Low-frequency noise: looks like uneven lighting, costs few JPEG bytes.
    coarse = np.array([[rng.uniform(-14, 14) for _ in range(6)] for _ in range(5)], dtype=np.float32)
    field = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC))
    pixels = np.asarray(img, dtype=np.float32) + field[:, :, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")


def encode(img: Image.Image, fmt: str) -> bytes:
    """Encode as `jpeg`, `png`, `webp`, `progressive` JPEG or `exif6` (JPEG stored rotated, EXIF orientation 6)."""
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, "JPEG", quality=90)
    elif fmt == "progressive":
        img.save(buf, "JPEG", quality=90, progressive=True)
    elif fmt == "png":
        img.save(buf, "PNG", optimize=False, compress_level=9)
    elif fmt == "webp":
        img.save(buf, "WEBP", quality=80, method=4)
    elif fmt == "exif6":
        exif = Image.Exif()
        exif[0x0112] = 6  # viewer must rotate 90° clockwise
        img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    else:
        raise ValueError(f"unknown image format {fmt!r}")
    return buf.getvalue()


def truncated_jpeg(img: Image.Image) -> bytes:
    """A JPEG cut off after 55% of its bytes (a download that died mid-transfer)."""
    data = encode(img, "jpeg")
    return data[: len(data) * 55 // 100]


def logo(text: str, colour: str) -> bytes:
    """A 200x60 PNG site logo (header boilerplate repeated on every page of a site)."""
    img = Image.new("RGB", (200, 60), PALETTE["white"])
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((4, 4, 56, 56), radius=10, fill=PALETTE[colour])
    draw.text((66, 22), text, fill=PALETTE["black"])
    return encode(img, "png")


def banner() -> bytes:
    """A 728x90 leaderboard advertisement JPEG."""
    img = Image.new("RGB", (728, 90), PALETTE["yellow"])
    draw = ImageDraw.Draw(img)
    draw.rectangle((560, 25, 700, 65), fill=PALETTE["red"])
    draw.text((20, 38), "BIG SPRING SALE - UP TO 50% OFF - CLICK HERE", fill=PALETTE["black"])
    draw.text((585, 38), "SHOP NOW", fill=PALETTE["white"])
    return encode(img, "jpeg")


def avatar() -> bytes:
    """A 40x40 author avatar: a real picture, but too small for training."""
    img = Image.new("RGB", (40, 40), PALETTE["grey"])
    ImageDraw.Draw(img).ellipse((10, 6, 30, 26), fill=PALETTE["orange"])
    return encode(img, "png")


def svg_badge() -> bytes:
    """A vector badge (SVG), which raster decoders cannot open."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">'
        b'<circle cx="60" cy="60" r="54" fill="#2a7"/>'
        b'<text x="60" y="68" font-size="22" text-anchor="middle" fill="#fff">TOP 10</text></svg>\n'
    )


@dataclass(frozen=True)
class ClipSpec:
    """A moving shape: `direction` is `right` (left to right) or `down` (top to bottom)."""

    colour: str
    background: str
    direction: str
    seconds: int
    size: tuple[int, int] = (160, 120)
    fps: int = 10


def clip_frame(spec: ClipSpec, index: int) -> Image.Image:
    """Frame `index` of the clip: a ball at its position along the path."""
    w, h = spec.size
    progress = index / max(1, spec.seconds * spec.fps - 1)
    r = min(w, h) // 5
    if spec.direction == "right":
        cx, cy = r + progress * (w - 2 * r), h / 2
    else:
        cx, cy = w / 2, r + progress * (h - 2 * r)
    img = Image.new("RGB", spec.size, PALETTE[spec.background])
    ImageDraw.Draw(img).ellipse((cx - r, cy - r, cx + r, cy + r), fill=PALETTE[spec.colour])
    return img


def encode_clip(spec: ClipSpec, container: str) -> bytes:
    """Encode the clip as `mp4` (MPEG-4 Part 2) or `webm` (VP8), bit-exact and single-threaded.

    `fflags=+bitexact` drops the muxer's version string and the random Matroska segment UID;
    `flags=+bitexact` does the same for the encoder, so equal input gives equal bytes.
    """
    codec = {"mp4": "mpeg4", "webm": "libvpx"}[container]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container, options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(codec, rate=spec.fps)
        stream.width, stream.height = spec.size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 150_000
        stream.thread_count = 1
        stream.codec_context.options = {"flags": "+bitexact"}
        for i in range(spec.seconds * spec.fps):
            frame = av.VideoFrame.from_image(clip_frame(spec, i))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()
