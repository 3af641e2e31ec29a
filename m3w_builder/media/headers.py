"""The header units Pillow's Python parsers walk a step each, and the directory values it reads
whole, counted before a file is opened.

Pillow reads a JPEG's segments up to its first scan, a PNG's chunks up to the end of its first
frame and a GIF's extension blocks up to its first image in Python: a step (and for a JPEG or PNG
an object) per unit, a step per fill or junk byte between them, and a GIF comment copied whole
again at each of its sub-blocks. Nothing in the formats bounds how many, and the byte cap lets a
file hold millions: at ~30 MB, 8M empty JPEG APP segments cost 7.5 CPU-s and +1.1 GB RSS, 2.6M
empty PNG chunks 5.7 CPU-s and +360 MB, one GIF comment of 120k sub-blocks 132 CPU-s (quadratic).
Encoders write a few dozen (the shared JPEGs at most 13 segments before their scan); the caps
below leave room for real files (an ICC profile's 255 APP2 chunks, a PNG's IDAT every 512 bytes
of 32 MiB) and bound Pillow's walk, and this one's, to tens of milliseconds. A TIFF directory
(a TIFF's own, a PNG's or WebP's EXIF) is refused when its values overlap (`tiff_excess`).
"""

from __future__ import annotations

import re

from m3w_builder.media import jpeg
from m3w_builder.media.exif import FIELD_BYTES

MAX_CHUNKS = 65_536  # of a PNG's first frame (up to IEND, or an APNG's next fcTL)
MAX_TIFF_ENTRIES = 65_535  # in one directory (what a classic TIFF's count can say)
MAX_GIF_BLOCKS = 4_096  # extensions and their sub-blocks before the first image
MAX_PADDING = 65_536  # junk bytes between a GIF's blocks (a JPEG's: jpeg.MAX_HEADER_PADDING)
_GIF_INTRODUCER = re.compile(rb"[!,;]")  # extension, image descriptor, trailer


def header_excess(mime: str | None, data: bytes) -> str | None:
    """Why `data`'s header is past what Pillow should be asked to walk, or None (see the module)."""
    check = _CHECKS.get(mime or "")
    return check(data) if check else None


def tiff_excess(block: bytes) -> str | None:
    """Values of a TIFF-structured block's first directory (a TIFF file, a PNG's or WebP's EXIF)
    that overlap, or None. Pillow reads every value it finds whole when it opens a TIFF or reads
    an EXIF block's orientation, and nothing stops many entries from naming the same bytes: a 4 MB
    TIFF or PNG whose 100 private tags each name the whole file cost +800 MB / +400 MB RSS (at
    32 MiB, 1,000 tags ask for 32 GB). Disjoint values cannot add up to more than the block."""
    order = {b"II": "little", b"MM": "big"}.get(block[:2])
    if order is None:
        return None

    def number(at: int, size: int) -> int:
        return int.from_bytes(block[at:at + size], order)

    big = number(2, 2) == 43  # BigTIFF: 8-byte counts and offsets
    word, entry, count_size = (8, 20, 8) if big else (4, 12, 2)
    ifd = number(8 if big else 4, word)
    entries = min(number(ifd, count_size), max(0, (len(block) - ifd - count_size) // entry))
    if entries > MAX_TIFF_ENTRIES:
        return f"over {MAX_TIFF_ENTRIES} entries in a TIFF directory"
    total = 0
    for at in range(ifd + count_size, ifd + count_size + entries * entry, entry):
        size = number(at + 4, word) * FIELD_BYTES.get(number(at + 2, 2), 0)
        if size > word and number(at + 4 + word, word) + size <= len(block):  # held apart, and found whole
            total += size
    if total > len(block):
        return f"TIFF directory values of {total} bytes in {len(block)} (entries naming the same bytes)"
    return None


def png_excess(data: bytes) -> str | None:
    """More than `MAX_CHUNKS` chunks before the first frame ends, or an eXIf chunk whose values
    overlap (`tiff_excess`), or None."""
    pos, chunks, image_data = 8, 0, False
    while pos + 8 <= len(data):
        kind = data[pos + 4:pos + 8]
        if kind == b"IEND" or (kind == b"fcTL" and image_data):
            return None
        image_data = image_data or kind == b"IDAT"
        chunks += 1
        if chunks > MAX_CHUNKS:
            return f"over {MAX_CHUNKS} PNG chunks in its first frame"
        length = int.from_bytes(data[pos:pos + 4], "big")
        if kind == b"eXIf" and (excess := tiff_excess(_exif_block(data[pos + 8:pos + 8 + length]))):
            return excess
        pos += 12 + length
    return None


def webp_excess(data: bytes) -> str | None:
    """A WebP's EXIF chunk whose values overlap (`tiff_excess`), or None; past `MAX_CHUNKS` RIFF
    chunks (libwebp reads them in C) the rest are not looked at."""
    pos = 12
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            return None
        length = int.from_bytes(data[pos + 4:pos + 8], "little")
        if data[pos:pos + 4] == b"EXIF":
            return tiff_excess(_exif_block(data[pos + 8:pos + 8 + length]))
        pos += 8 + length + (length & 1)
    return None


def _exif_block(body: bytes) -> bytes:
    return body.removeprefix(b"Exif\x00\x00")


def gif_excess(data: bytes) -> str | None:
    """More than `MAX_GIF_BLOCKS` extensions and sub-blocks or `MAX_PADDING` junk bytes before the
    first image, or None."""
    if len(data) < 13:
        return None
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # past the global colour table
    blocks = junk = 0
    while True:
        found = _GIF_INTRODUCER.search(data, pos)
        junk += (found.start() if found else len(data)) - pos  # Pillow reads a byte that starts no block and goes on
        if junk > MAX_PADDING:
            return f"over {MAX_PADDING} junk bytes between GIF blocks"
        if found is None or data[found.start()] != 0x21:  # the first image, the trailer or the end
            return None
        pos = found.start() + 2  # introducer and label
        blocks += 1  # the extension itself: an empty comment still adds a line end to the comment
        while blocks <= MAX_GIF_BLOCKS and pos < len(data) and data[pos]:
            blocks += 1
            pos += data[pos] + 1
        if blocks > MAX_GIF_BLOCKS:
            return f"over {MAX_GIF_BLOCKS} GIF extensions and their blocks before its first image"
        pos += 1


_CHECKS = {"image/jpeg": jpeg.header_excess, "image/png": png_excess, "image/gif": gif_excess,
           "image/tiff": tiff_excess, "image/webp": webp_excess}
