"""Hostile list rows of the pairs job: a row the URL parser refuses, file names with URL syntax."""

from __future__ import annotations

import json

from m3w_builder.pairs.paths import local_path, local_url
from pipelines.pairs import PairsOptions
from pipelines.pairs_stages import ReadPairList, read_local
from pipelines.stages import Kept

CAPTION = "a red bicycle leaning on a garden wall"


def _items(path) -> list:
    cfg = PairsOptions(source="ltip", output=str(path.parent / "out"))
    return [out.item for out in ReadPairList(cfg)(str(path)) if isinstance(out, Kept)]


def test_a_row_with_an_unparsable_url_fails_alone(tmp_path):
    rows = [{"url": "http://[::1/x.jpg", "caption": CAPTION}, {"url": "http://a.test/1.jpg", "caption": CAPTION}]
    listing = tmp_path / "list.jsonl"
    listing.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = _items(listing)
    assert [i.status for i in items] == ["error_ValueError", "pending"]
    assert items[0].url == "http://[::1/x.jpg" and "IPv6" in items[0].detail


def test_local_files_named_with_url_syntax_are_read(tmp_path):
    names = ["hash#frag.jpg", "q?uery.jpg", "pct%20x.jpg", "sp ace.jpg"]
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
    listing = tmp_path / "list.jsonl"
    listing.write_text("".join(json.dumps({"url": n, "caption": CAPTION}) + "\n" for n in names))
    urls = [i.url for i in _items(listing)]
    assert [local_path(u) for u in urls] == [str(tmp_path / n) for n in names]
    assert [read_local(u).item[1].body for u in urls] == [n.encode() for n in names]
    assert local_url(urls[0], str(listing)) == urls[0]  # a file:// URL is taken as it is written
