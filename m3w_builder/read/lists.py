"""Readers for URL+caption lists (img2dataset inputs): parquet, csv, tsv, jsonl, each optionally
compressed (gzip, bzip2, xz, zstd, LZ4: told by the first bytes, whatever the name).

Every data row comes out as one `ListRow`, broken ones included: a row that cannot be used carries
an `error` reason (`bad_json`, `bad_row`, `missing_url`, `missing_caption`, `no_url_column`, ...)
instead of raising, so a job can account for every row. Columns other than the URL and caption
columns are kept in `extra`. Lines that are not UTF-8 are decoded with one encoding detected over
the file's first 64 KB of such lines (Western text as cp1252, the WHATWG default), with
replacement characters for what still does not decode; their rows record that encoding. A
UTF-16/UTF-32 file (a byte-order mark, or UTF-16 without one: Excel's "Unicode text") is read as
such. Lines end at LF, CRLF or a lone CR; a line over 16 MiB is one `row_too_long` row, its bytes
skipped, never held. A url or caption column named twice (a CSV header, a JSON object's keys)
is ambiguous: `duplicate_column` (JSON and pyarrow would silently keep the last one); other CSV
and parquet columns named twice are kept as `name.1`, `name.2`, ... as pandas names them (past a
name the header already has). A parquet row group
that cannot be decoded is one `unreadable_rows` row saying how many rows it held; the others are read.
A CSV quote left open (running past the field limit, 128 KB, or to the end of the file) is one
`bad_row`; the lines it ran into are read again, each on its own. A CSV's delimiter is the one an
Excel `sep=;` first line names, else `,` (`\t` for TSV), else the one of `;`, tab, `|`, `,` that
splits the header into the url and caption columns.
A lone surrogate a JSON escape makes (`\\ud800`) is `bad_url` in the URL and U+FFFD elsewhere.
A row with more than 1,024 columns besides the url and caption (each becomes a manifest column) is
`too_many_columns`, unless `--extra_cols` names the ones to keep.
A caption that is a JSON object or a list (a parquet struct/list column, nested JSON) is
`bad_caption`: which of its strings is the caption is unknown. A number or a boolean caption is
its JSON text, a date or a decimal its text (`2024-05-01`, `1.50`).

A list whose bytes are an archive (zip, tar), an image, a PDF or compressed twice is one
`unreadable_list` row saying so, and a parquet file named as a text list is read as parquet.

Lists are streamed, never loaded whole: compressed ones are decompressed as read, parquet comes in
row batches from pyarrow's `ParquetFile.iter_batches`, read in place from a plain file. CSV/TSV and JSON lines are read line by line with the
standard library rather than pyarrow's csv/json readers, because those fail a whole block on one
bad line and decode a file with one encoding, which would lose the per-row accounting.
"""

from __future__ import annotations

import bz2
import csv
import datetime
import decimal
import gzip
import io
import json
import lzma
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import BinaryIO

import charset_normalizer
import pyarrow as pa
import pyarrow.parquet as pq

from m3w_builder.extract.charset import normalize_label
from m3w_builder.options import option
from m3w_builder.read.records import (
    LZ4_MAGIC,
    ZSTD_DICT_MAGIC,
    ZSTD_MAGIC,
    archive_bytes,
    binary_type,
)

# Detected encodings trusted as such; any other single-byte guess for a line that decodes under
# cp1252 is taken as cp1252 (short Western lines are where detectors guess worst).
_TRUSTED = frozenset((
    "cp932", "shift_jis", "euc_jp", "iso2022_jp", "gb18030", "gbk", "gb2312", "big5", "big5hkscs", "euc_kr",
    "cp949", "cp1251", "koi8_r", "koi8_u", "iso8859_5", "cp1253", "iso8859_7", "cp1255", "cp1256", "cp874",
))


@dataclass
class ListOptions:
    """Column names and format of a list (`format=None`: from the file name)."""

    url_col: str = option("url", "column holding the media URL or path")
    caption_col: str = option("caption", "column holding the caption")
    format: str | None = option(None, "list format (default: from the file name)", flag="list_format",
                                choices=("parquet", "csv", "tsv", "jsonl"))
    extra_cols: tuple[str, ...] | None = None  # None: every other column
    encoding: str | None = option(None, "encoding of non-UTF-8 lines (default: detected)", flag="list_encoding")


@dataclass
class ListRow:
    """One data row of a list; `error` is None for a usable row."""

    row_id: str  # "name#n", n = 1-based data row
    url: str = ""
    caption: str = ""
    extra: dict = field(default_factory=dict)
    error: str | None = None
    detail: str = ""
    encoding: str = "utf-8"


def list_format(name: str, forced: str | None = None) -> str:
    """`parquet`, `csv`, `tsv` or `jsonl` from a file name (a compression suffix stripped)."""
    if forced:
        return forced
    base = name.lower()
    base = next((base[: -len(s)] for s in _PACKED_SUFFIXES if base.endswith(s)), base)
    for suffix, fmt in ((".parquet", "parquet"), (".csv", "csv"), (".tsv", "tsv"), (".tab", "tsv"),
                        (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl")):
        if base.endswith(suffix):
            return fmt
    raise ValueError(f"unknown list format of {name!r} (use --list_format)")


def is_list_file(name: str) -> bool:
    try:
        list_format(name)
        return True
    except ValueError:
        return False


# Compressions of a list, told by their first bytes (gzip, bzip2 "BZh" + block size, xz, zstd, LZ4)
_CODECS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (ZSTD_MAGIC, "zstd"),
           (ZSTD_DICT_MAGIC, "zstd"), (LZ4_MAGIC, "lz4"))  # the last three as the WARC reader tells them
_PACKED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zstd", ".lz4")  # left off a name to see its format
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 512  # first bytes looked at to tell what a list is (a tar header's magic is at 257)
_MAX_HELD_PARQUET = 1 << 30  # bytes of a compressed or streamed parquet list held in memory to be read
_DETECT_BYTES = 65536  # non-UTF-8 bytes the encoding detector sees
_MAX_HELD = 8 << 20  # bytes held back while the fallback encoding is not settled yet
_BATCH_ROWS = 4096  # parquet rows per streamed batch


MAX_EXTRA_COLUMNS = 1024  # extra columns a row may carry into the manifest (img2dataset lists have ~20)
_MAX_LINE = 16 << 20  # bytes of one list line; a longer one is a `row_too_long` row
_BLOCK = 1 << 16
_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")  # splits after a CR that no LF follows (old Mac line ends)
# Byte-order marks of the wide Unicode encodings (UTF-32 first: its little-endian mark starts as UTF-16's)
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
              (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class _LineDecoder:
    """Decodes lines: UTF-8 when valid, else the fallback encoding (forced, or detected over the
    first `_DETECT_BYTES` of non-UTF-8 lines once they have been seen). `base` names the file's
    encoding when its lines are UTF-8 only because they were transcoded (UTF-16/32 files)."""

    def __init__(self, forced: str | None, base: str = "utf-8") -> None:
        self.fallback = normalize_label(forced) if forced else None
        self.base = base

    def settle(self, bad: list[bytes]) -> None:
        if self.fallback is None:
            self.fallback = _detect(bad) if bad else "cp1252"

    def decode(self, line: bytes) -> tuple[str, str]:
        if isinstance(line, _Overlong):
            return line, self.base
        try:
            return line.decode("utf-8"), self.base
        except UnicodeDecodeError:
            self.settle([line])
            return line.decode(self.fallback or "cp1252", errors="replace"), self.fallback or "cp1252"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _detect(lines: list[bytes]) -> str:
    joined = b"\n".join(lines)
    best = charset_normalizer.from_bytes(joined[:_DETECT_BYTES]).best()
    guess = normalize_label(best.encoding) if best is not None and best.encoding else None
    if guess in _TRUSTED:
        return guess
    try:
        joined.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return guess or "cp1252"


def _settled(items: Iterable, raw_of: Callable, decoder: _LineDecoder) -> Iterator:
    """`items` in order, held back from the first non-UTF-8 one until the decoder's fallback is
    settled (enough non-UTF-8 bytes seen, `_MAX_HELD` bytes held, or the end)."""
    held: list = []
    bad: list[bytes] = []
    bad_bytes = held_bytes = 0
    for item in items:
        if decoder.fallback is not None:
            yield item
            continue
        values = raw_of(item)
        wrong = [v for v in values if not _is_utf8(v)]
        if not held and not wrong:
            yield item
            continue
        held.append(item)
        bad += wrong
        bad_bytes += sum(map(len, wrong))
        held_bytes += sum(map(len, values))
        if bad_bytes >= _DETECT_BYTES or held_bytes >= _MAX_HELD:
            decoder.settle(bad)
            yield from held
            held = []
    decoder.settle(bad)
    yield from held


class _Prefixed(io.RawIOBase):
    """A raw stream with bytes already read from it put back in front."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self.head, self.raw = head, raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data, self.head = self.head[: len(buffer)], self.head[len(buffer):]
        if len(data) < len(buffer):  # a full first read, so a peek sees the file's start
            data += self.raw.read(len(buffer) - len(data)) or b""
        buffer[: len(data)] = data
        return len(data)


class _Utf8(io.RawIOBase):
    """A UTF-16/UTF-32 byte stream read back as UTF-8 (units that do not decode replaced)."""

    def __init__(self, stream: BinaryIO, encoding: str) -> None:
        self.text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            chunk = self.text.read(_BLOCK)
            if not chunk:
                return 0
            self.pending = chunk.encode("utf-8", errors="replace")
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16/32 from a byte-order mark, or UTF-16 without one from NULs in every other byte of
    its (mostly ASCII) start; None for anything else."""
    for bom, encoding in _WIDE_BOMS:
        if head.startswith(bom):
            return encoding
    even, odd = head[0::2], head[1::2]
    if len(head) >= 8 and b"\x00" in head:
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
    return None


def _text_stream(stream) -> tuple[BinaryIO, str]:
    """(UTF-8-or-legacy bytes, the file's encoding when it was transcoded from UTF-16/32, else utf-8)."""
    encoding = _wide_encoding(stream.peek(4096)[:4096])
    if encoding is None:
        return stream, "utf-8"
    return io.BufferedReader(_Utf8(stream, encoding)), encoding.removesuffix("-le").removesuffix("-be")


def _byte_stream(raw: BinaryIO, stack: ExitStack) -> tuple[BinaryIO, bool]:
    """(the list's bytes as a buffered stream, whether they were compressed): gzip, bzip2, xz,
    zstd or LZ4, told by their first bytes whatever the name, decompressed while read (a cut
    file ends in EOFError, after the rows before the cut); a plain seekable file as it is, so
    pyarrow reads only the row groups it needs."""
    head = raw.read(6)
    codec = next((c for magic, c in _CODECS if head.startswith(magic)), None)
    if codec is None and head[:1] != b"" and getattr(raw, "seekable", lambda: False)() and hasattr(raw, "peek"):
        raw.seek(0)
        return raw, False
    stream = io.BufferedReader(_Prefixed(head, raw))
    if codec is None:
        return stream, False
    if codec in ("lz4", "zstd"):  # the WARC readers' decoders (a zstd file cut inside a frame raises)
        decoded = stack.enter_context(archive_bytes(lambda: stream))
        return io.BufferedReader(_Prefixed(b"", decoded)), True
    if codec == "gzip":
        return gzip.GzipFile(fileobj=stream), True
    return (bz2.BZ2File if codec == "bzip2" else lzma.LZMAFile)(stream), True


def _not_text(head: bytes) -> str | None:
    """What the first bytes of a text list show it is not (an archive, an image, a PDF, a second
    compression layer: read as text it was rows of mojibake or no row at all), else None."""
    if head[257:262] == b"ustar":
        return "a tar archive"
    kind = binary_type(head)
    return f"{kind} bytes" if kind else None


def read_list(name: str, open_stream: Callable[[], BinaryIO], options: ListOptions | None = None) -> Iterator[ListRow]:
    """Every data row of the list `name`, streamed (`open_stream()` opens its raw bytes). A list
    that breaks off (corrupt or truncated) ends with one `unreadable_list` row after the rows
    read before the break."""
    options = options or ListOptions()
    label = name.rsplit("/", 1)[-1]
    fmt = list_format(name, options.format)
    n = [0]  # data rows yielded, for the row id of a break
    try:
        with open_stream() as raw, ExitStack() as stack:
            stream, packed = _byte_stream(raw, stack)
            head = stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
            if fmt != "parquet" and not options.format and head.startswith(_PARQUET_MAGIC):
                fmt = "parquet"  # a parquet file named as a text list: its rows, not its bytes as text
            if fmt == "parquet":
                rows = _parquet_rows(label, stream, options, packed)
            else:
                problem = _not_text(head)
                if problem:
                    raise ValueError(f"the list is {problem}, not a {fmt} file")
                text, base = _text_stream(stream)
                if fmt == "jsonl":
                    rows = _jsonl_rows(label, text, options, base)
                else:
                    rows = _csv_rows(label, text, options, "\t" if fmt == "tsv" else ",", base)
            for row in rows:
                n[0] += 1
                yield row
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, pa.ArrowException) as err:
        yield ListRow(f"{label}#{n[0] + 1 if n[0] else 0}", error="unreadable_list",
                      detail=f"{type(err).__name__}: {err}"[:300])


class _Overlong(str):
    """Stands for a line longer than `_MAX_LINE` (its bytes were skipped); `size` in bytes."""

    size = 0


def _overlong(size: int) -> _Overlong:
    marker = _Overlong()
    marker.size = size
    return marker


def _lines(stream: BinaryIO) -> Iterator[bytes | _Overlong]:
    """The stream's lines, each with its ending (LF, CRLF or a lone CR), a UTF-8 byte-order mark
    dropped; a line over `_MAX_LINE` bytes comes as an `_Overlong`, read past in pieces."""
    pending, skipped, first = b"", 0, True
    while chunk := stream.readline(_MAX_LINE + 1):  # LF-ended lines at C speed, pieces of long ones
        for piece in _LONE_CR.split(chunk) if b"\r" in chunk else (chunk,):
            if not piece.endswith((b"\n", b"\r")):  # a piece of a longer line
                if skipped or len(pending) + len(piece) > _MAX_LINE:
                    skipped, pending = skipped + len(pending) + len(piece), b""
                else:
                    pending += piece
                continue
            line, pending = pending + piece, b""
            if skipped or len(line) > _MAX_LINE:
                yield _overlong(skipped + len(line))
                skipped = 0
                continue
            if first:
                line, first = line.removeprefix(b"\xef\xbb\xbf"), False
            yield line
    if skipped:
        yield _overlong(skipped + len(pending))
    elif pending:
        yield pending.removeprefix(b"\xef\xbb\xbf") if first else pending


def _decoded(stream: BinaryIO, forced: str | None, base: str = "utf-8") -> Iterator[tuple[str, str]]:
    decoder = _LineDecoder(forced, base)
    for line in _settled(_lines(stream), lambda line: [] if isinstance(line, _Overlong) else [line], decoder):
        yield decoder.decode(line)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # in the JSON text: a surrogate, paired or not
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a decoded string: a lone one (pairs decode to one character)


def _may_repeat(text: str, options: ListOptions) -> bool:
    """Whether the url or caption key may occur twice in this JSON text (or be spelt with escapes)."""
    return "\\u" in text or text.count(f'"{options.url_col}"') > 1 or text.count(f'"{options.caption_col}"') > 1


class _JsonObject(dict):
    """A JSON object that remembers the keys it holds more than once (JSON keeps the last silently)."""

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        super().__init__(pairs)
        self.repeated = {k for k, n in Counter(k for k, _v in pairs).items() if n > 1} if len(self) < len(pairs) else set()


def _jsonl_rows(label: str, stream: BinaryIO, options: ListOptions, base: str = "utf-8") -> Iterator[ListRow]:
    n = 0
    for text, encoding in _decoded(stream, options.encoding, base):
        if isinstance(text, _Overlong):
            n += 1
            yield ListRow(f"{label}#{n}", error="row_too_long", detail=f"{text.size} bytes > {_MAX_LINE}",
                          encoding=encoding)
            continue
        text = text.removeprefix("\ufeff")  # the BOM of a file joined on (`cat a.jsonl b.jsonl`): json refuses it
        if not text.strip():
            continue
        n += 1
        try:  # keys are checked for repeats only where the url or caption key may be repeated
            obj = json.loads(text, object_pairs_hook=_JsonObject) if _may_repeat(text, options) else json.loads(text)
        except (ValueError, RecursionError) as err:  # RecursionError: nested deeper than Python recurses
            yield ListRow(f"{label}#{n}", error="bad_json", detail=f"{type(err).__name__}: {err}"[:200],
                          encoding=encoding)
            continue
        if not isinstance(obj, dict):
            yield ListRow(f"{label}#{n}", error="bad_row", detail=f"a JSON {type(obj).__name__}, not an object")
            continue
        twice = sorted(getattr(obj, "repeated", set()) & {options.url_col, options.caption_col})
        if twice:
            yield ListRow(f"{label}#{n}", error="duplicate_column", encoding=encoding,
                          detail=f"key {twice[0]!r} appears more than once")
            continue
        surrogates = _SURROGATE_ESCAPE.search(text) is not None
        url = obj.get(options.url_col)
        if surrogates and isinstance(url, str) and _SURROGATE.search(url):
            yield ListRow(f"{label}#{n}", error="bad_url", detail="a lone surrogate escape (\\udXXX)",
                          encoding=encoding)
            continue
        try:
            yield make_row(f"{label}#{n}", _usv(obj) if surrogates else obj, options, encoding)
        except RecursionError:
            yield ListRow(f"{label}#{n}", error="bad_json", detail="nested too deeply", encoding=encoding)


def _usv(value):
    """`value` with each lone surrogate a JSON escape made (`\\ud800`, which no UTF-8 output can
    hold: one ended the whole list) as U+FFFD, as a browser's JSON.parse gives it to a web page."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_usv(k): _usv(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_usv(v) for v in value]
    return value


class _TrackingLines:
    """Feeds decoded lines to `csv.reader` and remembers the encodings used since the last row."""

    def __init__(self, lines: Iterator[tuple[str, str]]) -> None:
        self.lines = lines
        self.used: set[str] = set()
        self.overlong = 0  # bytes of an overlong line met since the last row
        self.held: list[str] = []  # the lines fed since the last row

    def __iter__(self) -> Iterator[str]:
        for text, encoding in self.lines:
            self.used.add(encoding)
            if isinstance(text, _Overlong):
                self.overlong = text.size
                text = "\n"  # an empty line in its place: the row is reported from `overlong`
            self.held.append(text)
            yield text

    def take(self) -> str:
        used, self.used, self.held = self.used, set(), []
        return next((e for e in sorted(used) if e != "utf-8"), "utf-8")


def _header(names: list[str]) -> list[str]:
    """Column names with later repeats renamed `name.1`, `name.2`, ... (as pandas reads them),
    skipping a name the header already has: `tag,tag,tag.1` gave two `tag.1`, one value lost."""
    taken = set(names)
    used: set[str] = set()
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        new = name
        while new in used or (new != name and new in taken):
            seen[name] += 1
            new = f"{name}.{seen[name]}"
        taken.add(new)
        used.add(new)
        out.append(new)
    return out


def _csv_rows(label: str, stream: BinaryIO, options: ListOptions, delimiter: str,
              base: str = "utf-8") -> Iterator[ListRow]:
    tracker = _TrackingLines(_decoded(stream, options.encoding, base))
    reader = csv.reader(iter(tracker), delimiter=delimiter)
    try:
        names = [h.strip() for h in next(reader)]
        first = tracker.held[0].strip() if tracker.held else ""
        declared = _SEP_LINE.fullmatch(first)
        if declared:  # Excel's `sep=;` line names the delimiter; the header follows it
            delimiter = declared.group(1)
            reader = csv.reader(iter(tracker), delimiter=delimiter)
            names = [h.strip() for h in next(reader)]
        elif options.url_col not in names:
            found = _other_delimiter(first, delimiter, options)
            if found:
                delimiter, names = found
                reader = csv.reader(iter(tracker), delimiter=delimiter)
    except StopIteration:
        return
    except csv.Error as err:
        yield ListRow(f"{label}#0", error="bad_header", detail=str(err)[:200])
        return
    twice = [c for c in (options.url_col, options.caption_col) if names.count(c) > 1]
    if twice or tracker.overlong:
        detail = f"column {twice[0]!r} appears {names.count(twice[0])} times" if twice else "header line too long"
        yield ListRow(f"{label}#0", error="duplicate_column" if twice else "bad_header", detail=detail)
        return
    header = _header(names)
    tracker.take()
    n = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            broken: str | None = str(err)[:200]
        else:
            broken = _open_at_end(tracker.held, delimiter)
        if broken is not None:
            swallowed = tracker.held[1:]
            encoding = tracker.take()
            n += 1
            yield ListRow(f"{label}#{n}", error="bad_row", detail=broken, encoding=encoding)
            # an unclosed quote ran into the lines after its own (up to the field limit, or to the
            # end of the file): each is read again on its own, once, so none is lost and a file of
            # unclosed quotes stays linear
            for line in swallowed:
                try:
                    values = next(csv.reader([line], delimiter=delimiter, strict=True), [])
                except csv.Error as line_err:
                    n += 1
                    yield ListRow(f"{label}#{n}", error="bad_row", detail=str(line_err)[:200], encoding=encoding)
                    continue
                if any(v.strip() for v in values):
                    n += 1
                    yield _csv_row(f"{label}#{n}", values, header, options, encoding)
            continue
        encoding = tracker.take()
        if tracker.overlong:
            n += 1
            yield ListRow(f"{label}#{n}", error="row_too_long", detail=f"{tracker.overlong} bytes > {_MAX_LINE}",
                          encoding=encoding)
            tracker.overlong = 0
            continue
        if not any(v.strip() for v in values):
            continue
        n += 1
        yield _csv_row(f"{label}#{n}", values, header, options, encoding)


_SEP_LINE = re.compile(r"(?i)sep=(.)")
_DELIMITERS = (",", ";", "\t", "|")  # what spreadsheets write: `;` where the decimal mark is a comma


def _other_delimiter(header: str, delimiter: str, options: ListOptions) -> tuple[str, list[str]] | None:
    """(delimiter, names) when the header line names the url and caption columns only split by
    another common delimiter (a semicolon CSV from Excel in a comma-decimal locale, a TSV named
    `.csv`): every row was `no_url_column`, the whole list lost."""
    for other in _DELIMITERS:
        if other == delimiter:
            continue
        names = [h.strip() for h in next(csv.reader([header], delimiter=other), [])]
        if options.url_col in names and options.caption_col in names:
            return other, names
    return None


def _open_at_end(held: list[str], delimiter: str) -> str | None:
    """Why a record of several lines is no record: its quote was still open where the file ended
    (the csv module hands such a field back whole, the rows it ran into inside it), else None."""
    if len(held) < 2:
        return None
    try:
        list(csv.reader(held, delimiter=delimiter, strict=True))
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            return "a quote left open to the end of the file"
    return None


def _csv_row(row_id: str, values: list[str], header: list[str], options: ListOptions, encoding: str) -> ListRow:
    if len(values) != len(header):
        return ListRow(row_id, error="bad_row", encoding=encoding, detail=f"{len(values)} fields, header has {len(header)}")
    return make_row(row_id, dict(zip(header, values)), options, encoding)


@dataclass
class _BrokenGroup:
    """A parquet row group that could not be read whole: its unread rows, and why."""

    index: int
    unread: int
    error: str


def _parquet_rows(label: str, stream: BinaryIO, options: ListOptions, packed: bool = False) -> Iterator[ListRow]:
    """Rows in batches of `_BATCH_ROWS`, row group by row group, so a corrupt group costs only its
    own rows: one `unreadable_rows` row says how many (a compressed or unseekable file is read into
    memory first, up to `_MAX_HELD_PARQUET` bytes: parquet keeps its index at the end; a plain
    file is read in place: reading it whole held twice its size). A url or caption column named
    twice is one `duplicate_column` row for the file, as in a CSV header (pyarrow would keep the
    last one)."""
    if packed or not getattr(stream, "seekable", lambda: False)():
        data = stream.read(_MAX_HELD_PARQUET + 1)
        if len(data) > _MAX_HELD_PARQUET:
            raise ValueError(f"a compressed or streamed parquet list of more than {_MAX_HELD_PARQUET} bytes "
                             "(parquet compresses its own columns: store it as a plain file)")
        source = io.BytesIO(data)
    else:
        source = stream
    parquet = pq.ParquetFile(source)
    names = parquet.schema_arrow.names
    twice = [c for c in (options.url_col, options.caption_col) if names.count(c) > 1]
    if twice:
        yield ListRow(f"{label}#0", error="duplicate_column", detail=f"column {twice[0]!r} appears {names.count(twice[0])} times")
        return
    header = _header(names)  # other columns named twice keep both values, as in a CSV header
    raw = [header[i] for i, f in enumerate(parquet.schema_arrow)
           if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    decoder = _LineDecoder(options.encoding)

    def batches() -> Iterator[list[dict] | _BrokenGroup]:
        for group in range(parquet.num_row_groups):
            done = 0
            try:
                for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, row_groups=[group]):
                    done += batch.num_rows
                    yield batch.rename_columns(header).to_pylist()
            except (OSError, ValueError, pa.ArrowException) as err:
                unread = max(0, parquet.metadata.row_group(group).num_rows - done)
                yield _BrokenGroup(group, unread, f"{type(err).__name__}: {err}"[:200])

    def binary(rows: list[dict] | _BrokenGroup) -> list[bytes]:
        if isinstance(rows, _BrokenGroup):
            return []
        return [r[c] for r in rows for c in raw if isinstance(r.get(c), bytes)]

    n = 0
    for rows in _settled(batches(), binary, decoder):
        if isinstance(rows, _BrokenGroup):
            yield ListRow(f"{label}#{n + 1}", error="unreadable_rows",
                          detail=f"row group {rows.index}: {rows.unread} rows from #{n + 1} unread: {rows.error}")
            n += rows.unread  # later rows keep their place in the file as their id
            continue
        for obj in rows:
            n += 1
            encoding = "utf-8"
            for c in raw:
                if isinstance(obj.get(c), bytes):
                    obj[c], used = decoder.decode(obj[c])
                    encoding = used if used != "utf-8" else encoding
            yield make_row(f"{label}#{n}", obj, options, encoding)


def _plain(value):
    """A JSON-safe form of a cell (timestamps, decimals, bytes, nested values). NaN (pandas' missing
    value) is None and an infinity its JSON-ish name as a string: json.dumps wrote them as the bare
    tokens `NaN`/`Infinity`, which no strict JSON reader accepts, into every sample's `json`."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time, decimal.Decimal)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [_plain(v) for v in value]
    return str(value)


def make_row(row_id: str, obj: dict, options: ListOptions, encoding: str = "utf-8") -> ListRow:
    """A `ListRow` from a column → value mapping, with the url/caption checks."""
    extra_names = options.extra_cols if options.extra_cols is not None else [
        k for k in obj if k not in (options.url_col, options.caption_col)]
    if len(extra_names) > MAX_EXTRA_COLUMNS:  # each is a manifest column: a million made a 230 MB schema
        return ListRow(row_id, error="too_many_columns", encoding=encoding,
                       detail=f"{len(extra_names)} columns besides the url and caption, over {MAX_EXTRA_COLUMNS} "
                       "(name those to keep with --extra_cols)")
    extra = {str(k): _plain(obj.get(k)) for k in extra_names}
    row = ListRow(row_id, extra=extra, encoding=encoding)
    if options.url_col not in obj:
        row.error, row.detail = "no_url_column", f"no column {options.url_col!r}"
        return row
    url = obj.get(options.url_col)
    if url is None or (isinstance(url, str) and not url.strip()):
        row.error = "missing_url"
        return row
    if not isinstance(url, str):
        row.error, row.detail = "bad_url", f"a {type(url).__name__}"
        return row
    row.url = url.strip()
    caption = obj.get(options.caption_col)
    if isinstance(caption, float) and caption != caption:  # NaN from pandas-written files
        caption = None
    if caption is None or not str(caption).strip():
        row.error = "missing_caption" if options.caption_col in obj else "no_caption_column"
        return row
    caption = _plain(caption)
    if isinstance(caption, (dict, list)):  # no one caption to pick: its JSON text is no caption
        row.error, row.detail = "bad_caption", f"a {'JSON object' if isinstance(caption, dict) else 'list'}"
        return row
    row.caption = caption if isinstance(caption, str) else json.dumps(caption)
    return row
