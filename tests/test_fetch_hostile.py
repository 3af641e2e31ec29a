"""Hostile URLs at the fetcher, against a real loopback server (127.0.0.1 only): international and
Unicode spellings of hosts, non-ASCII paths, UTF-8 redirects, and the loopback names a proxy's
/etc/hosts knows. What the server sees is what went on the wire."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from m3w_builder.media.fetch import Fetcher, FetchOptions
from tests.conftest import shared_path
from tests.loopback import serving

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def server():
    jpeg = shared_path("images", "exif-orientation-examples", "Landscape_1.jpg").read_bytes()
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Host", "")))
            if self.path.endswith("/robots.txt") and "down.test" in self.path:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.endswith("/moved"):
                self.send_response(302)  # a raw UTF-8 Location, as servers send it
                self.send_header("Location", "/bild-ü.jpg".encode().decode("latin-1"))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = self.path.endswith(("/bild-%C3%BC.jpg", "/bild%20%C3%BC.jpg"))
            body = jpeg if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as port:
        yield port, seen, jpeg


def test_an_international_host_and_path_go_on_the_wire_as_a_browser_sends_them(server):
    """http.client refused them, and the failed robots.txt request made every such URL
    `robots_disallowed`."""
    port, seen, jpeg = server
    fetcher = Fetcher(FetchOptions(proxy=f"127.0.0.1:{port}", total_timeout_s=5.0, max_retries=0))
    fetched = fetcher.fetch("http://bücher.test/bild ü.jpg")
    assert fetched.status == "success" and fetched.body == jpeg
    assert seen == [("http://xn--bcher-kva.test/robots.txt", "xn--bcher-kva.test"),
                    ("http://xn--bcher-kva.test/bild%20%C3%BC.jpg", "xn--bcher-kva.test")]


def test_a_utf8_redirect_is_followed_to_the_right_path(server):
    port, seen, jpeg = server
    fetcher = Fetcher(FetchOptions(allow=("127.0.0.1",), total_timeout_s=5.0, max_retries=0, respect_robots=False))
    fetched = fetcher.fetch(f"http://127.0.0.1:{port}/moved")
    assert fetched.status == "success" and fetched.body == jpeg and seen[-1][0] == "/bild-%C3%BC.jpg"


@pytest.mark.parametrize("host", ["127。0。0。1", "１２７.０.０.１", "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", "localhost.localdomain", "ip6-localhost",
                                  "localhost6", "LOCALHOST4.localdomain4."])
def test_loopback_spellings_are_refused_before_the_proxy_sees_them(server, host):
    """A resolver (the proxy's) reads these as loopback: IDNA maps the Unicode ones to `127.0.0.1`
    and `localhost`, /etc/hosts the others; they were forwarded or failed as robots_disallowed."""
    port, seen, _jpeg = server
    fetcher = Fetcher(FetchOptions(proxy=f"127.0.0.1:{port}", total_timeout_s=5.0, max_retries=0))
    assert fetcher.fetch(f"http://{host}/x.jpg").status == "forbidden_address"
    assert seen == []


def test_a_robots_txt_that_cannot_be_had_is_not_said_to_disallow(server):
    """RFC 9309 refuses everything on a 5xx robots.txt; that was reported as `robots_disallowed`
    ('robots.txt disallows URL'), a rule the site never wrote."""
    port, _seen, _jpeg = server
    fetcher = Fetcher(FetchOptions(proxy=f"127.0.0.1:{port}", total_timeout_s=5.0, max_retries=0))
    fetched = fetcher.fetch("http://down.test/bild-%C3%BC.jpg")
    assert (fetched.status, fetched.error_message) == (
        "robots_unreachable", "http://down.test/robots.txt answered HTTP 503: everything disallowed (RFC 9309)")
    assert fetcher.fetch("http://up.test/bild-%C3%BC.jpg").status == "success"  # its robots.txt is a 404


def test_port_zero_is_not_the_default_port():
    """`http://host:0/x` was fetched from port 80."""
    fetcher = Fetcher(FetchOptions(allow=("127.0.0.1",), total_timeout_s=5.0, max_retries=0, respect_robots=False))
    assert fetcher.fetch("http://127.0.0.1:0/x.jpg").status == "invalid_url"
