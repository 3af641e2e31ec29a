"""Cut, empty and tiny archives: every record that cannot be read is counted, nothing raises."""

from __future__ import annotations

import gzip
import io
import random

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from m3w_builder.quality.optout import header_directives, image_drop_reason, parse_directives
from m3w_builder.read.records import ReadIssue, WebRecord, read_archive
from tests.conftest import shared_path

CUT_REASONS = ("truncated", "truncated_record", "bad_record_header")


def _offsets(data: bytes) -> list[int]:
    iterator = ArchiveIterator(io.BytesIO(data), arc2warc=True)
    return [iterator.get_record_offset() for _ in iterator]


def _read(data: bytes) -> list[WebRecord | ReadIssue]:
    return list(read_archive(lambda: io.BytesIO(data), "cut.warc"))


@pytest.mark.parametrize("name", ["warcfile.warc", "warcfile.warc.gz"])
def test_every_record_of_a_cut_archive_is_read_or_counted(name):
    data = shared_path("warc", "resiliparse", name).read_bytes()
    offsets = _offsets(data)
    rng = random.Random(7)
    cuts = [rng.randrange(len(data)) for _ in range(40)] + [o + d for o in offsets[1:6] for d in (1, 20, 60)]
    for cut in cuts:
        items = _read(data[:cut])
        started = sum(1 for o in offsets if o < cut)
        assert len(items) >= started, f"cut at {cut}: {started} records begun, {len(items)} accounted"
        if cut not in offsets:  # a record was cut: the last item says so (skipped types are not read)
            last = items[-1]
            assert isinstance(last, ReadIssue) and (last.reason in CUT_REASONS or last.reason.startswith("skipped_")), cut


def test_a_cut_record_header_is_counted_not_raised():
    data = shared_path("warc", "resiliparse", "warcfile.warc").read_bytes()
    second = _offsets(data)[1]
    cut = data.index(b"Content-Type", second)  # inside the header, before WARC-Target-URI (warcio: AttributeError)
    items = _read(data[:cut])
    assert items[-1].reason == "truncated" and items[-1].source == "cut.warc#1"


@pytest.mark.parametrize("blob, reason", [
    (b"", "empty_archive"),
    (gzip.compress(b""), "empty_archive"),
    (b"WARC", "unknown_format"),
    (b"WARC/1.0\r\nWARC-Type: response\r\n", "truncated"),
    (gzip.compress(b"WARC/1.0\r\nWARC-Type: resp")[:-6], "bad_record_header"),
    (b"\x1f\x8b\x08\x00garbage", "truncated"),
])
def test_empty_and_tiny_archives_are_counted(blob, reason):
    items = _read(blob)
    assert [i.reason for i in items if isinstance(i, ReadIssue)][-1:] == [reason]
    assert not any(isinstance(i, WebRecord) for i in items)


def _warc_with_headers(headers: list[tuple[str, str]]) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    http = StatusAndHeaders("200 OK", [("Content-Type", "image/png"), *headers], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record("http://h.test/a.png", "response", payload=io.BytesIO(b"\x89PNG"),
                                                  http_headers=http))
    return out.getvalue()


@pytest.mark.parametrize("headers, expected", [
    ([("X-Robots-Tag", "noarchive"), ("X-Robots-Tag", "noai")], "noai"),
    ([("X-Robots-Tag", "googlebot: nofollow, m3w-builder: noimageai")], "noimageai"),
    ([("X-Robots-Tag", "googlebot: noindex"), ("X-Robots-Tag", "noai")], "noai"),
    ([("X-Robots-Tag", "googlebot: noai")], None),
    ([("tdm-reservation", "1")], "tdm_reserved"),
    ([("tdm-reservation", "0")], None),
])
def test_crawl_replay_reads_every_optout_header(headers, expected):
    (record,) = _read(_warc_with_headers(headers))
    assert image_drop_reason(record.optout_headers) == expected


def test_agent_prefix_binds_until_the_next_prefix():
    assert parse_directives("googlebot: nofollow, m3w-builder: noai") == {"noai"}
    assert parse_directives("m3w-builder: noai, googlebot: nofollow, noarchive") == {"noai"}
    assert parse_directives("noimageai, otherbot: noai") == {"noimageai"}
    assert parse_directives("max-snippet: 20, noai") == {"max-snippet: 20", "noai"}
    assert header_directives([("X-Robots-Tag", "otherbot: noindex"), ("X-Robots-Tag", "noai")]) == {"noai"}
