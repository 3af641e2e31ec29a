"""The header units Pillow's Python parsers walk a step each, counted before a file is opened.

Pillow reads a JPEG's segments up to its first scan, a PNG's chunks up to the end of its first
frame and a GIF's extension blocks up to its first image in Python: a step (and for a JPEG or PNG
an object) per unit, a step per fill or junk byte between them, and a GIF comment copied whole
again at each of its sub-blocks. Nothing in the formats bounds how many, and the byte cap lets a
file hold millions: at ~30 MB, 8M empty JPEG APP segments cost 7.5 CPU-s and +1.1 GB RSS, 2.6M
empty PNG chunks 5.7 CPU-s and +360 MB, one GIF comment of 120k sub-blocks 132 CPU-s (quadratic).
Encoders write a few dozen (the shared JPEGs at most 13 segments before their scan); the caps
below leave room for real files (an ICC profile's 255 APP2 chunks, a PNG's IDAT every 512 bytes
of 32 MiB) and bound Pillow's walk, and this one's, to tens of milliseconds.
"""

from __future__ import annotations

import re

from m3w_builder.media import jpeg

MAX_PNG_CHUNKS = 65_536  # in the first frame (up to IEND, or an APNG's next fcTL)
MAX_GIF_BLOCKS = 4_096  # extensions and their sub-blocks before the first image
MAX_PADDING = 65_536  # junk bytes between a GIF's blocks (a JPEG's: jpeg.MAX_HEADER_PADDING)
_GIF_INTRODUCER = re.compile(rb"[!,;]")  # extension, image descriptor, trailer


def header_excess(mime: str | None, data: bytes) -> str | None:
    """Why `data`'s header is past what Pillow should be asked to walk, or None (see the module)."""
    check = _CHECKS.get(mime or "")
    return check(data) if check else None


def png_excess(data: bytes) -> str | None:
    """More than `MAX_PNG_CHUNKS` chunks before the first frame ends, or None."""
    pos, chunks, image_data = 8, 0, False
    while pos + 8 <= len(data):
        kind = data[pos + 4:pos + 8]
        if kind == b"IEND" or (kind == b"fcTL" and image_data):
            return None
        image_data = image_data or kind == b"IDAT"
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            return f"over {MAX_PNG_CHUNKS} PNG chunks in its first frame"
        pos += 12 + int.from_bytes(data[pos:pos + 4], "big")
    return None


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


_CHECKS = {"image/jpeg": jpeg.header_excess, "image/png": png_excess, "image/gif": gif_excess}
