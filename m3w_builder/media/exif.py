"""The source image's EXIF tags as JSON (img2dataset's `exif` column), read within a size bound.

Pillow unpacks every tag it is asked for whole, and a PNG's eXIf chunk, a WebP's EXIF chunk or a
TIFF's own directory may be as large as the file: a 28 MB TIFF holding one private tag of 7
million numbers cost +527 MB of memory and gave 62 MB of JSON for each sample's json and manifest
row. So the tags' declared sizes are summed from the directory entries first (no value read), and
metadata over `MAX_EXIF_BYTES` (what a JPEG's one APP1 segment can hold) is left out whole. A
TIFF's layout tags (strip and tile offsets, colour map) describe its pixel data, not the picture,
and are never read: an ordinary TIFF stored one number per strip in the column.
"""

from __future__ import annotations

import json

from PIL import ExifTags, Image

MAX_EXIF_BYTES = 64 * 1024
_LAYOUT = frozenset({273, 279, 288, 289, 320, 324, 325})  # strip/free/tile offsets and counts, ColorMap
_SUB_IFDS = (ExifTags.IFD.Exif,)  # the directories read besides the first one
# bytes per value of each TIFF field type (TIFF 6.0 and BigTIFF); Pillow skips unknown ones
FIELD_BYTES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}


def exif_json(im: Image.Image, data: bytes, errors: tuple[type[BaseException], ...]) -> str:
    """EXIF tags of the base IFD and the Exif IFD as `{Pillow tag name: text}` JSON ("" when none,
    or when their values declare more than `MAX_EXIF_BYTES`); `errors` are those Pillow raises."""
    raw = im.info.get("exif")
    tiff = raw if isinstance(raw, bytes) else data if im.format == "TIFF" else b""
    if declared_bytes(tiff.removeprefix(b"Exif\x00\x00")) > MAX_EXIF_BYTES:
        return ""
    try:
        exif = im.getexif()
        tags = {tag: exif[tag] for tag in exif if tag not in _LAYOUT and tag not in _SUB_IFDS}
        tags.update(exif.get_ifd(ExifTags.IFD.Exif))
    except errors:
        return ""
    named = {ExifTags.TAGS.get(tag, str(tag)): _text(value) for tag, value in tags.items()}
    named = {k: v for k, v in named.items() if v is not None}
    return json.dumps(named, sort_keys=True, ensure_ascii=False) if named else ""


def declared_bytes(tiff: bytes) -> int:
    """Bytes the value of every tag of a TIFF-structured block's first directory and its Exif
    directory declares (layout tags left out), read from the entries alone; a block cut short or
    of another structure counts what could be read."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None:
        return 0

    def number(at: int, size: int) -> int:
        return int.from_bytes(tiff[at:at + size], order)

    big = number(2, 2) == 43  # BigTIFF: 8-byte counts and offsets
    word, entry = (8, 20) if big else (4, 12)
    total, todo, seen = 0, [number(8 if big else 4, word)], set()
    while todo:
        ifd = todo.pop()
        if ifd in seen or ifd + 2 > len(tiff):
            continue
        seen.add(ifd)
        count_size = 8 if big else 2
        for i in range(min(number(ifd, count_size), (len(tiff) - ifd) // entry)):
            at = ifd + count_size + i * entry
            tag, kind, count = number(at, 2), number(at + 2, 2), number(at + 4, word)
            if tag in _SUB_IFDS:
                todo.append(number(at + 4 + word, word))
            elif tag not in _LAYOUT:
                total += count * FIELD_BYTES.get(kind, 0)
    return total


def _text(value: object) -> str | None:
    """A tag value as text; binary blobs (maker notes, thumbnails) are left out."""
    if isinstance(value, bytes):
        text = value.rstrip(b"\0").decode("ascii", "replace")
        return text if text.isprintable() and len(text) <= 256 else None
    return str(value).replace("\0", "")
