"""List readers stream (bounded reads, gzip decompressed as read, parquet in batches) and still
account for every row, including a list that breaks off midway."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq

from m3w_builder.read import lists
from m3w_builder.read.lists import ListOptions, read_list


class CountingStream(io.BytesIO):
    """A list file that records how many bytes the reader pulled from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.pulled = 0

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.pulled += len(data)
        return data

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        self.pulled += n
        return n


def _csv(n: int) -> bytes:
    return ("url,caption,n\n" + "".join(f"http://a.test/{i}.jpg,photo number {i} of a garden,{i}\n"
                                          for i in range(n))).encode()


def test_first_rows_come_before_the_file_is_read():
    data = gzip.compress(_csv(200_000))
    stream = CountingStream(data)
    rows = read_list("big.csv.gz", lambda: stream)
    first = [next(rows) for _ in range(3)]
    assert [r.url for r in first] == [f"http://a.test/{i}.jpg" for i in range(3)] and first[2].extra == {"n": "2"}
    assert stream.pulled < len(data) // 10  # streamed, not loaded whole


def test_a_truncated_gzip_list_keeps_its_rows_and_counts_the_break():
    data = gzip.compress(_csv(5000))
    rows = list(read_list("cut.csv.gz", lambda: io.BytesIO(data[: len(data) // 2])))
    good = [r for r in rows if r.error is None]
    assert 100 < len(good) < 5000 and [r.url for r in good[:2]] == ["http://a.test/0.jpg", "http://a.test/1.jpg"]
    assert rows[-1].error == "unreadable_list" and rows[-1].row_id == f"cut.csv.gz#{len(rows)}"
    assert sum(r.error is not None for r in rows) <= 2  # the break (and the row it cut, if any)


def test_encoding_detected_after_utf8_lines_and_across_parquet_batches():
    utf8 = "".join(f'{{"url": "http://a.test/{i}.jpg", "caption": "caf\u00e9 number {i}"}}\n' for i in range(50))
    legacy = "".join(f'{{"url": "http://b.test/{i}.jpg", "caption": "cr\u00e8me br\u00fbl\u00e9e {i}"}}\n' for i in range(50))
    rows = list(read_list("mixed.jsonl", lambda: io.BytesIO(utf8.encode() + legacy.encode("cp1252"))))
    assert [r.encoding for r in rows] == ["utf-8"] * 50 + ["cp1252"] * 50
    assert rows[-1].caption == "crème brûlée 49" and rows[0].caption == "café number 0"

    n = lists._BATCH_ROWS + 10
    captions = [f"plain caption {i}".encode() for i in range(lists._BATCH_ROWS)] + \
        [f"caf\u00e9 au lait {i}".encode("cp1252") for i in range(10)]
    table = pa.table({"url": [f"http://c.test/{i}.jpg" for i in range(n)], "caption": captions})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=1000)
    rows = list(read_list("many.parquet", lambda: io.BytesIO(buf.getvalue()), ListOptions()))
    assert len(rows) == n and all(r.error is None for r in rows)
    assert rows[-1].caption == "café au lait 9" and rows[-1].encoding == "cp1252" and rows[0].encoding == "utf-8"
    assert rows[-1].row_id == f"many.parquet#{n}"
