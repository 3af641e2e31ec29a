"""Readers for URL+caption lists (img2dataset inputs): parquet, csv, tsv, jsonl, each optionally gzipped.

Every data row comes out as one `ListRow`, broken ones included: a row that cannot be used carries
an `error` reason (`bad_json`, `bad_row`, `missing_url`, `missing_caption`, `no_url_column`, ...)
instead of raising, so a job can account for every row. Columns other than the URL and caption
columns are kept in `extra`. Lines that are not UTF-8 are decoded with one encoding detected over
all such lines of the file (Western text as cp1252, the WHATWG default), with replacement
characters for what still does not decode; their rows record that encoding.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import gzip
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import charset_normalizer
import pyarrow.parquet as pq

from m3w_builder.extract.charset import normalize_label
from m3w_builder.options import option

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
    """`parquet`, `csv`, `tsv` or `jsonl` from a file name (`.gz` stripped)."""
    if forced:
        return forced
    base = name.lower().removesuffix(".gz")
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


class _LineDecoder:
    """Decodes lines: UTF-8 when valid, else one encoding detected over every non-UTF-8 line."""

    def __init__(self, lines: list[bytes], forced: str | None) -> None:
        bad = [line for line in lines if not _is_utf8(line)]
        self.fallback = normalize_label(forced) if forced else (_detect(bad) if bad else "utf-8")

    def decode(self, line: bytes) -> tuple[str, str]:
        try:
            return line.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return line.decode(self.fallback or "cp1252", errors="replace"), self.fallback or "cp1252"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _detect(lines: list[bytes]) -> str:
    joined = b"\n".join(lines)
    best = charset_normalizer.from_bytes(joined[:65536]).best()
    guess = normalize_label(best.encoding) if best is not None and best.encoding else None
    if guess in _TRUSTED:
        return guess
    try:
        joined.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return guess or "cp1252"


def read_list(name: str, open_stream: Callable[[], BinaryIO], options: ListOptions | None = None) -> Iterator[ListRow]:
    """Every data row of the list `name`; `open_stream()` opens its raw bytes."""
    options = options or ListOptions()
    label = name.rsplit("/", 1)[-1]
    fmt = list_format(name, options.format)
    try:
        with open_stream() as raw:
            data = raw.read()
        if name.lower().endswith(".gz") or data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, ValueError) as err:
        yield ListRow(f"{label}#0", error="unreadable_list", detail=f"{type(err).__name__}: {err}"[:300])
        return
    if fmt == "parquet":
        yield from _parquet_rows(label, data, options)
    elif fmt == "jsonl":
        yield from _jsonl_rows(label, data, options)
    else:
        yield from _csv_rows(label, data, options, "\t" if fmt == "tsv" else ",")


def _lines(data: bytes) -> list[bytes]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.splitlines(keepends=True)


def _jsonl_rows(label: str, data: bytes, options: ListOptions) -> Iterator[ListRow]:
    lines = _lines(data)
    decoder = _LineDecoder(lines, options.encoding)
    n = 0
    for line in lines:
        if not line.strip():
            continue
        n += 1
        text, encoding = decoder.decode(line)
        try:
            obj = json.loads(text)
        except ValueError as err:
            yield ListRow(f"{label}#{n}", error="bad_json", detail=str(err)[:200], encoding=encoding)
            continue
        if not isinstance(obj, dict):
            yield ListRow(f"{label}#{n}", error="bad_row", detail=f"a JSON {type(obj).__name__}, not an object")
            continue
        yield make_row(f"{label}#{n}", obj, options, encoding)


class _TrackingLines:
    """Feeds decoded lines to `csv.reader` and remembers the encodings used since the last row."""

    def __init__(self, lines: list[bytes], decoder: _LineDecoder) -> None:
        self.lines = iter(lines)
        self.decoder = decoder
        self.used: set[str] = set()

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            text, encoding = self.decoder.decode(line)
            self.used.add(encoding)
            yield text.replace("\x00", "")

    def take(self) -> str:
        used, self.used = self.used, set()
        return next((e for e in sorted(used) if e != "utf-8"), "utf-8")


def _csv_rows(label: str, data: bytes, options: ListOptions, delimiter: str) -> Iterator[ListRow]:
    lines = _lines(data)
    tracker = _TrackingLines(lines, _LineDecoder(lines, options.encoding))
    reader = csv.reader(iter(tracker), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as err:
        yield ListRow(f"{label}#0", error="bad_header", detail=str(err)[:200])
        return
    tracker.take()
    n = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            n += 1
            yield ListRow(f"{label}#{n}", error="bad_row", detail=str(err)[:200], encoding=tracker.take())
            continue
        encoding = tracker.take()
        if not any(v.strip() for v in values):
            continue
        n += 1
        if len(values) != len(header):
            yield ListRow(f"{label}#{n}", error="bad_row", encoding=encoding,
                          detail=f"{len(values)} fields, header has {len(header)}")
            continue
        yield make_row(f"{label}#{n}", dict(zip(header, values)), options, encoding)


def _parquet_rows(label: str, data: bytes, options: ListOptions) -> Iterator[ListRow]:
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as err:  # pyarrow raises several types for corrupt files
        yield ListRow(f"{label}#0", error="unreadable_list", detail=f"{type(err).__name__}: {err}"[:300])
        return
    binary = [table.column(c) for c in table.column_names]
    raw = [c for c, col in zip(table.column_names, binary) if str(col.type) in ("binary", "large_binary")]
    decoder = _LineDecoder([v for c in raw for v in table.column(c).to_pylist() if isinstance(v, bytes)],
                           options.encoding)
    n = 0
    for batch in table.to_batches():
        for obj in batch.to_pylist():
            n += 1
            encoding = "utf-8"
            for c in raw:
                if isinstance(obj.get(c), bytes):
                    obj[c], used = decoder.decode(obj[c])
                    encoding = used if used != "utf-8" else encoding
            yield make_row(f"{label}#{n}", obj, options, encoding)


def _plain(value):
    """A JSON-safe form of a cell (timestamps, decimals, bytes, nested values)."""
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
    row.caption = _plain(caption) if isinstance(caption, str) else json.dumps(_plain(caption), ensure_ascii=False)
    return row
