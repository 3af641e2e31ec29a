"""Media resolution at scale: a bounded robots.txt cache and per-host limits shared by every DoFn
instance of a worker process (loopback proxy on 127.0.0.1 serving many hosts), and the mirror and
media cache on a Beam filesystem that is not local (`memtest://`, a real FileSystem in Beam's
registry), down to a real M3W run."""

from __future__ import annotations

import json
import pickle
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from m3w_builder.media.fetch import Fetcher, FetchOptions, MirrorResolver, shared_fetcher
from m3w_builder.media.files import LOCAL
from m3w_builder.media.resolve import MediaCache
from pipelines import fs
from pipelines.config import JobConfig, MediaOptions
from pipelines.media_stage import ResolveMedia
from tests import memfs
from tests.conftest import shared_path
from tests.loopback import QuietHandler
from tests.test_robust_pipeline import _photos, _text

pytestmark = pytest.mark.timeout(120)


class _State:
    def __init__(self) -> None:
        self.robots: Counter[str] = Counter()  # robots.txt requests per host
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.robots_delay = 0.0
        self.lock = threading.Lock()


class _Proxy(QuietHandler):
    """An HTTP proxy answering for any host: robots.txt disallows /private/ everywhere and
    everything on hosts h0, h3, h6, ...; /img/ is a real JPEG; /busy/ holds the request 0.3 s."""

    protocol_version = "HTTP/1.1"  # keep-alive, so connections are pooled
    state: _State
    jpeg: bytes

    def do_GET(self) -> None:
        url = urlsplit(self.path)  # absolute-form: we are the proxy
        host = url.hostname or ""
        if url.path == "/robots.txt":
            with self.state.lock:
                self.state.robots[host] += 1
            time.sleep(self.state.robots_delay)
            number = host.split(".")[0][1:]
            everything = host.startswith("h") and number.isdigit() and int(number) % 3 == 0
            self._send(b"User-agent: *\nDisallow: /private/\n" + (b"Disallow: /\n" if everything else b""))
        elif url.path.startswith("/busy/"):
            with self.state.lock:
                self.state.in_flight[host] += 1
                self.state.max_in_flight[host] = max(self.state.max_in_flight[host], self.state.in_flight[host])
            time.sleep(0.3)
            with self.state.lock:
                self.state.in_flight[host] -= 1
            self._send(self.jpeg)
        else:
            self._send(self.jpeg)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def proxy():
    state = _State()
    jpeg = shared_path("images", "pillow-tests", "hopper.jpg").read_bytes()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Proxy,), {"state": state, "jpeg": jpeg}))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()
    httpd.server_close()


def _options(address: str, **kw) -> FetchOptions:
    return FetchOptions(proxy=address, total_timeout_s=10.0, max_retries=0, **kw)


def test_robots_cache_is_bounded_and_its_answers_still_honoured(proxy):
    address, state = proxy
    fetcher = Fetcher(_options(address, robots_cache_size=8, max_idle_connections=4))
    for n in range(40):
        allowed = fetcher.fetch(f"http://h{n}.test/img/a.jpg")
        private = fetcher.fetch(f"http://h{n}.test/private/a.jpg")
        assert allowed.status == ("robots_disallowed" if n % 3 == 0 else "success"), (n, allowed)
        assert private.status == "robots_disallowed"
        assert len(fetcher.robots) <= 8 and len(fetcher.pool) <= 4
    assert state.robots == Counter({f"h{n}.test": 1 for n in range(40)})  # once per host while cached
    assert len(fetcher.robots) == 8 and len(fetcher.pool) == 4
    assert fetcher.fetch("http://h38.test/private/b.jpg").status == "robots_disallowed"
    assert state.robots["h38.test"] == 1  # recently used: still cached
    assert fetcher.fetch("http://h0.test/img/b.jpg").status == "robots_disallowed"
    assert fetcher.fetch("http://h1.test/img/b.jpg").status == "success"
    assert (state.robots["h0.test"], state.robots["h1.test"]) == (2, 2)  # evicted, fetched again, honoured


def test_threads_asking_for_one_origin_fetch_its_robots_txt_once(proxy):
    address, state = proxy
    state.robots_delay = 0.3
    fetcher = Fetcher(_options(address, robots_cache_size=2))
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda i: fetcher.fetch(f"http://slow.test/img/{i}.jpg").status, range(12)))
    assert results == ["success"] * 12
    assert state.robots["slow.test"] == 1


def _config(fetch: FetchOptions) -> JobConfig:
    return JobConfig(media=MediaOptions(fetch=fetch, fetch_threads=4))


def test_dofn_instances_of_a_process_share_one_fetcher(proxy):
    address, _ = proxy
    dofn = ResolveMedia(_config(_options(address)))
    instances = [pickle.loads(pickle.dumps(dofn)) for _ in range(3)]  # as Beam makes them, per bundle thread
    for instance in instances:
        instance.setup()
    assert len({id(i.resolver.fetcher) for i in instances}) == 1
    other = ResolveMedia(_config(_options(address, per_host_concurrency=1)))
    other.setup()
    assert other.resolver.fetcher is not instances[0].resolver.fetcher  # other options, other fetcher
    for instance in (*instances, other):
        instance.teardown()


@pytest.mark.parametrize("shared", [True, False])
def test_the_per_host_limit_holds_across_instances_of_a_process(proxy, shared):
    """Two fetchers as two DoFn instances get them: shared, a host sees at most its limit of
    requests at once; separate (the old per-instance state), more (up to twice as many)."""
    address, state = proxy
    opts = _options(address, per_host_concurrency=2, respect_robots=False)
    make = (lambda: shared_fetcher(opts)) if shared else (lambda: Fetcher(opts))
    fetchers = [make(), make()]
    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(lambda i: fetchers[i % 2].fetch(f"http://busy.test/busy/{i}.jpg").status, range(12)))
    assert statuses == ["success"] * 12
    peak = state.max_in_flight["busy.test"]
    assert peak == 2 if shared else peak > 2, peak


def _bucket() -> str:
    return f"memtest://{uuid.uuid4().hex[:8]}"


TRAVERSALS = ["http://img.test/%2e%2e/secret.jpg", "http://../secret.jpg", "http://img.test/..%2fsecret.jpg",
              "http://img.test/a.jpg%00.png", "http://img.test/%00", "http://img.test/a.jpg?x=/../../secret.jpg",
              "http://img.test/a%0a.jpg", "ftp://img.test/a.jpg"]


def test_mirror_and_cache_on_a_beam_filesystem_that_is_not_local():
    jpeg = shared_path("images", "pillow-tests", "hopper.jpg").read_bytes()
    files, bucket = fs.BeamFiles(), _bucket()
    root = f"{bucket}/mirror"
    memfs.OBJECTS[f"{root}/img.test/a.jpg"] = jpeg
    memfs.OBJECTS[f"{root}/img.test/dir/index.html"] = b"<html></html>"
    memfs.OBJECTS[f"{bucket}/secret.jpg"] = memfs.OBJECTS[f"{bucket}/mirror/secret.jpg"] = b"outside"
    mirror = MirrorResolver(root, files)
    assert mirror.read("http://IMG.test/./a.jpg#frag") == jpeg
    assert mirror.read("http://img.test/dir/") == b"<html></html>"
    assert mirror.read("http://img.test/missing.jpg") is None
    for url in TRAVERSALS:
        assert mirror.read(url) is None, url
    cache = MediaCache(f"{bucket}/cache", files)
    assert cache.read("http://img.test/a.jpg") is None
    assert cache.write("http://img.test/a.jpg", jpeg)
    assert cache.read("http://img.test/a.jpg") == jpeg
    cached = [k for k in memfs.OBJECTS if k.startswith(f"{bucket}/cache/")]
    assert cached == [cache.path_for("http://img.test/a.jpg")]  # no temporary left behind


@pytest.mark.parametrize("files", [LOCAL, fs.BeamFiles()], ids=["local", "beam"])
def test_a_local_mirror_refuses_links_that_leave_it(tmp_path, files):
    jpeg = shared_path("images", "pillow-tests", "hopper.jpg").read_bytes()
    host = tmp_path / "mirror" / "img.test"
    host.mkdir(parents=True)
    (host / "a.jpg").write_bytes(jpeg)
    (tmp_path / "secret.jpg").write_bytes(b"outside")
    (host / "out.jpg").symlink_to(tmp_path / "secret.jpg")
    (host / "in.jpg").symlink_to(host / "a.jpg")
    mirror = MirrorResolver(str(tmp_path / "mirror"), files)
    assert mirror.read("http://img.test/a.jpg") == jpeg
    assert mirror.read("http://img.test/in.jpg") == jpeg
    assert mirror.read("http://img.test/out.jpg") is None
    for url in TRAVERSALS:
        assert mirror.read(url) is None, url
    cache = MediaCache(str(tmp_path / "cache"), files)
    assert cache.write("http://img.test/a.jpg", jpeg) and cache.read("http://img.test/a.jpg") == jpeg
    stored = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert stored == [Path(cache.path_for("http://img.test/a.jpg")).name]  # no temporary left behind


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """Three pages, each with two photos in the mirror, one in the media cache, one in neither."""
    photos = _photos()
    if len(photos) < 6:
        pytest.skip("not enough real photos in ../shared/data")
    root = tmp_path_factory.mktemp("crawl")
    (root / "pages").mkdir()
    url_map, mirrored, cached = [], {}, {}
    for i in range(3):
        srcs = [f"http://img.test/{2 * i}.jpg", f"http://img.test/{2 * i + 1}.jpg", f"http://cdn.test/c{i}.jpg",
                f"http://img.test/missing{i}.jpg"]
        mirrored.update({srcs[0]: photos[2 * i], srcs[1]: photos[2 * i + 1]})
        cached[srcs[2]] = photos[(2 * i + 3) % len(photos)]
        body = "".join(f"<p>{_text(i * 100 + k)}</p><img src='{src}' alt='photo {k}'>" for k, src in enumerate(srcs))
        page = f"<html><body><h1>Page {i}</h1>{body}<p>{_text(i)}</p></body></html>"
        (root / "pages" / f"p{i}.html").write_text(page)
        url_map.append({"file": f"p{i}.html", "url": f"http://site{i}.test/post.html"})
    (root / "urls.jsonl").write_text("\n".join(json.dumps(e) for e in url_map))
    return root, mirrored, cached


def _run(root: Path, out: Path, mirror: str, cache: str) -> dict:
    from pipelines.m3w import run

    return run(["--input", str(root / "pages" / "*.html"), "--url_map", str(root / "urls.jsonl"),
                "--output", str(out), "--mirror_dir", mirror, "--media_cache", cache, "--no_http", "--no_report",
                "--no_near_dup", "--no_paragraph_dedup", "--no_image_set_dedup", "--max_content_documents=0",
                "--direct_num_workers=1"])


def test_m3w_run_with_mirror_and_cache_on_a_remote_scheme(crawl, tmp_path):
    """The same media on memtest:// and in local folders give the same shards; before, a
    `--mirror_dir gs://...` became a local path and every media URL was `not_found`."""
    root, mirrored, cached = crawl
    bucket, files = _bucket(), fs.BeamFiles()
    local_mirror = tmp_path / "mirror"
    for url, data in mirrored.items():
        memfs.OBJECTS[MirrorResolver(f"{bucket}/mirror", files).path_for(url)] = data
        target = Path(MirrorResolver(str(local_mirror)).path_for(url))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for url, data in cached.items():
        assert MediaCache(f"{bucket}/cache", files).write(url, data)
        assert MediaCache(str(tmp_path / "cache")).write(url, data)
    remote = _run(root, tmp_path / "remote", f"{bucket}/mirror", f"{bucket}/cache")
    local = _run(root, tmp_path / "local", str(local_mirror), str(tmp_path / "cache"))
    stats = remote["stats"]
    assert (stats["media/n_from_mirror"], stats["media/n_from_cache"], stats["media/not_found"]) == (6, 3, 3), stats
    assert stats["media/kept"] == 9
    shards = [[(s["url"], s["md5sum"]) for s in run["shardlist"]] for run in (remote, local)]
    assert shards[0] == shards[1] and shards[0]
    assert remote["stats"] == local["stats"]


@pytest.mark.parametrize("job", ["m3w", "pairs"])
@pytest.mark.parametrize("flag", ["--mirror_dir", "--media_cache"])
def test_an_unknown_scheme_is_a_usage_error_before_the_job_starts(tmp_path, job, flag):
    from pipelines.m3w import run as m3w
    from pipelines.pairs import run as pairs

    out = tmp_path / "out"
    args = ["--input", str(tmp_path / "pages.html"), "--output", str(out), "--no_http", flag, "nope://bucket/media"]
    with pytest.raises(SystemExit) as exit_:
        m3w(args) if job == "m3w" else pairs(["--source", "ltip", *args])
    message = str(exit_.value)
    assert "\n" not in message and f"error: {flag} nope://bucket/media: Unable to get filesystem" in message
    assert not out.exists()  # nothing ran


def test_cache_and_pool_sizes_do_not_change_the_fingerprint():
    """They bound memory and sockets, not what a shard holds: a rerun with other sizes is no rebuild."""
    from pipelines import checks

    base = JobConfig()
    sized = JobConfig(media=MediaOptions(fetch=FetchOptions(robots_cache_size=5, max_idle_connections=7)))
    assert checks.fingerprint(base.to_json(), []) == checks.fingerprint(sized.to_json(), [])
    other = JobConfig(media=MediaOptions(fetch=FetchOptions(max_robots_bytes=1000)))
    assert checks.fingerprint(base.to_json(), []) != checks.fingerprint(other.to_json(), [])
