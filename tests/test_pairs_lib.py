"""Library parts of the pairs job: alt-text rules, list readers (broken rows, encodings), sample inputs."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from m3w_builder.demo.pairs import vtp_sample
from m3w_builder.pairs.align import CaptionRules, caption_reason, harvest, is_filename, pair_key
from m3w_builder.read.lists import ListOptions, read_list


@pytest.mark.parametrize("alt,reason", [
    ("image", "boilerplate_caption"), ("Logo", "boilerplate_caption"), ("IMG_2041.JPG", "filename_caption"),
    ("DSC01234", "filename_caption"), ("holiday-photo_03.jpeg", "filename_caption"),
    ("1920x1080", "boilerplate_caption"), ("image 3", "boilerplate_caption"), ("https://x.test/a.png", "boilerplate_caption"),
    ("a cat", "too_few_words"), ("word " * 30, "too_many_words"), ("", "empty_caption"),
    ("a red bicycle leaning on a wall", None),
])
def test_caption_rules_give_one_reason_each(alt, reason):
    assert caption_reason(" ".join(alt.split()), CaptionRules()) == reason


@pytest.mark.parametrize("caption", [
    "IMG_1234.jpg", "DSC00012.JPG", "photo-3.png", "screenshot 2021-01-02 at 10.11.12.png",
    "Screen Shot 2020-05-01 at 3.14.15 PM.png", "WhatsApp Image 2021-05-03 at 10.22.11.jpeg", "IMG 1234.jpg",
    "ok.jpg", "red-bicycle_on-wall.webp", "holiday (2).jpg", "beach photo copy.png", "2021-07-04 18.22.01.heic",
    "photos/2019/summer.jpg", r"C:\Users\me\Pictures\cat.jpg", "image(3).gif",
])
def test_a_caption_that_is_a_file_name_is_dropped(caption):
    assert is_filename(caption) and caption_reason(caption, CaptionRules()) == "filename_caption"


@pytest.mark.parametrize("caption", [
    "The new layout on my phone looks ok.jpg", "Take a closer look.png", "A red bicycle leaning on a wall.jpg",
    "Our team at the 2021 summit in Lisbon.jpg", "Image of a dog playing in the snow.png",
    "the file IMG_1234.jpg taken at the lake", "See diagram.png for the full picture",
])
def test_a_sentence_that_ends_with_or_mentions_a_file_name_is_kept(caption):
    """The rule matched any run of words ending in `.jpg`: real sentences were `filename_caption`."""
    assert not is_filename(caption) and caption_reason(caption, CaptionRules(max_words=30)) is None


def test_harvest_reads_alts_in_dom_order_and_honours_page_optout():
    page = (b'<html><body><p>Intro text here.</p><img src="/a.jpg" alt="a red bicycle on a wall">'
            b'<img src="b.png" alt="logo"><img src="c.png"></body></html>')
    got = [(c.src, c.alt) for c in harvest(page, "http://site.test/dir/page.html")]
    assert got == [("http://site.test/a.jpg", "a red bicycle on a wall"), ("http://site.test/dir/b.png", "logo"),
                   ("http://site.test/dir/c.png", "")]
    noimage = page.replace(b"<body>", b'<head><meta name="robots" content="noimageai"></head><body>')
    assert list(harvest(noimage, "http://site.test/p.html")) == []
    assert pair_key("u", "c") == pair_key("u", "c") != pair_key("u", "c2") and "." not in pair_key("u", "c")


def _rows(name: str, data: bytes, **opts):
    return list(read_list(name, lambda: io.BytesIO(data), ListOptions(**opts)))


def test_csv_with_broken_rows_and_legacy_bytes_accounts_for_every_row():
    text = ("link,text,lic\n"
            "http://a.test/1.jpg,Caf\xe9 cr\xe8me br\xfbl\xe9e on a plate,cc\n"
            "http://a.test/2.jpg,,cc\n"
            ",orphan caption,cc\n"
            "http://a.test/3.jpg,\"a caption, with a comma\nand a newline\",cc\n"
            "http://a.test/4.jpg,too,many,fields\n"
            "http://a.test/1.jpg,Caf\xe9 cr\xe8me br\xfbl\xe9e on a plate,cc\n")
    data = gzip.compress(text.encode("cp1252"))
    rows = _rows("list.csv.gz", data, url_col="link", caption_col="text")
    assert [r.error for r in rows] == [None, "missing_caption", "missing_url", None, "bad_row", None]
    assert rows[0].caption == "Café crème brûlée on a plate" and rows[0].encoding == "cp1252"
    assert rows[0].extra == {"lic": "cc"} and rows[3].caption == "a caption, with a comma\nand a newline"
    assert [r.row_id for r in rows] == [f"list.csv.gz#{i}" for i in range(1, 7)]


def test_jsonl_tsv_and_parquet_readers():
    jsonl = b'{"url": "http://a.test/1.jpg", "caption": "first one", "n": 1}\n[1, 2]\n{"url": 5, "caption": "x"}\n{bad\n'
    rows = _rows("x.jsonl", jsonl)
    assert [r.error for r in rows] == [None, "bad_row", "bad_url", "bad_json"] and rows[0].extra == {"n": 1}
    tsv = "url\tcaption\nhttp://a.test/\u6771.jpg\t\u6771\u4eac\u306e\u685c\u306e\u5199\u771f\u3067\u3059\n"
    rows = _rows("x.tsv", tsv.encode("utf-8"))
    assert rows[0].error is None and rows[0].caption.startswith("\u6771\u4eac")
    table = pa.table({"URL": ["http://a.test/1.jpg", None], "TEXT": [b"caf\xe9 au lait", b"x"]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    rows = _rows("x.parquet", buf.getvalue(), url_col="URL", caption_col="TEXT")
    assert rows[0].caption == "café au lait" and rows[0].encoding == "cp1252" and rows[1].error == "missing_url"
    assert _rows("x.parquet", buf.getvalue())[0].error == "no_url_column"
    assert _rows("x.parquet", b"not parquet")[0].error == "unreadable_list"


def test_embedded_samples_are_reproducible():
    assert vtp_sample(0) == vtp_sample(0) != vtp_sample(1)
    listing, _ = vtp_sample(0)
    lines = listing.decode().splitlines()
    assert json.loads(lines[0])["url"].endswith(".mp4") and len(lines) == 8
