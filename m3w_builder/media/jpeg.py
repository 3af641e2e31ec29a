"""The scans of a JPEG, counted the way libjpeg walks its markers, before any pixel is decoded.

A progressive JPEG's decoder does a pass over every block of the image for each scan, and nothing
in the format bounds how many scans a file holds: a 14-byte refinement scan repeated 10,000 times
over a 4000×4000 picture is a 234 KB file that costs 2.4 CPU-s to decode, and the byte cap allows
a thousand times that. Encoders write 1 (baseline) to about 10 (libjpeg's progressive script)
per image, so a file with more than `MAX_SCANS` is refused unread.
"""

from __future__ import annotations

import re

MAX_SCANS = 100
MAX_HEADER_SEGMENTS = 4_096  # before the first scan: encoders write ~10, an ICC profile up to 255 APP2 chunks
MAX_HEADER_PADDING = 65_536  # junk and fill bytes between those segments
# A marker as libjpeg's `next_marker` finds it: 0xFF (fill bytes may repeat it), then a byte that is
# neither 0x00 (a stuffed 0xFF inside entropy-coded data) nor 0xFF. Bytes before it are skipped,
# as libjpeg skips them (with a warning), so junk between segments cannot hide the scans after it.
_MARKER = re.compile(rb"\xff+([^\x00\xff])", re.DOTALL)
_SOS, _EOI = 0xDA, 0xD9
_NO_LENGTH = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RST0-7: no segment follows


def scan_count(data: bytes, stop_after: int = MAX_SCANS) -> int:
    """The start-of-scan markers of the first image in `data` (up to its EOI; an MPO's later
    pictures and an EXIF thumbnail inside an APP segment are not counted), counting no further
    than `stop_after` + 1. A segment whose length runs past the end ends the count."""
    scans, pos = 0, 2  # past SOI
    while scans <= stop_after:
        marker = _MARKER.search(data, pos)
        if marker is None:
            break
        code, pos = marker[1][0], marker.end()
        if code == _EOI:
            break
        if code in _NO_LENGTH:
            continue
        if pos + 2 > len(data):
            break
        pos += int.from_bytes(data[pos:pos + 2], "big")  # the length counts its own two bytes
        scans += code == _SOS
    return scans


def header_excess(data: bytes) -> str | None:
    """Why Pillow's walk of the segments before the first scan would cost far more than the
    picture (`media.headers`: a Python step and an object per segment, a step per fill or junk
    byte between them), or None: over `MAX_HEADER_SEGMENTS` segments or `MAX_HEADER_PADDING`
    such bytes. The walk stops at either cap, so it costs at most that many steps itself."""
    segments, padding, pos = 0, 0, 2  # past SOI
    while True:
        marker = _MARKER.search(data, pos)
        if marker is None:
            return None
        padding += marker.end() - 2 - pos  # what precedes the marker's last FF: junk, stuffing, fill
        if padding > MAX_HEADER_PADDING:
            return f"over {MAX_HEADER_PADDING} bytes of junk or fill between JPEG segments"
        code, pos = marker[1][0], marker.end()
        if code in (_SOS, _EOI):
            return None
        segments += 1
        if segments > MAX_HEADER_SEGMENTS:
            return f"over {MAX_HEADER_SEGMENTS} JPEG segments before the first scan"
        if code not in _NO_LENGTH:
            pos += int.from_bytes(data[pos:pos + 2], "big")


def over_scan_limit(data: bytes, limit: int = MAX_SCANS) -> bool:
    """Whether the first image in `data` holds more than `limit` scans. Every start-of-scan marker
    is the bytes FF DA, which entropy-coded data never holds (an FF there is followed by 00 or a
    restart marker), so a file with at most `limit` of them, counted in C, needs no walk: the walk
    takes a Python step per marker, restart markers included (2.3 ms on a camera JPEG, a quarter
    of its processing)."""
    return data.count(b"\xff\xda") > limit and scan_count(data, limit) > limit
