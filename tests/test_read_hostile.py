"""Hostile WARC records: content codings warcio leaves alone, Content-Lengths that lie, HTML
labels on binary bytes; the library reader and the M3W job (FnApiRunner) on them."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import re
import zlib

import pyarrow.dataset as pads
import pytest
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from m3w_builder.document import ImageNode
from m3w_builder.drops import Rejected
from m3w_builder.extract import extract
from m3w_builder.extract.urls import resolve, without_userinfo
from m3w_builder.read.encoding import decode_content
from m3w_builder.read.records import ReadIssue, WebRecord, read_archive
from pipelines.m3w import run
from pipelines.read import ReadRecords
from tests.conftest import shared_path

WORDS = "gardens rivers bridges markets bakeries lanterns quiet streets evening rain spring beans old town".split()


def _png() -> bytes:
    return shared_path("images", "pillow-tests", "hopper.png").read_bytes()


def _jpeg() -> bytes:
    return shared_path("images", "exif-orientation-examples", "Landscape_1.jpg").read_bytes()


@pytest.mark.parametrize("encode, header", [
    (gzip.compress, "gzip"), (gzip.compress, "x-gzip"), (lambda b: gzip.compress(gzip.compress(b)), "gzip, gzip"),
    (zlib.compress, "deflate"), (lambda b: zlib.compress(b)[2:-4], "deflate"),
    (lambda b: zstandard.ZstdCompressor().compress(b), "zstd"),
    (lambda b: gzip.compress(b[:100]) + gzip.compress(b[100:]), "gzip"),  # two members
    (lambda b: gzip.compress(b) + b"trailing garbage", "gzip"), (lambda b: b, "gzip"),  # a header that lies
    (lambda b: b, "identity"), (lambda b: zlib.compress(gzip.compress(b)), "gzip, deflate"),
])
def test_content_codings_are_undone(encode, header):
    png = _png()
    assert decode_content(encode(png), header, 2 * len(png)) == png


@pytest.mark.parametrize("body, header, reason", [
    (b"\x8b\x02\x80data", "br", "unsupported_encoding"), (b"data", "compress", "unsupported_encoding"),
    (gzip.compress(b"x" * 1000)[:-12], "gzip", "bad_encoding"), (b"\x1f\x8b\x08\x00garbage!", "gzip", "bad_encoding"),
    (zstandard.ZstdCompressor().compress(random.Random(0).randbytes(100_000))[:-40], "zstd", "bad_encoding"),
    (gzip.compress(bytes(50_000_000)), "gzip", "too_large"),  # a 49 KB gzip bomb, capped at 1 MB
    (zstandard.ZstdCompressor().compress(bytes(50_000_000)), "zstd", "too_large"),
])
def test_codings_that_cannot_be_undone_say_why(body, header, reason):
    with pytest.raises(Rejected) as e:
        decode_content(body, header, 1 << 20)
    assert e.value.reason == reason


def _page(i: int, image: str) -> bytes:
    rng = random.Random(i)
    paragraphs = "".join("<p>" + " ".join(rng.choice(WORDS) + ("." if j % 9 == 8 else "") for j in range(80)) + "</p>"
                         for _ in range(3))
    return (f"<html><head><title>Post {i}</title></head><body><article><h1>Post {i}</h1>{paragraphs}"
            f"<img src='{image}' alt='a photo'></article></body></html>").encode()


def _warc(records: list[tuple[str, bytes, str, str | None]], gz: bool = True) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gz)
    for url, body, ctype, encoding in records:
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        headers += [("Content-Encoding", encoding)] if encoding else []
        http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return out.getvalue()


def _read(data: bytes) -> list[WebRecord | ReadIssue]:
    return list(read_archive(lambda: io.BytesIO(data), "h.warc"))


def test_records_under_codings_warcio_leaves_alone_are_decoded_or_counted():
    """`x-gzip`, `gzip, gzip` and `zstd` payloads reached the extractor still compressed."""
    page = _page(1, "http://img.test/1.jpg")
    items = _read(_warc([("http://a.test/x", gzip.compress(page), "text/html", "x-gzip"),
                         ("http://a.test/gg", gzip.compress(gzip.compress(page)), "text/html", "gzip, gzip"),
                         ("http://a.test/z", zstandard.ZstdCompressor().compress(page), "text/html", "zstd"),
                         ("http://a.test/br", b"\x1b\x00\x00brotli bytes", "text/html", "br"),
                         ("http://a.test/bomb", gzip.compress(bytes(60_000_000)), "text/html", "x-gzip")]))
    assert [i.body for i in items[:3]] == [page] * 3
    assert [(i.reason, i.url) for i in items[3:]] == [("unsupported_encoding", "http://a.test/br"),
                                                      ("record_too_large", "http://a.test/bomb")]


def test_html_labels_on_image_or_pdf_bytes_are_not_pages():
    items = _read(_warc([("http://a.test/png", _png(), "text/html", None),
                         ("http://a.test/pdf", b"%PDF-1.4\n" + bytes(range(256)), "text/html; charset=utf-8", None),
                         ("http://a.test/svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "text/html", None),
                         ("http://a.test/img", _png(), "image/png", None)]))
    assert [(getattr(i, "reason", "record"), i.url) for i in items] == [
        ("not_html", "http://a.test/png"), ("not_html", "http://a.test/pdf"), ("record", "http://a.test/svg"),
        ("record", "http://a.test/img")]
    assert items[0].detail == "labelled text/html, the bytes are image/png"


@pytest.mark.parametrize(("body", "kind"), [
    (gzip.compress(_page(1, "http://img.test/a.jpg")), "application/gzip"),  # gzipped twice, decoded once
    (zstandard.ZstdCompressor().compress(_page(1, "http://img.test/a.jpg")), "application/zstd"),
    (b"BZh91AY&SY" + bytes(range(200)), "application/x-bzip2"), (b"\x7fELF\x02\x01\x01" + bytes(300), "application/x-elf")])
def test_html_labels_on_compressed_or_executable_bytes_are_not_pages(body, kind):
    """Such bodies were extracted as text: documents of replacement characters."""
    items = _read(_warc([("http://a.test/x.html", body, "text/html", None)]))
    assert [(i.reason, i.detail) for i in items] == [("not_html", f"labelled text/html, the bytes are {kind}")]


@pytest.mark.parametrize("delta", [-100, +100, -10_000])
def test_a_record_whose_content_length_lies_is_counted_not_passed_on(delta):
    """A short Content-Length gave a cut page, a long one a page holding the next record's header,
    as if they were whole (warcio only printed a warning)."""
    data = _warc([(f"http://a.test/{i}", _page(i, "http://img.test/a.jpg"), "text/html", None) for i in range(4)],
                 gz=False)
    starts = [m.start() for m in re.finditer(rb"WARC/1\.0\r\n", data)]
    record = data[starts[1]:starts[2]]
    length = re.search(rb"Content-Length: (\d+)\r\n", record)
    lying = record.replace(length.group(0), b"Content-Length: %d\r\n" % max(0, int(length.group(1)) + delta), 1)
    items = _read(data[:starts[1]] + lying + data[starts[2]:])
    assert isinstance(items[0], WebRecord) and items[0].url == "http://a.test/0"
    assert (items[1].reason, items[1].url) == ("bad_content_length", "http://a.test/1")
    if delta == -100:  # warcio finds the next record again: nothing else is lost
        assert [i.url for i in items[2:] if isinstance(i, WebRecord)] == ["http://a.test/2", "http://a.test/3"]
    else:  # the file goes on after the bad bytes: damage, not a cut (a small file is read whole)
        assert isinstance(items[-1], ReadIssue) and items[-1].reason == "corrupt"


@pytest.mark.timeout(300)
def test_m3w_job_decodes_codings_and_counts_what_it_cannot_read(tmp_path):
    """The job end to end: pages under `x-gzip` and `zstd` and an image under `gzip, gzip` make
    samples; a `br` page, a PNG and a PDF labelled text/html are `read/<reason>` with rejects rows."""
    jpeg = _jpeg()
    warc = tmp_path / "hostile.warc.gz"
    warc.write_bytes(_warc([
        ("http://a.test/plain.html", _page(1, "http://img.test/1.jpg"), "text/html", None),
        ("http://a.test/xgzip.html", gzip.compress(_page(2, "http://img.test/2.jpg")), "text/html", "x-gzip"),
        ("http://a.test/zstd.html", zstandard.ZstdCompressor().compress(_page(3, "http://img.test/3.jpg")),
         "text/html; charset=utf-8", "zstd"),
        ("http://a.test/br.html", b"\x1b\x00\x00brotli bytes", "text/html", "br"),
        ("http://a.test/png.html", _png(), "text/html", None),
        ("http://a.test/pdf.html", b"%PDF-1.4\n" + bytes(range(256)) * 20, "text/html", None),
        ("http://img.test/1.jpg", jpeg, "image/jpeg", None),
        ("http://img.test/2.jpg", gzip.compress(gzip.compress(jpeg)), "image/jpeg", "gzip, gzip"),
        ("http://img.test/3.jpg", zlib.compress(jpeg), "image/jpeg", "deflate"),
    ]))
    out = tmp_path / "out"
    dataset = run(["--input", str(warc), "--output", str(out), "--no_http", "--direct_num_workers=1", "--no_report"])
    stats = dataset["stats"]
    assert stats["read/unsupported_encoding"] == 1 and stats["read/not_html"] == 2
    assert stats["media/kept"] == 3 and stats["assemble/kept"] == 3 and stats["shard/n_samples"] == 3
    rows = {(r["reason"], r["url"]) for r in pads.dataset(out / "rejects").to_table().to_pylist() if r["stage"] == "read"}
    assert rows == {("unsupported_encoding", "http://a.test/br.html"), ("not_html", "http://a.test/png.html"),
                    ("not_html", "http://a.test/pdf.html")}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("gz", [False, True])
def test_a_zero_filled_stretch_ends_the_file_with_an_issue_instead_of_stalling(gz):
    """warcio joins a line without newline piece by piece: 50 MB of zeros (a damaged disk's
    stretch, or a few hundred KB of gzip) took minutes and held the whole 'line'."""
    head = _warc([(f"http://a.test/{i}", _page(i, "http://img.test/a.jpg"), "text/html", None) for i in range(2)], gz=gz)
    zeros = gzip.compress(bytes(50_000_000)) if gz else bytes(50_000_000)
    items = _read(head + zeros)
    assert [i.url for i in items if isinstance(i, WebRecord)] == ["http://a.test/0", "http://a.test/1"]
    assert isinstance(items[-1], ReadIssue) and items[-1].reason in ("truncated", "corrupt", "archive_error")
    (only,) = _read(zeros)
    assert only.reason == "unknown_format"


def _hostile_folder(tmp_path):
    """A folder a glob reads: a WARC of pages with their images, a page file, binary files named
    .html, FIFOs (no writer: an open waits forever), a folder and a broken link named like inputs."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.warc.gz").write_bytes(_warc([("http://a.test/1", _page(1, "http://img.test/1.jpg"), "text/html", None),
                                              ("http://img.test/1.jpg", _jpeg(), "image/jpeg", None)]))
    (folder / "page.html").write_bytes(_page(2, "http://img.test/1.jpg"))
    (folder / "png.html").write_bytes(_png())
    (folder / "pdf.htm").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    (folder / "zip.html").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 20)
    os.mkfifo(folder / "fifo.html")
    os.mkfifo(folder / "fifo.warc.gz")
    (folder / "dir.html").mkdir()
    (folder / "gone.html").symlink_to(folder / "nothing.html")
    return folder


@pytest.mark.timeout(300)
def test_m3w_job_counts_binary_html_files_and_what_a_glob_finds_that_is_no_file(tmp_path):
    """An image, PDF or ZIP named .html went to the extractor (WARC records of those bytes are
    read/not_html); a FIFO a glob matched blocked a worker for ever; a folder or a broken link it
    matched vanished uncounted (Beam's match lists neither)."""
    folder = _hostile_folder(tmp_path)
    url_map = tmp_path / "urls.jsonl"
    url_map.write_text(json.dumps({"file": "zip.html", "url": "http://a.test/zip"}) + "\n")
    out = tmp_path / "out"
    dataset = run(["--input", str(folder / "*"), "--url_map", str(url_map), "--output", str(out), "--no_http",
                   "--direct_num_workers=1", "--no_report"])
    stats = dataset["stats"]
    assert stats["read/not_html"] == 3
    assert stats["inputs/local_not_a_file"] == 3 and stats["inputs/local_broken_link"] == 1
    assert stats["shard/n_samples"] == 2  # the WARC's page and the page file (its image from the WARC)
    rows = {(r["stage"], r["reason"], r["id"].rsplit("/", 1)[-1], r["detail"].rsplit(": ", 1)[-1])
            for r in pads.dataset(out / "rejects").to_table().to_pylist() if r["stage"] in ("read", "inputs")}
    assert rows == {("read", "not_html", "png.html", "named HTML, the bytes are image/png"),
                    ("read", "not_html", "pdf.htm", "named HTML, the bytes are application/pdf"),
                    ("read", "not_html", "zip.html", "named HTML, the bytes are application/zip"),
                    ("inputs", "local_not_a_file", "fifo.html", "a FIFO, not a plain file"),
                    ("inputs", "local_not_a_file", "fifo.warc.gz", "a FIFO, not a plain file"),
                    ("inputs", "local_not_a_file", "dir.html", "a folder, not a plain file"),
                    ("inputs", "local_broken_link", "gone.html", "No such file or directory")}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, message", [("fifo.html", "a FIFO"), ("fifo.warc.gz", "a FIFO"),
                                           ("dir.html", "a folder"), ("gone.html", "No such file"),
                                           ("/dev/zero", "a character device")])
def test_an_input_that_is_no_plain_file_stops_the_job_before_it_starts(tmp_path, name, message):
    """A FIFO given as --input blocked the launcher's workers; /dev/zero was read without end."""
    path = str(_hostile_folder(tmp_path) / name)
    with pytest.raises(SystemExit) as stopped:
        run(["--input", path, "--output", str(tmp_path / "out"), "--no_http", "--direct_num_workers=1"])
    assert str(stopped.value).startswith(f"python -m pipelines.m3w: error: --input {path}: ")
    assert message in str(stopped.value) and "\n" not in str(stopped.value)


def test_an_html_file_over_the_record_cap_is_not_read_whole(tmp_path):
    """An HTML file was read whole whatever its size (a WARC record stops at the cap)."""
    page = tmp_path / "big.html"
    page.write_bytes(_page(1, "http://img.test/1.jpg"))
    read = ReadRecords(None, max_record_bytes=page.stat().st_size - 1)
    with pytest.raises(Rejected) as rejected:
        list(read(str(page)))
    assert rejected.value.reason == "record_too_large"
    (kept,) = ReadRecords(None, max_record_bytes=page.stat().st_size)(str(page))
    assert kept.item.body == page.read_bytes()


def test_userinfo_in_page_and_image_urls_is_never_stored():
    """`user:password@` in a WARC target URI or an `<img src>` reached documents and shards."""
    page = _page(2, "http://carol:pw123@img.test/a@2x.jpg?size=big@1")
    (record,) = _read(_warc([("https://dave:pw456@a.test/post@home", page, "text/html", None)]))
    assert record.url == "https://a.test/post@home"
    doc = extract(record.body, record.url).document
    assert [n.src for n in doc.nodes if isinstance(n, ImageNode)] == ["http://img.test/a@2x.jpg?size=big@1"]
    assert resolve(record.url, "//eve:pw@cdn.test/x.jpg") == "https://cdn.test/x.jpg"
    assert without_userinfo("file:///data/a@b.jpg") == "file:///data/a@b.jpg"
    assert without_userinfo("http://host.test/#user@x") == "http://host.test/#user@x"


def _chunked(body: bytes, size: int = 200) -> bytes:
    return b"".join(b"%x\r\n" % len(body[i:i + size]) + body[i:i + size] + b"\r\n"
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


def _record_warc(body: bytes, http_headers: list[tuple[str, str]], warc_headers: dict | None = None,
                 url: str = "http://a.test/p") -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    http = StatusAndHeaders("200 OK", http_headers, protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                  length=len(body), warc_headers_dict=warc_headers or {}))
    return out.getvalue()


_PAGE = _page(1, "http://img.test/1.jpg")
_GOOD = _chunked(_PAGE)


@pytest.mark.parametrize("body, reason", [
    (_GOOD, None),
    (_PAGE, None),  # a de-chunked body stored under the original header: read as it is, as warcio does
    (_GOOD.replace(b"c8\r\n", b"c8;ext=1\r\n", 1), None),
    (_GOOD[:600] + b"zz\r\n" + _GOOD[600:], "bad_chunked_encoding"),  # chunk-size lines became page text
    (_GOOD.replace(b"c8\r\n", b"10\r\n", 1), "bad_chunked_encoding"),
    (b"ffffffffffffffffffff\r\n" + _PAGE, "bad_chunked_encoding"),
    (b"-5\r\n" + _PAGE, "bad_chunked_encoding"),
    (_GOOD.replace(b"c8\r\n", b"fffff\r\n", 1), "truncated_record"),  # the rest became one chunk, quietly
    (_GOOD[:-5], "truncated_record"),  # no last chunk: the capture was cut
])
def test_chunked_framing_that_breaks_inside_a_payload_is_counted_not_read_as_text(body, reason):
    """warcio falls back to reading a chunked body as plain once its framing breaks, so chunk
    sizes and cut pieces (`c8`, `zz`) were stored as the page's text."""
    (item,) = _read(_record_warc(body, [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]))
    if reason is None:
        assert isinstance(item, WebRecord) and item.body == _PAGE
    else:
        assert isinstance(item, ReadIssue) and item.reason == reason and item.url == "http://a.test/p", item


def test_warcats_bad_chunked_record_is_bad_chunked_encoding():
    """The real file: chunk size 3, then two bytes; it was a page whose text was `3\\r\\naa\\r\\n0`."""
    path = shared_path("warc", "warcat-2.2.5", "bad_http_chunked_content.warc")
    (item,) = read_archive(lambda: open(path, "rb"), str(path))
    assert item.reason == "bad_chunked_encoding"


def test_the_first_segment_of_a_segmented_record_is_counted_not_taken_as_the_page():
    """WARC 1.1 splits a long record into a first segment and `continuation` records: the first
    segment's half page was read as the page."""
    half = _PAGE[: len(_PAGE) // 2]
    data = _record_warc(half, [("Content-Type", "text/html")], {"WARC-Segment-Number": "1"})
    rest = io.BytesIO()
    writer = WARCWriter(rest, gzip=True)
    writer.write_record(writer.create_warc_record("http://a.test/p", "continuation", payload=io.BytesIO(_PAGE[len(half):]),
                                                  warc_headers_dict={"WARC-Segment-Number": "2"}))
    assert [i.reason for i in _read(data + rest.getvalue())] == ["segmented_record", "skipped_continuation"]


@pytest.mark.parametrize("text", [b"hello world, no warc here\n" * 100,
                                  b"The quick brown fox jumps over the lazy dog again\n" * 40])
def test_text_is_not_read_as_arc_records_one_a_line(text):
    """warcio takes any line of five words for an ARC header: a text file was 100 records named
    `hello`, each `bad_content_length` (and a WARNING on stderr); after a WARC, its text as much."""
    assert [i.reason for i in _read(text)] == ["unknown_format"]
    assert [i.reason for i in _read(gzip.compress(text))] == ["unknown_format"]
    warc = shared_path("warc", "pywb-2.10.0", "iana.warc.gz").read_bytes()
    for data in (warc + gzip.compress(text), warc + text):  # a text file's gzip member appended, or its bytes
        items = _read(data)
        assert len(items) == 344 and items[-1].reason == "corrupt" and "first line" in items[-1].detail
    arc = shared_path("warc", "pywb-2.10.0", "bad.arc")  # pywb's: lengths -1, 1 and abc
    assert [getattr(i, "reason", "page") for i in read_archive(lambda: open(arc, "rb"), str(arc))] == [
        "skipped_warcinfo", "page", "page", "corrupt"]


@pytest.mark.timeout(300)
def test_m3w_job_reads_zstd_warcs_and_counts_broken_chunks_segments_and_text(tmp_path):
    """The job end to end (FnApiRunner): a zstd WARC with a dictionary, named `.warc.gz`, makes
    the samples its gzip twin makes; a text file named `.warc`, a broken chunked page and a first
    segment are each one `read/<reason>` with a rejects row."""
    from tests.test_shards_records import _gzip_members, _zstd_warcs

    folder = tmp_path / "in"
    folder.mkdir()
    pages = [(f"http://a.test/{i}", _page(i, f"http://img.test/{i}.jpg"), "text/html", None) for i in range(2)]
    images = [(f"http://img.test/{i}.jpg", _jpeg(), "image/jpeg", None) for i in range(2)]
    (folder / "zstd.warc.gz").write_bytes(_zstd_warcs(_gzip_members(_warc(pages + images)))["dictionary"])
    (folder / "notes.warc").write_bytes(b"hello world, no warc here\n" * 100)
    (folder / "hostile.warc.gz").write_bytes(
        _record_warc(_GOOD[:600] + b"zz\r\n" + _GOOD[600:], [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")],
                     url="http://b.test/chunked")
        + _record_warc(_PAGE[:900], [("Content-Type", "text/html")], {"WARC-Segment-Number": "1"}, url="http://b.test/seg"))
    lying = [(f"http://c.test/{i}", _page(i, "http://img.test/0.jpg"), "text/html", None) for i in (10, 11, 12)]
    (folder / "lying.warc.gz").write_bytes(_lying_member(_warc(lying), 0, 5))
    out = tmp_path / "out"
    stats = run(["--input", str(folder / "*"), "--output", str(out), "--no_http", "--direct_num_workers=1",
                 "--no_report"])["stats"]
    assert stats["shard/n_samples"] == 4  # the lying file's pages 11 and 12 too
    assert stats["read/unknown_format"] == 1 and stats["read/bad_chunked_encoding"] == 1
    assert stats["read/segmented_record"] == 1 and stats["read/bad_content_length"] == 1
    rows = {(r["reason"], r["url"] or r["id"].rsplit("/", 1)[-1].split("#")[0])
            for r in pads.dataset(out / "rejects").to_table().to_pylist() if r["stage"] == "read"}
    assert rows == {("unknown_format", "notes.warc"), ("bad_chunked_encoding", "http://b.test/chunked"),
                    ("segmented_record", "http://b.test/seg"), ("bad_content_length", "http://c.test/10")}


def _lying_member(data: bytes, index: int, length: int) -> bytes:
    """A per-record gzip WARC whose record `index` says `Content-Length: length` in its member."""
    from tests.test_shards_records import _gzip_members

    members = _gzip_members(data)
    members[index] = re.sub(rb"\r\nContent-Length: \d+", b"\r\nContent-Length: %d" % length, members[index], count=1)
    return b"".join(gzip.compress(m) for m in members)


@pytest.mark.parametrize("length", [0, 5, 300])
def test_a_record_that_lies_about_its_length_costs_only_itself_in_a_per_record_gzip_file(length):
    """warcio read on inside the lying record's member and failed there: every later record of the
    file was lost in one `corrupt` (a whole Common Crawl WARC of 30k pages, for one bad record)."""
    pages = [(f"http://a.test/{i}", _page(i, "http://img.test/a.jpg"), "text/html", None) for i in range(5)]
    items = _read(_lying_member(_warc(pages), 1, length))
    assert [(getattr(i, "reason", "page"), i.url, i.source) for i in items] == [
        ("page", "http://a.test/0", "h.warc#0"), ("bad_content_length", "http://a.test/1", "h.warc#1"),
        ("page", "http://a.test/2", "h.warc#2"), ("page", "http://a.test/3", "h.warc#3"),
        ("page", "http://a.test/4", "h.warc#4")]


def test_a_damaged_member_in_the_middle_of_a_real_warc_costs_only_its_record():
    """A few bytes of iana.warc.gz flipped in one member (a disk or transfer error): the 171
    records after it were one `corrupt`."""
    from tests.test_shards_records import _gzip_members

    iana = shared_path("warc", "pywb-2.10.0", "iana.warc.gz").read_bytes()
    expected = _read(iana)
    members = [gzip.compress(m) for m in _gzip_members(iana)]
    bad = bytearray(members[170])
    bad[30:40] = b"\xff" * 10  # inside the deflate stream
    items = _read(b"".join(members[:170] + [bytes(bad)] + members[171:]))
    summary = [(type(i).__name__, getattr(i, "reason", ""), i.url, i.source) for i in items]
    want = [(type(i).__name__, getattr(i, "reason", ""), i.url, i.source) for i in expected]
    assert summary[:170] == want[:170] and summary[171:] == want[171:]
    assert summary[170][1] == "corrupt" and len(items) == len(expected)


def _raw_record(uri: bytes, status: bytes, body: bytes) -> bytes:
    """A WARC response record written by hand: warcio's writer would not write these headers."""
    http = status + b"\r\nContent-Type: text/html\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: " + uri + b"\r\nWARC-Record-ID: <urn:uuid:"
            + uri.hex().encode()[:32].ljust(32, b"0") + b">\r\nWARC-Date: 2020-01-01T00:00:00Z\r\nContent-Type: "
            b"application/http; msgtype=response\r\nContent-Length: " + str(len(http)).encode() + b"\r\n\r\n"
            + http + b"\r\n\r\n")


HOSTILE_HEADS = [  # (target URI, status line, reason)
    (b"javascript:alert(1)", b"HTTP/1.1 200 OK", "bad_target_uri"),
    (b"", b"HTTP/1.1 200 OK", "bad_target_uri"),
    (b"::::not-a-url::::", b"HTTP/1.1 200 OK", "bad_target_uri"),
    (b"http://a.test/abc.html", b"HTTP/1.1 abc def", "bad_http_status"),
    (b"http://a.test/garbage.html", b"garbage line here", "bad_http_status"),
    (b"http://a.test/huge.html", b"HTTP/1.1 99999999999999999999 OK", "bad_http_status"),
    (b"http://a.test/underscore.html", b"HTTP/1.1 2_00 OK", "bad_http_status"),
]


@pytest.mark.parametrize("uri, status, reason", HOSTILE_HEADS)
def test_responses_with_no_http_url_or_no_status_code_are_counted_not_kept_or_skipped(uri, status, reason):
    """warcio leaves the HTTP message of a non-http(s) URI unparsed: the page was a volume
    (`skipped_other_content`, no rejects row); `abc` was no status (kept as a page), `2_00` was 200
    and 10^20 made the counter `http_999999999999999999xx`."""
    ok = _raw_record(b"http://a.test/ok.html", b"HTTP/1.1 200 OK", _page(1, "http://img.test/1.jpg"))
    items = _read(_raw_record(uri, status, _page(2, "http://img.test/2.jpg")) + ok)
    assert [(type(i).__name__, getattr(i, "reason", None)) for i in items] == [("ReadIssue", reason), ("WebRecord", None)]
    assert items[0].detail and items[1].url == "http://a.test/ok.html" and items[1].http_status == 200


def test_m3w_job_counts_every_page_of_a_warc_of_hostile_heads(tmp_path):
    """The job end to end: each hostile head is a `read/<reason>` with a rejects row, and the
    good pages (a 200 KB URI, a NUL in the URI, 10k headers) are kept: pages in = kept + dropped."""
    jpeg = _jpeg()
    good = [b"http://a.test/" + b"a" * 200_000, b"http://a.test/nul\x00x.html", b"http://a.test/many-headers.html"]
    records = [_raw_record(uri, status, _page(10 + n, f"http://img.test/{n}.jpg"))
               for n, (uri, status, _) in enumerate(HOSTILE_HEADS)]
    records += [_raw_record(uri, b"HTTP/1.1 200 OK" + (b"".join(b"\r\nX-H%d: v" % i for i in range(10_000)) if n == 2
                                                     else b""), _page(20 + n, f"http://img.test/g{n}.jpg"))
                for n, uri in enumerate(good)]
    warc = tmp_path / "heads.warc"
    warc.write_bytes(b"".join(records) + _warc([(f"http://img.test/g{n}.jpg", jpeg, "image/jpeg", None)
                                                for n in range(len(good))], gz=False))
    out = tmp_path / "out"
    stats = run(["--input", str(warc), "--output", str(out), "--no_http", "--direct_num_workers=1", "--no_report"])["stats"]
    rows = [r for r in pads.dataset(out / "rejects").to_table().to_pylist() if r["stage"] == "read"]
    assert sorted(r["reason"] for r in rows) == sorted(reason for *_, reason in HOSTILE_HEADS)
    assert {k: v for k, v in stats.items() if k.startswith("read/") and not k.startswith("read/n_")} == {
        "read/kept": 3, "read/bad_target_uri": 3, "read/bad_http_status": 4}
    assert "read/n_skipped_other_content" not in stats and stats["assemble/kept"] == 3


def _records(gz: bool, n: int = 3) -> list[bytes]:
    """`n` page records, each written alone (a gzip member each when `gz`), separators included."""
    return [_warc([(f"http://a.test/{i}", _page(i, "http://img.test/1.jpg"), "text/html", None)], gz=False)
            for i in range(n)]


def _join(records: list[bytes], gz: bool) -> bytes:
    return b"".join(gzip.compress(r, mtime=0) for r in records) if gz else b"".join(records)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("damage", ["file_starts_blank", "member_starts_blank", "separator_moved",
                                    "separator_missing"])
def test_blank_lines_off_their_place_between_records_lose_no_record(gz, damage):
    """warcio took a blank line before a record header for an empty header: a file (or a gzip
    member) starting with a line end lost its record as bad_record_header and, uncompressed, every
    record after it, read as that header's body. A record with no blank lines after it (the next
    header right after its body) was bad_content_length and the rest of a plain file lost."""
    records = _records(gz)
    if damage == "file_starts_blank":
        records[0] = b"\r\n" + records[0]
    elif damage == "member_starts_blank":
        records[1] = b"\n\n" + records[1]
    elif damage == "separator_moved":  # each record's separator written at the start of the next one
        records = [r[:-4] for r in records[:1]] + [b"\r\n\r\n" + r[:-4] for r in records[1:]]
    else:
        records[0] = records[0][:-4]
    items = _read(_join(records, gz))
    assert [(type(i).__name__, i.url) for i in items] == [("WebRecord", f"http://a.test/{i}") for i in range(3)]
    assert [i.body for i in items] == [_page(i, "http://img.test/1.jpg") for i in range(3)]


@pytest.mark.parametrize("blob", [b"\r\n" * 5, b"\n", b" \t\n", gzip.compress(b"\r\n\r\n", mtime=0)])
def test_an_archive_of_blank_lines_is_empty(blob):
    (issue,) = _read(blob)
    assert issue.reason == "empty_archive"


def test_a_record_running_past_its_content_length_is_still_counted():
    """A body longer than its Content-Length says is still bad_content_length; the next record is read."""
    records = _records(False)
    records[0] = records[0].replace(b"</html>", b"</html>spill", 1)
    items = _read(_join(records, False))
    assert [(getattr(i, "reason", "kept"), i.url) for i in items] == [
        ("bad_content_length", "http://a.test/0"), ("kept", "http://a.test/1"), ("kept", "http://a.test/2")]


def _resource(uri: bytes, ctype: bytes, body: bytes) -> bytes:
    """A WARC resource record (no HTTP message) written by hand."""
    return (b"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Target-URI: " + uri + b"\r\nWARC-Date: 2020-01-01T00:00:00Z\r\n"
            b"Content-Type: " + ctype + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            + b"\r\n\r\n")


NO_WEB_URLS = [b"https:a.test/no-slashes.html", b"http://", b"http://[::1/x.html", b"http://a.test/\ttab.html"]


def test_a_page_or_image_under_a_uri_that_is_no_web_url_is_bad_target_uri_in_the_job(tmp_path):
    """An http(s) response whose URI has no host (`https:a.test/x`, `http://`, a broken IPv6 host),
    and a resource under `file:` or `urn:`, were kept: pages whose every relative image was lost as
    extract_media/image_no_src (the document stored under that URI), images no page could name."""
    jpeg = _jpeg()
    records = [_raw_record(uri, b"HTTP/1.1 200 OK", _page(n, "/1.jpg")) for n, uri in enumerate(NO_WEB_URLS)]
    records += [_resource(b"file:///etc/page.html", b"text/html", _page(10, "/1.jpg")),
                _resource(b"urn:x-page:11", b"text/html", _page(11, "/1.jpg")),
                _resource(b"urn:x-image:1", b"image/jpeg", jpeg),
                _resource(b"urn:x-log:1", b"text/plain", b"a crawl log, no page")]  # no page: skipped as before
    warc = tmp_path / "uris.warc"
    warc.write_bytes(b"".join(records) + _warc([("http://a.test/ok.html", _page(20, "/1.jpg"), "text/html", None),
                                                ("http://a.test/1.jpg", jpeg, "image/jpeg", None)], gz=False))
    out = tmp_path / "out"
    stats = run(["--input", str(warc), "--output", str(out), "--no_http", "--direct_num_workers=1", "--no_report"])["stats"]
    rows = [r for r in pads.dataset(out / "rejects").to_table().to_pylist() if r["stage"] == "read"]
    assert sorted(r["url"] for r in rows) == sorted(
        [u.decode() for u in NO_WEB_URLS] + ["file:///etc/page.html", "urn:x-page:11", "urn:x-image:1"])
    assert {r["reason"] for r in rows} == {"bad_target_uri"} and all("no absolute http(s) URL" in r["detail"] for r in rows)
    assert stats["read/bad_target_uri"] == 7 and stats["read/kept"] == 1 and stats["read/n_skipped_other_content"] == 1
    assert stats["assemble/kept"] == 1 and "extract_media/image_no_src" not in stats


# (the target URI an image was captured under, the src a page names it by): one URL each
CAPTURE_SPELLINGS = [("http://IMG.test/1.jpg", "http://img.test/1.jpg"), ("http://img.test:80/2.jpg", "/2.jpg"),
                     ("https://img.test:443/3.jpg", "https://img.test/3.jpg"),
                     ("http://img.test/caf\u00e9.jpg", "/caf%C3%A9.jpg"), ("http://img.test/5.jpg#top", "5.jpg"),
                     ("http://img.test/a/../6.jpg", "/6.jpg"), ("http://img.test/%7e7.jpg", "/~7.jpg")]


def test_a_crawled_image_is_found_however_its_target_uri_spells_its_url(tmp_path):
    """Crawl records were keyed by their raw target URI, page images by their resolved URL: an image
    captured under an upper-case host, a default port, raw UTF-8, a fragment or a dot segment was
    never found (media/not_found offline, fetched again over HTTP otherwise)."""
    jpeg = _jpeg()
    pages = [(f"http://img.test/page{n}.html", _page(n, src), "text/html", None)
             for n, (_, src) in enumerate(CAPTURE_SPELLINGS)]
    warc = tmp_path / "spellings.warc.gz"
    warc.write_bytes(_warc(pages + [(uri, jpeg, "image/jpeg", None) for uri, _ in CAPTURE_SPELLINGS]))
    stats = run(["--input", str(warc), "--output", str(tmp_path / "out"), "--no_http", "--direct_num_workers=1",
                 "--no_report"])["stats"]
    assert stats["media/n_from_crawl"] == len(CAPTURE_SPELLINGS) and "media/not_found" not in stats
    assert stats["assemble/kept"] == len(CAPTURE_SPELLINGS)


@pytest.mark.parametrize("url, resolved", [
    ("http://a.test:80/x.jpg", "http://a.test/x.jpg"), ("https://A.test:443/x.jpg?q=1", "https://a.test/x.jpg?q=1"),
    ("http://a.test:443/x.jpg", "http://a.test:443/x.jpg"), ("https://a.test:80/x.jpg", "https://a.test:80/x.jpg"),
    ("http://a.test:8080/x.jpg", "http://a.test:8080/x.jpg"), ("http://[::1]:80/x.jpg", "http://[::1]/x.jpg"),
])
def test_a_default_port_is_no_part_of_a_url(url, resolved):
    assert resolve(url, url) == resolved and resolve(url, "/x.jpg") == resolved.split("?")[0]


def _chunked(data: bytes, size: int = 100) -> bytes:
    pieces = [data[i:i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def _coded_record(headers: bytes, payload: bytes) -> bytes:
    """A response record whose HTTP head carries `headers` (codings) over `payload` as stored."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + headers + b"\r\n\r\n" + payload
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://a.test/coded.html\r\nWARC-Date: "
            b"2020-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: "
            + str(len(http)).encode() + b"\r\n\r\n" + http + b"\r\n\r\n")


@pytest.mark.parametrize("headers, encode", [
    (b"Transfer-Encoding: Chunked", _chunked), (b"Transfer-Encoding: CHUNKED ", _chunked),
    (b"Transfer-Encoding: identity, chunked", _chunked),
    (b"Transfer-Encoding: gzip, chunked", lambda b: _chunked(gzip.compress(b, mtime=0))),
    (b"Transfer-Encoding: gzip", lambda b: gzip.compress(b, mtime=0)),
    (b"Transfer-Encoding: Chunked\r\nContent-Encoding: gzip", lambda b: _chunked(gzip.compress(b, mtime=0))),
    (b"Transfer-Encoding: gzip, chunked\r\nContent-Encoding: deflate",
     lambda b: _chunked(gzip.compress(zlib.compress(b), mtime=0))),
    (b"Transfer-Encoding: chunked", _chunked),  # warcio's own case, as before
])
def test_transfer_codings_warcio_leaves_alone_are_undone(headers, encode):
    """warcio de-chunks only under exactly `chunked` and undoes no other transfer coding: under
    `Chunked` or `gzip, chunked` the chunk-size lines (`64`, `0`) became page text, or gzip bytes
    inside chunk framing a page of mojibake."""
    page = _page(1, "http://img.test/1.jpg")
    (item,) = _read(_coded_record(headers, encode(page)))
    assert isinstance(item, WebRecord) and item.body == page


def test_a_transfer_coding_that_cannot_be_undone_is_counted():
    (item,) = _read(_coded_record(b"Transfer-Encoding: compress, chunked", _chunked(b"\x1f\x9d\x90 lzw bytes")))
    assert isinstance(item, ReadIssue) and item.reason == "unsupported_encoding"


def _typed_record(uri: bytes, type_headers: bytes, body: bytes) -> bytes:
    http = b"HTTP/1.1 200 OK\r\n" + type_headers + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: " + uri + b"\r\nWARC-Date: 2020-01-01T00:00:00Z\r\n"
            b"Content-Type: application/http; msgtype=response\r\nContent-Length: " + str(len(http)).encode()
            + b"\r\n\r\n" + http + b"\r\n\r\n")


def test_a_content_type_named_twice_is_read_as_a_browser_reads_it(tmp_path):
    """Only the first Content-Type was read: `text/html,text/html` (duplicates folded into one value)
    was no HTML type, the page skipped uncounted as other content; `image/png` then `text/html` an
    image; a charset in the first of two values was lost (a windows-1251 page decoded as another)."""
    russian = ("<html><body><article><h1>Новости</h1>" + "<p>" + "Тихая река течёт мимо старого сада. " * 30
               + "</p><img src='http://img.test/1.jpg' alt='photo'></article></body></html>").encode("cp1251")
    records = [
        _typed_record(b"http://a.test/folded.html", b"Content-Type: text/html,text/html", _page(1, "http://img.test/1.jpg")),
        _typed_record(b"http://a.test/twice.html", b"Content-Type: image/png\r\nContent-Type: text/html",
                      _page(2, "http://img.test/1.jpg")),
        _typed_record(b"http://a.test/any.html", b"Content-Type: text/html, */*", _page(3, "http://img.test/1.jpg")),
        _typed_record(b"http://a.test/ru.html", b"Content-Type: text/html; charset=windows-1251, text/html", russian),
    ]
    items = _read(b"".join(records))
    assert [(type(i).__name__, i.url, i.mime) for i in items] == [
        ("WebRecord", f"http://a.test/{name}.html", "text/html") for name in ("folded", "twice", "any", "ru")]
    assert items[3].content_type == "text/html; charset=windows-1251"
    warc = tmp_path / "types.warc"
    warc.write_bytes(b"".join(records) + _warc([("http://img.test/1.jpg", _jpeg(), "image/jpeg", None)], gz=False))
    out = tmp_path / "out"
    stats = run(["--input", str(warc), "--output", str(out), "--no_http", "--direct_num_workers=1", "--no_report"])["stats"]
    assert stats["read/kept"] == 4 and "read/n_skipped_other_content" not in stats
    texts = [json.loads(s["json"])["text"] for s in _samples(out)]
    assert any(t.startswith("о сада.") for t in texts)  # the last window, with the image: windows-1251 read


def _samples(out) -> list[dict]:
    import webdataset as wds

    return [s for tar in sorted(out.glob("*.tar")) for s in wds.WebDataset(str(tar), shardshuffle=False)]


@pytest.mark.parametrize("lead", [b"\xef\xbb\xbf", b"<!-- served by cache -->\n", b"\n<head><title>x</title></head>",
                                  b"<?xml version='1.0' encoding='utf-8'?>\n"])
def test_an_unlabelled_page_is_html_whatever_comes_before_its_html_tag(lead):
    """A page with no Content-Type was HTML only when its bytes began with `<!doctype html` or
    `<html>`: after a BOM, a comment, a `<head>` or an XML declaration it was skipped uncounted."""
    body = lead + _page(1, "http://img.test/1.jpg")
    (item,) = _read(_typed_record(b"http://a.test/untyped.html", b"X-Served-By: cache", body))
    assert isinstance(item, WebRecord) and item.is_html and item.body == body


@pytest.mark.parametrize("trailer", [b"X-Checksum: 1f2e\r\n", b"Expires: 0\r\nServer-Timing: db;dur=53\r\n",
                                     b"X-Lf-Only: 1\n"])
def test_a_chunked_body_with_a_trailer_is_read(trailer):
    """warcio wants the blank line right after the last (empty) chunk: a valid body with trailer
    fields (RFC 9112 7.1.2) was bad_chunked_encoding, the page lost."""
    page = _page(1, "http://img.test/1.jpg")
    payload = _chunked(page)[:-2] + trailer + b"\r\n"
    (item,) = _read(_coded_record(b"Transfer-Encoding: chunked", payload))
    assert isinstance(item, WebRecord) and item.body == page


@pytest.mark.parametrize("trailer", [b"no field here\r\n", b"X-A: 1\r\n" * 101])
def test_a_trailer_that_is_no_header_fields_is_still_bad_chunked_encoding(trailer):
    payload = _chunked(_page(1, "http://img.test/1.jpg"))[:-2] + trailer + b"\r\n"
    (item,) = _read(_coded_record(b"Transfer-Encoding: chunked", payload))
    assert isinstance(item, ReadIssue) and item.reason == "bad_chunked_encoding" and "trailer" in item.detail


@pytest.mark.parametrize("kind", [b"Response", b"RESPONSE"])
def test_a_record_type_in_another_case_is_read(kind):
    """`WARC-Type: Response` was skipped as `skipped_Response`, its page lost; warcio parses the
    HTTP message of a lower-case `response` only."""
    record = _raw_record(b"http://a.test/p.html", b"HTTP/1.1 200 OK", _page(1, "http://img.test/1.jpg"))
    (item,) = _read(record.replace(b"WARC-Type: response", b"WARC-Type: " + kind, 1))
    assert isinstance(item, WebRecord) and item.mime == "text/html" and item.body == _page(1, "http://img.test/1.jpg")


def test_made_up_record_types_share_one_counter(tmp_path):
    """Each made-up WARC-Type was a counter of its own (`read/n_skipped_<type>`): unbounded counters
    and stats for a file of 1000 types; they are `skipped_other_type`."""
    record = _raw_record(b"http://a.test/p.html", b"HTTP/1.1 200 OK", b"not a page")
    warc = tmp_path / "types.warc"
    warc.write_bytes(b"".join(record.replace(b"WARC-Type: response", b"WARC-Type: x-type-%d" % i, 1)
                              for i in range(1000)) + _warc([("http://a.test/ok.html", _page(1, "/1.jpg"), "text/html", None),
                                                             ("http://a.test/1.jpg", _jpeg(), "image/jpeg", None)], gz=False))
    stats = run(["--input", str(warc), "--output", str(tmp_path / "out"), "--no_http", "--direct_num_workers=1",
                 "--no_report"])["stats"]
    assert stats["read/n_skipped_other_type"] == 1000 and stats["read/kept"] == 1
    assert not [k for k in stats if k.startswith("read/") and "x-type" in k]


def _cut_png() -> bytes:
    """A real 600x400 PNG without its IEND chunk: Pillow decodes it whole, nothing tells it was cut."""
    return shared_path("images", "pillow-tests", "test_anchor_multiline_lm_center.png").read_bytes()[:-12]


def test_an_image_the_crawler_cut_is_a_truncated_record_and_a_cut_page_is_still_read():
    """`WARC-Truncated` says the crawler kept only the start of the payload (its size or time limit):
    a cut image that happens to decode (a PNG without IEND, a clip without its end) was stored."""
    png, page = _cut_png(), _page(1, "http://img.test/1.png")
    data = (_record_warc(png, [("Content-Type", "image/png")], {"WARC-Truncated": "length"}, url="http://img.test/1.png")
            + _record_warc(page, [("Content-Type", "text/html")], {"WARC-Truncated": "time"}))
    image, html = _read(data)
    assert (image.reason, image.url) == ("truncated_record", "http://img.test/1.png") and "WARC-Truncated: length" in image.detail
    assert isinstance(html, WebRecord) and html.body == page


@pytest.mark.timeout(300)
def test_m3w_job_counts_a_cut_image_and_keeps_the_whole_one(tmp_path):
    warc = tmp_path / "cut.warc.gz"
    warc.write_bytes(_warc([(f"http://a.test/{i}.html", _page(i, f"http://img.test/{i}.png"), "text/html", None)
                            for i in (1, 2)])
                     + _record_warc(_cut_png(), [("Content-Type", "image/png")], {"WARC-Truncated": "length"},
                                    url="http://img.test/1.png")
                     + _record_warc(_cut_png() + b"\x00\x00\x00\x00IEND\xaeB`\x82", [("Content-Type", "image/png")],
                                    url="http://img.test/2.png"))
    out = tmp_path / "out"
    stats = run(["--input", str(warc), "--output", str(out), "--no_http", "--direct_num_workers=1", "--no_report",
                 "--allow_empty"])["stats"]
    assert stats["read/truncated_record"] == 1 and stats["media/kept"] == 1 and stats["shard/n_samples"] == 1
    rows = [(r["stage"], r["reason"], r["url"]) for r in pads.dataset(out / "rejects").to_table().to_pylist()]
    assert ("read", "truncated_record", "http://img.test/1.png") in rows
    assert [json.loads(s["json"])["url"] for s in _samples(out)] == ["http://a.test/2.html"]
