"""Read web records from WARC/ARC archives (warcio) and plain HTML files.

Every record comes out as a `WebRecord` or as a `ReadIssue` naming why it (or the rest of the
file) could not be read: revisit records, truncated files and bad gzip are counted, never fatal.
A whole-file gzip (not per-record "chunked" gzip, which warcio refuses) is re-read through `gzip`;
an LZ4-compressed archive (one LZ4 frame per record, as resiliparse and ChatNoir write them) is
read through `lz4.frame`, and a zstd-compressed one (`.warc.zst`, one frame per record, as wget-at
and ArchiveTeam write them, optionally with the dictionary of the IIPC WARC-zstd spec in a
leading skippable frame, itself raw or zstd-compressed) through `zstandard`. Both are told by
their first bytes, whatever the file's name (a `.warc.gz` that is really zstd is read).
A record whose Content-Length lies (its body cut short or run into the next record) is
`bad_content_length`; a payload still under a content coding warcio leaves alone (`x-gzip`,
`gzip, gzip`, `zstd`) is decoded (`read.encoding`); an HTML-labelled record whose bytes are an
image, a video or a PDF is `not_html`. The Content-Type is the last MIME type among the headers
and comma-joined values, as browsers read it (`effective_content_type`). Transfer codings are undone whatever their spelling
(`Chunked`, `gzip, chunked`: warcio de-chunks only an exact `chunked`). A chunked payload whose framing breaks is
`bad_chunked_encoding` and one that ends before its last chunk `truncated_record` (warcio reads
on as if unchunked: chunk sizes became page text); the first segment of a segmented record
(WARC 1.1 `continuation`s) is `segmented_record`, and an image or video the crawler cut (`WARC-Truncated`)
`truncated_record` (a cut page is read: its first part is its text). An HTTP response under a target URI that is no
http(s) URL (`javascript:`, empty, garbage), which warcio leaves unparsed, is `bad_target_uri`, and
one whose status is not three digits `bad_http_status` (the first were skipped unseen, the second
kept as pages or counted under a reason made of all their digits). A page or media record under any
other URI that is no absolute http(s) URL with a host (`https:a.test/x`, `http://`, a `urn:` or
`file:` resource) is `bad_target_uri` too: it was kept, and every relative image of the page lost as
`image_no_src`. A line is taken for an ARC header only when
its date and length are numbers (warcio takes any five words, so text became a record a line).
Blank lines before a record header (at the start of a file or a gzip member) are passed over, and a
record header right after a body (its separator missing) starts the next record: warcio lost the
record, or the rest of a plain file, in both.
"""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import lz4.frame
import zstandard
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader, ChunkedDataException, ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ARC2WARCHeadersParser, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeadersParserException

from m3w_builder.drops import Rejected
from m3w_builder.extract.urls import URI_BREAKS, resolve, without_userinfo
from m3w_builder.media.sniff import sniff
from m3w_builder.read.encoding import content_codings, decode_content
from m3w_builder.read.remote import RemoteError

HTML_TYPES = ("text/html", "application/xhtml+xml")
MEDIA_PREFIXES = ("image/", "video/")


@dataclass
class WebRecord:
    """One captured HTTP response (or resource) with its payload."""

    url: str
    body: bytes
    content_type: str = ""
    http_status: int | None = None
    fetch_time: str = ""
    source: str = ""  # "path#record-index"
    x_robots_tag: str = ""  # every X-Robots-Tag header value, one per line
    tdm_reservation: str = ""  # the TDM Reservation Protocol header (`1`: no text and data mining)

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def is_html(self) -> bool:
        """Labelled HTML, or unlabelled and sniffed as HTML (a BOM, a comment or `<head>` before
        `<html>` included: such a page was skipped uncounted as other content)."""
        return self.mime in HTML_TYPES or (not self.mime and sniff(self.body[:1024]) == "text/html")

    @property
    def optout_headers(self) -> list[tuple[str, str]]:
        """The response's opt-out headers as (name, value) pairs, for `quality.optout`."""
        pairs = [("X-Robots-Tag", value) for value in self.x_robots_tag.splitlines()]
        return pairs + ([("tdm-reservation", self.tdm_reservation)] if self.tdm_reservation else [])

    @property
    def is_media(self) -> bool:
        return self.mime.startswith(MEDIA_PREFIXES)


@dataclass
class ReadIssue:
    """Why a record (or the rest of a file) was not read: a `read/<reason>` counter."""

    reason: str
    source: str
    url: str = ""
    detail: str = ""
    status: int | None = None  # HTTP status of a non-200 capture


# What warcio (and the zlib/gzip/brotli decoders under it) really raise on cut or damaged input:
# a record header cut mid-line gives AttributeError, bad chunked encoding ValueError, a damaged
# LZ4 frame RuntimeError, ...
READ_ERRORS = (EOFError, zlib.error, OSError, ValueError, AttributeError, TypeError, IndexError, KeyError,
               UnicodeError, struct.error, OverflowError, RuntimeError, zstandard.ZstdError)
LZ4_MAGIC = b"\x04\x22\x4d\x18"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZSTD_DICT_MAGIC = b"\x5d\x2a\x4d\x18"  # the skippable frame the WARC-zstd spec keeps its dictionary in
_BLOCK = 1 << 16  # compressed bytes read at a time
_MAX_DICT = 16 << 20  # bytes of a zstd dictionary (wget-at's are ~100 KB), compressed or not


# The WARC record types (WARC 1.1 and 0.18) that hold no page or media, each a `skipped_<type>`
# volume; any other type is `skipped_other_type`.
_OTHER_RECORD_TYPES = frozenset(("warcinfo", "request", "metadata", "conversion", "continuation", "arc_header"))
_WHOLE_FILE_GZIP = "non-chunked gzip"
_HEAD = 4096
_MAX_LINE = 4 << 20  # a WARC/ARC or HTTP header line longer than this is damage, not a header
_STATUS_CODE = re.compile(r"[1-9][0-9][0-9]")  # int() took "abc" as no status, "2_00" as 200, 10^20 as http_10^18xx
_HTTP_SCHEMES = ("http:", "https:")  # the URIs warcio parses an HTTP message for
_HTTP_MESSAGE = re.compile(r"\s*application/http\b", re.IGNORECASE)


def _reason(err: BaseException) -> str:
    if isinstance(err, RemoteError):  # an http(s) input that could not be read to its end
        return err.reason
    return "truncated" if isinstance(err, EOFError) else "corrupt"


def _detail(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:200]


def _record(rec, source: str, max_bytes: int) -> WebRecord | ReadIssue:
    url = without_userinfo(rec.rec_headers.get_header("WARC-Target-URI") or "")
    if not rec.rec_type or rec.rec_headers.get_header("Content-Length") is None:  # e.g. a header cut short
        return ReadIssue("bad_record_header", source, url, detail="record header has no WARC-Type or Content-Length")
    if rec.rec_type == "revisit":
        return ReadIssue("revisit", source, url)
    if rec.rec_type not in ("response", "resource"):
        # no page either, but a counter per made-up type (`skipped_<type>`) was unbounded
        kind = rec.rec_type if rec.rec_type in _OTHER_RECORD_TYPES else "other_type"
        return ReadIssue(f"skipped_{kind}", source, url, detail=f"WARC-Type {rec.rec_type[:100]!r}")
    status = None
    content_type = ""
    robots = tdm = ""
    if rec.http_headers is None and not url.startswith(_HTTP_SCHEMES) \
            and _HTTP_MESSAGE.match(rec.rec_headers.get_header("Content-Type") or ""):  # warcio's reason to skip it
        return ReadIssue("bad_target_uri", source, url, detail=f"an HTTP {rec.rec_type} for {url[:200]!r}, "
                         "no http(s) URL: its HTTP message was never parsed")
    if rec.http_headers is not None:
        code = (rec.http_headers.get_statuscode() or "").strip()
        if code and not _STATUS_CODE.fullmatch(code):
            return ReadIssue("bad_http_status", source, url, detail=f"status line {rec.http_headers.statusline!r}"[:200])
        status = int(code) if code else None
        content_type = effective_content_type(rec.http_headers.headers)
        # every X-Robots-Tag header, one per line (an agent prefix binds only within its header)
        robots = "\n".join(value for name, value in rec.http_headers.headers if name.lower() == "x-robots-tag")
        tdm = rec.http_headers.get_header("tdm-reservation") or ""
    else:
        content_type = effective_content_type(rec.rec_headers.headers)
    if rec.rec_headers.get_header("WARC-Segment-Number"):  # the first segment: only the start of its payload
        return ReadIssue("segmented_record", source, url, detail="a record split into segments (continuation "
                         "records), which are not joined")
    # warcio de-chunks only under a Transfer-Encoding of exactly `chunked` and undoes no other
    # transfer coding: under `Chunked` or `gzip, chunked` the chunk-size lines became page text
    transfer = content_codings(rec.http_headers.get_header("Transfer-Encoding")) if rec.http_headers else []
    chunked = bool(transfer) and transfer[-1] == "chunked"
    transfer = transfer[:-1] if chunked else transfer
    try:
        stream = rec.content_stream()
        if chunked or isinstance(stream, ChunkedDataReader):  # content codings left to warcio unless transfer
            stream = _CheckedChunks(rec.raw_stream, decomp_type=None if transfer else stream_coding(stream))
        elif transfer:  # every coding undone below, the transfer codings first
            stream = rec.raw_stream
        body = stream.read(max_bytes + 1)
    except READ_ERRORS as err:  # bad chunked/gzip/brotli body: this record only
        reason = "truncated_record" if isinstance(err, EOFError) else "corrupt_record"  # EOF: an LZ4 file cut here
        return ReadIssue(reason, source, url, detail=_detail(err))
    if len(body) > max_bytes:
        return ReadIssue("record_too_large", source, url)
    if isinstance(stream, _CheckedChunks) and (stream.broken or stream.cut):
        reason = "bad_chunked_encoding" if stream.broken else "truncated_record"
        return ReadIssue(reason, source, url, detail=stream.broken or stream.cut)
    if getattr(rec.raw_stream, "limit", 0) > 0:  # fewer bytes than Content-Length: the file was cut
        return ReadIssue("truncated_record", source, url)
    if status is not None and status != 200:
        return ReadIssue(f"http_{status // 100}xx", source, url, status=status)
    encoding = rec.http_headers.get_header("Content-Encoding") if rec.http_headers is not None else None
    if encoding and (transfer or encoding.lower() not in BufferedReader.get_supported_decompressors()):
        transfer = [encoding, *transfer]  # warcio left it: applied before the transfer codings
    if transfer:
        try:
            body = decode_content(body, ", ".join(transfer), max_bytes)
        except Rejected as rejected:
            reason = "record_too_large" if rejected.reason == "too_large" else rejected.reason
            return ReadIssue(reason, source, url, detail=rejected.detail)
    mime = content_type.split(";", 1)[0].strip().lower()
    binary = binary_type(body) if mime in HTML_TYPES else None
    if binary:
        return ReadIssue("not_html", source, url, detail=f"labelled {mime}, the bytes are {binary}")
    record = WebRecord(
        url=url, body=body, content_type=content_type, http_status=status,
        fetch_time=rec.rec_headers.get_header("WARC-Date") or "", source=source, x_robots_tag=robots,
        tdm_reservation=tdm,
    )
    if (record.is_html or record.is_media) and (resolve(url, url) is None or URI_BREAKS.search(url)):
        return ReadIssue("bad_target_uri", source, url, detail=f"a {record.mime or 'page'} {rec.rec_type} for "
                         f"{url[:200]!r}: no absolute http(s) URL with a host, so no image of a page could be "
                         "resolved against it, nor a page's image found under it")
    truncated = rec.rec_headers.get_header("WARC-Truncated")
    if truncated and record.is_media:  # a page's first part is still its text; a cut image or clip is none
        return ReadIssue("truncated_record", source, url, detail=f"WARC-Truncated: {truncated[:50]}: the crawler kept "
                         f"only the start of this {record.mime} (a cut clip decoded as a shorter one)")
    return record


_MIME_ESSENCE = re.compile(r"\s*[!#$%&'*+.^`|~\w-]+/[!#$%&'*+.^`|~\w-]+\s*(;.*)?", re.DOTALL)


def effective_content_type(headers: list[tuple[str, str]]) -> str:
    """The Content-Type a browser takes from a message's headers: the last MIME type among every
    Content-Type header and every comma-joined value (as the Fetch standard reads them). The
    first header alone made `text/html,text/html` (duplicates folded into one value by a proxy or
    crawler) no HTML type, the page skipped as other content, and a `Content-Type: image/png`
    followed by `Content-Type: text/html` an image."""
    values = [value for name, value in headers if name.lower() == "content-type"]
    if len(values) == 1 and "," not in values[0]:
        return values[0]
    types = [piece.strip() for piece in ",".join(values).split(",")
             if _MIME_ESSENCE.fullmatch(piece) and not piece.strip().startswith("*/*")]
    if not types:
        return values[0] if values else ""
    last = types[-1]
    essence = last.split(";", 1)[0].strip().lower()
    if "charset" not in last.lower():  # an earlier value of the same type may still name the charset
        same = [t for t in types if t.split(";", 1)[0].strip().lower() == essence and "charset" in t.lower()]
        last = same[-1] if same else last
    return last


def stream_coding(stream) -> str | None:
    """The content coding warcio's reader decodes on the fly (`gzip`, `deflate`, `br`), if any."""
    return getattr(stream, "decomp_type", None)


_CHUNK_SIZE_LINE = re.compile(rb"[ \t]*-?[0-9A-Fa-f]+[ \t]*(;[^\r\n]*)?\r?\n?")


class _CheckedChunks(ChunkedDataReader):
    """warcio's de-chunker, noting where chunked framing broke: past the first chunk, or at a
    first line that is a chunk size, warcio quietly reads on as if the body were not chunked, and
    the chunk-size lines and cut pieces became page text. A body whose first line is no chunk
    size at all is taken as not chunked, as warcio does (crawlers that store the de-chunked body
    under the original header)."""

    def __init__(self, stream, decomp_type: str | None = None) -> None:
        super().__init__(stream, decomp_type=decomp_type)
        self.chunks = 0
        self.broken = ""  # why the framing broke, if it did
        self.cut = ""  # why the body ends before its last chunk, if it does

    def _try_decode(self, length_header: bytes) -> None:
        if not length_header:
            self.cut = f"the chunked body ends after {self.chunks} chunks, without its last (empty) chunk"
        elif self.chunks and _LAST_CHUNK.fullmatch(length_header):
            self._end_at_trailer()
            return
        left = getattr(self.stream, "limit", None)  # the record's bytes not read yet
        try:
            super()._try_decode(length_header)
        except ChunkedDataException:
            if length_header and (self.chunks or _CHUNK_SIZE_LINE.fullmatch(length_header)):
                self.broken = f"chunked framing broke after {self.chunks} chunks, at {length_header[:40]!r}"
            raise
        size = int(length_header[:-2].split(b";")[0], 16)
        if left is not None and left - self.stream.limit < size:  # warcio ends the body quietly there
            self.cut = f"the record ends inside chunk {self.chunks + 1}, of {size} bytes"
        self.chunks += 1

    def _end_at_trailer(self) -> None:
        """Pass the trailer fields after the last chunk (RFC 9112 §7.1.2) up to their blank line:
        warcio wants that line at once, so a valid body with a trailer was `bad_chunked_encoding`."""
        for _ in range(_MAX_TRAILER_LINES):
            line = self.stream.readline(_MAX_LINE)
            if not line.strip():  # the blank line, or the record's end
                self.all_chunks_read = True
                self._process_read(b"")
                return
            if not _TRAILER_FIELD.fullmatch(line):
                break
        self.broken = (f"the trailer after chunk {self.chunks} is no {_MAX_TRAILER_LINES} header fields or fewer "
                       f"ending in a blank line, at {line[:40]!r}")
        raise ChunkedDataException(b"bad chunked trailer")


_LAST_CHUNK = re.compile(rb"0+[ \t]*(;[^\r\n]*)?\r\n")
_TRAILER_FIELD = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*\r?\n")
_MAX_TRAILER_LINES = 100


# Compressed, archive and executable bytes behind an HTML label or name (a body gzipped twice, a
# .tar.gz download served as text/html): decoded as text they made documents of U+FFFD.
_PACKED_MAGIC = (
    (b"PK\x03\x04", "application/zip"), (b"\x1f\x8b", "application/gzip"), (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"), (b"\x28\xb5\x2f\xfd", "application/zstd"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"), (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\x7fELF", "application/x-elf"), (b"\x00asm", "application/wasm"),
)


def binary_type(body: bytes) -> str | None:
    """The type of bytes that are an image, a video, a PDF, or compressed, archive or executable
    bytes (what an HTML label or name may hide), None for any other (SVG and XML are markup)."""
    packed = next((kind for magic, kind in _PACKED_MAGIC if body.startswith(magic)), None)
    if packed:
        return packed
    sniffed = sniff(body) or ""
    if sniffed == "application/pdf":
        return sniffed
    return sniffed if sniffed.startswith(("image/", "video/")) and sniffed != "image/svg+xml" else None


class _CountingReader:
    """A read-only stream that counts the bytes read through it (where the archive really ends)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.position = 0
        self.head = b""  # the first bytes, to tell an empty file from a damaged tiny one
        self.cut: EOFError | None = None  # what the decoder raised where the file ends too soon

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.stream.read(size)
        except EOFError as err:  # warcio takes an EOFError while it reads a header as the clean end
            self.cut, data = err, b""  # of the file: kept here, it is counted once warcio stops
        if len(self.head) < _HEAD:
            self.head += data[: _HEAD - len(self.head)]
        self.position += len(data)
        return data

    def exhausted(self) -> bool:
        """True when nothing is left to read (so a parse error there means the file was cut); a
        compressed stream whose last frame ends early (EOFError) was cut too; one that fails to
        decode (a damaged LZ4 frame) was not."""
        try:
            return not self.stream.read(1)
        except EOFError:
            return True
        except READ_ERRORS:
            return False


class _Prefixed:
    """A stream whose first bytes were already read (to tell its format) and are served again."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.stream.read(size)
        if size is None or size < 0:
            data, self.head = self.head + self.stream.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        return data + (self.stream.read(size - len(data)) if size > len(data) else b"")


@contextmanager
def archive_bytes(open_stream: Callable[[], BinaryIO]) -> Iterator[BinaryIO]:
    """The archive's bytes for warcio: as stored, or LZ4/zstd-decoded (warcio reads gzip only);
    the list readers decode their LZ4/zstd files with it too."""
    with open_stream() as raw:
        head = raw.read(len(LZ4_MAGIC))
        if head == LZ4_MAGIC:
            yield _Lz4Frames(_Prefixed(head, raw))
        elif head == ZSTD_MAGIC or head == ZSTD_DICT_MAGIC:
            dictionary = _zstd_dictionary(raw) if head == ZSTD_DICT_MAGIC else None
            frames = _ZstdFrames(raw if dictionary else _Prefixed(head, raw))
            with zstandard.ZstdDecompressor(dict_data=dictionary).stream_reader(
                    frames, read_across_frames=True, closefd=False) as decoded:
                yield _ZstdDecoded(decoded, frames)
        else:
            yield _Prefixed(head, raw)


class _Lz4Frames:
    """The decoded bytes of an LZ4 file, handed on frame by frame: `lz4.frame.LZ4FrameFile` raises
    for a frame cut short before it returns what the frames before it decoded to in the same
    read, so the whole records in them were lost with the cut one."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.decoder = lz4.frame.LZ4FrameDecompressor()
        self.fed = False  # whether the current frame has been given any bytes

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(_BLOCK), b""))
        while size:
            if self.decoder.eof:
                data = self.decoder.unused_data or self.raw.read(_BLOCK)
                if not data:
                    return b""
                self.decoder = lz4.frame.LZ4FrameDecompressor()
            elif self.decoder.needs_input:
                data = self.raw.read(_BLOCK)
                if not data:
                    if not self.fed:
                        return b""
                    raise EOFError("the file ends inside an LZ4 frame")
            else:
                data = b""
            self.fed = self.fed or bool(data)
            out = self.decoder.decompress(data, size)
            if out:
                return out
        return b""


class _ZstdFrames:
    """The raw bytes of a zstd file on their way to the decoder, followed through the frame
    format (RFC 8878: frame header, block headers, checksum; skippable frames) without decoding
    or holding anything, to tell whether the file ends inside a frame."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.pending = b""  # header bytes still to be read whole
        self.want = 4  # bytes of the next header piece
        self.state = "magic"
        self.skip = 0  # payload bytes to pass before the next header piece
        self.checksum = False

    def ended_inside(self) -> bool:
        return bool(self.skip or self.pending) or self.state not in ("magic", "unknown")

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        view = memoryview(data)
        while view and self.state != "unknown":
            if self.skip:
                n = min(self.skip, len(view))
                self.skip, view = self.skip - n, view[n:]
                continue
            n = self.want - len(self.pending)
            self.pending, view = self.pending + bytes(view[:n]), view[n:]
            if len(self.pending) == self.want:
                piece, self.pending = self.pending, b""
                self._header(piece)
        return data

    def _header(self, piece: bytes) -> None:
        """Move past one header piece; what follows it is skipped or is the next piece."""
        if self.state == "magic":
            if piece == ZSTD_MAGIC:
                self.state, self.want = "descriptor", 1
            elif piece[0] & 0xF0 == 0x50 and piece[1:] == b"\x2a\x4d\x18":  # skippable frame
                self.state, self.want = "skippable", 4
            else:
                self.state = "unknown"  # the decoder says what it is
        elif self.state == "skippable":
            self.skip, self.state, self.want = int.from_bytes(piece, "little"), "magic", 4
        elif self.state == "descriptor":
            flags = piece[0]
            single = flags >> 5 & 1
            self.checksum = bool(flags >> 2 & 1)
            self.skip = (1 - single) + (0, 1, 2, 4)[flags & 3] + (single, 2, 4, 8)[flags >> 6]
            self.state, self.want = "block", 3
        else:  # a block header: last-block bit, type, size
            value = int.from_bytes(piece, "little")
            self.skip = 1 if value >> 1 & 3 == 1 else value >> 3  # an RLE block holds one byte
            if value & 1:
                self.skip += 4 if self.checksum else 0
                self.state, self.want = "magic", 4


class _ZstdDecoded:
    """The decoded bytes of a zstd file, ending in `EOFError` where the file ends inside a frame:
    `zstandard`'s reader ends a cut frame quietly, so a record cut with it (a request record, a
    header: nothing decoded yet) would vanish uncounted."""

    def __init__(self, decoded: BinaryIO, frames: _ZstdFrames) -> None:
        self.decoded, self.frames = decoded, frames

    def read(self, size: int = -1) -> bytes:
        data = self.decoded.read(size)
        if not data and size and self.frames.ended_inside():
            raise EOFError("the file ends inside a zstd frame")
        return data


def _zstd_dictionary(raw: BinaryIO) -> zstandard.ZstdCompressionDict:
    """The dictionary in the skippable frame a WARC-zstd file starts with (its magic already read)."""
    size = struct.unpack("<I", _read_exactly(raw, 4, "the dictionary frame's size"))[0]
    if size > _MAX_DICT:
        raise ValueError(f"a zstd dictionary of {size} bytes, over the {_MAX_DICT}-byte cap")
    data = _read_exactly(raw, size, f"the {size}-byte zstd dictionary")
    if data.startswith(ZSTD_MAGIC):  # the spec lets the dictionary itself be zstd-compressed
        with zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True) as reader:
            data = reader.read(_MAX_DICT + 1)
        if len(data) > _MAX_DICT:
            raise ValueError(f"a zstd dictionary that decompresses past the {_MAX_DICT}-byte cap")
    return zstandard.ZstdCompressionDict(data)


def _read_exactly(raw: BinaryIO, size: int, what: str) -> bytes:
    data = raw.read(size)
    if len(data) < size:
        raise EOFError(f"the file ends in {what} ({len(data)} of {size} bytes)")
    return data


def _empty(counting: _CountingReader) -> bool:
    """No bytes at all, or only blank lines and empty gzip members."""
    if counting.position == 0:
        return True
    if counting.position > _HEAD:
        return False
    try:
        head = gzip.decompress(counting.head) if counting.head.startswith(b"\x1f\x8b") else counting.head
    except (OSError, EOFError, zlib.error):
        return False
    return not head.strip()


@dataclass
class _Progress:
    """Records seen so far (the index of the next one)."""

    records: int = 0


class _LengthCheck:
    """Holds each record back until warcio has read past it: a record not followed by its blank
    lines had a wrong Content-Length (its body was cut short or ran into the next record), which
    warcio only notices, and prints, once the caller asks for the next record."""

    def __init__(self, iterator: ArchiveIterator) -> None:
        self.iterator = iterator
        self.pending: WebRecord | ReadIssue | None = None
        self.errors = iterator.err_count

    def hold(self, item: WebRecord | ReadIssue | None) -> None:
        self.pending, self.errors = item, self.iterator.err_count

    def release(self) -> Iterator[WebRecord | ReadIssue]:
        item, self.pending = self.pending, None
        if item is None:
            return
        if self.iterator.err_count > self.errors and isinstance(item, WebRecord):
            item = ReadIssue("bad_content_length", item.source, item.url,
                             detail="the record is not followed by its blank lines: its Content-Length is wrong")
        yield item


def _held_bytes(reader) -> int:
    """Bytes warcio has read from the file but not parsed yet (a small file is read whole at once,
    so an exhausted file says nothing about where the damage is)."""
    try:
        return reader.rem_length()
    except (AttributeError, TypeError, ValueError):
        return 0


def _bounded_readline(reader) -> None:
    """Give warcio's reader a `readline` that is linear and stops at `_MAX_LINE`: warcio's own
    joins a long line piece by piece (quadratic: 50 MB without a newline, a zero-filled stretch
    of a damaged file or 1 MB of gzip, took minutes), and holds it whole. A cut line then fails
    to parse as a header, and the file ends with a counted issue."""

    def readline(length: int | None = None) -> bytes:
        limit = _MAX_LINE if length is None else min(length, _MAX_LINE)
        if limit <= 0:
            return b""
        parts, size = [], 0
        while size < limit:
            reader._fillbuff()
            if reader.empty():
                break
            piece = reader.buff.readline(limit - size)
            parts.append(piece)
            size += len(piece)
            if piece.endswith(b"\n"):
                break
        return b"".join(parts)

    reader.readline = readline


_ARC_DATE = re.compile(r"\d{8,}")  # YYYYMMDDhhmmss, some shorter or longer
_ARC_LENGTH = re.compile(r"-?\d+")  # a negative one is a bad record, still an ARC header


class _StrictArcHeaders(ARC2WARCHeadersParser):
    """warcio's ARC header parser, refusing a line whose date or length is no number: warcio takes
    any line of five words as an ARC record header, so a text file (or the text after a WARC)
    became one record per line, named by its first word, each `bad_content_length`."""

    def _get_protocol_and_headers(self, headerline: str, parts: list[str]):
        if not (_ARC_DATE.fullmatch(parts[2]) and _ARC_LENGTH.fullmatch(parts[4])):
            raise StatusAndHeadersParserException("not an ARC header: its date or length is no number", headerline)
        return super()._get_protocol_and_headers(headerline, parts)


_VERSION_LINE = re.compile(rb"WARC/\d+\.\d+\r?\n")  # the first line of a WARC record header


class _Loader(ArcWarcRecordLoader):
    """warcio's record loader, passing over blank lines before a record header: warcio took the
    first blank line for an empty header, so a file or a gzip member starting with a line end (a
    writer that puts a record's separator at the start of the next member) lost its record as
    `bad_record_header`, and in an uncompressed file every record after it was read as that
    headerless record's body, uncounted. A WARC-Type is read in lower case (`Response` was
    skipped, its HTTP message never parsed)."""

    def _detect_type_load_headers(self, stream, statusline=None, known_format=None):
        if statusline is None:
            statusline = stream.readline()
            while statusline and not statusline.strip():
                statusline = stream.readline()
        the_format, headers = super()._detect_type_load_headers(stream, statusline, known_format)
        kind = headers.get_header("WARC-Type")
        if kind is not None and kind != kind.strip().lower():  # `Response`: warcio parses no HTTP message
            headers.replace_header("WARC-Type", kind.strip().lower())
        return the_format, headers


class _Iterator(ArchiveIterator):
    """warcio's archive iterator, taking a WARC header line met where the blank lines after a record
    belong as the next record's start: warcio dropped that line as damage, so the record before it
    (its Content-Length right, only the separator missing) was `bad_content_length`, and the rest
    of an uncompressed file was lost with the next record, whose header no longer began."""

    def _consume_blanklines(self) -> tuple[bytes | None, int]:
        size, first = 0, True  # (the next record's first line, bytes of blank lines passed)
        while True:
            line = self.reader.readline()
            if not line:
                return None, size
            if line.strip():
                if not first or _VERSION_LINE.fullmatch(line):
                    return line, size
                self.err_count += 1  # the record ran on past its Content-Length: `_LengthCheck` counts it
            size += len(line)
            first = False


@dataclass
class _Damage:
    """Where reading stopped inside a gzip member (its offset in the stream `_iterate` read), and the
    issue to count for it unless the record that member holds was counted already."""

    member: int
    issue: ReadIssue | None


def _iterate(stream: BinaryIO, path: str, max_bytes: int, skip: int, progress: _Progress):
    """Records of `stream`, then None, or the `_Damage` a per-record gzip file can be read on after
    (generator return value)."""
    counting = _CountingReader(stream)
    iterator = _Iterator(counting, arc2warc=True)
    iterator.loader = _Loader(verify_http=False, arc2warc=True)  # as ArchiveIterator makes its own
    iterator.loader.arc_parser = _StrictArcHeaders()
    reader = iterator.reader  # (the iterator drops it when done)
    _bounded_readline(reader)
    held = _LengthCheck(iterator)
    last_member = -1  # where the last record read began (for gzip, its member)
    try:
        for index, rec in enumerate(iterator, progress.records):
            yield from held.release()
            progress.records = index + 1
            last_member = iterator.offset
            held.hold(_record(rec, f"{path}#{index}", max_bytes) if index >= skip else None)
        yield from held.release()
    except ArchiveLoadFailed as err:
        yield from held.release()
        if _WHOLE_FILE_GZIP in str(err):
            raise  # read_archive re-reads the file through gzip
        # the first bytes of a record, then the end (not bytes warcio holds past the bad line)
        if progress.records and counting.exhausted() and not _held_bytes(reader):
            reason = "truncated"
        else:
            unknown = "Unknown archive format" in str(err)
            # after records were read, bytes that are no record are damage, not another format
            reason = ("corrupt" if progress.records else "unknown_format") if unknown else "archive_error"
        issue = ReadIssue(reason, f"{path}#{progress.records}", detail=_detail(err))
        damage = _gzip_damage(iterator, counting, issue, last_member) if reason == "corrupt" else None
        if damage is None or damage.issue is not None:
            yield issue
        return damage
    except READ_ERRORS as err:  # a header cut at the end of the file, or damage in the middle
        yield from held.release()
        cut = isinstance(err, EOFError) or (counting.exhausted() and not _held_bytes(reader))
        issue = ReadIssue("truncated" if cut else "corrupt", f"{path}#{progress.records}", detail=_detail(err))
        damage = None if cut else _gzip_damage(iterator, counting, issue, last_member)
        if damage is None or damage.issue is not None:
            yield issue
        return damage
    if counting.cut is not None:  # a compressed frame or member cut short: what it held is lost
        yield ReadIssue("truncated", f"{path}#{progress.records}", detail=_detail(counting.cut))
    elif progress.records == 0 and _empty(counting):
        yield ReadIssue("empty_archive", path, detail=f"{counting.position} bytes, no content")
    elif iterator.offset < counting.position:
        # warcio stops silently at a record header cut short: the bytes it consumed past the last
        # complete record are a record we lost
        yield ReadIssue("truncated", f"{path}#{progress.records}",
                        detail=f"{counting.position - iterator.offset} bytes after the last complete record "
                        f"(offset {iterator.offset}) are not a whole record")


def _gzip_damage(iterator: ArchiveIterator, counting: _CountingReader, issue: ReadIssue,
                 last_member: int) -> _Damage | None:
    """The gzip member reading stopped in, when the file is per-record gzip (each record its own
    member, as Common Crawl writes them): the records after it can still be read. Its issue is
    left out when the member is the last record's, already counted (a Content-Length that lied)."""
    # warcio's (offset, length) of the last member it finished, or (offset, -n) of one it is in
    member = getattr(iterator, "member_info", None)
    if not counting.head.startswith(b"\x1f\x8b") or not member or member[0] < 0:
        return None
    start = member[0] if member[1] < 0 else member[0] + member[1]
    return _Damage(start, None if start == last_member else issue)


_GZIP_MEMBER = b"\x1f\x8b\x08"  # a gzip member's first bytes (magic, deflate)
_PROBE = 1024  # bytes a candidate member must decode without error to be taken as one


def _member_end(open_stream: Callable[[], BinaryIO], offset: int) -> int | None:
    """Where the next gzip member after the one at `offset` starts: the end of that member (its
    output decoded in bounded pieces and dropped), or, when it is damaged, the next place past it
    where a member starts and decodes. None when there is none."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    fed = 0
    with open_stream() as raw:
        _skip(raw, offset)
        try:
            while not inflater.eof:
                data = inflater.unconsumed_tail or raw.read(_BLOCK)
                if not data:
                    return None  # cut in this member: nothing after it
                fed += 0 if inflater.unconsumed_tail else len(data)
                inflater.decompress(data, _BLOCK)
            return offset + fed - len(inflater.unused_data)
        except zlib.error:
            pass
    with open_stream() as raw:
        _skip(raw, offset + 1)
        return _next_member_start(raw, offset + 1)


def _next_member_start(raw: BinaryIO, base: int) -> int | None:
    """The offset of the first place from `base` where a gzip member starts and decodes."""
    window = b""
    while True:
        data = raw.read(_BLOCK)
        window += data
        found = window.find(_GZIP_MEMBER)
        while found != -1 and (len(window) - found >= _PROBE or not data):
            try:
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                if inflater.decompress(window[found:found + _PROBE], _PROBE) or inflater.eof:
                    return base + found
            except zlib.error:
                pass
            found = window.find(_GZIP_MEMBER, found + 1)
        if not data:
            return None
        keep = found if found != -1 else max(len(window) - len(_GZIP_MEMBER) + 1, 0)
        base, window = base + keep, window[keep:]


def _skip(raw: BinaryIO, offset: int) -> None:
    """Move `raw` to `offset`: seeking where it can, else reading past the bytes (a remote file)."""
    if offset and getattr(raw, "seekable", lambda: False)():
        raw.seek(offset)
        return
    while offset > 0:
        data = raw.read(min(offset, 1 << 20))
        if not data:
            return
        offset -= len(data)


@contextmanager
def _opened_at(open_stream: Callable[[], BinaryIO], offset: int) -> Iterator[BinaryIO]:
    with open_stream() as raw:
        _skip(raw, offset)
        yield raw


def read_archive(
    open_stream: Callable[[], BinaryIO], path: str, max_record_bytes: int = 50_000_000
) -> Iterator[WebRecord | ReadIssue]:
    """Records of one WARC/ARC file; `open_stream()` opens the raw (still compressed) bytes.

    Never raises for what the file holds: a cut or damaged archive ends with a `truncated` or
    `corrupt` issue naming the record index where reading stopped. In a per-record gzip file,
    reading goes on at the gzip member after the damaged one (one bad record, or a Content-Length
    that lies, lost every later record of a 1 GB Common Crawl file)."""
    progress = _Progress()
    start = 0  # where in the file this pass reads from
    try:
        while True:
            with archive_bytes(lambda: _opened_at(open_stream, start)) as stream:
                damage = yield from _iterate(stream, path, max_record_bytes, 0, progress)
            after = _member_end(open_stream, start + damage.member) if damage is not None else None
            if after is None:
                if damage is not None and damage.issue is None:  # its record was counted, not the rest
                    yield ReadIssue("corrupt", f"{path}#{progress.records}", detail="a gzip member that cannot "
                                    "be read past")
                return
            progress.records += damage.issue is not None  # the damaged member held a record of its own
            start = after
    except ArchiveLoadFailed:
        if start:  # a later pass: whole-file gzip is known to be not the case
            yield ReadIssue("corrupt", f"{path}#{progress.records}", detail="no record after a damaged gzip member")
            return
    except READ_ERRORS as err:  # the file could not be opened or closed
        yield ReadIssue(_reason(err), f"{path}#{progress.records}", detail=_detail(err))
        return
    yield ReadIssue("recovered_whole_file_gzip", path)
    seen, progress.records = progress.records, 0  # read again from the first record, those seen skipped
    try:
        with open_stream() as raw, gzip.GzipFile(fileobj=raw) as stream:
            yield from _iterate(stream, path, max_record_bytes, seen, progress)
    except (ArchiveLoadFailed, *READ_ERRORS) as err:
        yield ReadIssue(_reason(err), f"{path}#{progress.records}", detail=_detail(err))
