"""Media resolution without Beam: bad mirror paths, request caps, resolution order, decode memory."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from m3w_builder.document import Document, ImageNode, TextNode
from m3w_builder.drops import Rejected
from m3w_builder.media.fetch import MirrorResolver
from m3w_builder.media.images import ImageOptions
from m3w_builder.media.resolve import MediaCache, MediaResolver, check_request_cap
from m3w_builder.read.records import WebRecord
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
LOOSE = ImageOptions(min_side=1)


@pytest.fixture
def mirror(tmp_path) -> Path:
    host = tmp_path / "mirror" / "h.test"
    host.mkdir(parents=True)
    (host / "a.jpg").write_bytes(shared_path("images", "pillow-tests", "hopper.jpg").read_bytes())
    (tmp_path / "secret.txt").write_text("outside")
    return tmp_path / "mirror"


@pytest.mark.parametrize("url", [
    "http://h.test/a%00.jpg", "http://h.test/%00", "http://h.test/" + "a" * 5000, "http://h.test/a%ff%fe.jpg",
    "http://h.test/%ED%A0%80.jpg", "http://h.test/%2e%2e/%2e%2e/secret.txt", "http://../secret.txt",
    "http://h.test/..%2f..%2fsecret.txt", "http://h.test/a.jpg%00.png",
])
def test_mirror_paths_that_are_not_files_are_misses(mirror, url):
    assert MirrorResolver(str(mirror)).read(url) is None


def test_a_bad_mirror_path_resolves_to_a_counted_failure(mirror):
    resolver = MediaResolver(LOOSE, mirror_dir=str(mirror))
    resolved = resolver.resolve("http://h.test/a%00.jpg", [("d1", 0, "image")], [])
    assert (resolved.result.status, resolved.origin) == ("not_found", "")
    ok = resolver.resolve("http://h.test/a.jpg", [("d1", 1, "image")], [])
    assert (ok.result.status, ok.origin) == ("success", "mirror")


def test_resolution_order_crawl_then_mirror_then_cache(mirror, tmp_path):
    png = shared_path("images", "pillow-tests", "hopper.png").read_bytes()
    cache = tmp_path / "cache"
    assert MediaCache(str(cache)).write("http://h.test/a.jpg", png)
    assert MediaCache(str(cache)).write("http://h.test/only-cached.jpg", png)
    resolver = MediaResolver(LOOSE, mirror_dir=str(mirror), media_cache=str(cache))
    record = WebRecord("http://h.test/a.jpg", png, "image/png", 200, "2024", "crawl.warc#3")
    request = [("d1", 0, "image")]
    crawl = resolver.resolve("http://h.test/a.jpg", request, [record])
    assert (crawl.origin, crawl.result.image.format) == ("crawl", "PNG")
    mirrored = resolver.resolve("http://h.test/a.jpg", request, [])
    assert (mirrored.origin, mirrored.result.image.format) == ("mirror", "JPEG")
    assert resolver.resolve("http://h.test/only-cached.jpg", request, []).origin == "cache"
    optout = WebRecord("http://h.test/a.jpg", png, "image/png", 200, "2024", "crawl.warc#4",
                       x_robots_tag="googlebot: noindex\nnoai")
    assert resolver.resolve("http://h.test/a.jpg", request, [optout]).result.status == "x_robots_tag"
    assert not list(cache.rglob("*.tmp"))


def test_urls_referenced_too_often_are_not_resolved(mirror):
    resolver = MediaResolver(ImageOptions(), mirror_dir=str(mirror), max_url_references=2)
    result = resolver.resolve("http://h.test/a.jpg", [(f"d{i}", 0, "image") for i in range(3)], []).result
    assert result.status == "url_too_frequent"


def test_documents_with_more_media_than_the_cap_are_dropped_before_fetching():
    doc = Document("d", "http://h.test/", [TextNode("x")] + [ImageNode(f"http://h.test/{i}.jpg") for i in range(5000)])
    with pytest.raises(Rejected) as err:
        check_request_cap(doc, 90)
    assert err.value.reason == "too_many_media"
    check_request_cap(doc, 0)  # 0: no cap
    check_request_cap(Document("e", "http://h.test/", doc.nodes[:91]), 90)


def _wide_png(tmp_path: Path) -> Path:
    side = 6000
    ramp = (np.arange(side, dtype=np.uint32) * 11 % 65536).astype(np.uint16)
    path = tmp_path / "wide16.png"
    Image.fromarray(np.broadcast_to(ramp, (side, side)).copy()).save(path, compress_level=1)
    return path


def _float_tiff(tmp_path: Path) -> Path:
    side = 6000
    path = tmp_path / "float.tif"
    Image.fromarray(np.full((side, side), 0.25, dtype=np.float32), mode="F").save(path, compression="tiff_adobe_deflate")
    return path


@pytest.mark.parametrize("make", [_wide_png, _float_tiff])
def test_wide_images_decode_in_bounded_memory(tmp_path, make):
    """A 6000² 16-bit/float image: decoded size plus a fraction, not float64 copies (was ~6×)."""
    path = make(tmp_path)
    with Image.open(path) as im:
        decoded_mib = im.width * im.height * (2 if im.mode.startswith("I;16") else 4) / 2**20
    script = textwrap.dedent(f"""
        import resource, sys
        from m3w_builder.media.images import ImageOptions, process_image
        data = open({str(path)!r}, "rb").read()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = process_image(data, ImageOptions())
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(out.width, out.height, round(grown))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    width, height, grown_mib = map(int, run.stdout.split())
    assert (width, height) == (256, 256)
    assert grown_mib < 2.5 * decoded_mib, f"peak grew {grown_mib} MiB for a {decoded_mib:.0f} MiB image"


def test_sixteen_bit_strips_match_a_whole_image_conversion():
    data = io.BytesIO()
    values = (np.arange(300 * 400, dtype=np.uint32).reshape(300, 400) * 37 % 65536).astype(np.uint16)
    Image.fromarray(values).save(data, "PNG")
    from m3w_builder.media import images

    grey = np.asarray(images._wide_to_grey(Image.open(io.BytesIO(data.getvalue()))))
    assert np.array_equal(grey, np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8))


# Bit flips (offset, xor) found by `make fuzz` (seed 2): FFmpeg's demuxer then refuses an absurd
# allocation with av.error.MemoryError, which is a bad file, not a full worker.
_FLIPS = [(1001, 32), (13543, 4), (42788, 64), (69146, 128), (79887, 64), (96057, 32), (110440, 1), (120469, 8),
          (131576, 16), (154134, 64), (167646, 32), (202783, 32), (226755, 8), (238767, 64), (239423, 8)]


def test_ffmpeg_refusing_an_allocation_is_a_clean_video_rejection():
    from m3w_builder.media.process import process_media

    data = bytearray(shared_path("video", "filetype-1.2.0", "sample.mp4").read_bytes())
    for offset, xor in _FLIPS:
        data[offset] ^= xor
    result = process_media("http://h.test/v.mp4", "video", bytes(data), ImageOptions())
    assert result.status in ("success", "decode_error"), (result.status, result.error_message)
    assert result.status != "out_of_memory"
