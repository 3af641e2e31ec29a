"""Streaming WARCs over http(s) with Range-resume, against a loopback server (127.0.0.1 only) that
serves the real archives of ../shared/data/warc and breaks its answers on purpose: connections
closed or reset mid-body, 5xx answers, servers that ignore Range or whose file changes."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from m3w_builder.read.commoncrawl import warc_urls
from m3w_builder.read.records import ReadIssue, WebRecord, read_archive
from m3w_builder.read.remote import RemoteError, RemoteFile, RemoteOptions, is_http, open_remote
from tests.conftest import shared_path
from tests.loopback import QuietHandler

FAST = RemoteOptions(retries=4, backoff_s=0.001, max_backoff_s=0.01, timeout_s=5.0)


class Faults:
    """What the server does wrong; `requests` logs (path, Range header, status) of every request."""

    def __init__(self) -> None:
        self.cut_parts = 0  # > 0: each body answer stops after ~1/cut_parts of the file
        self.reset = False  # stop every other cut answer with a TCP reset instead of a clean close
        self.fail_every = 0  # > 0: every n-th request answers 503
        self.fail_first = 0  # the first n requests answer 503
        self.fail_always = False
        self.ignore_range = False
        self.etag_changes = False
        self.requests: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()


class _Handler(QuietHandler):
    root: Path
    faults: Faults

    def _log(self, status: int) -> int:
        with self.faults.lock:
            self.faults.requests.append((self.path, self.headers.get("Range", ""), status))
            return len(self.faults.requests)

    def do_GET(self) -> None:
        f = self.faults
        path = (self.root / self.path.lstrip("/")).resolve()
        if self.root not in path.parents or not path.is_file():
            self._log(404)
            self.send_error(404)
            return
        data = path.read_bytes()
        wanted = self.headers.get("Range", "")
        start = int(wanted[6:-1]) if wanted.startswith("bytes=") and wanted.endswith("-") and not f.ignore_range else 0
        with f.lock:
            n = len(f.requests) + 1
        if f.fail_always or n <= f.fail_first or (f.fail_every and n % f.fail_every == 0):
            self._log(503)
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = 206 if start else 200
        self._log(status)
        self.send_response(status)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", f'"v{n}"' if f.etag_changes else '"v1"')
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        end = len(data) if not f.cut_parts else min(len(data), start + len(data) // f.cut_parts + 1)
        self.wfile.write(data[start:end])
        self.wfile.flush()
        if end < len(data):
            if f.reset and n % 2:  # RST: the client sees ConnectionResetError mid-body
                time.sleep(0.05)  # (a reset also discards what the client has not read yet)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True


@contextlib.contextmanager
def serving(root: Path):
    """A loopback server of the files under `root`, with the faults it is told to inject."""
    faults = Faults()
    handler = type("Handler", (_Handler,), {"root": root.resolve(), "faults": faults})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root.resolve(), faults
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def warc_server():
    with serving(shared_path("warc")) as served:
        yield served


def _archives(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _summary(items) -> list[tuple]:
    """Every record as (kind, source, url, reason/status, body digest): what the read stage emits."""
    out = []
    for item in items:
        if isinstance(item, WebRecord):
            out.append(("record", item.source, item.url, item.http_status, hashlib.sha256(item.body).hexdigest()))
        else:
            assert isinstance(item, ReadIssue)
            out.append(("issue", item.source, item.url, item.reason, item.status))
    return out


def test_is_http() -> None:
    assert is_http("https://data.commoncrawl.org/x.warc.gz") and is_http("HTTP://h/x")
    assert not is_http("s3://commoncrawl/x") and not is_http("/tmp/http://x")


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_every_archive_streams_byte_exact_through_cut_connections(warc_server, reset: bool) -> None:
    base, root, faults = warc_server
    faults.cut_parts, faults.reset, faults.fail_every = 4, reset, 5
    for path in _archives(root):
        url = f"{base}/{path.relative_to(root)}"
        with RemoteFile(url, FAST, sleep=lambda s: None) as remote:
            assert remote.read() == path.read_bytes(), path
            assert remote.resumes >= (3 if path.stat().st_size >= 8 else 0), (path, remote.resumes)
    ranges = [r for _, r, status in faults.requests if status == 206]
    assert ranges and all(r.startswith("bytes=") for r in ranges)


def test_records_read_exactly_once_as_from_the_local_file(warc_server) -> None:
    """The read stage's view of every real archive, over a server that cuts every answer short and
    fails every third request, equals reading the local file: no record lost, none repeated."""
    base, root, faults = warc_server
    faults.cut_parts, faults.fail_every = 3, 3
    total = 0
    for path in _archives(root):
        name = str(path.relative_to(root))
        local = _summary(read_archive(lambda p=path: open(p, "rb"), name))
        remote = _summary(read_archive(lambda n=name: open_remote(f"{base}/{n}", FAST, buffer_size=4096), name))
        assert remote == local, name
        sources = [s[1] for s in remote if s[0] == "record"]
        assert len(sources) == len(set(sources)), name
        total += len(sources)
    assert total > 100  # the material holds a few hundred records


def test_5xx_answers_are_retried_with_backoff(warc_server) -> None:
    base, root, faults = warc_server
    faults.fail_first = 2
    waits: list[float] = []
    options = RemoteOptions(retries=3, backoff_s=0.5, max_backoff_s=0.6)
    with RemoteFile(f"{base}/pywb-2.10.0/example.warc.gz", options, sleep=waits.append) as remote:
        data = remote.read()
    assert data == (root / "pywb-2.10.0/example.warc.gz").read_bytes()
    assert waits == [0.5, 0.6] and remote.attempts == 3  # doubled, capped


def test_retries_are_bounded(warc_server) -> None:
    base, _, faults = warc_server
    faults.fail_always = True
    waits: list[float] = []
    with pytest.raises(RemoteError, match="gave up after 5 failed attempts.*HTTP 503"):
        RemoteFile(f"{base}/pywb-2.10.0/example.warc.gz", FAST, sleep=waits.append).read()
    assert len(faults.requests) == 5
    assert waits == sorted(waits) and waits[-1] <= FAST.max_backoff_s  # growing, capped


def test_a_missing_file_fails_at_once(warc_server) -> None:
    base, _, faults = warc_server
    with pytest.raises(RemoteError, match="HTTP 404"):
        RemoteFile(f"{base}/no/such.warc.gz", FAST).read()
    assert len(faults.requests) == 1


def test_a_server_that_ignores_range_is_an_error_not_a_repeat(warc_server) -> None:
    base, _, faults = warc_server
    faults.cut_parts, faults.ignore_range = 2, True
    with pytest.raises(RemoteError, match="ignores Range"):
        RemoteFile(f"{base}/pywb-2.10.0/iana.warc.gz", FAST, sleep=lambda s: None).read()


def test_a_file_that_changes_between_requests_is_an_error(warc_server) -> None:
    base, _, faults = warc_server
    faults.cut_parts, faults.etag_changes, faults.ignore_range = 2, True, True  # If-Range mismatch → 200
    with pytest.raises(RemoteError, match="file changed"):
        RemoteFile(f"{base}/pywb-2.10.0/iana.warc.gz", FAST, sleep=lambda s: None).read()


def test_unreachable_server_is_counted_not_raised() -> None:
    """In the read stage a remote file that cannot be read becomes a `read/*` issue with its cause."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    url = f"http://127.0.0.1:{port}/x.warc.gz"
    items = list(read_archive(lambda: open_remote(url, RemoteOptions(retries=1, backoff_s=0.001)), url))
    assert len(items) == 1 and isinstance(items[0], ReadIssue)
    assert items[0].reason == "remote_error" and "gave up after" in items[0].detail
    assert "Connection refused" in items[0].detail


def _samples(out: Path) -> list[tuple]:
    import webdataset as wds

    rows = []
    for tar in sorted(out.glob("*.tar")):
        for sample in wds.WebDataset(str(tar), shardshuffle=False, empty_check=False):
            meta = json.loads(sample["json"])
            images = sorted(hashlib.sha256(v).hexdigest() for k, v in sample.items() if k.endswith("jpg"))
            rows.append((sample["__key__"], meta["text"], tuple(images)))
    return rows


def test_the_job_over_flaky_http_builds_what_it_builds_from_local_files(warc_server, tmp_path) -> None:
    """A Common Crawl-style `warc.paths` list joined to an http `--cc_base` (the loopback server,
    cutting answers and failing requests) gives the same counts and samples as the local files."""
    from pipelines.m3w import run

    base, root, faults = warc_server
    faults.cut_parts, faults.fail_every = 3, 4
    listing = tmp_path / "warc.paths"
    listing.write_text("pywb-2.10.0/iana.warc.gz\ncommoncrawl-whirlwind/whirlwind.warc.gz\n")
    flags = ["--input", str(listing), "--direct_num_workers=1", "--no_http", "--no_report",
             "--min_doc_images", "0", "--min_window_images", "0"]
    local = run([*flags, "--cc_base", str(root), "--output", str(tmp_path / "local")])
    remote = run([*flags, "--cc_base", base + "/", "--output", str(tmp_path / "remote")])
    assert remote["stats"] == local["stats"] and local["stats"]["read/n_archives"] == 2
    assert not any(k.startswith("read/") and k.split("/")[1] in ("corrupt", "remote_error") for k in remote["stats"])
    assert sum(1 for _, r, status in faults.requests if status == 206) >= 4  # every file was resumed
    assert _samples(tmp_path / "remote") == _samples(tmp_path / "local") != []


LISTING = [f"crawl-data/CC-MAIN-2024-10/segments/1707947473347.0/warc/CC-MAIN-20240220211055-20240221001055-0000{i}.warc.gz"
           for i in range(3)]


@pytest.fixture
def listing_server(tmp_path):
    folder = tmp_path / "crawl-data" / "CC-MAIN-2024-10"
    folder.mkdir(parents=True)
    (folder / "warc.paths.gz").write_bytes(gzip.compress(("\n".join(LISTING) + "\n").encode()))
    with serving(tmp_path) as (base, _, _faults):
        yield base


def test_common_crawl_files_are_the_first_n_of_the_listing(listing_server) -> None:
    urls = warc_urls("CC-MAIN-2024-10", 2, "s3://commoncrawl/", listing_base=listing_server, options=FAST)
    assert urls == ["s3://commoncrawl/" + LISTING[0], "s3://commoncrawl/" + LISTING[1]]
    with pytest.raises(ValueError, match="lists 3 WARC files, fewer than the 4"):
        warc_urls("CC-MAIN-2024-10", 4, listing_base=listing_server, options=FAST)


@pytest.mark.parametrize("crawl, message", [("2024-10", "not a crawl name"), ("CC-MAIN-1999-01", "HTTP 404")])
def test_common_crawl_picker_bad_usage_is_one_line_and_nonzero(listing_server, crawl: str, message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "m3w_builder.read.commoncrawl", crawl, "--files", "1",
                           "--listing_base", listing_server], capture_output=True, text=True, timeout=60,
                          check=False, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr


def test_s3_paths_have_a_working_client_with_the_aws_extra() -> None:
    """`--cc_base s3://commoncrawl/` used to crash with 'Missing boto3 requirement': the `aws` extra
    (installed by `make`) provides it. The client is built offline; reading needs AWS credentials."""
    from apache_beam.io.aws.s3filesystem import S3FileSystem
    from apache_beam.io.aws.s3io import S3IO
    from apache_beam.io.filesystems import FileSystems

    assert isinstance(FileSystems.get_filesystem("s3://commoncrawl/crawl-data/x.warc.gz"), S3FileSystem)
    client = S3IO(options={"s3_region_name": "us-east-1", "s3_access_key_id": "id", "s3_secret_access_key": "key"}).client
    assert client.client.meta.region_name == "us-east-1"


@contextlib.contextmanager
def _garbage_server(answer: bytes):
    """A loopback TCP server that answers every connection with `answer` and closes; yields
    (port, how many connections it took)."""
    accepted = [0]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted[0] += 1
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scheme, answer, reason", [
    ("http", bytes(range(256)) * 4, "remote_bad_response"),  # binary garbage, then close
    ("http", b"SSH-2.0-OpenSSH_9.6\r\n", "remote_bad_response"),  # another protocol's greeting
    ("http", b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 200 + b"\r\n", "remote_bad_response"),  # 200 headers
    ("https", b"HTTP/1.1 400 Bad Request\r\n\r\n", "remote_tls_error"),  # plain HTTP on an https URL
])
def test_a_server_that_does_not_speak_http_is_asked_once(scheme, answer, reason) -> None:
    """It was taken as a transient failure: asked 9 times with 1 s … 60 s of backoff (~4 min per file)."""
    waits: list[float] = []
    with _garbage_server(answer) as (port, accepted):
        url = f"{scheme}://127.0.0.1:{port}/x.warc.gz"
        with pytest.raises(RemoteError) as raised:
            RemoteFile(url, FAST, sleep=waits.append).read()
        assert raised.value.reason == reason and "no HTTP answer" in str(raised.value)
        assert accepted[0] == 1 and waits == []
        items = list(read_archive(lambda: open_remote(url, FAST), url))
    assert [(type(i).__name__, i.reason) for i in items] == [("ReadIssue", reason)]


@pytest.mark.timeout(60)
def test_a_server_that_closes_without_answering_is_still_retried() -> None:
    with _garbage_server(b"") as (port, accepted):
        with pytest.raises(RemoteError, match="gave up after 5 failed attempts.*RemoteDisconnected") as raised:
            RemoteFile(f"http://127.0.0.1:{port}/x.warc.gz", FAST, sleep=lambda s: None).read()
    assert raised.value.reason == "remote_error" and accepted[0] == 5


class _Coded(QuietHandler):
    """Serves `body` under `coding`, whatever the client asked for."""

    body = b""
    coding = ""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("Content-Encoding", self.coding)
        self.end_headers()
        self.wfile.write(self.body)


def _read_served(body: bytes, coding: str) -> list[tuple]:
    handler = type("Handler", (_Coded,), {"body": body, "coding": coding})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/x.warc.gz"
        return _summary(read_archive(lambda: open_remote(url, FAST), "x.warc.gz"))
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.timeout(60)
def test_a_warc_served_under_a_content_coding_is_decoded_or_counted() -> None:
    """A server that compresses on the fly although asked for identity: gzip and zstd bytes are
    told by their magic and read; `br` and `deflate` bytes went to warcio as `unknown_format`."""
    import zstandard

    path = shared_path("warc", "pywb-2.10.0", "example.warc")
    plain = path.read_bytes()
    local = _summary(read_archive(lambda: open(path, "rb"), "x.warc.gz"))
    assert sum(1 for s in local if s[0] == "record") >= 1
    assert _read_served(plain, "identity") == local
    assert _read_served(zstandard.ZstdCompressor().compress(plain), "zstd") == local
    gz = _read_served(gzip.compress(plain), "gzip")
    assert [s for s in gz if s[3] != "recovered_whole_file_gzip"] == local
    for coding in ("br", "deflate", "gzip, br"):
        (issue,) = _read_served(b"\x1b\x00\x00 some brotli bytes" * 10, coding)
        assert issue[0] == "issue" and issue[3] == "unsupported_encoding", coding
