"""Hostile list rows of the pairs job: a row the URL parser refuses, file names with URL syntax,
local paths that are not readable plain files, still images given as videos."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from m3w_builder.drops import Rejected
from m3w_builder.pairs.align import normalize_caption
from m3w_builder.pairs.paths import local_path, local_url
from m3w_builder.read.local_files import read_local_file
from pipelines.pairs import PairsOptions, run
from pipelines.pairs_stages import ReadPairList, read_local
from pipelines.stages import Kept
from tests.conftest import shared_path
from tests.loopback import QuietHandler, serving

CAPTION = "a red bicycle leaning on a garden wall"


def _items(path) -> list:
    cfg = PairsOptions(source="ltip", output=str(path.parent / "out"))
    return [out.item for out in ReadPairList(cfg)(str(path)) if isinstance(out, Kept)]


def test_a_row_with_an_unparsable_url_fails_alone(tmp_path):
    rows = [{"url": "http://[::1/x.jpg", "caption": CAPTION}, {"url": "http://a.test/1.jpg", "caption": CAPTION}]
    listing = tmp_path / "list.jsonl"
    listing.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = _items(listing)
    assert [i.status for i in items] == ["error_ValueError", "pending"]
    assert items[0].url == "http://[::1/x.jpg" and "IPv6" in items[0].detail


def test_local_files_named_with_url_syntax_are_read(tmp_path):
    names = ["hash#frag.jpg", "q?uery.jpg", "pct%20x.jpg", "sp ace.jpg", "new\nline.jpg", "tab\t.jpg"]
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
    listing = tmp_path / "list.jsonl"
    listing.write_text("".join(json.dumps({"url": n, "caption": CAPTION}) + "\n" for n in names))
    urls = [i.url for i in _items(listing)]
    assert [local_path(u) for u in urls] == [str(tmp_path / n) for n in names]
    assert [read_local(u, 1 << 20).item[1].body for u in urls] == [n.encode() for n in names]
    assert local_url(urls[0], str(listing)) == urls[0]  # a file:// URL is taken as it is written


@pytest.mark.parametrize("flags,message", [
    (["--samples_per_shard", "0"], "--samples_per_shard 0: must be at least 1"),
    (["--min_shards", "-1"], "--min_shards -1: must be at least 0"),
    (["--video_frames", "-2"], "--video_frames -2: must be at least 0"),
    (["--min_caption_words", "10", "--max_caption_words", "2"], "--min_caption_words 10 is above --max_caption_words 2"),
    (["--min_aspect", "5", "--max_aspect", "1"], "need 0 < min <= max"),
    (["--jpeg_quality", "101"], "--jpeg_quality 101: must be at most 100"),
    (["--http_max_backoff", "nan"], "--http_max_backoff nan: must be a finite number"),
    (["--image_size", str(2**70)], f"--image_size {2**70}: must be at most {2**63 - 1}"),
])
def test_sizes_no_run_can_honour_stop_the_job_before_it_starts(tmp_path, flags, message):
    listing = tmp_path / "list.jsonl"
    listing.write_text(json.dumps({"url": "http://a.test/1.jpg", "caption": CAPTION}) + "\n")
    with pytest.raises(SystemExit) as stopped:
        run(["--source", "ltip", "--input", str(listing), "--output", str(tmp_path / "out"), *flags])
    assert str(stopped.value).startswith("python -m pipelines.pairs: error: --") and message in str(stopped.value)
    assert not (tmp_path / "out").exists()


def _hostile_paths(tmp_path: Path) -> dict[str, str]:
    """name → a local path that is not a readable plain file, made under `tmp_path`."""
    os.mkfifo(tmp_path / "fifo.mp4")  # no writer: a blocking open would wait forever
    (tmp_path / "folder.mp4").mkdir()
    (tmp_path / "dangling.mp4").symlink_to(tmp_path / "gone.mp4")
    (tmp_path / "loop.mp4").symlink_to(tmp_path / "loop.mp4")
    (tmp_path / "file.mp4").write_bytes(b"x")
    return {"missing": str(tmp_path / "nothing.mp4"), "fifo": str(tmp_path / "fifo.mp4"),
            "folder": str(tmp_path / "folder.mp4"), "device": "/dev/zero", "dangling": str(tmp_path / "dangling.mp4"),
            "loop": str(tmp_path / "loop.mp4"), "under_a_file": str(tmp_path / "file.mp4" / "x.mp4")}


LOCAL_REASONS = {"missing": "local_missing", "fifo": "local_not_a_file", "folder": "local_not_a_file",
                 "device": "local_not_a_file", "dangling": "local_broken_link", "loop": "local_broken_link",
                 "under_a_file": "local_missing"}


@pytest.mark.timeout(60)
def test_local_paths_that_are_not_plain_files_fail_with_what_they_are(tmp_path):
    """A missing file was `http_404`; a FIFO blocked the worker and /dev/zero filled its memory."""
    for name, path in _hostile_paths(tmp_path).items():
        with pytest.raises(Rejected) as e:
            read_local_file(path, 1 << 20)
        assert e.value.reason == LOCAL_REASONS[name], (name, e.value)
    with pytest.raises(Rejected) as e:
        read_local_file("/tmp/a\x00b.jpg", 1 << 20)
    assert e.value.reason == "local_bad_path"
    big = tmp_path / "big.jpg"
    big.write_bytes(bytes(2000))
    with pytest.raises(Rejected) as e:
        read_local_file(str(big), 1000)
    assert e.value.reason == "too_large_bytes"
    assert read_local_file(str(big), 2000) == bytes(2000)
    if os.geteuid() != 0:  # root reads any file
        big.chmod(0)
        with pytest.raises(Rejected) as e:
            read_local_file(str(big), 2000)
        assert e.value.reason == "local_unreadable"


@pytest.mark.timeout(300)
def test_vtp_job_names_stills_and_bad_local_paths_and_keeps_short_clips(tmp_path):
    """The job end to end (FnApiRunner): a still image given as a video was a one-frame clip and a
    missing file `http_404`; every row now has its true reason, and real short clips are kept."""
    images, video = shared_path("images"), shared_path("video")
    media = {"still.jpg": images / "exif-orientation-examples/Landscape_3.jpg", "still.png": images / "puremagic/test.png",
             "still.heic": images / "exif-samples/heic__IMG_5195.HEIC", "one-frame.gif": images / "puremagic/test.gif",
             "animated.gif": images / "pillow-tests/chi.gif", "second.webm": video / "libwebm-testdata/bbb_480p_vp9_opus_1second.webm",
             "cup.mp4": video / "opencv-5.0.0.93/cup.mp4"}
    bad = _hostile_paths(tmp_path)
    listing = tmp_path / "videos.jsonl"
    names = list({**media, **bad})
    rows = [{"url": str(path), "caption": f"a test clip number {i}"} for i, path in enumerate({**media, **bad}.values())]
    listing.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "vtp"
    dataset = run(["--source", "vtp", "--input", str(listing), "--output", str(out), "--no_http",
                   "--direct_num_workers=1"])
    got = {names[int(r["caption"].split()[-1])]: r["reason"] for p in sorted(out.glob("*.parquet"))
           for r in pq.read_table(p).to_pylist()}
    assert got == {"still.jpg": "not_a_video", "still.png": "not_a_video", "still.heic": "not_a_video",
                   "one-frame.gif": "not_a_video", "animated.gif": "success", "second.webm": "success",
                   "cup.mp4": "success", **LOCAL_REASONS}
    stats = dataset["stats"]
    assert stats["media/not_a_video"] == 4 and stats["media/local_not_a_file"] == 3 and stats["pairs/kept"] == 3
    rejects = [r for p in (out / "rejects").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    detail = {r["url"].rsplit("/", 1)[-1]: r["detail"] for r in rejects if r["stage"] == "media"}
    assert "a FIFO" in detail["fifo.mp4"] and "still image (jpeg_pipe)" in detail["Landscape_3.jpg"]


def test_local_paths_that_would_name_another_file_are_refused(tmp_path):
    """From a list that is not a local file, `imgs/a.jpg` was read as `/a.jpg` (the folder became a
    file URL's host) and absolute paths as the worker's files; `file://host/x` lost its host; a
    scheme-relative `//cdn/x.jpg` was read as a local path."""
    from tests import memfs

    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    rows = [{"url": u, "caption": CAPTION} for u in ("imgs/a.jpg", str(photo), f"file://files.test{photo}",
                                                      "//cdn.test/a.jpg", f"file://localhost{photo}")]
    text = "".join(json.dumps(r) + "\n" for r in rows).encode()
    remote = f"{memfs.SCHEME}://lists/list.jsonl"
    memfs.OBJECTS[remote] = text
    cfg = PairsOptions(source="ltip", output=str(tmp_path / "out"))
    got = [(o.item.status, o.item.detail) for o in ReadPairList(cfg)(remote) if isinstance(o, Kept)]
    assert [s for s, _d in got] == ["local_path_refused", "local_path_refused", "local_path_refused",
                                    "relative_url", "local_path_refused"]
    assert "not a local file" in got[0][1]
    listing = tmp_path / "list.jsonl"
    listing.write_bytes(text)
    local = [(i.status, i.url) for i in _items(listing)]
    assert local[1:] == [("pending", f"file://{photo}"), ("local_path_refused", f"file://files.test{photo}"),
                         ("relative_url", "//cdn.test/a.jpg"), ("pending", f"file://{photo}")]


@pytest.mark.parametrize("raw, stored", [
    ("می\u200cخواهم برم", "می\u200cخواهم برم"),  # ZWNJ spells the Persian word: a space made two words
    ("family \U0001F468\u200d\U0001F469\u200d\U0001F467", "family \U0001F468\u200d\U0001F469\u200d\U0001F467"),
    ("an ex\u00adample of hyphen\u00adation", "an example of hyphenation"),
    ("zero\u200bwidth and a \ufeffBOM", "zerowidth and a BOM"), ("a \u202eright-to-left override", "a right-to-left override"),
    ("icon \ue001 font", "icon font"), ("tab\tnew\nline nul\x00x", "tab new line nul x"),
])
def test_captions_keep_their_spelling_and_lose_invisible_characters(raw, stored):
    assert normalize_caption(raw) == stored


class _OneImage(QuietHandler):
    """Serves one real JPEG at every path and remembers whether a request carried credentials."""

    body = b""
    authorized: list[str] = []

    def do_GET(self):
        self.authorized.append(self.headers.get("Authorization") or "")
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.mark.timeout(300)
def test_passwords_in_list_urls_are_never_written_out(tmp_path):
    """A `user:password@` in a list URL was stored in the manifest, the sample json and the rejects."""
    _OneImage.body = sorted(shared_path("images", "exif-orientation-examples").glob("*.jpg"))[0].read_bytes()
    with serving(_OneImage) as port:
        rows = [{"url": f"http://alice:s3cr3tpw@127.0.0.1:{port}/a.jpg", "caption": CAPTION},
                {"url": f"http://bob:s3cr3tpw@127.0.0.1:{port}/gone", "caption": ""}]
        listing = tmp_path / "list.jsonl"
        listing.write_text("".join(json.dumps(r) + "\n" for r in rows))
        out = tmp_path / "out"
        result = run(["--source", "ltip", "--input", str(listing), "--output", str(out), "--http_allow", "127.0.0.1",
                      "--direct_num_workers=1"])
    assert result["stats"]["media/kept"] == 1 and set(_OneImage.authorized) == {""}  # robots.txt and the image
    written = [p for p in out.rglob("*") if p.is_file()]
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".tar":
            with tarfile.open(path) as tar:
                data = b"".join(tar.extractfile(m).read() for m in tar if m.name.endswith(".json"))
        assert b"s3cr3tpw" not in data and b"alice" not in data and b"bob" not in data, path
    urls = {r["url"] for r in pq.read_table(next(out.glob("*.parquet"))).to_pylist()}
    assert urls == {f"http://127.0.0.1:{port}/a.jpg", f"http://127.0.0.1:{port}/gone"}


@pytest.mark.timeout(120)
def test_a_list_glob_counts_what_it_matches_that_is_no_file(tmp_path):
    """A FIFO a list glob matched blocked the list reader for ever; a folder or broken link it
    matched vanished uncounted (Beam's match lists neither)."""
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps({"url": "http://a.test/1.jpg", "caption": CAPTION}) + "\n")
    os.mkfifo(folder / "fifo.jsonl")
    (folder / "dir.jsonl").mkdir()
    (folder / "gone.jsonl").symlink_to(folder / "nothing.jsonl")
    out = tmp_path / "out"
    stats = run(["--source", "ltip", "--input", str(folder / "*.jsonl"), "--output", str(out), "--no_http",
                 "--direct_num_workers=1", "--no_report", "--allow_empty"])["stats"]
    assert stats["inputs/local_not_a_file"] == 2 and stats["inputs/local_broken_link"] == 1
    assert stats["list/n_rows"] == 1
    rows = {(r["reason"], r["id"].rsplit("/", 1)[-1]) for r in pq.read_table(out / "rejects").to_pylist()
            if r["stage"] == "inputs"}
    assert rows == {("local_not_a_file", "fifo.jsonl"), ("local_not_a_file", "dir.jsonl"),
                    ("local_broken_link", "gone.jsonl")}
