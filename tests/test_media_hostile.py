"""Hostile media bytes through the real decoders: what a stored image may carry, what a header may cost."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from m3w_builder.drops import Rejected
from m3w_builder.media.headers import header_excess
from m3w_builder.media.images import process_image
from m3w_builder.media.sniff import sniff

IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "images"


def _gif(before_image: bytes = b"") -> bytes:
    """A 300x300 opaque GIF with `before_image` between its global colour table and its image."""
    buf = io.BytesIO()
    Image.new("P", (300, 300), 3).save(buf, "GIF")
    gif = buf.getvalue()
    at = 13 + (3 << ((gif[10] & 7) + 1) if gif[10] & 0x80 else 0)
    assert gif[at:at + 1] in (b"\x21", b"\x2c")  # an extension or the image descriptor
    return gif[:at] + before_image + gif[at:]


def _gif_with_comment(comment: bytes) -> bytes:
    """A GIF whose comment extension holds `comment` (sub-blocks of 255 bytes)."""
    blocks = b"".join(bytes([len(part)]) + part for part in (comment[i:i + 255] for i in range(0, len(comment), 255)))
    return _gif(b"\x21\xfe" + blocks + b"\x00")


def _jpeg_with_comment(comment: bytes) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 10, 10)).save(buf, "JPEG", comment=comment)
    return buf.getvalue()


@pytest.mark.parametrize("make", [_gif_with_comment, _jpeg_with_comment], ids=["gif", "jpeg"])
def test_a_stored_image_carries_no_comment_of_its_source(make):
    stored = process_image(make(b"call me at 555-0100, see http://x.test/private"))
    assert "comment" not in Image.open(io.BytesIO(stored.jpeg)).info
    assert b"\xff\xfe" not in stored.jpeg  # no COM marker at all


def test_a_comment_longer_than_a_jpeg_marker_holds_does_not_fail_the_image():
    stored = process_image(_gif_with_comment(b"c" * 70_000))  # main: OSError from the JPEG encoder
    assert Image.open(io.BytesIO(stored.jpeg)).size == (256, 256)


@pytest.mark.skipif(not (IMAGES / "pillow-tests/junk_jpeg_header.jpg").is_file(), reason="../shared/data is absent")
def test_a_real_jpeg_comment_stays_out_of_the_stored_copy():
    source = IMAGES / "pillow-tests/junk_jpeg_header.jpg"
    assert "comment" in Image.open(source).info  # 'CREATOR_ID:362569 v1.0 (using IJG JPEG v62), quality = 60'
    assert "comment" not in Image.open(io.BytesIO(process_image(source.read_bytes()).jpeg)).info


def _insert(data: bytes, at: int, extra: bytes) -> bytes:
    return data[:at] + extra + data[at:]


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (1, 2, 3)).save(buf, "PNG")
    return buf.getvalue()


def _png_chunk(kind: bytes, body: bytes = b"") -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def _after_app0(jpeg: bytes) -> int:
    return 4 + int.from_bytes(jpeg[4:6], "big")


def _tiff_block(tags: int, blob: int) -> bytes:
    """A little-endian TIFF block whose first directory holds an orientation and `tags` private
    UNDEFINED tags, each naming the same `blob` bytes at the block's start."""
    entries = [struct.pack("<HHIHH", 0x0112, 3, 1, 1, 0)]
    entries += [struct.pack("<HHII", 40000 + i, 7, blob, 0) for i in range(tags)]
    block = b"II*\x00" + struct.pack("<IH", 8, len(entries)) + b"".join(entries) + b"\x00" * 4
    return block + b"\x00" * max(0, blob - len(block))


def _tiff(tags: int, blob: int) -> bytes:
    """A 300x300 TIFF whose first directory also holds `tags` tags naming the same `blob` bytes."""
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (9, 9, 9)).save(buf, "TIFF")
    tiff = buf.getvalue()
    ifd = struct.unpack("<I", tiff[4:8])[0]
    entries = [tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i] for i in range(struct.unpack("<H", tiff[ifd:ifd + 2])[0])]
    body = tiff + b"\x00" * blob
    entries += [struct.pack("<HHII", 40000 + i, 7, blob, len(tiff)) for i in range(tags)]
    entries.sort(key=lambda e: e[:2][::-1])
    out = body + struct.pack("<H", len(entries)) + b"".join(entries) + b"\x00" * 4
    return out[:4] + struct.pack("<I", len(body)) + out[8:]


def _with_exif(fmt: str, exif: bytes) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (9, 9, 9)).save(buf, fmt, exif=exif)
    return buf.getvalue()


HEADER_BLOATS = {  # each a unit Pillow walks in Python, repeated past what any encoder writes
    "jpeg_empty_segments": lambda: _insert(_jpeg(), 2, b"\xff\xe1\x00\x02" * 100_000),
    "jpeg_comments": lambda: _insert(_jpeg(), 2, b"\xff\xfe\x00\x03c" * 100_000),
    "jpeg_fill_bytes": lambda: _insert(_jpeg(), _after_app0(_jpeg()), b"\xff" * 1_000_000),
    "jpeg_junk_bytes": lambda: _insert(_jpeg(), _after_app0(_jpeg()), b"\x00" * 1_000_000),
    "png_chunks_before_the_pixels": lambda: _insert(_png(), _png().index(b"IDAT") - 4, _png_chunk(b"abCd") * 100_000),
    "png_chunks_after_the_pixels": lambda: _insert(_png(), _png().index(b"IEND") - 4, _png_chunk(b"abCd") * 100_000),
    "png_empty_image_data": lambda: _insert(_png(), _png().index(b"IEND") - 4, _png_chunk(b"IDAT") * 100_000),
    "gif_comment_blocks": lambda: _gif_with_comment(b"c" * 255 * 10_000),
    "gif_extensions": lambda: _gif(b"\x21\x01\x01c\x00" * 10_000),
    "gif_empty_comments": lambda: _gif(b"\x21\xfe\x00" * 10_000),  # the comment grows a line end each
    "gif_junk_bytes": lambda: _gif(b"\x07" * 100_000),
    # Pillow reads each directory value whole: 20 tags naming the same 500 kB ask for 10 MB
    "tiff_overlapping_values": lambda: _tiff(20, 500_000),
    "png_exif_overlapping_values": lambda: _with_exif("PNG", _tiff_block(20, 500_000)),
    "webp_exif_overlapping_values": lambda: _with_exif("WEBP", _tiff_block(20, 500_000)),
}


@pytest.mark.parametrize("name", HEADER_BLOATS)
def test_a_header_of_endless_units_is_refused_before_pillow_walks_it(name):
    data = HEADER_BLOATS[name]()
    start = time.process_time()
    with pytest.raises(Rejected) as e:
        process_image(data)  # main: kept, after a Python step (and an object) per unit
    assert e.value.reason == "bloated_header", e.value
    assert time.process_time() - start < 0.2


def test_headers_as_large_as_real_files_hold_are_walked_as_before():
    profile = bytes(range(256)) * 60_000  # 15 MB: 235 APP2 chunks, as Pillow splits an ICC profile
    buf = io.BytesIO()
    Image.new("RGB", (300, 300)).save(buf, "JPEG", icc_profile=profile)
    assert header_excess("image/jpeg", buf.getvalue()) is None
    pixels = _png()
    at = pixels.index(b"IDAT") - 4
    assert header_excess("image/png", _insert(pixels, at, _png_chunk(b"tEXt", b"k\x00v") * 60_000)) is None
    assert header_excess("image/gif", _gif_with_comment(b"c" * 255 * 4_000)) is None
    assert header_excess("image/tiff", _tiff(1, 500_000)) is None  # one large private tag: read once
    buf = io.BytesIO()
    Image.new("RGB", (300, 3000)).save(buf, "TIFF", description="d" * 100_000)  # a strip per 8 rows
    assert header_excess("image/tiff", buf.getvalue()) is None
    assert header_excess("image/png", _with_exif("PNG", _tiff_block(1, 500_000))) is None


@pytest.mark.skipif(not IMAGES.is_dir(), reason="../shared/data is absent")
def test_no_shared_image_has_a_bloated_header():
    files = [p for p in IMAGES.rglob("*") if p.is_file()]
    bloated = [p.name for p in files if header_excess(sniff(data := p.read_bytes()), data)]
    assert not bloated


def _clip_of_streams(streams: int, side: int, container: str, frames: int = 1) -> bytes:
    """A clip of `streams` video streams of `side`x`side` black MPEG-4 frames, `frames` each."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        encoders = [out.add_stream("mpeg4", rate=25) for _ in range(streams)]
        for stream in encoders:
            stream.width = stream.height = side
            stream.pix_fmt = "yuv420p"
        black = np.zeros((side, side, 3), np.uint8)
        for k in range(frames):
            for stream in encoders:
                frame = av.VideoFrame.from_ndarray(black, format="rgb24")
                frame.pts = k
                for packet in stream.encode(frame):
                    out.mux(packet)
        for stream in encoders:
            for packet in stream.encode():
                out.mux(packet)
    return buf.getvalue()


def _video_outcome_and_growth(data: bytes) -> tuple[str, float]:
    """(reason or 'kept', peak RSS growth in MB) of extracting `data`, in a fresh interpreter."""
    import resource

    from m3w_builder.media.video import extract_frames

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        extract_frames(data)
        outcome = "kept"
    except Rejected as e:
        outcome = e.reason
    return outcome, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def test_a_clip_of_a_hundred_video_streams_is_refused_without_probing_them_all(fresh_interpreter):
    data = _clip_of_streams(120, 1024, "matroska")  # 1.4 MB; main: kept, after +~130 MB for the probe
    outcome, growth = fresh_interpreter(_video_outcome_and_growth, data)
    assert outcome == "too_many_streams"
    assert growth < 80


def test_a_clip_of_thirty_streams_is_read_whole():
    from m3w_builder.media.video import extract_frames

    clip = extract_frames(_clip_of_streams(30, 64, "mp4", frames=2))
    assert clip.duration_s == pytest.approx(0.08) and len(clip.frames) == 1
