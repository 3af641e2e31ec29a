"""Image normalisation: bytes in, a resized RGB JPEG (plus hashes) out, or `Rejected(reason)`.

Order of work: byte caps and format sniffing, header-only open (no pixel decode), pixel/side/
aspect checks on the header size, a JPEG's scan count (`jpeg`), JPEG DCT-domain downscale
(`Image.draft`), decode of the first frame, EXIF orientation, conversion to RGB (alpha composited
on white), resize, colours to sRGB where an ICC profile puts them in another space (`icc`), JPEG
encode with fixed settings (deterministic bytes), SHA-256 of the source and a 64-bit DCT
perceptual hash.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from m3w_builder.drops import Rejected
from m3w_builder.media import jpeg
from m3w_builder.media.exif import exif_json
from m3w_builder.media.headers import header_excess
from m3w_builder.media.icc import to_srgb
from m3w_builder.media.sniff import sniff
from m3w_builder.options import option

MiB = 1024 * 1024

# Set once at import, never per call: `warnings.catch_warnings` swaps process-wide state and races
# between the decode threads. Pillow's chatter about malformed metadata is noise here, and its
# DecompressionBombWarning is superseded by the header pixel check in `_decode`.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")

DEFAULT_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF")

_MIME_TO_FORMAT = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP",
    "image/bmp": "BMP", "image/tiff": "TIFF", "image/avif": "AVIF",
    "image/vnd.microsoft.icon": "ICO",
}
DECODABLE_FORMATS = frozenset(_MIME_TO_FORMAT.values()) | {"MPO"}  # what `_decode` can sniff (MPO: as JPEG)

# What Pillow's decoders really raise on hostile input (Pillow's own fuzzers see all of these).
_DECODE_ERRORS = (
    OSError, ValueError, TypeError, SyntaxError, struct.error, EOFError, ZeroDivisionError,
    IndexError, KeyError, AttributeError, NotImplementedError, OverflowError, RuntimeError,
)


@dataclass
class ImageOptions:
    """Caps and output settings; the size/aspect defaults are OBELICS's."""

    image_size: int = option(256, "shorter side of stored images", low=1)
    min_side: int = option(150, "images with a shorter side are dropped (too_small)", flag="min_image_side")
    max_side: int = option(20000, "images with a longer side are dropped (too_large)", flag="max_image_side", low=1)
    min_aspect: float = option(0.5, "minimum width/height kept", low=0.001)
    max_aspect: float = option(2.0, "maximum width/height kept")
    max_bytes: int = option(32 * MiB, "largest image file decoded (bytes)", flag="max_image_bytes")
    max_pixels: int = option(89_478_485, "largest width×height decoded (decompression bombs)", flag="max_image_pixels")
    jpeg_quality: int = option(95, "quality of the stored JPEGs", low=1, high=100)
    allowed_formats: tuple[str, ...] = option(DEFAULT_FORMATS, "Pillow formats decoded", flag="image_formats")

    def __post_init__(self) -> None:
        unknown = [name for name in self.allowed_formats if name not in DECODABLE_FORMATS]
        if unknown:  # a misspelt name ("jpeg") would drop every image as unsupported_format
            raise ValueError(f"--image_formats {','.join(unknown)}: not a format this job decodes "
                             f"(one of {', '.join(sorted(DECODABLE_FORMATS))})")


@dataclass
class ProcessedImage:
    """A stored image: `jpeg` is `width`×`height` RGB; `sha256` is of the source bytes."""

    jpeg: bytes
    width: int
    height: int
    original_width: int
    original_height: int
    format: str
    sha256: str
    phash: str
    exif: str = ""  # the source's EXIF tags as JSON (img2dataset's `exif` column), "" when none


def process_image(data: bytes, opts: ImageOptions | None = None) -> ProcessedImage:
    """Decode, check, orient, convert, resize and re-encode `data`; raise `Rejected` on failure."""
    opts = opts or ImageOptions()
    if not data:
        raise Rejected("empty", "0 bytes")
    if len(data) > opts.max_bytes:
        raise Rejected("too_large_bytes", f"{len(data)} > {opts.max_bytes} bytes")
    try:
        rgb, fmt, orig, exif = _decode(data, opts)
    except Rejected:
        raise
    except Image.DecompressionBombError as e:
        raise Rejected("decompression_bomb", str(e)) from None
    except MemoryError:
        raise Rejected("out_of_memory", "MemoryError while decoding") from None
    except _DECODE_ERRORS as e:
        raise Rejected(_error_reason(e), f"{type(e).__name__}: {e}") from None
    return ProcessedImage(
        jpeg=encode_jpeg(rgb, opts.jpeg_quality),
        width=rgb.width,
        height=rgb.height,
        original_width=orig[0],
        original_height=orig[1],
        format=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
        phash=phash(rgb),
        exif=exif,
    )


def encode_jpeg(img: Image.Image, quality: int) -> bytes:
    """Baseline RGB JPEG with fixed settings (4:2:0, no metadata): equal input → equal bytes.
    `comment=b""`: Pillow writes the image's `info["comment"]`, which a resize or conversion
    carries over from the source (a JPEG's COM, a GIF's comment extension), as a COM marker: the
    source's text went into every stored copy, and one over 65,533 bytes failed the encode."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, subsampling="4:2:0", optimize=False, progressive=False, comment=b"")
    return buf.getvalue()


def phash(img: Image.Image) -> str:
    """64-bit DCT perceptual hash (32×32 grey, low 8×8 DCT block vs its median) as 16 hex chars."""
    grey = img.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)
    pixels = np.asarray(grey, dtype=np.float64)
    low = (_DCT32 @ pixels @ _DCT32.T)[:8, :8]
    bits = (low > np.median(low)).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix: `M @ x` is the DCT of column vector `x`."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m


_DCT32 = _dct_matrix(32)


def _decode(data: bytes, opts: ImageOptions) -> tuple[Image.Image, str, tuple[int, int], str]:
    """Open (header only), check before decoding, decode frame 0; return (RGB, format, oriented size)."""
    allowed = opts.allowed_formats
    mime = sniff(data)
    sniffed = _MIME_TO_FORMAT.get(mime or "")
    if sniffed is None or (sniffed not in allowed and not (sniffed == "JPEG" and "MPO" in allowed)):
        raise Rejected("unsupported_format", f"content is {mime or 'unrecognised'}")
    excess = header_excess(mime, data)
    if excess:  # Pillow walks a header a Python step per unit: refused before it is asked to
        raise Rejected("bloated_header", excess)
    try:
        im = Image.open(io.BytesIO(data), formats=_openers(allowed))
    except UnidentifiedImageError:
        raise Rejected("decode_error", f"{sniffed} header unreadable") from None
    if im.format not in allowed:
        raise Rejected("unsupported_format", f"format {im.format}")
    w, h = im.size
    if w <= 0 or h <= 0:
        raise Rejected("decode_error", f"size {w}x{h}")
    if w * h > opts.max_pixels:
        raise Rejected("decompression_bomb", f"{w}x{h} > {opts.max_pixels} pixels")
    _check_geometry(*_oriented(im, w, h), opts)
    fmt = im.format
    if fmt in ("JPEG", "MPO") and jpeg.over_scan_limit(data):
        raise Rejected("too_many_scans", f"over {jpeg.MAX_SCANS} JPEG scans (a decode pass over the picture each)")
    if fmt in ("JPEG", "MPO") and min(w, h) >= 2 * opts.image_size:
        scale = opts.image_size / min(w, h)
        im.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))
    im.load()
    oriented = _oriented(im, w, h)  # again: a PNG's eXIf chunk may follow the pixel data
    _check_geometry(*oriented, opts)
    exif = exif_json(im, data, _DECODE_ERRORS)
    icc = im.info.get("icc_profile")
    if _orientation(im) != 1:  # not ImageOps.exif_transpose: it writes the whole EXIF out again
        im = im.transpose(_UPRIGHT[_orientation(im)])
    return to_srgb(to_rgb(im, opts.image_size), icc if isinstance(icc, bytes) else None), fmt, oriented, exif


def _openers(formats: tuple[str, ...]) -> tuple[str, ...]:
    """Pillow openers for `formats`: those this build registers (MPO is opened by JPEG's)."""
    Image.init()
    wanted = set(formats) | ({"JPEG"} if "MPO" in formats else set())
    return tuple(f for f in Image.OPEN if f in wanted)


# The turn or flip that makes an image of each EXIF orientation upright (as ImageOps.exif_transpose)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _oriented(im: Image.Image, w: int, h: int) -> tuple[int, int]:
    """Header size `w`×`h` as displayed: swapped for EXIF orientations 5–8."""
    return (h, w) if _orientation(im) in (5, 6, 7, 8) else (w, h)


def _orientation(im: Image.Image) -> int:
    """EXIF orientation (1–8) read from the header; 1 when absent or unreadable."""
    try:
        value = im.getexif().get(0x0112, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _check_geometry(w: int, h: int, opts: ImageOptions) -> None:
    """Side and aspect filters on the displayed (oriented) size."""
    if min(w, h) < opts.min_side:
        raise Rejected("too_small", f"{w}x{h}, min side {opts.min_side}")
    if max(w, h) > opts.max_side:
        raise Rejected("too_large", f"{w}x{h}, max side {opts.max_side}")
    aspect = w / h
    if not opts.min_aspect <= aspect <= opts.max_aspect:
        raise Rejected("aspect_ratio", f"{w}x{h}, aspect {aspect:.3f}")


def to_rgb(im: Image.Image, image_size: int | None = None) -> Image.Image:
    """Any Pillow mode → RGB: alpha and transparency keys composited on white, ≥16-bit scaled;
    with `image_size`, resized (shorter side) *before* the colour work, so a large image never
    exists at full size in a wider mode than it was decoded in."""
    size = image_size or max(im.size)
    if im.mode in _WIDE_MODES:
        return _resize(_wide_to_grey(im), size).convert("RGB")
    if im.mode == "RGB" and "transparency" not in im.info:
        return _resize(im, size)
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = _resize(im.convert("RGBA"), size)  # Pillow resizes RGBA premultiplied
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode != "L":
        im = im.convert("RGB")
    return _resize(im, size).convert("RGB")


_WIDE_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_STRIP_PIXELS = 1 << 20  # rows converted at a time: bounded float work whatever the image size


def _wide_to_grey(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float grey → 8-bit grey (transparency key painted white), converted
    in strips of rows so the float work never holds more than `_STRIP_PIXELS` values."""
    w, h = im.size
    rows = max(1, _STRIP_PIXELS // max(w, 1))
    lo, hi = (float(v) for v in im.getextrema())
    if not (math.isfinite(lo) and math.isfinite(hi)):  # NaN/inf float pixels: scale by the finite ones
        lo, hi = _finite_extrema(im, rows)
    if im.mode.startswith("I;16"):
        offset, scale = 0.0, 1 / 257.0
    elif im.mode == "F" and 0.0 <= lo and hi <= 1.0:
        offset, scale = 0.0, 255.0
    elif 0.0 <= lo and hi <= 255.0:
        offset, scale = 0.0, 1.0
    elif 0.0 <= lo and hi <= 65535.0:
        offset, scale = 0.0, 1 / 257.0
    else:
        offset, scale = lo, 255.0 / max(hi - lo, 1e-12)
    key = im.info.get("transparency")
    out = np.empty((h, w), dtype=np.uint8)
    for top in range(0, h, rows):
        raw = np.asarray(im.crop((0, top, w, min(h, top + rows))))
        # NaN → black, ±inf → the ends: a cast of NaN to uint8 is undefined (differs by machine)
        grey = np.nan_to_num((raw.astype(np.float64) - offset) * scale, nan=0.0, posinf=255.0, neginf=0.0)
        if isinstance(key, int):
            grey[raw == key] = 255.0
        out[top:top + raw.shape[0]] = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return Image.fromarray(out)


def _finite_extrema(im: Image.Image, rows: int) -> tuple[float, float]:
    """The least and greatest finite pixel values, read in strips of `rows` rows ((0, 0) when none)."""
    w, h = im.size
    lo, hi = math.inf, -math.inf
    for top in range(0, h, rows):
        raw = np.asarray(im.crop((0, top, w, min(h, top + rows))), dtype=np.float64)
        finite = raw[np.isfinite(raw)]
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return (lo, hi) if lo <= hi else (0.0, 0.0)


def _resize(img: Image.Image, image_size: int) -> Image.Image:
    """Shorter side to `image_size` (aspect kept); never upscale."""
    w, h = img.size
    short = min(w, h)
    if short <= image_size:
        return img
    scale = image_size / short
    size = (image_size, max(1, round(h * scale))) if w == short else (max(1, round(w * scale)), image_size)
    return img.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _error_reason(e: BaseException) -> str:
    """`truncated` for Pillow's short-read errors, else `decode_error`."""
    text = str(e).lower()
    if "truncated" in text or isinstance(e, EOFError):
        return "truncated"
    return "decode_error"
