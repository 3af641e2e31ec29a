"""The fetcher against a real loopback server (127.0.0.1 only) that compresses although it was
asked for `identity`: images under gzip/deflate/zstd/stacked codings come out decoded, a coding we
cannot undo and a gzip bomb say so, and a compressed robots.txt is still obeyed."""

from __future__ import annotations

import gzip
import zlib

import pytest
import zstandard

from m3w_builder.media.fetch import Fetcher, FetchOptions
from m3w_builder.media.images import ImageOptions
from m3w_builder.media.process import process_media
from tests.conftest import shared_path
from tests.loopback import QuietHandler, serving

pytestmark = pytest.mark.timeout(60)

ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def _routes(jpeg: bytes) -> dict[str, tuple[bytes, list[str]]]:
    """path → (body, Content-Encoding headers in the order sent)."""
    return {
        "/gzip.jpg": (gzip.compress(jpeg), ["gzip"]),
        "/deflate.jpg": (zlib.compress(jpeg), ["deflate"]),
        "/zstd.jpg": (zstandard.ZstdCompressor().compress(jpeg), ["zstd"]),
        "/stacked.jpg": (gzip.compress(zlib.compress(jpeg)), ["deflate", "gzip"]),  # two headers
        "/lying.jpg": (jpeg, ["gzip"]),
        "/br.jpg": (b"\x1b\x00\x00brotli", ["br"]),
        "/bomb.jpg": (gzip.compress(bytes(8 * 1024 * 1024)), ["gzip"]),
        "/robots.txt": (gzip.compress(ROBOTS), ["gzip"]),
        "/private/a.jpg": (jpeg, []),
    }


@pytest.fixture(scope="module")
def server():
    jpeg = shared_path("images", "exif-orientation-examples", "Landscape_1.jpg").read_bytes()
    routes = _routes(jpeg)

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            body, codings = routes.get(self.path, (b"not found", []))
            self.send_response(200 if self.path in routes else 404)
            self.send_header("Content-Type", "text/plain" if self.path == "/robots.txt" else "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            for coding in codings:
                self.send_header("Content-Encoding", coding)
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}", jpeg


def _fetcher() -> Fetcher:
    return Fetcher(FetchOptions(allow=("127.0.0.1",), total_timeout_s=10.0, max_retries=0, max_bytes=1024 * 1024))


@pytest.mark.parametrize("path", ["/gzip.jpg", "/deflate.jpg", "/zstd.jpg", "/stacked.jpg", "/lying.jpg"])
def test_a_compressed_image_is_decoded_and_kept(server, path):
    """These were `unsupported_format`: the decoder got the compressed bytes."""
    base, jpeg = server
    fetched = _fetcher().fetch(base + path)
    assert fetched.status == "success" and fetched.body == jpeg and fetched.content_type_sniffed == "image/jpeg"
    assert process_media(fetched.url, "image", fetched.body, ImageOptions()).ok


@pytest.mark.parametrize("path, status", [("/br.jpg", "unsupported_encoding"), ("/bomb.jpg", "too_large")])
def test_a_coding_that_cannot_be_undone_says_why(server, path, status):
    base, _ = server
    assert _fetcher().fetch(base + path).status == status


def test_a_compressed_robots_txt_is_obeyed(server):
    """Parsed compressed, its rules were noise and everything was allowed."""
    base, _ = server
    fetched = _fetcher().fetch(base + "/private/a.jpg")
    assert fetched.status == "robots_disallowed"
