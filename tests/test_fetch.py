"""m3w_builder.media.fetch against a real loopback HTTP server serving ../shared/data/images files.

Only 127.0.0.1 is ever contacted: redirects to private or metadata addresses must be refused
before any connection is made.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from m3w_builder.media.fetch import Fetcher, FetchOptions, MirrorResolver
from tests.loopback import QuietHandler, serving

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
IMAGES = DATA / "images"
JPEG = "pillow-tests/hopper.jpg"
PNG = "pillow-tests/pil123p.png"

pytestmark = [
    pytest.mark.skipif(not IMAGES.is_dir(), reason="../shared/data/images is absent"),
    pytest.mark.timeout(60),
]


class _State:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.agents: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()


class _Handler(QuietHandler):
    state: _State

    def do_GET(self) -> None:
        url = urlsplit(self.path)  # absolute-form when we act as the proxy
        query = parse_qs(url.query)
        with self.state.lock:
            self.state.hits[url.path] += 1
            self.state.agents.append(self.headers.get("User-Agent", ""))
            hit = self.state.hits[url.path]
        route = url.path.split("/")[1]
        if url.path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        elif route in ("img", "private"):
            self._file(url.path.split("/", 2)[2], "image/jpeg")
        elif route == "mislabelled":
            self._file(url.path.split("/", 2)[2], "text/html")
        elif route == "html-as-jpeg":
            self._send(200, b"<!DOCTYPE html><html><body>hi</body></html>", "image/jpeg")
        elif route == "redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "noai":
            self._file(JPEG, "image/jpeg", {"X-Robots-Tag": "noindex, noai"})
        elif route == "otherbot-noai":
            self._file(JPEG, "image/jpeg", {"X-Robots-Tag": "otherbot: noai"})
        elif route == "flaky" and hit == 1:
            self._send(429, b"slow down", "text/plain", {"Retry-After": "30"})
        elif route == "flaky":
            self._file(JPEG, "image/jpeg")
        elif route == "slow":
            time.sleep(3)
            self._file(JPEG, "image/jpeg")
        elif route == "big":
            self._stream(4 * 1024 * 1024, declare=query.get("declare") == ["1"])
        elif route == "busy":
            self._busy()
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _file(self, rel: str, ctype: str, extra: dict | None = None) -> None:
        self._send(200, (IMAGES / rel).read_bytes(), ctype, extra)

    def _stream(self, size: int, declare: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if declare:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            for _ in range(size // 65536):
                self.wfile.write(b"\0" * 65536)
        except OSError:
            pass  # the client stopped reading at its cap

    def _busy(self) -> None:
        with self.state.lock:
            self.state.in_flight += 1
            self.state.max_in_flight = max(self.state.max_in_flight, self.state.in_flight)
        time.sleep(0.15)
        with self.state.lock:
            self.state.in_flight -= 1
        self._file(JPEG, "image/jpeg")


@pytest.fixture
def server():
    state = _State()
    handler = type("Handler", (_Handler,), {"state": state})
    with serving(handler) as port:
        yield f"http://127.0.0.1:{port}", state


def _fetcher(**kw) -> Fetcher:
    opts = dict(allow=("127.0.0.1",), total_timeout_s=5.0, max_retries=1, backoff_s=0.01, max_backoff_s=0.05)
    opts.update(kw)
    return Fetcher(FetchOptions(**opts))


def test_fetches_a_real_file_with_an_identifiable_agent(server) -> None:
    base, state = server
    r = _fetcher(contact_url="https://example.org/m3w").fetch(f"{base}/img/{JPEG}")
    assert (r.status, r.http_status, r.content_type_sniffed) == ("success", 200, "image/jpeg")
    assert r.body == (IMAGES / JPEG).read_bytes() and r.final_url == r.url
    assert state.agents[-1] == "m3w-builder/0.1 (+https://example.org/m3w)"


def test_loopback_is_refused_without_an_allow_list(server) -> None:
    base, state = server
    r = Fetcher(FetchOptions()).fetch(f"{base}/img/{JPEG}")
    assert r.status == "forbidden_address" and r.body is None
    assert not state.hits  # not even robots.txt was requested


@pytest.mark.parametrize(
    "target",
    ["http://10.0.0.1/x.jpg", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
     "http://100.64.0.1/", "http://[::ffff:192.168.0.1]/", "http://224.0.0.1/", "http://0.0.0.0/"],
)
def test_redirect_to_a_private_address_is_refused_before_connecting(server, target: str) -> None:
    base, state = server
    r = _fetcher().fetch(f"{base}/redirect?to={target}")
    assert r.status == "forbidden_address", r
    assert r.final_url == target and r.body is None


def test_redirects_are_followed_and_capped(server) -> None:
    base, _ = server
    r = _fetcher().fetch(f"{base}/redirect?to=/img/{JPEG}")
    assert (r.status, r.final_url) == ("success", f"{base}/img/{JPEG}")
    loop = f"{base}/redirect?to=/redirect%3Fto%3D/redirect"
    assert _fetcher(max_redirects=1).fetch(loop).status == "too_many_redirects"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "http:///nohost"])
def test_bad_urls(url: str) -> None:
    assert _fetcher().fetch(url).status in ("unsupported_scheme", "invalid_url")


@pytest.mark.parametrize("declare", ["0", "1"])
def test_oversize_body_is_cut_off(server, declare: str) -> None:
    base, _ = server
    r = _fetcher(max_bytes=1024 * 1024).fetch(f"{base}/big?declare={declare}")
    assert r.status == "too_large" and r.body is None


def test_slow_response_hits_the_time_cap(server) -> None:
    base, _ = server
    r = _fetcher(total_timeout_s=0.5, max_retries=0).fetch(f"{base}/slow")
    assert r.status == "timeout"


def test_robots_txt_disallow_is_honoured(server) -> None:
    base, state = server
    fetcher = _fetcher()
    assert fetcher.fetch(f"{base}/private/{JPEG}").status == "robots_disallowed"
    assert fetcher.fetch(f"{base}/img/{JPEG}").status == "success"
    assert state.hits["/robots.txt"] == 1  # cached per origin
    assert state.hits[f"/private/{JPEG}"] == 0
    assert _fetcher(respect_robots=False).fetch(f"{base}/private/{JPEG}").status == "success"


def test_x_robots_tag_noai(server) -> None:
    base, _ = server
    r = _fetcher().fetch(f"{base}/noai")
    assert (r.status, r.error_message, r.body) == ("x_robots_tag", "X-Robots-Tag: noai", None)
    assert _fetcher().fetch(f"{base}/otherbot-noai").status == "success"
    assert _fetcher(x_robots_directives=()).fetch(f"{base}/noai").status == "success"


def test_429_then_success_with_capped_retry_after(server) -> None:
    base, state = server
    r = _fetcher().fetch(f"{base}/flaky")
    assert r.status == "success" and state.hits["/flaky"] == 2
    r = _fetcher(max_retries=0).fetch(f"{base}/flaky")  # a fresh path count: 3rd hit succeeds
    assert r.status == "success"


def test_content_is_sniffed_not_taken_from_content_type(server) -> None:
    base, _ = server
    r = _fetcher(allowed_types=("image/",)).fetch(f"{base}/mislabelled/{PNG}")
    assert (r.status, r.content_type_sniffed) == ("success", "image/png")
    r = _fetcher(allowed_types=("image/",)).fetch(f"{base}/html-as-jpeg")
    assert (r.status, r.body) == ("unsupported_content", None)


def test_per_host_concurrency_limit(server) -> None:
    base, state = server
    fetcher = _fetcher(per_host_concurrency=2, respect_robots=False)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(fetcher.fetch, [f"{base}/busy"] * 6))
    assert all(r.status == "success" for r in results)
    assert state.max_in_flight <= 2


def test_http_proxy_option(server) -> None:
    base, state = server
    fetcher = Fetcher(FetchOptions(proxy=base, total_timeout_s=5.0))
    r = fetcher.fetch(f"http://images.example/img/{JPEG}")
    assert r.status == "success" and r.body == (IMAGES / JPEG).read_bytes()
    assert fetcher.fetch("http://10.0.0.1/x.jpg").status == "forbidden_address"


def test_mirror_resolver(tmp_path: Path) -> None:
    data = (IMAGES / JPEG).read_bytes()
    (tmp_path / "example.org" / "a").mkdir(parents=True)
    (tmp_path / "example.org" / "a" / "b.jpg").write_bytes(data)
    (tmp_path / "secret.txt").write_text("no")
    mirror = MirrorResolver(tmp_path)
    assert mirror.read("https://example.org/a/b.jpg") == data
    assert mirror.read("http://EXAMPLE.org/a/./b.jpg#frag") == data
    assert mirror.read("https://example.org/a/missing.jpg") is None
    assert mirror.read("https://example.org/../secret.txt") is None
    assert mirror.read("https://example.org/%2e%2e/secret.txt") is None
