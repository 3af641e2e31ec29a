"""Hostile pair lists: UTF-16/32 files, lone-CR line ends, url/caption columns named twice, JSON
nested past Python's recursion limit, lines of hundreds of MB; the reader and the pairs job."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest

from m3w_builder.read.lists import ListOptions, read_list
from pipelines.pairs import run
from tests.conftest import shared_path

CSV = "url,caption\nhttp://a.test/1.jpg,a caption with é accents\nhttp://a.test/2.jpg,second one\n"
GOOD = [("http://a.test/1.jpg", "a caption with é accents"), ("http://a.test/2.jpg", "second one")]


def _rows(name: str, data: bytes, **options) -> list:
    return list(read_list(name, lambda: io.BytesIO(data), ListOptions(**options)))


@pytest.mark.parametrize("codec, label", [("utf-16", "utf-16"), ("utf-16-le", "utf-16"), ("utf-16-be", "utf-16"),
                                          ("utf-32", "utf-32"), ("utf-8-sig", "utf-8")])
@pytest.mark.parametrize("name, text", [("l.csv", CSV), ("l.tsv", CSV.replace(",", "\t")),
                                        ("l.jsonl", "".join(json.dumps({"url": u, "caption": c}) + "\n" for u, c in GOOD))])
def test_wide_unicode_lists_are_read_as_such(codec, label, name, text):
    """Excel's 'Unicode text' (UTF-16 with a BOM) gave `no_url_column` on every row ('ÿþurl')."""
    rows = _rows(name, text.encode(codec))
    assert [(r.url, r.caption, r.error) for r in rows] == [(u, c, None) for u, c in GOOD]
    assert {r.encoding for r in rows} == {label}


@pytest.mark.parametrize("name, text", [("l.csv", CSV), ("l.jsonl", "".join(
    json.dumps({"url": u, "caption": c}) + "\n" for u, c in GOOD))])
def test_lines_may_end_in_a_lone_cr(name, text):
    rows = _rows(name, text.replace("\n", "\r").encode())
    assert [(r.url, r.caption, r.error) for r in rows] == [(u, c, None) for u, c in GOOD]


def test_a_url_or_caption_named_twice_is_ambiguous_not_the_last_one():
    """JSON and dict(zip(header, row)) silently kept the last of two `url` values."""
    jsonl = _rows("l.jsonl", b'{"url": "http://a.test/1.jpg", "caption": "one caption", "url": "http://b.test/x.jpg"}\n'
                             b'{"url": "http://a.test/2.jpg", "caption": "two captions", "n": 1, "n": 2}\n')
    assert [(r.error, r.url) for r in jsonl] == [("duplicate_column", ""), (None, "http://a.test/2.jpg")]
    assert jsonl[1].extra == {"n": 2}
    assert [r.error for r in _rows("l.csv", b"url,caption,url\nhttp://a.test/1.jpg,a caption,http://b.test/2.jpg\n")] \
        == ["duplicate_column"]
    (row,) = _rows("l.csv", b"url,caption,tag,tag\nhttp://a.test/1.jpg,a caption,x,y\n")
    assert row.error is None and row.extra == {"tag": "x", "tag.1": "y"}


def test_json_nested_past_the_recursion_limit_fails_its_row_not_the_list():
    """A RecursionError ended the whole list (every later row lost, one error_RecursionError)."""
    deep = b'{"url": "http://a.test/1.jpg", "caption": "deep one", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    rows = _rows("l.jsonl", deep + b'{"url": "http://a.test/2.jpg", "caption": "after it"}\n')
    assert [(r.error, r.url) for r in rows] == [("bad_json", ""), (None, "http://a.test/2.jpg")]


class _Huge(io.RawIOBase):
    """`head`, then 200 MB without a line end, then one good JSON line: never in memory at once."""

    def __init__(self, head: bytes) -> None:
        self.parts = [head, None, b'\n{"url": "http://a.test/x.jpg", "caption": "a fine caption"}\n']
        self.left = 200 << 20

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.parts:
            if self.parts[0] is None:
                if self.left:
                    n = min(len(buffer), self.left)
                    buffer[:n] = b"x" * n
                    self.left -= n
                    return n
            elif self.parts[0]:
                n = min(len(buffer), len(self.parts[0]))
                buffer[:n], self.parts[0] = self.parts[0][:n], self.parts[0][n:]
                return n
            self.parts.pop(0)
        return 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name, head", [("huge.jsonl", b""), ("huge.csv", b"url,caption\n")])
def test_a_line_of_hundreds_of_mb_is_one_row_too_long(name, head):
    rows = list(read_list(name, lambda: io.BufferedReader(_Huge(head))))
    assert rows[0].error == "row_too_long" and rows[0].detail.startswith(f"{(200 << 20) + 1} bytes")
    assert rows[1].error is None and len(rows) == 2


@pytest.mark.timeout(300)
def test_pairs_job_reads_hostile_lists_row_by_row(tmp_path):
    """The job end to end (FnApiRunner): a UTF-16 TSV of real local photos makes samples; the JSON
    list's bad rows each fail with their reason and the rows after them are read."""
    photos = sorted(shared_path("images", "exif-orientation-examples").glob("Landscape_*.jpg"))[:2]
    tsv = tmp_path / "excel.tsv"
    tsv.write_bytes("".join(f"{p}\ta landscape photo number {i} from a test suite\r\n"
                            for i, p in enumerate(photos)).join(["url\tcaption\r\n", ""]).encode("utf-16"))
    jsonl = tmp_path / "rows.jsonl"
    good = {"url": str(photos[0]), "caption": "the first landscape again, from the json list"}
    jsonl.write_bytes(b"\r".join([
        b'{"url": "http://a.test/1.jpg", "caption": "nested deep", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"url": "http://a.test/2.jpg", "caption": "named twice", "url": "file:///etc/hostname"}',
        json.dumps(good).encode(), b""]))
    out = tmp_path / "out"
    dataset = run(["--source", "ltip", "--input", str(tsv), "--input", str(jsonl), "--output", str(out), "--no_http",
                   "--direct_num_workers=1", "--no_report"])
    rows = {r["source"]: r for p in out.glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    assert {s: r["reason"] for s, r in rows.items()} == {
        "excel.tsv#1": "success", "excel.tsv#2": "success", "rows.jsonl#1": "bad_json",
        "rows.jsonl#2": "duplicate_column", "rows.jsonl#3": "success"}
    assert rows["excel.tsv#1"]["caption_encoding"] == "utf-16" and dataset["stats"]["pairs/kept"] == 3


def _parquet(table, **options) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **options)
    return out.getvalue()


def test_a_parquet_url_column_named_twice_is_ambiguous_not_the_last_one():
    """pyarrow's rows keep the last of two `url` columns: the second URL was taken silently."""
    import pyarrow as pa

    table = pa.Table.from_arrays([pa.array(["http://a.test/1.jpg"]), pa.array(["http://b.test/2.jpg"]),
                                  pa.array(["a cat"])], names=["url", "url", "caption"])
    rows = _rows("l.parquet", _parquet(table))
    assert [(r.row_id, r.error, r.detail) for r in rows] == [("l.parquet#0", "duplicate_column",
                                                             "column 'url' appears 2 times")]


def test_a_corrupt_parquet_row_group_costs_only_its_rows_and_says_how_many():
    """One damaged row group ended the whole list in one `unreadable_list` row: the 2,000 good rows
    around it were lost and the 3,000 rows counted as one."""
    import pyarrow as pa

    table = pa.table({"url": [f"http://a.test/{i}.jpg" for i in range(3000)], "caption": ["a cat"] * 3000})
    data = bytearray(_parquet(table, row_group_size=1000))
    column = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(1).column(0)
    start = column.data_page_offset + 20  # past the page header: the compressed values
    data[start:start + 64] = b"\xff" * 64
    rows = _rows("l.parquet", bytes(data))
    broken = [r for r in rows if r.error]
    assert [(r.row_id, r.error) for r in broken] == [("l.parquet#1001", "unreadable_rows")]
    assert broken[0].detail.startswith("row group 1: 1000 rows from #1001 unread: ")
    good = [r for r in rows if not r.error]
    assert [r.row_id for r in good] == [f"l.parquet#{i}" for i in [*range(1, 1001), *range(2001, 3001)]]
    assert [r.url for r in good] == [f"http://a.test/{i - 1}.jpg" for i in [*range(1, 1001), *range(2001, 3001)]]


def test_pairs_job_counts_a_corrupt_parquet_row_group_and_makes_the_others(tmp_path):
    """The job end to end (FnApiRunner): real local photos in three row groups, the middle one
    damaged; its row is `unreadable_rows` with a manifest row, the two others are samples."""
    import pyarrow as pa

    photos = sorted(shared_path("images", "exif-orientation-examples").glob("Landscape_*.jpg"))[:3]
    table = pa.table({"url": [str(p) for p in photos],
                      "caption": [f"a landscape photo number {i} from a test suite" for i in range(3)]})
    data = bytearray(_parquet(table, row_group_size=1))
    column = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(1).column(0)
    start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    data[start:start + column.total_compressed_size] = b"\xff" * column.total_compressed_size  # headers too
    (tmp_path / "list.parquet").write_bytes(bytes(data))
    out = tmp_path / "out"
    dataset = run(["--source", "ltip", "--input", str(tmp_path / "list.parquet"), "--output", str(out), "--no_http",
                   "--direct_num_workers=1", "--no_report"])
    rows = {r["source"]: r for p in out.glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    assert {s: r["reason"] for s, r in rows.items()} == {
        "list.parquet#1": "success", "list.parquet#2": "unreadable_rows", "list.parquet#3": "success"}
    assert dataset["stats"]["pairs/kept"] == 2


@pytest.mark.parametrize("name, sep", [("l.csv", ","), ("l.tsv", "\t")])
def test_an_unclosed_quote_costs_its_own_row_not_the_rows_it_ran_into(name, sep):
    """The quote ran on through 128 KB of the following rows (the csv field limit): those ~4,000
    rows vanished into one `bad_row`, and every later row got another row's id."""
    lines = ["url" + sep + "caption"] + [f"http://a.test/{i}.jpg{sep}caption number {i}" for i in range(1, 10_001)]
    lines[5] = f"http://a.test/5.jpg{sep}\"a caption whose quote is never closed"
    rows = _rows(name, ("\n".join(lines) + "\n").encode())
    assert len(rows) == 10_000
    assert [(r.row_id, r.error) for r in rows if r.error] == [(f"{name}#5", "bad_row")]
    assert all(r.url == f"http://a.test/{r.row_id.split('#')[1]}.jpg" for r in rows if not r.error)


def test_a_quote_left_open_near_the_end_does_not_swallow_the_last_rows():
    """The csv module hands back a field still open at the end of the file whole: the two rows
    after it became its caption, and the rows themselves were never counted. A quoted caption
    on two lines stays one row."""
    text = ('url,caption\nhttp://a.test/1.jpg,"one\non two lines"\nhttp://a.test/2.jpg,"two, never closed\n'
            "http://a.test/3.jpg,three\nhttp://a.test/4.jpg,four\n")
    rows = _rows("l.csv", text.encode())
    assert [(r.row_id, r.error, r.caption) for r in rows] == [
        ("l.csv#1", None, "one\non two lines"), ("l.csv#2", "bad_row", ""), ("l.csv#3", None, "three"),
        ("l.csv#4", None, "four")]
    assert rows[1].detail == "a quote left open to the end of the file"


def test_a_lone_surrogate_escape_fails_its_url_row_and_becomes_u_fffd_in_a_caption(tmp_path):
    """The job end to end (FnApiRunner): one JSON `\\ud800` escape, which no UTF-8 output can hold,
    ended the whole list as one `list/error_UnicodeEncodeError`; the good rows after it were lost."""
    photo = shared_path("images", "exif-orientation-examples", "Landscape_1.jpg")
    jsonl = tmp_path / "l.jsonl"
    jsonl.write_text("".join(line + "\n" for line in [
        '{"url": "http://a.test/\\ud800.jpg", "caption": "a photo of a landscape"}',
        json.dumps({"url": str(photo), "caption": "PLACEHOLDER"}).replace("PLACEHOLDER", "a landscape \\udc00 photo"),
        json.dumps({"url": str(photo), "caption": "a landscape \U0001F600 photo, a pair kept whole"}, ensure_ascii=True)]))
    out = tmp_path / "out"
    dataset = run(["--source", "ltip", "--input", str(jsonl), "--output", str(out), "--no_http",
                   "--direct_num_workers=1", "--no_report"])
    rows = {r["source"]: r for p in out.glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    assert {s: r["reason"] for s, r in rows.items()} == {"l.jsonl#1": "bad_url", "l.jsonl#2": "success",
                                                         "l.jsonl#3": "success"}
    assert rows["l.jsonl#2"]["caption"] == "a landscape \ufffd photo"
    assert rows["l.jsonl#3"]["caption"] == "a landscape \U0001F600 photo, a pair kept whole"
    assert dataset["stats"]["pairs/kept"] == 2


def test_a_caption_that_is_an_object_or_a_list_is_bad_caption_not_its_json_text():
    """A parquet struct or a JSON object caption was stored as its JSON text (`{"en": "a cat"}`)
    and trained on; numbers, booleans and dates are still taken as their text."""
    import datetime

    import pyarrow as pa

    table = pa.table({"url": [f"http://a.test/{i}.jpg" for i in range(2)],
                      "caption": [{"en": "a cat on a mat", "fr": "un chat"}, {"en": "a dog", "fr": "un chien"}]})
    assert [(r.error, r.detail, r.caption) for r in _rows("l.parquet", _parquet(table))] == [
        ("bad_caption", "a JSON object", "")] * 2
    listed = pa.table({"url": ["http://a.test/1.jpg"], "caption": [["a cat", "on a mat"]]})
    assert [(r.error, r.detail) for r in _rows("l.parquet", _parquet(listed))] == [("bad_caption", "a list")]
    dated = pa.table({"url": ["http://a.test/1.jpg"], "caption": [datetime.date(2024, 5, 1)]})
    assert [(r.error, r.caption) for r in _rows("l.parquet", _parquet(dated))] == [(None, "2024-05-01")]
    jsonl = b"".join(json.dumps({"url": f"http://a.test/{i}.jpg", "caption": c}).encode() + b"\n"
                     for i, c in enumerate([{"text": "a cat"}, ["a", "cat"], 1984, True, "a plain caption"]))
    assert [(r.error, r.caption) for r in _rows("l.jsonl", jsonl)] == [
        ("bad_caption", ""), ("bad_caption", ""), (None, "1984"), (None, "true"), (None, "a plain caption")]


@pytest.mark.timeout(120)
def test_pairs_job_counts_structured_captions_with_a_manifest_row(tmp_path):
    """The job end to end (FnApiRunner): the object caption is a counted `bad_caption` drop."""
    photo = sorted(shared_path("images", "exif-orientation-examples").glob("Landscape_*.jpg"))[0]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text(json.dumps({"url": str(photo), "caption": {"en": "a landscape photo from a test suite"}}) + "\n"
                     + json.dumps({"url": str(photo), "caption": "a landscape photo from a test suite"}) + "\n")
    out = tmp_path / "out"
    dataset = run(["--source", "ltip", "--input", str(jsonl), "--output", str(out), "--no_http",
                   "--direct_num_workers=1", "--no_report"])
    rows = {r["source"]: r["reason"] for p in out.glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    assert rows == {"rows.jsonl#1": "bad_caption", "rows.jsonl#2": "success"}
    assert dataset["stats"]["pairs/kept"] == 1


@pytest.mark.parametrize("name", ["wide.csv", "wide.jsonl"])
def test_a_row_of_100k_columns_is_too_many_columns_unless_extra_cols_names_some(name):
    """Every column became a manifest column: 20,000 made a 4.6 MB manifest for two rows, a
    million a schema of ~230 MB per shard."""
    n = 100_000
    if name.endswith(".csv"):
        data = ("url,caption," + ",".join(f"c{i}" for i in range(n)) + "\n"
                + "http://a.test/1.jpg,a cat on a mat," + ",".join("x" * (i == 7) for i in range(n)) + "\n").encode()
    else:
        data = json.dumps({"url": "http://a.test/1.jpg", "caption": "a cat on a mat",
                           **{f"c{i}": "x" * (i == 7) for i in range(n)}}).encode() + b"\n"
    (row,) = _rows(name, data)
    assert row.error == "too_many_columns" and row.detail.startswith(f"{n} columns besides the url and caption")
    (row,) = _rows(name, data, extra_cols=("c7",))
    assert row.error is None and row.extra == {"c7": "x"} and row.url == "http://a.test/1.jpg"
    (row,) = _rows("narrow.csv", b"url,caption," + b",".join(b"c%d" % i for i in range(1024))
                   + b"\nhttp://a.test/1.jpg,a cat," + b"," * 1023 + b"\n")
    assert row.error is None and len(row.extra) == 1024


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")
    return json.loads(text, parse_constant=refuse)


def test_nan_and_infinite_cells_are_null_and_strings_not_bare_tokens():
    """pandas writes a missing float as NaN: json.dumps put the bare `NaN`/`Infinity` (no strict
    JSON reader takes them) in the manifest cells and every sample's `json`."""
    import pyarrow as pa

    table = pa.table({"url": ["http://a.test/1.jpg"], "caption": ["a cat on a mat"], "score": [float("nan")],
                      "hi": [float("inf")], "lo": [[1.5, float("-inf")]]})
    (parquet,) = _rows("l.parquet", _parquet(table))
    (jsonl,) = _rows("l.jsonl", b'{"url": "http://a.test/1.jpg", "caption": "a cat on a mat", "score": NaN, '
                                b'"hi": Infinity, "lo": [1.5, -Infinity]}\n')
    for row in (parquet, jsonl):
        assert row.error is None
        assert row.extra == {"score": None, "hi": "Infinity", "lo": [1.5, "-Infinity"]}
        assert _strict(json.dumps(row.extra)) == row.extra


@pytest.mark.timeout(300)
def test_pairs_job_writes_strict_json_and_keeps_columns_named_like_ours_behind_x(tmp_path):
    """Input columns `key` and `x_key` both became the column `x_key` (one value silently lost);
    a NaN score made the sample's `json` member unreadable to strict JSON readers."""
    import tarfile

    import pyarrow as pa

    photo = sorted(shared_path("images", "exif-orientation-examples").glob("Landscape_*.jpg"))[0]
    lst = tmp_path / "l.parquet"
    pq.write_table(pa.table({"url": [str(photo)], "caption": ["a landscape photo from a test suite"],
                             "score": [float("nan")], "key": ["theirs"], "x_key": ["also theirs"]}), lst)
    out = tmp_path / "out"
    run(["--source", "ltip", "--input", str(lst), "--output", str(out), "--no_http", "--direct_num_workers=1",
         "--no_report"])
    (row,) = [r for p in out.glob("ltip-*.parquet") for r in pq.read_table(p).to_pylist()]
    assert (row["reason"], row["score"], row["x_key"], row["x_x_key"]) == ("success", None, "theirs", "also theirs")
    with tarfile.open(next(out.glob("ltip-*.tar"))) as tar:
        (member,) = [m for m in tar.getmembers() if m.name.endswith(".json")]
        sample = _strict(tar.extractfile(member).read().decode())
    assert (sample["score"], sample["x_key"], sample["x_x_key"], sample["key"]) == \
        (None, "theirs", "also theirs", row["key"])


def test_a_jsonl_list_joined_from_files_with_a_bom_reads_every_part():
    """`cat a.jsonl b.jsonl` where each has a BOM: every row of b's first line was bad_json."""
    part = '{"url": "http://a.test/%d.jpg", "caption": "a caption for part %d"}\n'
    data = b"".join(("\ufeff" + part % (i, i)).encode() for i in (1, 2, 3))
    rows = _rows("l.jsonl", data)
    assert [(r.error, r.url) for r in rows] == [(None, f"http://a.test/{i}.jpg") for i in (1, 2, 3)]


@pytest.mark.timeout(300)
def test_pairs_job_in_parquet_keeps_input_columns_named_jpg_or_frames_beside_the_media(tmp_path):
    """An input column `jpg` met the parquet format's image column: ArrowInvalid failed the job."""
    import pyarrow as pa

    photo = sorted(shared_path("images", "exif-orientation-examples").glob("Landscape_*.jpg"))[0]
    lst = tmp_path / "l.parquet"
    pq.write_table(pa.table({"url": [str(photo)], "caption": ["a landscape photo from a test suite"],
                             "jpg": ["their jpg"], "frames": ["their frames"]}), lst)
    out = tmp_path / "out"
    run(["--source", "ltip", "--input", str(lst), "--output", str(out), "--no_http", "--direct_num_workers=1",
         "--no_report", "--output_format", "parquet"])
    (row,) = [r for p in out.glob("ltip-*.parquet") for r in pq.read_table(p).to_pylist()]
    assert (row["reason"], row["x_jpg"], row["x_frames"]) == ("success", "their jpg", "their frames")
    assert row["jpg"][:2] == b"\xff\xd8"


@pytest.mark.timeout(300)
def test_pairs_job_keeps_the_manifest_narrow_when_input_columns_change_row_by_row(tmp_path):
    """Every distinct key of a JSON list became a column of every shard: 20k rows each with its
    own key took 5.5 GB and 144 s. Past MAX_EXTRA_COLUMNS the most frequent keys keep their
    columns and the rest of each row's are JSON text in `extra_columns`; no value is lost."""
    from m3w_builder.pairs.items import PAIRS_SCHEMA
    from m3w_builder.read.lists import MAX_EXTRA_COLUMNS

    photo = sorted(shared_path("images", "exif-orientation-examples").glob("Landscape_*.jpg"))[0]
    n = MAX_EXTRA_COLUMNS + 50
    lst = tmp_path / "l.jsonl"
    lst.write_text("".join(json.dumps({"url": str(photo) if i == 0 else str(tmp_path / f"missing-{i}.jpg"),
                                       "caption": f"a caption for row number {i}", "source_id": i, f"own_{i:05d}": i})
                           + "\n" for i in range(n)))
    out = tmp_path / "out"
    dataset = run(["--source", "ltip", "--input", str(lst), "--output", str(out), "--no_http",
                   "--direct_num_workers=1", "--no_report"])
    tables = [pq.read_table(p) for p in sorted(out.glob("ltip-*.parquet"))]
    assert {len(t.schema) for t in tables} == {len(PAIRS_SCHEMA) + MAX_EXTRA_COLUMNS + 1}
    rows = [r for t in tables for r in t.to_pylist()]
    assert len(rows) == n and dataset["stats"]["pairs/kept"] == 1
    for row in rows:
        i = int(row["caption"].split()[-1])
        spare = json.loads(row["extra_columns"]) if row["extra_columns"] else {}
        own = row[f"own_{i:05d}"] if f"own_{i:05d}" in row else spare[f"own_{i:05d}"]
        assert (row["source_id"], own) == (str(i), str(i))
    assert sum(1 for r in rows if r["extra_columns"]) == n - (MAX_EXTRA_COLUMNS - 1)


def test_a_column_named_twice_is_renamed_past_names_the_header_already_has():
    """`tag,tag,tag.1`: the second `tag` became `tag.1` beside the real one, and one value was lost;
    a parquet file's extra columns named twice kept the last value only."""
    (row,) = _rows("l.csv", b"url,caption,tag,tag,tag.1,n,n,n\nhttp://a.test/1.jpg,a caption,x,y,z,1,2,3\n")
    assert row.error is None and row.extra == {"tag": "x", "tag.2": "y", "tag.1": "z", "n": "1", "n.1": "2", "n.2": "3"}
    import pyarrow as pa

    table = pa.Table.from_arrays([pa.array(["http://a.test/1.jpg"]), pa.array(["a caption"]), pa.array(["x"]),
                                  pa.array([b"y"]), pa.array([3])], names=["url", "caption", "tag", "tag", "tag"])
    (row,) = _rows("l.parquet", _parquet(table))  # pyarrow's rows kept the last `tag` only
    assert row.error is None and row.extra == {"tag": "x", "tag.1": "y", "tag.2": 3}


def _compressed(codec: str, data: bytes) -> bytes:
    import bz2
    import gzip
    import lzma

    import lz4.frame
    import zstandard

    return {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress, "lz4": lz4.frame.compress,
            "zstd": zstandard.ZstdCompressor().compress}[codec](data)


@pytest.mark.parametrize("codec, suffix", [("bzip2", ".bz2"), ("xz", ".xz"), ("zstd", ".zst"), ("lz4", ".lz4"),
                                           ("gzip", ".gz")])
def test_a_list_compressed_with_bzip2_xz_zstd_or_lz4_is_read_whatever_its_name(codec, suffix):
    """Only gzip was decoded: `l.csv.bz2` was no list file at all (`not_a_list`), and the same
    bytes named `l.csv` were rows of mojibake (`no_url_column`) or, xz, no row at all."""
    from m3w_builder.read.lists import is_list_file

    jsonl = "".join(json.dumps({"url": u, "caption": c}) + "\n" for u, c in GOOD)
    for name, text in ((f"l.csv{suffix}", CSV), ("l.csv", CSV), (f"l.jsonl{suffix}", jsonl)):
        assert is_list_file(name)
        rows = _rows(name, _compressed(codec, text.encode()))
        assert [(r.url, r.caption, r.error) for r in rows] == [(u, c, None) for u, c in GOOD], name


@pytest.mark.parametrize("codec", ["xz", "zstd", "gzip"])
def test_a_compressed_list_cut_short_keeps_the_rows_before_the_cut_and_says_so(codec):
    text = "url,caption\n" + "".join(f"http://a.test/{i}.jpg,caption number {i}\n" for i in range(20_000))
    data = _compressed(codec, text.encode())
    rows = _rows("l.csv", data[: len(data) - 64])
    assert rows[-1].error == "unreadable_list" and "EOFError" in rows[-1].detail
    read = [r for r in rows if r.error is None]
    assert len(read) > 15_000  # the rows before the cut, each whole, in order
    assert [r.caption for r in read] == [f"caption number {i}" for i in range(len(read))]


def test_a_list_that_is_an_archive_an_image_or_compressed_twice_is_one_row_saying_what_it_is():
    """Read as text, a zip or a gzip inside a gzip was a row of mojibake (`no_url_column`), a tar
    archive or a JPEG a CSV header of garbage and no row at all: the list vanished uncounted."""
    import gzip
    import tarfile
    import zipfile

    zipped, tarred = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("l.csv", CSV)
    with tarfile.open(fileobj=tarred, mode="w") as t:
        info = tarfile.TarInfo("l.csv")
        info.size = len(CSV.encode())
        t.addfile(info, io.BytesIO(CSV.encode()))
    for name, data, what in (("l.csv", zipped.getvalue(), "application/zip"), ("l.csv.gz", gzip.compress(
            tarred.getvalue()), "a tar archive"), ("l.jsonl", b"\xff\xd8\xff\xe0" + bytes(600), "image/jpeg"),
            ("l.tsv.gz", gzip.compress(gzip.compress(CSV.encode())), "application/gzip")):
        (row,) = _rows(name, data)
        assert row.error == "unreadable_list" and what in row.detail, name


def test_a_parquet_list_named_as_a_text_list_is_read_as_parquet():
    import pyarrow as pa

    buffer = io.BytesIO()
    pq.write_table(pa.table({"url": [u for u, _c in GOOD], "caption": [c for _u, c in GOOD]}), buffer)
    for name in ("l.csv", "l.jsonl.gz"):
        data = buffer.getvalue() if name == "l.csv" else _compressed("gzip", buffer.getvalue())
        assert [(r.url, r.caption, r.error) for r in _rows(name, data)] == [(u, c, None) for u, c in GOOD]


def _parquet_first_rows_peak(path: str) -> int:
    """Peak traced bytes (Python's allocations) while the first rows of the parquet list are read."""
    import tracemalloc

    from pipelines import fs

    tracemalloc.start()
    rows = read_list(path, lambda: fs.open_raw(path))
    first = [next(rows) for _ in range(3)]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [r.error for r in first] == [None, None, None]
    return peak


def test_a_plain_parquet_list_is_read_in_place_not_held_whole(tmp_path, fresh_interpreter):
    """Every parquet list was read into memory before its first row (240 MB: 484 MB more RSS)."""
    import os

    import pyarrow as pa

    path = tmp_path / "big.parquet"
    with pq.ParquetWriter(path, pa.schema([("url", pa.string()), ("caption", pa.string())]),
                          compression="none") as writer:
        for group in range(8):
            writer.write_table(pa.table({"url": [f"http://a.test/{group}-{i}.jpg" for i in range(4096)],
                                         "caption": [os.urandom(512).hex() for _ in range(4096)]}))
    size = path.stat().st_size
    assert size > 30_000_000
    assert fresh_interpreter(_parquet_first_rows_peak, str(path)) < size // 2  # a batch of rows, not the file


def test_a_nul_in_a_csv_field_is_kept_as_in_a_json_list_not_deleted():
    """CSV and TSV rows lost their NULs: `x\\0.jpg` named another file (`x.jpg`) and `red\\0bird`
    became one word, where the same JSON row kept both (the caption rules make NUL a space)."""
    from m3w_builder.pairs.items import make_item

    url, caption = "http://a.test/x\x00.jpg", "red\x00bird on a tree"
    lists = {"l.csv": f'url,caption\n{url},"{caption}"\n', "l.tsv": f"url\tcaption\n{url}\t{caption}\n",
             "l.jsonl": json.dumps({"url": url, "caption": caption}) + "\n"}
    for name, text in lists.items():
        (row,) = _rows(name, text.encode())
        assert (row.url, row.caption, row.error) == (url, caption, None), name
        assert make_item(row.url, row.caption, "image", row.row_id).caption == "red bird on a tree"


@pytest.mark.parametrize("name, text", [
    ("l.csv", "sep=;\nurl;caption\nhttp://a.test/1.jpg;a caption with é accents\nhttp://a.test/2.jpg;second one\n"),
    ("l.csv", "url;caption\nhttp://a.test/1.jpg;a caption with é accents\nhttp://a.test/2.jpg;second one\n"),
    ("l.csv", "url\tcaption\nhttp://a.test/1.jpg\ta caption with é accents\nhttp://a.test/2.jpg\tsecond one\n"),
    ("l.tsv", CSV),
    ("l.csv", "SEP=,\n" + CSV),
])
def test_a_spreadsheet_list_is_split_by_its_own_delimiter(name, text):
    """Excel in a comma-decimal locale writes `;` (and may name it in a `sep=;` first line); a
    TSV is often named `.csv`: every row was `no_url_column`, the whole list lost."""
    rows = _rows(name, text.encode())
    assert [(r.url, r.caption, r.error) for r in rows] == [(u, c, None) for u, c in GOOD]


def test_a_header_without_the_url_column_under_any_delimiter_still_says_so():
    (row,) = _rows("l.csv", b"link;text\nhttp://a.test/1.jpg;a caption\n")
    assert row.error == "no_url_column"
    (row,) = _rows("l.csv", b"url;caption,tag\nhttp://a.test/1.jpg;a caption,x\n")  # no delimiter gives both
    assert row.error == "no_url_column"


@pytest.mark.timeout(300)
def test_pairs_job_reads_compressed_and_semicolon_lists_and_counts_an_archive(tmp_path):
    """The job end to end (FnApiRunner): a `.csv.zst` list was `inputs`' not_a_list, a semicolon
    CSV every row no_url_column, and a zip named `.csv` rows of mojibake."""
    import zipfile

    photos = sorted(shared_path("images", "exif-orientation-examples").glob("Landscape_*.jpg"))[:2]
    (tmp_path / "a.csv.zst").write_bytes(_compressed("zstd", f"url,caption\n{photos[0]},a landscape photo one\n".encode()))
    (tmp_path / "b.csv").write_text(f"sep=;\nurl;caption\n{photos[1]};a landscape photo, two\n")
    with zipfile.ZipFile(tmp_path / "c.csv", "w") as z:
        z.writestr("c.csv", CSV)
    out = tmp_path / "out"
    run(["--source", "ltip", "--input", str(tmp_path / "*.csv*"), "--output", str(out), "--no_http",
         "--direct_num_workers=1", "--no_report"])
    rows = sorted((r["caption"], r["reason"]) for p in out.glob("ltip-*.parquet") for r in pq.read_table(p).to_pylist())
    assert rows == [("", "unreadable_list"), ("a landscape photo one", "success"), ("a landscape photo, two", "success")]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["counters"]["pairs/unreadable_list"] == 1
