"""The M3W job on real pages whose image URLs are answered over HTTP, through a loopback proxy
(127.0.0.1 only) serving real image files: shards hold real decoded images, every failure counted."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import webdataset as wds
from PIL import Image

from m3w_builder.media.images import process_image
from pipelines.m3w import run
from tests.conftest import shared_path
from tests.loopback import QuietHandler


def _images() -> list[bytes]:
    """Distinct real photos the media stage accepts (per the shared manifest): 8-bit RGB JPEGs,
    sides >= 200 px, aspect within [0.5, 2], no EXIF rotation (rotated copies are near-duplicates)."""
    manifest = shared_path("MANIFEST-images.jsonl")
    out, hashes = [], []
    for line in manifest.read_text().splitlines():
        entry = json.loads(line)
        w, h = entry.get("size") or (0, 0)
        if (entry.get("format") == "JPEG" and entry.get("mode") == "RGB" and entry.get("decode") == "ok"
                and min(w, h) >= 200 and 0.5 <= w / h <= 2 and entry.get("exif_orientation") in (None, 1)
                and "exif-orientation" not in entry["file"]):
            data = (manifest.parent / entry["file"]).read_bytes()
            phash = int(process_image(data).phash, 16)
            if all(bin(phash ^ h).count("1") > 8 for h in hashes):  # no (near-)duplicates among them
                out.append(data)
                hashes.append(phash)
    return out[:16]


@pytest.fixture(scope="module")
def proxy():
    """A forward proxy that answers every absolute-URL GET with a real JPEG chosen by URL hash,
    `robots.txt` with 404 (allow all), and `/blocked/` paths with `X-Robots-Tag: noai`."""
    images = _images()
    seen: list[str] = []
    assigned: dict[str, int] = {}
    lock = threading.Lock()
    state = {"flaky_down": True}

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            seen.append(self.path)
            if self.path.endswith("/robots.txt") or ("/flaky/" in self.path and state["flaky_down"]):
                self.send_response(404)
                self.end_headers()
                return
            with lock:  # a different photo for each new URL
                body = images[assigned.setdefault(self.path, len(assigned)) % len(images)]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")  # sniffed, not trusted
            self.send_header("Content-Length", str(len(body)))
            if "/blocked/" in self.path:
                self.send_header("X-Robots-Tag", "noai")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", seen, state
    server.shutdown()


def test_images_fetched_through_the_proxy_are_real_decoded_files(proxy, tmp_path: Path):
    address, seen, _ = proxy
    pages = tmp_path / "pages"
    pages.mkdir()
    words = "real words about gardens and the weather in spring with beans peas and rain".split()
    url_map = []
    for i in range(4):
        para = [" ".join(words[(k + j) % len(words)] for j in range(40 + i)) + "." for k in range(4)]
        html = (f"<html><body><p>{para[0]}</p><img src='/img/{i}-a.jpg' alt='first'><p>{para[1]}</p>"
                f"<img src='/blocked/{i}.jpg'><p>{para[2]}</p><img src='/img/{i}-b.jpg'><p>{para[3]}</p></body></html>")
        (pages / f"p{i}.html").write_text(html)
        url_map.append({"file": f"p{i}.html", "url": f"http://site{i}.test/post.html"})
    (tmp_path / "urls.jsonl").write_text("\n".join(json.dumps(e) for e in url_map))
    out = tmp_path / "out"
    dataset = run(["--input", str(pages / "*.html"), "--url_map", str(tmp_path / "urls.jsonl"), "--output", str(out),
                   "--http_proxy", address, "--direct_num_workers=1", "--no_near_dup", "--no_paragraph_dedup"])
    stats = dataset["stats"]
    assert stats["media/n_from_http"] == 8 and stats["media/x_robots_tag"] == 4
    assert any(path.startswith("http://site0.test/img/0-a.jpg") for path in seen)
    originals = {hashlib.sha256(b).hexdigest() for b in _images()}
    n_images = 0
    per_page: dict[str, list[tuple[int, str]]] = {}
    for shard in dataset["shardlist"]:
        for sample in wds.WebDataset(str(out / shard["url"]), shardshuffle=False):
            meta = json.loads(sample["json"])
            per_page.setdefault(meta["url"], []).extend(
                (meta["window"]["index"], m["src"].rsplit("/", 1)[1]) for m in meta["images"])
            for entry in meta["images"]:
                assert entry["sha256"] in originals  # the bytes the server sent
                with Image.open(io.BytesIO(sample[entry["member"]])) as im:
                    im.load()
                    assert im.mode == "RGB" and min(im.size) <= 256
                n_images += 1
    assert n_images == 8
    for url, images in per_page.items():  # DOM order across the page's windows; the noai image is gone
        page = url[len("http://site")]
        assert [name for _, name in sorted(images)] == [f"{page}-a.jpg", f"{page}-b.jpg"]


def test_retry_failed_fetches_only_what_failed(proxy, tmp_path: Path):
    address, seen, state = proxy
    words = "lanterns rivers bridges markets bakeries and quiet streets after the evening rain".split()
    para = [" ".join(words[(k + j) % len(words)] for j in range(45)) + "." for k in range(3)]
    (tmp_path / "page.html").write_text(
        f"<html><body><p>{para[0]}</p><img src='/ok/a.jpg'><p>{para[1]}</p><img src='/flaky/b.jpg'>"
        f"<p>{para[2]}</p></body></html>")
    (tmp_path / "urls.jsonl").write_text(json.dumps({"file": "page.html", "url": "http://retry.test/p.html"}))
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["--input", str(tmp_path / "page.html"), "--url_map", str(tmp_path / "urls.jsonl"), "--output", str(out),
            "--http_proxy", address, "--media_cache", str(cache), "--direct_num_workers=1", "--no_report"]
    state["flaky_down"] = True
    first = run(args)
    assert first["stats"]["media/http_error"] == 1 and first["stats"]["media/kept"] == 1
    state["flaky_down"] = False
    before = len(seen)
    second = run([*args, "--retry_failed"])
    images_fetched = [p for p in seen[before:] if not p.endswith("robots.txt")]
    assert images_fetched == ["http://retry.test/flaky/b.jpg"]  # the success came from the cache
    assert second["stats"]["media/n_from_cache"] == 1 and second["stats"]["media/kept"] == 2, second["stats"]
    windows = [json.loads(s["json"]) for s in wds.WebDataset([str(out / s["url"]) for s in second["shardlist"]],
                                                             shardshuffle=False)]
    windows.sort(key=lambda w: w["window"]["index"])
    assert [m["src"] for w in windows for m in w["images"]] == [
        "http://retry.test/ok/a.jpg", "http://retry.test/flaky/b.jpg"]
