"""Tar shard writer (ustar, reproducible, indexed) and WARC reading of every shared archive."""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
import zlib
from collections import Counter

import pytest
import webdataset as wds
import zstandard

from m3w_builder.output.shards import MTIME, ShardWriter
from m3w_builder.read.records import ReadIssue, WebRecord, read_archive
from tests.conftest import SHARED_DATA, shared_path


def _write(samples) -> tuple[bytes, ShardWriter]:
    buf = io.BytesIO()
    writer = ShardWriter(buf)
    for key, members in samples:
        writer.add_sample(key, members)
    writer.close()
    return buf.getvalue(), writer


SAMPLES = [("k_000", [("json", b'{"a":1}'), ("0.jpg", b"\xff\xd8" * 700)]), ("k_001", [("json", b"{}")])]


def test_shard_is_reproducible_ustar_and_indexed(tmp_path):
    data, writer = _write(SAMPLES)
    assert data == _write(SAMPLES)[0]
    assert len(data) % tarfile.RECORDSIZE == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["k_000.json", "k_000.0.jpg", "k_001.json"]
        assert all(m.isreg() and m.mtime == MTIME and m.uid == 0 and m.mode == 0o644 for m in members)
        assert tar.extractfile("k_000.0.jpg").read() == b"\xff\xd8" * 700
    assert_index_slices_members(writer.index_text(), data)
    path = tmp_path / "s.tar"
    path.write_bytes(data)
    read = list(wds.WebDataset(str(path), shardshuffle=False))
    assert [s["__key__"] for s in read] == ["k_000", "k_001"] and json.loads(read[0]["json"]) == {"a": 1}


def assert_index_slices_members(index_text: str, data: bytes) -> None:
    """Every `.idx` entry (DALI `wds2idx` v1.2) slices exactly its member's bytes out of the tar."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    lines = index_text.splitlines()
    assert lines[0].split() == ["v1.2", str(len(lines) - 1)]
    entries = []
    for line in lines[1:]:
        fields = line.split()
        assert len(fields) % 4 == 0
        entries += [(fields[i], int(fields[i + 1]), int(fields[i + 2]), fields[i + 3]) for i in range(0, len(fields), 4)]
    assert [name for *_rest, name in entries] == [name for name, _ in members]
    for (ext, offset, size, name), (_, payload) in zip(entries, members):
        assert name.split(".", 1)[1] == ext
        assert data[offset: offset + size] == payload, name


@pytest.mark.parametrize("bad", ["a.b", "x" * 100, "sp ace"])
def test_shard_refuses_keys_that_break_webdataset(bad):
    with pytest.raises(ValueError):
        _write([(bad, [("json", b"{}")])])


def _archives():
    root = SHARED_DATA / "warc"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("path", _archives(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shared_archive_is_read_or_counted(path):
    items = list(read_archive(lambda: open(path, "rb"), str(path)))
    assert items, "an archive yields records or a counted issue"
    assert all(isinstance(i, (WebRecord, ReadIssue)) for i in items)
    manifest = {json.loads(l)["file"]: json.loads(l) for l in (SHARED_DATA / "MANIFEST-warc.jsonl").read_text().splitlines()}
    entry = manifest.get(str(path.relative_to(SHARED_DATA)))
    html = [i for i in items if isinstance(i, WebRecord) and i.is_html]
    if entry and entry.get("html_responses") and not path.name.endswith(".bad"):
        truncated = [i for i in items if isinstance(i, ReadIssue) and i.reason in ("truncated_record", "bad_content_length")]
        assert len(html) + len(truncated) >= 1


def test_bad_gzip_is_recovered():
    bad = shared_path("warc", "warcio-1.5.3", "example-bad-non-chunked.warc.gz")
    items = list(read_archive(lambda: open(bad, "rb"), str(bad)))
    reasons = Counter(i.reason for i in items if isinstance(i, ReadIssue))
    assert reasons["recovered_whole_file_gzip"] == 1
    assert any(isinstance(i, WebRecord) and i.url == "http://example.com/" for i in items)


def _records(path_or_bytes) -> list:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return [(i.url, i.body) if isinstance(i, WebRecord) else i.reason
            for i in read_archive(lambda: io.BytesIO(data), "a.warc")]


def test_lz4_archives_read_as_their_plain_warc_and_cut_or_damaged_ones_are_counted():
    """resiliparse's LZ4 WARCs (one frame per record) were `unknown_format`: not one page read."""
    lz4 = shared_path("warc", "resiliparse", "warcfile.warc.lz4")
    plain = _records(shared_path("warc", "resiliparse", "warcfile.warc"))
    assert _records(lz4) == plain and sum(isinstance(r, tuple) for r in plain) == 16
    data = lz4.read_bytes()
    cut = _records(data[: len(data) // 2])
    whole = len(cut) - next(i for i, r in enumerate(reversed(cut)) if r not in ("truncated", "truncated_record"))
    assert 2 < whole < len(plain) and cut[:whole] == plain[:whole]
    assert cut[whole:] in (["truncated"], ["truncated_record", "truncated"], ["truncated_record"])
    frame_header = data.index(b"\x04\x22\x4d\x18", len(data) // 2)  # the frame of a later record
    damaged = data[:frame_header + 4] + b"\xff" * 3 + data[frame_header + 7:]
    read = _records(damaged)
    whole = len(read) - next(i for i, r in enumerate(reversed(read)) if r not in ("corrupt", "corrupt_record"))
    assert 2 < whole < len(plain) and read[:whole] == plain[:whole]
    assert read[whole:] in (["corrupt"], ["corrupt_record", "corrupt"])


def _gzip_members(data: bytes) -> list[bytes]:
    """The decompressed members of a per-record gzip file: one record each."""
    members = []
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        members.append(inflater.decompress(data))
        data = inflater.unused_data
    return members


def _zstd_warcs(records: list[bytes]) -> dict[str, bytes]:
    """The records as `.warc.zst` files the way wget-at writes them: a zstd frame per record,
    plain, and with a trained dictionary in the spec's leading skippable frame (raw, zstd-compressed)."""
    plain = zstandard.ZstdCompressor(write_checksum=True)
    trained = zstandard.train_dictionary(8192, records * 4)
    with_dict = zstandard.ZstdCompressor(dict_data=trained, write_checksum=True)
    body = b"".join(with_dict.compress(r) for r in records)

    def frame(data: bytes) -> bytes:
        return b"\x5d\x2a\x4d\x18" + struct.pack("<I", len(data)) + data

    return {"plain": b"".join(plain.compress(r) for r in records), "dictionary": frame(trained.as_bytes()) + body,
            "compressed_dictionary": frame(plain.compress(trained.as_bytes())) + body}


def test_zstd_archives_with_or_without_a_dictionary_read_as_their_gzip_warc():
    """`.warc.zst` (wget-at, ArchiveTeam; the IIPC WARC-zstd spec) was `unknown_format`: not one
    record read, under any name."""
    iana = shared_path("warc", "pywb-2.10.0", "iana.warc.gz").read_bytes()
    expected = _records(iana)
    assert sum(isinstance(r, tuple) for r in expected) == 44
    files = _zstd_warcs(_gzip_members(iana))
    for name, data in files.items():
        assert _records(data) == expected, name
    data = files["dictionary"]
    size = struct.unpack("<I", data[4:8])[0]
    cut = _records(data[: len(data) // 2])
    whole = len(cut) - next(i for i, r in enumerate(reversed(cut)) if r not in ("truncated", "truncated_record"))
    assert 2 < whole < len(expected) and cut[:whole] == expected[:whole] and cut[whole:]
    assert _records(data[: 8 + size // 2]) == ["truncated"]  # cut inside its dictionary
    assert _records(data[8 + size:]) == ["corrupt"]  # frames whose dictionary is missing
    assert _records(data[:8] + bytes(size) + data[8 + size:]) == ["corrupt"]  # the wrong dictionary
    assert _records(data[:4] + struct.pack("<I", 2**32 - 1) + data[8:]) == ["corrupt"]  # a 4 GiB one: not held
    frame = data.index(b"\x28\xb5\x2f\xfd", len(data) // 2)  # a later record's frame
    damaged = _records(data[:frame + 8] + b"\xff" * 8 + data[frame + 16:])
    whole = len(damaged) - next(i for i, r in enumerate(reversed(damaged)) if r not in ("corrupt", "corrupt_record"))
    assert 2 < whole < len(expected) and damaged[:whole] == expected[:whole] and damaged[whole:]


def test_a_file_cut_where_warcio_reads_a_record_header_is_counted_as_cut():
    """A decoder's EOFError while warcio reads a record header is warcio's clean end of file: an
    LZ4 file cut in a frame's header was `empty_archive` (its first record lost too), a whole-file
    gzip cut early only `recovered_whole_file_gzip`, a zstd one cut in a frame nothing at all."""
    lz4 = shared_path("warc", "resiliparse", "warcfile.warc.lz4").read_bytes()
    second = lz4.index(b"\x04\x22\x4d\x18", 4)
    assert _records(lz4[:second + 4]) == ["skipped_warcinfo", "truncated"]
    whole = gzip.compress(shared_path("warc", "resiliparse", "warcfile.warc").read_bytes())
    assert _records(whole[: len(whole) // 50]) == ["skipped_warcinfo", "recovered_whole_file_gzip", "truncated"]
    whirlwind = _zstd_warcs(_gzip_members(shared_path("warc", "commoncrawl-whirlwind", "whirlwind.warc.gz").read_bytes()))
    for data in whirlwind.values():  # 4 records: 807, 744, 75,174 and 707 bytes; the cut is in the third
        assert _records(data[: len(data) // 2]) == ["skipped_warcinfo", "skipped_request", "truncated"]


def test_truncated_archive_keeps_records_before_the_cut(tmp_path):
    source = shared_path("warc", "resiliparse", "warcfile.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(source[: len(source) // 2])
    items = list(read_archive(lambda: open(cut, "rb"), str(cut)))
    assert any(isinstance(i, WebRecord) for i in items)
    assert isinstance(items[-1], ReadIssue) and items[-1].reason in ("truncated_record", "truncated", "corrupt")


def test_revisits_and_iana_images():
    iana = shared_path("warc", "pywb-2.10.0", "iana.warc.gz")
    items = list(read_archive(lambda: open(iana, "rb"), str(iana)))
    reasons = Counter(i.reason for i in items if isinstance(i, ReadIssue))
    assert reasons["revisit"] == 123
    manifest = [json.loads(l) for l in (SHARED_DATA / "MANIFEST-warc.jsonl").read_text().splitlines()]
    expected = next(m for m in manifest if m["file"] == "warc/pywb-2.10.0/iana.warc.gz")["image_payloads"]
    assert sum(1 for i in items if isinstance(i, WebRecord) and i.mime.startswith("image/")) == expected
