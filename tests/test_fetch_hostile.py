"""Hostile URLs at the fetcher, against a real loopback server (127.0.0.1 only): international and
Unicode spellings of hosts, non-ASCII paths, UTF-8 redirects, and the loopback names a proxy's
/etc/hosts knows. What the server sees is what went on the wire."""

from __future__ import annotations

import time

import pytest

from m3w_builder.media.fetch import Fetcher, FetchOptions
from tests.conftest import shared_path
from tests.loopback import QuietHandler, serving

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def server():
    jpeg = shared_path("images", "exif-orientation-examples", "Landscape_1.jpg").read_bytes()
    seen: list[tuple[str, str]] = []

    class Handler(QuietHandler):
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


def _raw_server(answers: dict[str, list[bytes]], close: bool = False):
    """A loopback HTTP/1.1 server writing each path's answer bytes as they are (0.3 s between
    pieces), however wrong, then closing the connection if `close`; the paths asked for are recorded."""
    asked: list[str] = []

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            asked.append(self.path)
            for i, piece in enumerate(answers[self.path]):
                if i:
                    time.sleep(0.3)
                self.wfile.write(piece)
                self.wfile.flush()
            self.close_connection = close

    return serving(Handler), asked


def _answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def test_bytes_sent_past_a_response_are_never_the_next_urls_answer():
    """A server that sends more than its Content-Length (here a whole second response, late) left
    those bytes on the kept-alive connection, and the next URL asked on it got them as its body."""
    first = shared_path("images", "pillow-tests", "hopper.jpg").read_bytes()
    stray = shared_path("images", "pillow-tests", "flower.jpg").read_bytes()
    server, asked = _raw_server({"/a.jpg": [_answer(first), _answer(stray)], "/b.jpg": [_answer(first[::-1])]})
    with server as port:
        fetcher = Fetcher(FetchOptions(allow=("127.0.0.1",), total_timeout_s=5.0, max_retries=0, respect_robots=False))
        assert fetcher.fetch(f"http://127.0.0.1:{port}/a.jpg").body == first
        time.sleep(0.6)  # the stray response has arrived on the idle connection
        fetched = fetcher.fetch(f"http://127.0.0.1:{port}/b.jpg")
    assert (fetched.status, fetched.body) == ("success", first[::-1])
    assert asked == ["/a.jpg", "/b.jpg"]


@pytest.mark.parametrize("answer", [
    b"\xff\xd8\xff\xe0 HTTP/0.9: a body with no status line",
    b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(101)) + b"Content-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\nok and eighteen more",
], ids=["http09", "header_line_over_64k", "over_100_headers", "content_lengths_disagree"])
def test_a_response_that_is_not_http_1_is_a_bad_response_asked_once(answer):
    """These were `connection_error`, asked three times with backoff; two Content-Lengths gave a
    'success' holding the first 2 bytes."""
    server, asked = _raw_server({"/x.jpg": [answer]}, close=True)
    with server as port:
        fetcher = Fetcher(FetchOptions(allow=("127.0.0.1",), total_timeout_s=5.0, backoff_s=0.01, respect_robots=False))
        fetched = fetcher.fetch(f"http://127.0.0.1:{port}/x.jpg")
    assert fetched.status == "bad_response" and fetched.body is None
    assert len(fetched.error_message) < 200 and asked == ["/x.jpg"]


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16"])  # Python's utf-16 writes its BOM first
def test_a_robots_txt_after_a_byte_order_mark_is_obeyed(codec):
    """A byte-order mark was read as part of the first line, so `User-agent: *` opened no group
    and its `Disallow: /` was lost: everything allowed on a site that refuses everything."""
    robots = "User-agent: *\r\nDisallow: /private/\r\n".encode(codec)
    jpeg = shared_path("images", "exif-orientation-examples", "Landscape_1.jpg").read_bytes()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            body = robots if self.path == "/robots.txt" else jpeg
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as port:
        fetcher = Fetcher(FetchOptions(allow=("127.0.0.1",), total_timeout_s=5.0, max_retries=0))
        assert fetcher.fetch(f"http://127.0.0.1:{port}/private/a.jpg").status == "robots_disallowed"
        assert fetcher.fetch(f"http://127.0.0.1:{port}/public/a.jpg").status == "success"



def _redirecting(location: str, paths: tuple[str, ...]):
    """A handler that redirects `paths` to `location` and answers anything else 404."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(302 if self.path in paths else 404)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.mark.parametrize("location", ["http://[bad/x.jpg", "//[::1/x.jpg"])
def test_a_redirect_no_url_parser_reads_is_an_invalid_url_not_an_exception(location):
    """urljoin raised ValueError ('Invalid IPv6 URL') out of `fetch`, which never raises: the media
    stage counted it error_ValueError. A robots.txt redirected so is one that cannot be had."""
    options = FetchOptions(allow=("127.0.0.1",), total_timeout_s=5.0, max_retries=0)
    with serving(_redirecting(location, ("/a.jpg",))) as port:
        page = Fetcher(options).fetch(f"http://127.0.0.1:{port}/a.jpg")
    assert (page.status, page.final_url) == ("invalid_url", f"http://127.0.0.1:{port}/a.jpg")
    assert location in page.error_message
    with serving(_redirecting(location, ("/robots.txt",))) as port:
        page = Fetcher(options).fetch(f"http://127.0.0.1:{port}/a.jpg")
    assert page.status == "robots_unreachable"
