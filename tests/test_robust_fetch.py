"""Hostile servers and hosts against the real fetcher, on loopback servers (127.0.0.1 only)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import Counter
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from m3w_builder.media.fetch import Fetcher, FetchOptions
from m3w_builder.media.net import host_address, is_public
from tests.conftest import shared_path
from tests.loopback import QuietHandler

pytestmark = pytest.mark.timeout(60)
ROBOTS_CAP = 64 * 1024


class _Handler(QuietHandler):
    hits: Counter
    robots: bytes = b""
    image: bytes = b""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.hits[path] += 1
        if path == "/robots.txt":
            return self._send(self.robots, {})
        headers = {
            "/two-headers": [("X-Robots-Tag", "noarchive"), ("X-Robots-Tag", "noai")],
            "/agent-after-other": [("X-Robots-Tag", "googlebot: nofollow, m3w-builder: noimageai")],
            "/other-agent-only": [("X-Robots-Tag", "googlebot: noai")],
            "/tdm": [("tdm-reservation", "1")],
        }.get(path, [])
        if path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.image) + 1000))
            self.end_headers()
            self.wfile.write(self.image)
            self.wfile.flush()
            self.close_connection = True
            return None
        return self._send(self.image, headers)

    def _send(self, body: bytes, headers) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _serve(robots: bytes = b""):
    image = shared_path("images", "pillow-tests", "hopper.jpg").read_bytes()
    handler = type("H", (_Handler,), {"hits": Counter(), "robots": robots, "image": image})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd, handler


@pytest.fixture
def server():
    httpd, handler = _serve(b"User-agent: *\nDisallow: /private\n")
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def _fetcher(**kw) -> Fetcher:
    opts = dict(allow=("127.0.0.1",), total_timeout_s=5.0, max_retries=0, max_robots_bytes=ROBOTS_CAP)
    opts.update(kw)
    return Fetcher(FetchOptions(**opts))


@pytest.fixture
def dripping_server():
    """Answers every connection with a status line and headers one byte every 0.1 s (~60 s)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n" + b"X-Pad: " + b"a" * 600:
                if stop.wait(0.1):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def test_total_time_cap_bounds_status_line_and_headers(dripping_server):
    fetcher = _fetcher(total_timeout_s=1.0, socket_timeout_s=5.0, respect_robots=False)
    started = time.monotonic()
    result = fetcher.fetch(dripping_server + "/a.jpg")
    assert result.status == "timeout"
    assert time.monotonic() - started < 10  # the drip alone would hold the fetch ~60 s


def test_total_time_cap_bounds_a_dripping_body_of_a_closing_response():
    """HTTP/1.0 (`Connection: close`): http.client hands the socket to the response, so the cap
    must reach it there; the 600-byte body drips for ~30 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 600\r\n\r\n")
            for _ in range(600):
                if stop.wait(0.05):
                    return
                try:
                    conn.sendall(b"\xff")
                except OSError:
                    return

    threading.Thread(target=answer, daemon=True).start()
    fetcher = _fetcher(total_timeout_s=1.0, socket_timeout_s=5.0, respect_robots=False, max_retries=0)
    try:
        result = fetcher.fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/a.jpg")
    finally:
        stop.set()
        listener.close()
    assert (result.status, result.body) == ("timeout", None)


def test_body_shorter_than_content_length_is_truncated(server, tmp_path):
    base, _ = server
    result = _fetcher().fetch(base + "/short")
    assert (result.status, result.body) == ("truncated", None)


@pytest.mark.parametrize("path, status", [
    ("/two-headers", "x_robots_tag"), ("/agent-after-other", "x_robots_tag"), ("/other-agent-only", "success"),
    ("/tdm", "tdm_reserved"),
])
def test_every_optout_header_is_read(server, path, status):
    base, _ = server
    assert _fetcher().fetch(base + path).status == status


def test_robots_txt_precedence_follows_rfc_9309(server):
    base, _ = server
    fetcher = _fetcher()
    assert fetcher.fetch(base + "/private/a.jpg").status == "robots_disallowed"
    assert fetcher.fetch(base + "/public.jpg").status == "success"
    httpd, _ = _serve(b"User-agent: *\nDisallow: /\n\nUser-agent: m3w-builder\nAllow: /\nDisallow: /private\n")
    try:
        own = f"http://127.0.0.1:{httpd.server_address[1]}"
        assert fetcher.fetch(own + "/public.jpg").status == "success"  # our own group, not *
        assert fetcher.fetch(own + "/private/a.jpg").status == "robots_disallowed"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_huge_robots_txt_is_parsed_up_to_its_cap():
    filler = b"# " + b"x" * 78 + b"\n"
    robots = b"User-agent: *\nDisallow: /early\n" + filler * (4 * ROBOTS_CAP // len(filler)) + b"Disallow: /late\n"
    httpd, handler = _serve(robots)
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        fetcher = _fetcher()
        assert fetcher.fetch(base + "/early/a.jpg").status == "robots_disallowed"
        assert fetcher.fetch(base + "/late/a.jpg").status == "success"  # past the cap: ignored
        assert handler.hits["/robots.txt"] == 1
    finally:
        httpd.shutdown()
        httpd.server_close()


REFUSED_ADDRESSES = [
    "::7f00:1", "::ffff:0:7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b:1::808:808", "fec0::1",
    "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2001:0:4136:e378:8000:63bf:80ff:fffe", "::ffff:127.0.0.1",
    "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fc00::1",
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_addresses_that_reach_private_networks_are_refused(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_stay_public(address):
    assert is_public(ipaddress.ip_address(address))


LOOPBACK_SPELLINGS = ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0", "localhost", "127.0.0.1.",
                      "LocalHost.", "a.localhost", "[::1]", "[::ffff:7f00:1]", "0x7f.1"]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_hosts_are_read_as_a_resolver_reads_them(host):
    ip = host_address(host.strip("[]"))
    assert ip is not None and not is_public(ip)


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_proxy_mode_refuses_every_loopback_spelling_before_forwarding(server, host):
    base, handler = server
    fetcher = Fetcher(FetchOptions(proxy=base, total_timeout_s=5.0, max_retries=0))
    port = urlsplit(base).port
    result = fetcher.fetch(f"http://{host}:{port}/a.jpg")
    assert result.status == "forbidden_address", (host, result.status, result.error_message)
    assert not handler.hits  # nothing was forwarded


@pytest.mark.parametrize("host", ["127.1", "2130706433", "localhost"])
def test_direct_mode_checks_the_same_spellings(server, host):
    base, handler = server
    port = urlsplit(base).port
    assert Fetcher(FetchOptions(max_retries=0)).fetch(f"http://{host}:{port}/a.jpg").status == "forbidden_address"
    allowed = Fetcher(FetchOptions(allow=("127.0.0.0/8",), max_retries=0, respect_robots=False))
    assert allowed.fetch(f"http://{host}:{port}/a.jpg").status == "success"


def _keepalive_server(drop_after_each: bool):
    """An HTTP/1.1 server recording the client port of each request; with `drop_after_each` it
    closes every connection after answering without saying so (a stale pooled connection)."""
    image = shared_path("images", "pillow-tests", "hopper.jpg").read_bytes()
    ports: list[int] = []

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            ports.append(self.client_address[1])
            body = b"User-agent: *\nAllow: /\n" if self.path == "/robots.txt" else image
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = drop_after_each

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd, ports


@pytest.mark.parametrize("drop_after_each", [False, True])
def test_connections_are_kept_alive_per_host_and_stale_ones_replaced(drop_after_each):
    httpd, ports = _keepalive_server(drop_after_each)
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        fetcher = _fetcher()
        statuses = [fetcher.fetch(f"{base}/img{i}.jpg").status for i in range(5)]
        assert statuses == ["success"] * 5
        assert len(ports) == 6  # robots.txt + 5 images, each asked once
        assert len(set(ports)) == (6 if drop_after_each else 1)
    finally:
        httpd.shutdown()
        httpd.server_close()
