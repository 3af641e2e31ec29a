"""The pairs job end to end (FnApiRunner): embedded defaults offline, lists with broken rows over a
loopback HTTP proxy, --retry_failed equal to a clean run, real pages (ALIGN) and real videos (VTP),
shards read back with webdataset and Hugging Face `datasets`."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image

from m3w_builder.drops import Rejected
from m3w_builder.pairs.align import CaptionRules, check_candidate, harvest, word_count
from pipelines.pairs import run
from pipelines.progress import is_drop
from tests.conftest import shared_path
from tests.loopback import QuietHandler

LOCAL = ["--direct_num_workers=1"]


def manifest(out: Path) -> list[dict]:
    return [r for p in sorted(out.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def md5s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.suffix in (".tar", ".idx", ".parquet")}


def samples(out: Path) -> list[dict]:
    return [s for t in sorted(out.glob("*.tar")) for s in wds.WebDataset(str(t), shardshuffle=False)]


@pytest.fixture(scope="module")
def ltip(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ltip")
    return out, run(["--source", "ltip", "--output", str(out), "--no_http", "--samples_per_shard", "20", *LOCAL])


def test_ltip_default_offline_every_row_in_the_manifest(ltip):
    out, dataset = ltip
    stats = dataset["stats"]
    rows = manifest(out)
    assert len(rows) == stats["list/n_rows"] == 46 and len({r["key"] for r in rows}) == 46
    status = {r["reason"] for r in rows}
    assert {"success", "missing_caption", "duplicate", "http_404", "truncated", "too_small"} <= status
    got = samples(out)
    assert len(got) == sum(r["status"] == "success" for r in rows) == sum(s["nsamples"] for s in dataset["shardlist"])
    for s in got:
        assert set(s) == {"__key__", "__url__", "__local_path__", "jpg", "txt", "json"} - {"__local_path__"} | (
            {"__local_path__"} & set(s))
        meta = json.loads(s["json"])
        assert meta["caption"] == s["txt"].decode() and meta["key"] == s["__key__"] and meta["license"] == "CC0-1.0"
        with Image.open(io.BytesIO(s["jpg"])) as im:
            assert im.mode == "RGB" and (im.width, im.height) == (meta["width"], meta["height"])
    assert dataset["kind"] == "ltip" and (out / "stats.json").exists()


def test_ltip_reads_with_hugging_face_datasets(ltip):
    datasets = pytest.importorskip("datasets")
    out, dataset = ltip
    ds = datasets.load_dataset("webdataset", data_files={"train": [str(p) for p in sorted(out.glob("*.tar"))]},
                               split="train", cache_dir=str(out / "_hf"))
    assert len(ds) == sum(s["nsamples"] for s in dataset["shardlist"])
    first = ds[0]
    assert first["jpg"].mode == "RGB" and first["json"]["caption"] == first["txt"]


def test_rerun_is_identical_and_skips_finished_shards(ltip, tmp_path):
    out, _ = ltip
    again = run(["--source", "ltip", "--output", str(out), "--no_http", "--samples_per_shard", "20", *LOCAL])
    assert again["stats"].get("shard/n_skipped_existing") == len(again["shardlist"])
    fresh = tmp_path / "fresh"
    run(["--source", "ltip", "--output", str(fresh), "--no_http", "--samples_per_shard", "20", *LOCAL])
    assert md5s(fresh) == md5s(out)


class _Images(QuietHandler):
    """A loopback proxy: any URL → one real image chosen by the URL's hash; `/robots.txt` and
    URLs under `failing` answer 404."""

    images: list[bytes] = []
    failing: set[str] = set()

    def do_GET(self):  # noqa: N802
        url = self.path
        if url.endswith("/robots.txt") or any(f in url for f in self.failing):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.images[int(hashlib.sha256(url.encode()).hexdigest(), 16) % len(self.images)]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def proxy():
    folder = shared_path("images", "exif-orientation-examples")
    _Images.images = [p.read_bytes() for p in sorted(folder.glob("*.jpg"))]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _list_file(folder: Path) -> Path:
    lines = [
        '{"url": "http://img.example.test/a/1.jpg", "caption": "a landscape photograph of a quiet field", "id": 1}',
        '{"url": "http://img.example.test/a/2.jpg", "caption": "a portrait photograph of a tall tree", "id": 2}',
        '{"url": "http://img.example.test/a/2.jpg", "caption": "the same tree seen from the path", "id": 3}',
        '{"url": "http://img.example.test/a/1.jpg", "caption": "a landscape photograph of a quiet field", "id": 4}',
        '{"url": "http://img.example.test/a/5.jpg", "caption": null, "id": 5}',
        '{"url": "http://img.example.test/a/6.jpg", "id": 6}',
        '{"url": "", "caption": "no url at all here", "id": 7}',
        '{"url": "http://img.example.test/flaky/8.jpg", "caption": "a picture that fails the first time", "id": 8}',
        '{"url": "http://img.example.test/flaky/9.jpg", "caption": "another picture that fails at first", "id": 9}',
        '{"broken json',
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    data += '{"url": "http://img.example.test/a/10.jpg", "caption": "caf\xe9 cr\xe8me on a garden table", "id": 10}\n'.encode("cp1252")
    path = folder / "list.jsonl.gz"
    import gzip

    path.write_bytes(gzip.compress(data))
    return path


def test_list_over_loopback_proxy_accounts_for_rows_and_retry_equals_clean_run(proxy, tmp_path):
    listing = _list_file(tmp_path)
    args = ["--source", "ltip", "--input", str(listing), "--http_proxy", proxy, "--http_allow", "127.0.0.1",
            "--samples_per_shard", "4", *LOCAL]
    _Images.failing = {"/flaky/"}
    out = tmp_path / "out"
    first = run([*args, "--output", str(out)])
    rows = {r["source"]: r for r in manifest(out)}
    assert len(rows) == first["stats"]["list/n_rows"] == 11
    assert rows["list.jsonl.gz#4"]["reason"] == "duplicate" and rows["list.jsonl.gz#5"]["reason"] == "missing_caption"
    assert rows["list.jsonl.gz#6"]["reason"] == "no_caption_column" and rows["list.jsonl.gz#7"]["reason"] == "missing_url"
    assert rows["list.jsonl.gz#10"]["reason"] == "bad_json" and rows["list.jsonl.gz#8"]["reason"] == "http_error"
    assert rows["list.jsonl.gz#11"]["caption"] == "café crème on a garden table"
    assert rows["list.jsonl.gz#11"]["caption_encoding"] == "cp1252" and first["stats"]["list/n_non_utf8_caption"] == 1
    assert first["stats"]["media/n_reused_references"] == 1  # two captions of one URL: fetched once
    _Images.failing = set()
    retried = run([*args, "--output", str(out), "--retry_failed"])
    assert retried["stats"]["settle/n_retried"] == 2 and retried["stats"]["settle/n_reused"] == 4
    assert retried["stats"]["media/kept"] == 2  # only the failed items were fetched
    clean = tmp_path / "clean"
    run([*args, "--output", str(clean)])
    assert md5s(clean) == md5s(out)
    assert sum(r["status"] == "success" for r in manifest(out)) == 6


def test_align_from_real_pages_with_a_mirror(tmp_path):
    html = shared_path("html", "recipe-scrapers")
    pages = sorted(html.glob("*.html"))[:20]
    images = [p.read_bytes() for p in sorted(shared_path("images", "exif-orientation-examples").glob("*.jpg"))]
    mirror = tmp_path / "mirror"
    expected = 0
    for page in pages:
        try:
            for c in harvest(page.read_bytes(), "file://" + str(page)):
                try:
                    check_candidate(c, CaptionRules(), 200)
                except Rejected:
                    continue
                expected += 1
                target = mirror / c.src.split("://", 1)[1].split("?")[0]
                if c.src.startswith("https://") and "?" not in c.src:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(images[int(hashlib.sha256(c.src.encode()).hexdigest(), 16) % len(images)])
        except Rejected:
            pass
    assert expected > 50
    pages_dir = tmp_path / "pages"
    pages_dir.mkdir()
    for page in pages:
        (pages_dir / page.name).write_bytes(page.read_bytes())
    out = tmp_path / "align"
    dataset = run(["--source", "align", "--input", str(pages_dir / "*.html"), "--output", str(out),
                   "--mirror_dir", str(mirror), "--no_http", *LOCAL])
    stats = dataset["stats"]
    def drops(stage: str) -> int:
        return sum(v for k, v in stats.items() if k.split("/")[0] == stage and is_drop(k))

    assert stats["align_page/kept"] + drops("align_page") == 20
    rows = manifest(out)
    # every <img> accounted for, stage by stage, down to the manifest rows
    assert stats["align_page/n_candidates"] == stats["align/kept"] + drops("align")
    assert stats["align/kept"] == stats["settle/kept"] + drops("settle")
    assert stats["settle/kept"] == stats["captions/kept"] + drops("captions") == len(rows)
    assert stats["pairs/kept"] + drops("pairs") == len(rows)
    assert stats["pairs/kept"] > 20 and stats["media/kept"] >= stats["pairs/kept"] - stats.get("media/n_reused_references", 0)
    for s in samples(out):
        meta = json.loads(s["json"])
        assert 3 <= word_count(meta["caption"]) <= 20 and meta["url"].startswith("https://")


def test_vtp_from_real_videos_at_one_fps(tmp_path):
    video = shared_path("video")
    names = ["libwebm-testdata/bbb_480p_vp9_opus_1second.webm", "opencv-5.0.0.93/cup.mp4",
             "jsonize-iphone/iphone_rotated.mov", "torchcodec-resources/nasa_13013.mp4",
             "mutagen-1.48.1/truncated-64bit.mp4", "pymediainfo-7.0.1/mpeg4.mp4", "missing/nothing.mp4"]
    listing = tmp_path / "videos.csv"
    listing.write_text("path,text\n" + "".join(f"{video / n},a short clip number {i} from a test suite\n"
                                               for i, n in enumerate(names)))
    out = tmp_path / "vtp"
    dataset = run(["--source", "vtp", "--input", str(listing), "--url_col", "path", "--caption_col", "text",
                   "--output", str(out), "--no_http", *LOCAL])
    rows = manifest(out)
    assert len(rows) == len(names) == dataset["stats"]["list/n_rows"]
    by_name = {Path(r["url"]).name: r for r in rows}
    assert by_name["nothing.mp4"]["reason"] == "local_missing"
    assert by_name["cup.mp4"]["status"] == "success" and by_name["mpeg4.mp4"]["status"] != "success"
    for s in samples(out):
        meta = json.loads(s["json"])
        ts = [f["t"] for f in meta["frames"]]
        assert ts == [float(i) for i in range(len(ts))] and all(f["member"] in s for f in meta["frames"])
    one = tmp_path / "vtp1"
    run(["--source", "vtp", "--input", str(listing), "--url_col", "path", "--caption_col", "text",
         "--output", str(one), "--no_http", "--video_frames", "1", *LOCAL])
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("webdataset", data_files={"train": [str(p) for p in one.glob("*.tar")]},
                               split="train", cache_dir=str(tmp_path / "_hf"))
    assert len(ds) == sum(r["status"] == "success" for r in manifest(one)) and "000.jpg" in ds.column_names


@pytest.mark.parametrize("n_real", [0, 4])
def test_shards_of_failures_only_keep_their_manifest_but_write_no_empty_tar(tmp_path, n_real):
    """Failed rows hash into shards like successes; a shard that ends up with failures only must
    not become an empty tar (webdataset raises on one), yet its rows stay findable."""
    from m3w_builder.output.dataset import find_key

    photos = sorted(shared_path("images/exif-orientation-examples").glob("*.jpg"))[:n_real]
    paths = [str(p) for p in photos] + [str(tmp_path / f"missing-{i}.jpg") for i in range(30)]
    listing = tmp_path / "list.csv"
    listing.write_text("path,text\n" + "".join(f"{p},a photo of a landscape number {i}\n"
                                               for i, p in enumerate(paths)))
    out = tmp_path / "out"
    dataset = run(["--source", "ltip", "--input", str(listing), "--url_col", "path", "--caption_col", "text",
                   "--output", str(out), "--no_http", "--min_shards", "8", "--allow_empty", *LOCAL])
    rows = manifest(out)
    assert len(rows) == len(paths) and sum(r["status"] == "success" for r in rows) == n_real
    tars = sorted(out.glob("*.tar"))
    assert [t.name for t in tars] == sorted(s["url"] for s in dataset["shardlist"])
    for tar in tars:
        assert len(list(wds.WebDataset(str(tar), shardshuffle=False))) >= 1
    assert len(tars) <= max(n_real, 0) and len(tars) + len(dataset["failed_manifests"]) <= 8
    failed_only = {p.name for p in out.glob("*.parquet")} - {t.stem + ".parquet" for t in tars}
    assert failed_only == set(dataset["failed_manifests"]) and (n_real or failed_only)
    missing = next(r for r in rows if r["status"] != "success")
    assert find_key(out, missing["key"])["status"] == missing["status"]
    again = run(["--source", "ltip", "--input", str(listing), "--url_col", "path", "--caption_col", "text",
                 "--output", str(out), "--no_http", "--min_shards", "8", "--allow_empty", *LOCAL])
    assert again["shardlist"] == dataset["shardlist"] and again["failed_manifests"] == dataset["failed_manifests"]
