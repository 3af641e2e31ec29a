"""HTTP content codings (`Content-Encoding`) undone layer by layer, under a byte cap.

A body a server compressed although we asked for `identity` (the fetcher), or that a crawler
stored still compressed in a WARC record under a coding warcio does not decode (`x-gzip`, a
stacked `gzip, gzip`, `zstd`, `br` without the brotli module), would otherwise reach the decoders
as bytes nobody recognises and be dropped under a reason that is not the truth. Codings are undone
from the last applied to the first, each capped at `max_bytes` of output (a gzip bomb stops at the
cap). A layer whose bytes do not start as that coding does (gzip, zstd: a header that lies, as
warcio also assumes) is left as it is; a layer that starts right and then breaks is `bad_encoding`;
a coding we cannot undo (`br`, `compress`, an unknown token) is `unsupported_encoding`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import zstandard  # installed with apache-beam, which requires it

from m3w_builder.drops import Rejected

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def content_codings(header: str | None) -> list[str]:
    """The codings a `Content-Encoding` value lists, in the order they were applied (`identity` left out)."""
    return [c for c in (part.strip().lower() for part in (header or "").split(",")) if c and c != "identity"]


def decode_content(body: bytes, header: str | None, max_bytes: int, cut: bool = False) -> bytes:
    """`body` with every coding of `header` undone; `Rejected` (`unsupported_encoding`,
    `bad_encoding`, `too_large`) when that cannot be done within `max_bytes` (with `cut`, a longer
    result is cut after `max_bytes + 1` bytes instead: robots.txt is parsed up to its cap)."""
    for coding in reversed(content_codings(header)):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise Rejected("unsupported_encoding", f"Content-Encoding {coding!r} cannot be decoded here")
        body = decoder(body, max_bytes, cut)
    return body


def _zlib_stream(body: bytes, max_bytes: int, cut: bool, wbits: int, name: str, members: bool) -> bytes:
    """Inflate `body` (every gzip member with `members`; trailing bytes that start no member are
    ignored, as gzip(1) does) into at most `max_bytes`."""
    out, size, data = [], 0, body
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            chunk = inflater.decompress(data, max_bytes + 1 - size)
        except zlib.error as error:
            raise Rejected("bad_encoding", f"{name}: {error}") from None
        out.append(chunk)
        size += len(chunk)
        if size > max_bytes or inflater.unconsumed_tail:
            if cut:
                return b"".join(out)
            raise Rejected("too_large", f"{name} body decodes to more than {max_bytes} bytes")
        if not inflater.eof:
            raise Rejected("bad_encoding", f"{name} stream ends early ({len(body)} bytes)")
        data = inflater.unused_data
        if not (members and data.startswith(_GZIP_MAGIC)):
            return b"".join(out)


def _gzip(body: bytes, max_bytes: int, cut: bool) -> bytes:
    if not body.startswith(_GZIP_MAGIC):
        return body  # not gzip bytes: the header lies
    return _zlib_stream(body, max_bytes, cut, 16 + zlib.MAX_WBITS, "gzip", members=True)


def _deflate(body: bytes, max_bytes: int, cut: bool) -> bytes:
    """zlib-wrapped deflate (RFC 9110), or the raw deflate some servers send."""
    wrapped = len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
    wbits = zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS
    if not wrapped:
        try:
            zlib.decompressobj(wbits).decompress(body[:1024], 1)
        except zlib.error:
            return body  # not deflate bytes either: the header lies
    return _zlib_stream(body, max_bytes, cut, wbits, "deflate", members=False)


def _zstd(body: bytes, max_bytes: int, cut: bool) -> bytes:
    if not body.startswith(_ZSTD_MAGIC):
        return body
    reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
    try:
        data = reader.read(max_bytes + 1)
    except zstandard.ZstdError as error:
        raise Rejected("bad_encoding", f"zstd: {error}") from None
    if len(data) > max_bytes and not cut:
        raise Rejected("too_large", f"zstd body decodes to more than {max_bytes} bytes")
    declared = zstandard.frame_content_size(body)  # -1 when the frame does not say
    if 0 <= len(data) < declared:  # the reader ends a cut frame quietly
        raise Rejected("bad_encoding", f"zstd frame ends early: {len(data)} of {declared} bytes")
    return data


# No `br`: brotli has no magic to check and its decoder no output bound (warcio decodes it in WARC
# records when the brotli module is installed)
_DECODERS: dict[str, Callable[[bytes, int, bool], bytes]] = {
    "gzip": _gzip, "x-gzip": _gzip, "deflate": _deflate, "zstd": _zstd,
}
