"""Hostile media bytes through the real decoders: what a stored image may carry, what a header may cost."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from m3w_builder.media.images import process_image

IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "images"


def _gif_with_comment(comment: bytes) -> bytes:
    """A 300x300 opaque GIF whose comment extension holds `comment` (sub-blocks of 255 bytes)."""
    buf = io.BytesIO()
    Image.new("P", (300, 300), 3).save(buf, "GIF")
    gif = buf.getvalue()
    blocks = b"".join(bytes([len(part)]) + part for part in (comment[i:i + 255] for i in range(0, len(comment), 255)))
    at = gif.index(b"\x2c", 13)  # the image descriptor, after the header and palette
    return gif[:at] + b"\x21\xfe" + blocks + b"\x00" + gif[at:]


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
