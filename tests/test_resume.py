"""Resume by input store: a run killed after some stores finished, rerun with the same options,
skips the finished store passes (their markers replay counters and outputs) and ends with the
shards and stats of a clean run; a marker written with other options is not trusted."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.m3w import run
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ["--direct_num_workers=1", "--no_http", "--no_report"]
RESUMED = "n_resumed_stores"

# Runs the job in a child process whose shard pass dies (os._exit, like a kill) on its second store.
KILL_ON_SECOND_STORE = """
import os, sys
from pipelines import m3w
real = m3w.ShardPass.run
seen = []
def dying(self, store, *rest):
    seen.append(store)
    if len(seen) == 2:
        os._exit(9)
    yield from real(self, store, *rest)
m3w.ShardPass.run = dying
m3w.run(sys.argv[1:])
"""


def md5s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.suffix in (".tar", ".idx", ".parquet")}


def clean(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if not k.endswith(RESUMED)}


@pytest.fixture(scope="module")
def crawls(tmp_path_factory) -> tuple[list[Path], Path]:
    """4 WARC files of distinct real pages with mirrored photos (the scale benchmark's generator)."""
    from tests.test_bench_scale import _bench

    shared_path("html")
    bench = _bench()
    pages, pool = bench.real_pages(every=16), bench.photo_pool()
    warc_dir, mirror, _ = bench.write_input(2 * len(pages), tmp_path_factory.mktemp("crawls"), pages, pool)
    return sorted(warc_dir.glob("*.warc.gz")), mirror


def test_killed_run_resumes_by_store_and_equals_a_clean_run(crawls, tmp_path):
    files, mirror = crawls
    args = [a for p in files for a in ("--input", str(p))] + LOCAL + ["--mirror_dir", str(mirror)]
    reference = tmp_path / "reference"
    clean_run = run([*args, "--output", str(reference)])
    assert not (reference / "_work").exists()  # intermediate files go once the dataset is published
    killed = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILL_ON_SECOND_STORE, *args, "--output", str(killed)], cwd=ROOT,
                          capture_output=True, timeout=600)
    assert proc.returncode == 9, proc.stderr.decode()[-2000:]
    assert not (killed / "dataset.json").exists()
    markers = {p.parent.name: [] for p in (killed / "_work").glob("*/*.done")}
    for p in (killed / "_work").glob("*/*.done"):
        markers[p.parent.name].append(p.stem)
    assert len(markers["documents"]) == len(markers["media"]) == len(files) and len(markers["shards"]) == 1
    resumed = run([*args, "--output", str(killed)])
    stats = resumed["stats"]
    assert stats["read/n_resumed_stores"] == stats["media/n_resumed_stores"] == len(files)
    assert stats["shard/n_resumed_stores"] == 1
    assert clean(stats) == clean(clean_run["stats"])
    assert md5s(killed) == md5s(reference)
    assert resumed["shardlist"] == clean_run["shardlist"]


def test_markers_of_other_options_are_not_replayed(crawls, tmp_path):
    """A killed run leaves markers; a run with other options into the same folder redoes every
    store (the markers carry the fingerprint) and equals a clean run of its own options."""
    files, mirror = crawls
    inputs = [a for p in files[:2] for a in ("--input", str(p))] + ["--mirror_dir", str(mirror)]
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", KILL_ON_SECOND_STORE, *inputs, *LOCAL, "--output", str(out)],
                          cwd=ROOT, capture_output=True, timeout=600)
    assert proc.returncode == 9 and list((out / "_work").glob("shards/*.done"))
    other = [*inputs, *LOCAL, "--max_tokens", "128"]
    changed = run([*other, "--output", str(out)])
    reference = run([*other, "--output", str(tmp_path / "reference")])
    assert RESUMED not in json.dumps(changed["stats"])
    assert changed["stats"] == reference["stats"] and md5s(out) == md5s(tmp_path / "reference")


def test_a_rerun_with_other_decision_partitions_resumes_and_makes_the_same_shards(crawls, tmp_path):
    """`--decision_partitions` cuts the corpus-level groupings, it does not change them: a killed run
    rerun with another count resumes its stores (no refusal, no redo) and equals a clean run."""
    files, mirror = crawls
    args = [a for p in files for a in ("--input", str(p))] + LOCAL + ["--mirror_dir", str(mirror)]
    reference = run([*args, "--output", str(tmp_path / "reference")])
    killed = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILL_ON_SECOND_STORE, *args, "--output", str(killed)], cwd=ROOT,
                          capture_output=True, timeout=600)
    assert proc.returncode == 9, proc.stderr.decode()[-2000:]
    resumed = run([*args, "--decision_partitions", "3", "--output", str(killed)])
    assert resumed["stats"]["read/n_resumed_stores"] == len(files)
    assert clean(resumed["stats"]) == clean(reference["stats"])
    assert md5s(killed) == md5s(tmp_path / "reference")


def test_media_reference_counts_are_corpus_wide_across_stores(tmp_path):
    """70 single pages (two stores of ≤ 64) share one photo: 64 + 6 references, each store under
    the limit of 50, the corpus over it, so every reference is `url_too_frequent`; each page's own
    photo resolves from the mirror."""
    import shutil

    photos = sorted(shared_path("images", "exif-orientation-examples").glob("Landscape_*.jpg"))
    pages, mirror = tmp_path / "pages", tmp_path / "mirror" / "img.example"
    pages.mkdir()
    mirror.mkdir(parents=True)
    shutil.copyfile(photos[0], mirror / "shared.jpg")
    words = ("river bread market morning town farmer cheese water house story people year city day "
             "garden bridge window harbour lantern orchard").split()
    for i in range(70):
        shutil.copyfile(photos[1 + i % (len(photos) - 1)], mirror / f"own-{i}.jpg")
        text = " ".join(words[(i * 7 + j * 3) % len(words)] for j in range(160))
        (pages / f"page-{i:03d}.html").write_text(
            f"<html><head><title>Walk {i}</title></head><body><article><h1>Walk number {i}</h1>"
            f"<p>{text}.</p><figure><img src='https://img.example/own-{i}.jpg' width='640' height='480'>"
            f"<figcaption>The view on walk {i}</figcaption></figure><p>{text[::-1]}.</p>"
            f"<figure><img src='https://img.example/shared.jpg' width='640' height='480'>"
            f"<figcaption>The harbour</figcaption></figure></article></body></html>")
    out = tmp_path / "out"
    stats = run(["--input", str(pages / "*.html"), "--output", str(out), "--mirror_dir", str(tmp_path / "mirror"),
                 "--max_url_references", "50", "--max_content_documents", "0", "--min_doc_images", "1",
                 "--min_window_images", "1", "--no_near_dup", "--allow_empty", *LOCAL])["stats"]
    assert stats["read/n_html_files"] == 70
    kept_docs = stats["media_requests/kept"]
    assert kept_docs > 50
    assert stats["media/url_too_frequent"] == 2  # the shared URL, resolved (and refused) once per store
    assert stats["assemble_media/url_too_frequent"] == kept_docs
    assert stats["media/n_from_mirror"] == kept_docs  # every page's own photo
