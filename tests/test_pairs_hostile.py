"""Hostile list rows of the pairs job: a row the URL parser refuses, file names with URL syntax."""

from __future__ import annotations

import json

import pytest

from m3w_builder.pairs.paths import local_path, local_url
from pipelines.pairs import PairsOptions, run
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
    names = ["hash#frag.jpg", "q?uery.jpg", "pct%20x.jpg", "sp ace.jpg", "new\nline.jpg", "tab\t.jpg"]
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
    listing = tmp_path / "list.jsonl"
    listing.write_text("".join(json.dumps({"url": n, "caption": CAPTION}) + "\n" for n in names))
    urls = [i.url for i in _items(listing)]
    assert [local_path(u) for u in urls] == [str(tmp_path / n) for n in names]
    assert [read_local(u).item[1].body for u in urls] == [n.encode() for n in names]
    assert local_url(urls[0], str(listing)) == urls[0]  # a file:// URL is taken as it is written


@pytest.mark.parametrize("flags,message", [
    (["--samples_per_shard", "0"], "--samples_per_shard 0: must be at least 1"),
    (["--min_shards", "-1"], "--min_shards -1: must be at least 0"),
    (["--video_frames", "-2"], "--video_frames -2: must be at least 0"),
    (["--min_caption_words", "10", "--max_caption_words", "2"], "--min_caption_words 10 is above --max_caption_words 2"),
    (["--min_aspect", "5", "--max_aspect", "1"], "need 0 < min <= max"),
    (["--jpeg_quality", "101"], "--jpeg_quality 101: must be at most 100"),
])
def test_sizes_no_run_can_honour_stop_the_job_before_it_starts(tmp_path, flags, message):
    listing = tmp_path / "list.jsonl"
    listing.write_text(json.dumps({"url": "http://a.test/1.jpg", "caption": CAPTION}) + "\n")
    with pytest.raises(SystemExit) as stopped:
        run(["--source", "ltip", "--input", str(listing), "--output", str(tmp_path / "out"), *flags])
    assert str(stopped.value).startswith("python -m pipelines.pairs: error: --") and message in str(stopped.value)
    assert not (tmp_path / "out").exists()
