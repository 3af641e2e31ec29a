"""m3w_builder.media.images on the real image corpus in ../shared/data/images (skipped when absent)."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile, ImageOps, TiffImagePlugin, TiffTags

from m3w_builder.drops import Rejected
from m3w_builder.media import jpeg
from m3w_builder.media.images import DEFAULT_FORMATS, ImageOptions, process_image, to_rgb

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
IMAGES = DATA / "images"
FILES = sorted(p for p in IMAGES.rglob("*") if p.is_file()) if IMAGES.is_dir() else []
MANIFEST = (
    {json.loads(line)["file"]: json.loads(line) for line in (DATA / "MANIFEST-images.jsonl").open()}
    if IMAGES.is_dir() else {}
)
REASONS = {
    "empty", "too_large_bytes", "decompression_bomb", "unsupported_format", "decode_error",
    "truncated", "too_small", "too_large", "aspect_ratio",
}
LOOSE = ImageOptions(min_side=1, min_aspect=0.0, max_aspect=1e9)

pytestmark = pytest.mark.skipif(not IMAGES.is_dir(), reason="../shared/data/images is absent")


def _rel(p: Path) -> str:
    return p.relative_to(DATA).as_posix()


def _decoded(jpeg: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(jpeg))
    im.load()
    return im


def _outcome(data: bytes, opts: ImageOptions) -> str:
    try:
        r = process_image(data, opts)
    except Rejected as e:
        assert e.reason in REASONS, e
        return e.reason
    im = _decoded(r.jpeg)
    assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (r.width, r.height))
    assert min(r.width, r.height) <= opts.image_size
    assert r.sha256 == hashlib.sha256(data).hexdigest()
    assert len(r.phash) == 16 and int(r.phash, 16) >= 0
    return "ok"


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_every_file_is_a_jpeg_or_a_reason(path: Path) -> None:
    data = path.read_bytes()
    facts = MANIFEST[_rel(path)]
    assert hashlib.sha256(data).hexdigest().startswith(facts["sha256"])
    _outcome(data, ImageOptions())
    loose = _outcome(data, LOOSE)
    broken = "open_error" in facts or "probe_error" in facts or facts.get("decode", "ok") != "ok"
    if broken:
        assert loose != "ok", facts
    elif (
        facts["format"] in DEFAULT_FORMATS
        and facts["size"][0] * facts["size"][1] <= LOOSE.max_pixels
        and not path.name.startswith(("crash-", "timeout-"))  # fuzzer files: libtiff-build dependent
    ):
        assert loose == "ok", facts
    if "decompression-bomb" in facts["flags"] or "over-MAX_IMAGE_PIXELS" in facts["flags"]:
        assert loose in ("decompression_bomb", "unsupported_format")


def _grey(r) -> np.ndarray:
    return np.asarray(_decoded(r.jpeg).convert("L"), dtype=np.float64)


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_exif_orientation_comes_out_upright(kind: str) -> None:
    folder = IMAGES / "exif-orientation-examples"
    upright = process_image((folder / f"{kind}_1.jpg").read_bytes())
    assert (upright.width > upright.height) == (kind == "Landscape")
    for n in range(2, 9):
        name = f"{kind}_{n}.jpg"
        stored_w, stored_h = MANIFEST[f"images/exif-orientation-examples/{name}"]["size"]
        r = process_image((folder / name).read_bytes())
        assert (r.original_width, r.original_height) == (
            (stored_h, stored_w) if n >= 5 else (stored_w, stored_h)
        )
        assert (r.width, r.height) == (upright.width, upright.height)
        assert np.abs(_grey(r) - _grey(upright)).mean() < 8, name
        assert r.phash == upright.phash


def test_cmyk_jpeg_becomes_rgb_like_pillows_conversion() -> None:
    data = (IMAGES / "pillow-tests/pil_sample_cmyk.jpg").read_bytes()
    r = process_image(data, LOOSE)
    assert r.format == "JPEG"
    ref = Image.open(io.BytesIO(data)).convert("RGB")
    out = _decoded(r.jpeg)
    assert out.size == ref.size
    # compared at 1/4 scale: 4:2:0 chroma subsampling blurs the sharp red-on-black edges
    small = [np.asarray(im.resize((25, 25), Image.Resampling.BOX), dtype=np.float64) for im in (out, ref)]
    assert np.abs(small[0] - small[1]).mean() < 4


@pytest.mark.parametrize("name", ["p_trns_single.png", "pil123p.png", "rgb_trns.png", "l_trns.png"])
def test_transparency_is_composited_on_white(name: str) -> None:
    data = (IMAGES / "pillow-tests" / name).read_bytes()
    alpha = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))[..., 3]
    out = np.asarray(_decoded(process_image(data, LOOSE).jpeg), dtype=np.float64)
    assert out[alpha == 0].mean() > 245
    assert out[alpha == 255].mean() < 235


def test_sixteen_bit_images_keep_their_range() -> None:
    apng = _decoded(process_image((IMAGES / "pillow-tests/apng/mode_16bit.png").read_bytes(), LOOSE).jpeg)
    assert np.abs(np.asarray(apng, dtype=np.float64).mean((0, 1)) - (255, 0, 0)).max() < 4
    data = (IMAGES / "pillow-tests/i_trns.png").read_bytes()
    src = Image.open(io.BytesIO(data))
    assert src.mode == "I;16"
    values = np.asarray(src)
    out = np.asarray(_decoded(process_image(data, LOOSE).jpeg).convert("L"), dtype=np.float64)
    keyed = values == src.info["transparency"]
    assert out[keyed].mean() > 245  # the transparency key, painted white
    assert out[~keyed].mean() < 8  # 16-bit samples ≤ 255 are near-black, not clipped to white


def test_float_images_with_nan_and_inf_pixels_convert_by_their_finite_values() -> None:
    values = np.tile(np.linspace(-500.0, 500.0, 200, dtype=np.float32), (200, 1))
    values[:, :50] = np.nan  # left quarter NaN, one column each of +inf and -inf
    values[:, 60], values[:, 61] = np.inf, -np.inf
    buf = io.BytesIO()
    Image.fromarray(values, mode="F").save(buf, "TIFF")
    with np.errstate(invalid="raise"):  # an undefined NaN cast fails here instead of passing silently
        out = np.asarray(_decoded(process_image(buf.getvalue(), LOOSE).jpeg).convert("L"), dtype=np.float64)
    assert out[:, :45].mean() < 8  # NaN → black, on every machine
    assert out[:, -5:].mean() > 245  # scaled by the finite range (±500), not by inf
    assert 100 < out[:, 120:130].mean() < 190


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat) - 4) + idat + struct.pack(">I", zlib.crc32(idat))
    )


@pytest.mark.parametrize("size", [(10_000, 10_000), (19_000, 19_000)])
def test_bombs_are_rejected_before_any_pixel_decode(size, monkeypatch) -> None:
    def no_decode(self):  # a spy: the pixel decoder must never run
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    with pytest.raises(Rejected) as e:
        process_image(_png_header(*size))
    assert e.value.reason == "decompression_bomb"
    big = (IMAGES / "large-webp/adwaita-d.webp").read_bytes()
    with pytest.raises(Rejected) as e:
        process_image(big, ImageOptions(max_pixels=1_000_000))
    assert e.value.reason == "decompression_bomb"


def test_pillow_bomb_files_are_rejected() -> None:
    opts = ImageOptions(allowed_formats=DEFAULT_FORMATS + ("ICO",))
    for name in ["decompression_bomb.gif", "decompression_bomb.ico", "l2rgb_read.bmp"]:
        with pytest.raises(Rejected) as e:
            process_image((IMAGES / "pillow-tests" / name).read_bytes(), opts)
        assert e.value.reason == "decompression_bomb", name


@pytest.mark.parametrize(
    ("data", "opts", "reason"),
    [
        (b"", ImageOptions(), "empty"),
        (b"\xff\xd8\xff" + b"\x00" * 100, ImageOptions(max_bytes=50), "too_large_bytes"),
        ("puremagic/test.svg", ImageOptions(), "unsupported_format"),
        ("exif-samples/heic__IMG_5195.HEIC", ImageOptions(), "unsupported_format"),
        ("exif-samples/jpg__Canon_40D.jpg", ImageOptions(), "too_small"),
        ("exif-orientation-examples/Landscape_1.jpg", ImageOptions(max_side=1000), "too_large"),
        ("exif-orientation-examples/Landscape_1.jpg", ImageOptions(max_aspect=1.2), "aspect_ratio"),
        ("pillow-tests/truncated_image.png", ImageOptions(), "truncated"),
        ("pillow-tests/png_decompression_dos.png", LOOSE, "decode_error"),
        ("pillow-tests/hopper.jpg", ImageOptions(allowed_formats=("PNG",)), "unsupported_format"),
    ],
)
def test_reasons(data, opts: ImageOptions, reason: str) -> None:
    if isinstance(data, str):
        data = (IMAGES / data).read_bytes()
    with pytest.raises(Rejected) as e:
        process_image(data, opts)
    assert e.value.reason == reason


def test_resize_keeps_aspect_and_never_upscales() -> None:
    big = process_image((IMAGES / "large-webp/pixels-l.webp").read_bytes())
    assert (big.width, big.height, big.original_width) == (256, 256, 4096)
    land = process_image((IMAGES / "exif-orientation-examples/Landscape_1.jpg").read_bytes())
    assert (land.width, land.height) == (384, 256)  # 1800×1200 → short side 256
    small = process_image((IMAGES / "pillow-tests/hopper.jpg").read_bytes(), LOOSE)
    assert (small.width, small.height) == (small.original_width, small.original_height) == (128, 128)


def test_output_is_deterministic() -> None:
    for name in ["exif-orientation-examples/Portrait_6.jpg", "pillow-tests/pil123p.png"]:
        data = (IMAGES / name).read_bytes()
        assert process_image(data, LOOSE).jpeg == process_image(data, LOOSE).jpeg


def _distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def test_phash_survives_reencoding_and_separates_unrelated_images() -> None:
    names = [
        "exif-orientation-examples/Landscape_1.jpg", "large-webp/adwaita-d.webp",
        "large-webp/pixels-l.webp", "pillow-tests/hopper.jpg", "pillow-tests/pil123p.png",
    ]
    hashes = []
    for name in names:
        data = (IMAGES / name).read_bytes()
        original = process_image(data, LOOSE)
        for fmt, kwargs in [("JPEG", {"quality": 80}), ("PNG", {})]:
            buf = io.BytesIO()
            to_rgb(Image.open(io.BytesIO(data))).save(buf, fmt, **kwargs)
            copy = process_image(buf.getvalue(), ImageOptions(min_side=1, max_bytes=1 << 30)).phash
            # equal for a lossless copy; a lossy JPEG copy may flip a bit near the median
            assert _distance(copy, original.phash) <= (0 if fmt == "PNG" else 4), (name, fmt)
        hashes.append(original.phash)
    for i, a in enumerate(hashes):
        for b in hashes[i + 1:]:
            assert _distance(a, b) >= 10


def _scans(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """(everything before the first scan, each scan with its entropy-coded data and the tables
    after it, the EOI) of a plain progressive JPEG, split at its markers."""
    pos, scans, start = 2, [], None
    while data[pos + 1] != 0xD9:
        if data[pos + 1] == 0xDA:
            if start is None:
                head = data[:pos]
            else:
                scans.append(data[start:pos])
            start = pos
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if data[pos + 1] == 0xDA:  # entropy-coded data up to the next marker
            while data[end] != 0xFF or data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end += 1
        pos = end
    scans.append(data[start:pos])
    return head, scans, data[pos:]


def test_a_jpeg_of_endless_scans_is_refused_before_its_decode_passes() -> None:
    # libjpeg decodes every scan, each a pass over the whole picture: a 4000x3000 progressive
    # JPEG with its smallest scan repeated 10,000 times is a ~400 KB file that cost 2.4 CPU-s,
    # and the byte cap allows eighty times more
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (120, 130, 140)).save(buf, "JPEG", progressive=True)
    head, scans, tail = _scans(buf.getvalue())
    assert 2 <= len(scans) <= 12
    small = min(scans[1:], key=len)
    flood = head + b"".join(scans) + small * 10_000 + tail
    start = time.thread_time()
    with pytest.raises(Rejected) as e:
        process_image(flood)
    assert e.value.reason == "too_many_scans"
    assert time.thread_time() - start < 0.5
    # junk between the scans (libjpeg skips it to the next marker) hides none of them
    head, scans, tail = _scans((IMAGES / "pillow-tests/app13-multiple.jpg").read_bytes())
    junk = head + b"".join(scans) + (b"\x00junk\xff\x00" + scans[-1]) * 100 + tail
    with pytest.raises(Rejected) as e:
        process_image(junk, LOOSE)
    assert e.value.reason == "too_many_scans"
    # a real progressive file and its scans repeated up to the bound still decode
    assert process_image(head + b"".join(scans) + scans[-1] * (90 - len(scans)) + tail, LOOSE).width == 256


def test_the_scan_limit_walks_a_jpeg_only_when_its_scan_marker_bytes_could_exceed_it() -> None:
    # every shared JPEG: the C count of FF DA bytes says what the walk says (no file is near the bound)
    jpegs = [p.read_bytes() for p in sorted(IMAGES.rglob("*.jp*g"))]
    assert len(jpegs) > 20
    for data in jpegs:
        assert jpeg.over_scan_limit(data) == (jpeg.scan_count(data) > jpeg.MAX_SCANS) is False
    # FF DA bytes inside an APP segment (a comment, a thumbnail) are no scans: the walk decides
    head, scans, tail = _scans((IMAGES / "pillow-tests/app13-multiple.jpg").read_bytes())
    comment = b"\xff\xda" * 150
    padded = head[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + head[2:]
    assert not jpeg.over_scan_limit(padded + b"".join(scans) + tail)
    assert jpeg.over_scan_limit(head + b"".join(scans) + scans[-1] * 120 + tail)


@pytest.mark.parametrize("name", [
    "exif-samples/jpg__orientation__landscape_6.jpg",  # Apple's Generic RGB (gamma 1.8), EXIF-rotated
    "pillow-tests/xmp_test.jpg",  # Adobe RGB (1998)
    "pillow-tests/xmp_tags_orientation.png",  # ColorMatch RGB, with alpha
])
def test_colours_of_a_profiled_image_are_stored_as_srgb(name: str) -> None:
    """A stored JPEG has no profile, so its numbers are read as sRGB; a picture in another RGB
    space kept its numbers and showed other colours (at 24x24, 12.4 and 15.1 levels off on
    average for the Generic RGB and ColorMatch files, 1.16 for Adobe RGB; now 0.4-0.8)."""
    data = (IMAGES / name).read_bytes()
    source = Image.open(io.BytesIO(data))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    profile = ImageCms.ImageCmsProfile(io.BytesIO(source.info["icc_profile"]))
    composited = to_rgb(ImageOps.exif_transpose(source))
    reference = ImageCms.profileToProfile(composited, profile, srgb, outputMode="RGB")
    stored = _decoded(process_image(data, LOOSE).jpeg)
    # compared at 24x24: resizing and JPEG's chroma subsampling blur edges differently
    small = [np.asarray(im.resize((24, 24), Image.Resampling.BOX), dtype=np.float64) for im in (stored, reference)]
    assert np.abs(small[0] - small[1]).mean() < 1.0


@pytest.mark.parametrize("name", ["pillow-tests/flower2.jpg", "pillow-tests/icc-after-SOF.jpg",
                                  "pillow-tests/crash-1152ec2d1a1a71395b6f2ce6721c38924d025bf3.tif"])
def test_an_srgb_or_unreadable_profile_leaves_the_numbers_as_they_are(name: str, monkeypatch) -> None:
    data = (IMAGES / name).read_bytes()
    try:
        kept = process_image(data, LOOSE).jpeg
    except Rejected:  # a fuzzer file this Pillow build cannot decode: nothing to compare
        return
    monkeypatch.setattr("m3w_builder.media.images.to_srgb", lambda rgb, icc: rgb)
    assert process_image(data, LOOSE).jpeg == kept


def _with_tag(fmt: str, values: tuple[int, ...], rows_per_strip: int | None = None, orientation: int = 1) -> bytes:
    """A real photo saved as `fmt` with a private EXIF tag of `values` (LONGs), a description and
    an EXIF orientation."""
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[270], tags[274] = "harbour at dusk", orientation
    tags[50000], tags.tagtype[50000] = values, TiffTags.LONG
    picture = Image.open(IMAGES / "exif-orientation-examples/Landscape_1.jpg").convert("RGB").resize((600, 400))
    buf = io.BytesIO()
    if fmt == "TIFF":
        if rows_per_strip:
            tags[278] = rows_per_strip
        picture.save(buf, "TIFF", tiffinfo=tags)
    else:
        block = io.BytesIO()
        Image.new("L", (1, 1)).save(block, "TIFF", tiffinfo=tags)  # an EXIF block is a TIFF directory
        picture.save(buf, fmt, exif=block.getvalue())
    return buf.getvalue()


@pytest.mark.parametrize("orientation", [1, 6])
@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "WEBP"])
def test_metadata_as_large_as_the_file_is_left_out_unread(fmt: str, orientation: int) -> None:
    """Every tag was unpacked and written out whole: a 28 MB TIFF holding one tag of 7 million
    numbers cost +527 MB and gave 62 MB of JSON for each sample's json and manifest row; turning
    such a PNG or WebP upright (ImageOps.exif_transpose) wrote its EXIF again: 8 MB, 394 MB, 7 CPU-s."""
    data = _with_tag(fmt, tuple(range(2_000_000)), orientation=orientation)
    tracemalloc.start()
    try:
        stored = process_image(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (stored.width, stored.height) == ((384, 256) if orientation == 1 else (256, 384))
    assert stored.exif == ""
    assert peak < 5 * len(data)  # copies of the tag's bytes (main: 16x the file, the numbers unpacked)


def test_exif_keeps_a_tiffs_description_not_its_strip_offsets() -> None:
    """A TIFF's own directory is its EXIF; its layout tables (an offset and a length per strip)
    were stored as EXIF: 47 KB of numbers for a plain 3000-row TIFF."""
    exif = json.loads(process_image(_with_tag("TIFF", (7, 8, 9), rows_per_strip=1)).exif)
    assert exif["ImageDescription"] == "harbour at dusk" and exif["50000"] == "(7, 8, 9)"
    assert not {"StripOffsets", "StripByteCounts"} & set(exif)
