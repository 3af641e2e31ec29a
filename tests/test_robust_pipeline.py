"""The M3W job with media from a mirror and no network: byte-identical output however the work is
split (worker processes, fetch threads, batches), and every document and media item that leaves
the pipeline leaves a counter and a rejects row."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from pipelines.m3w import run
from pipelines.progress import is_drop
from tests.conftest import shared_path

WORDS = "gardens rivers bridges markets bakeries lanterns quiet streets evening rain spring beans".split()


def _photos() -> list[bytes]:
    """Real RGB JPEGs the media stage keeps (sides >= 200, aspect within [0.5, 2], upright)."""
    manifest = shared_path("MANIFEST-images.jsonl")
    out = []
    for line in manifest.read_text().splitlines():
        entry = json.loads(line)
        w, h = entry.get("size") or (0, 0)
        if (entry.get("format") == "JPEG" and entry.get("mode") == "RGB" and entry.get("decode") == "ok"
                and min(w, h) >= 200 and 0.5 <= w / h <= 2 and entry.get("exif_orientation") in (None, 1)
                and "exif-orientation" not in entry["file"] and entry["bytes"] < 300_000):
            out.append((manifest.parent / entry["file"]).read_bytes())
    return out[:12]


def _text(seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + ("." if j % 9 == 8 else "") for j in range(60))


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """Six pages: mirrored photos, a URL with %00, a URL missing from the mirror, a file that is not
    an image, a page with 200 images (over the request cap), a page whose images all fail."""
    root = tmp_path_factory.mktemp("crawl")
    photos = _photos()
    if len(photos) < 8:
        pytest.skip("not enough real photos in ../shared/data")
    mirror = root / "mirror" / "img.test"
    mirror.mkdir(parents=True)
    for i, data in enumerate(photos):
        (mirror / f"{i}.jpg").write_bytes(data)
    (mirror / "notes.jpg").write_text("not an image")
    pages = {
        0: ["0.jpg", "1.jpg", "a%00b.jpg", "missing.jpg"],
        1: ["2.jpg", "notes.jpg", "3.jpg"],
        2: [f"{i % 12}.jpg?n={i}" for i in range(200)],
        3: ["missing.jpg", "a%00b.jpg"],
        4: ["4.jpg", "5.jpg", "6.jpg"],
        5: ["7.jpg", "0.jpg", "8.jpg"],
    }
    (root / "pages").mkdir()
    url_map = []
    for i, images in pages.items():
        body = "".join(f"<p>{_text(i * 1000 + k)}</p><img src='http://img.test/{src}' alt='photo {k}'>"
                       for k, src in enumerate(images))
        (root / "pages" / f"p{i}.html").write_text(f"<html><body><h1>Page {i}</h1>{body}<p>{_text(i)}</p></body></html>")
        url_map.append({"file": f"p{i}.html", "url": f"http://site{i}.test/post.html"})
    (root / "urls.jsonl").write_text("\n".join(json.dumps(e) for e in url_map))
    return root, pages


def _run(crawl, out: Path, workers: int, threads: int) -> dict:
    root, _ = crawl
    return run(["--input", str(root / "pages" / "*.html"), "--url_map", str(root / "urls.jsonl"),
                "--output", str(out), "--mirror_dir", str(root / "mirror"), "--no_http", "--no_report",
                "--no_near_dup", "--no_paragraph_dedup", "--no_image_set_dedup", "--max_content_documents=0",
                "--fetch_threads", str(threads), f"--direct_num_workers={workers}"])


def _rejects(out: Path) -> list[dict]:
    return sorted(pads.dataset(out / "rejects").to_table().to_pylist(), key=lambda r: json.dumps(r, sort_keys=True))


@pytest.fixture(scope="module")
def runs(crawl, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    return [(out, _run(crawl, out, workers, threads))
            for out, workers, threads in ((base / "serial", 1, 1), (base / "parallel", 2, 8))]


def test_output_is_byte_identical_however_the_work_is_split(runs):
    (out_a, a), (out_b, b) = runs
    assert [(s["url"], s["md5sum"], s["nsamples"]) for s in a["shardlist"]] == \
        [(s["url"], s["md5sum"], s["nsamples"]) for s in b["shardlist"]]
    assert a["stats"] == b["stats"]
    assert _rejects(out_a) == _rejects(out_b)


def test_every_document_and_media_item_is_kept_or_counted_with_a_rejects_row(runs, crawl):
    _, pages = crawl
    out, dataset = runs[0]
    stats = dataset["stats"]
    rejects = _rejects(out)
    # documents: what entered the media stage comes out kept or dropped, each drop with a row
    assert stats["media_requests/too_many_media"] == 1  # page 2, before any of its 200 requests
    doc_drops = {k: v for k, v in stats.items() if k.split("/")[0] in ("media_requests", "assemble") and is_drop(k)}
    assert stats["filter/kept"] == stats["assemble/kept"] + sum(doc_drops.values()), (stats, doc_drops)
    for key, n in doc_drops.items():
        stage, reason = key.split("/")
        assert sum(1 for r in rejects if (r["stage"], r["reason"]) == (stage, reason)) == n, key
    assert stats["assemble/too_few_images"] == 1  # page 3: every image failed
    # media: every distinct URL of the pages that were not capped has a result; failures have a row
    urls = {f"http://img.test/{src}" for i, srcs in pages.items() if i != 2 for src in srcs}
    failures = {k.split("/")[1]: v for k, v in stats.items() if k.startswith("media/") and is_drop(k)}
    assert stats["media/kept"] + sum(failures.values()) == len(urls)
    assert failures == {"not_found": 2, "unsupported_format": 1}  # %00 and missing; the text file
    media_rows = [r for r in rejects if r["stage"] == "media"]
    assert sorted(r["id"] for r in media_rows) == sorted(
        ["http://img.test/a%00b.jpg", "http://img.test/missing.jpg", "http://img.test/notes.jpg"])


def test_every_media_element_the_extractor_drops_has_a_rejects_row(tmp_path):
    """A logo in the header, an image far outside the article, a tracking pixel, a data: URI, a
    source-less image and, with `--max_page_media 6`, the elements past the limit: each counted
    `extract_media/<reason>` with a row naming its URL (where it has one) and what decided it; the
    elements past the limit are one row for the page."""
    article = "".join(f"<p>{_text(k)}</p>" for k in range(4))
    page = ("<html><body><header><a href='/'><img src='/logo.png' width='120' height='40' alt='Site'></a></header>"
            f"<article><h1>Title</h1>{article}<img src='/photo.jpg' width='800' height='600' alt='a photo'>"
            "<img src='/pixel.gif' width='1' height='1'><img src='data:image/png;base64,AAAA'><img alt='none'>"
            f"<p>{_text(99)}</p>" + "".join(f"<img src='/extra{i}.jpg' width='800' height='600'>" for i in range(5))
            + "</article><footer><img src='/footer-badge.png' width='300' height='200'></footer></body></html>")
    (tmp_path / "page.html").write_text(page)
    (tmp_path / "urls.jsonl").write_text(json.dumps({"file": "page.html", "url": "http://site.test/post.html"}))
    out = tmp_path / "out"
    stats = run(["--input", str(tmp_path / "page.html"), "--url_map", str(tmp_path / "urls.jsonl"),
                 "--output", str(out), "--no_http", "--no_report", "--max_page_media", "6", "--allow_empty",
                 "--direct_num_workers=1"])["stats"]
    counted = {k.split("/")[1]: v for k, v in stats.items() if k.startswith("extract_media/") and is_drop(k)}
    rows = [r for r in _rejects(out) if r["stage"] == "extract_media"]
    assert counted["image_tracking_pixel"] == counted["image_data_uri"] == counted["image_no_src"] == 1
    assert counted["media_over_page_limit"] == 5 and counted["image_logo"] >= 1, counted
    by_reason = {}
    for row in rows:
        by_reason.setdefault(row["reason"], []).append(row)
    assert {reason: len(r) for reason, r in by_reason.items() if reason != "media_over_page_limit"} == \
        {reason: n for reason, n in counted.items() if reason != "media_over_page_limit"}
    assert [r["detail"] for r in by_reason["media_over_page_limit"]] == ["5 media elements past the first 6 of the page"]
    assert {r["url"] for r in by_reason["image_logo"]} >= {"http://site.test/logo.png"}
    assert by_reason["image_tracking_pixel"][0]["url"] == "http://site.test/pixel.gif"
    assert by_reason["image_tracking_pixel"][0]["detail"] == "declared 1x1"
    assert by_reason["image_data_uri"][0]["detail"].startswith("<img src='data:image/png")
    assert len({r["id"] for r in rows}) == 1 and rows[0]["id"]  # the document's id
