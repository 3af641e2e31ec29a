"""The scale benchmark's input generator: deterministic, file-granular WARCs of real pages, each copy
its own URL with ~10% of its words replaced, and real photos that resolve through the mirror."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from m3w_builder.extract.dom import extract
from m3w_builder.media.fetch import MirrorResolver
from m3w_builder.read.records import WebRecord, read_archive
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "bench_scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _records(warc_dir: Path) -> list[WebRecord]:
    return [r for p in sorted(warc_dir.glob("*.warc.gz")) for r in read_archive(lambda p=p: open(p, "rb"), str(p))
            if isinstance(r, WebRecord)]


def _text_words(bench, record: WebRecord) -> list[str]:
    """The words of a page outside its tags (the ones the generator may replace)."""
    parts = bench._TOKENS.split(record.body.decode("utf-8", "replace"))
    return [p for p in parts[1::2] if not p.startswith("<")]


def test_generated_input_is_deterministic_distinct_and_resolvable(tmp_path) -> None:
    shared_path("html")
    bench = _bench()
    assert len(bench.page_files()) == 437
    pages, pool = bench.real_pages(every=20), bench.photo_pool()  # 22 pages, each written twice
    assert len(pages) == 22 and len(pool) >= 20
    n = 2 * len(pages)
    first, mirror, n_files = bench.write_input(n, tmp_path / "a", pages, pool)
    again, _, _ = bench.write_input(n, tmp_path / "b", pages, pool)
    digest = lambda d: [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())]
    assert n_files == 4 and digest(first) == digest(again)
    records = _records(first)
    assert len(records) == n and len({r.url for r in records}) == n
    resolver = MirrorResolver(mirror)
    photos = utf8 = 0
    for page, original, copy in zip(pages, records[:len(pages)], records[len(pages):]):
        a, b = _text_words(bench, original), _text_words(bench, copy)
        if page.encoding == "utf-8" and len(a) > 200:  # (pages in legacy encodings keep their words)
            changed = sum(x != y for x, y in zip(a, b)) / len(a)
            assert 0.1 < changed < 0.3, (original.url, changed)  # each copy has ~10% replaced, independently
            utf8 += 1
        doc = extract(copy.body, copy.url, content_type=copy.content_type).document
        srcs = [m.src for m in doc.media if m.src.startswith(f"https://{bench.PHOTO_HOST}/")]
        assert len(srcs) <= bench.PHOTOS_PER_PAGE
        photos += sum(resolver.read(src) is not None for src in srcs)
    assert utf8 >= len(pages) // 2
    assert photos >= 2 * len(pages)  # most pages show real photos, and every one is in the mirror


def test_every_page_and_media_item_of_a_larger_generated_input_is_kept_or_written(tmp_path) -> None:
    """kept + dropped = what came in, stage by stage, and a rejects row per drop, on ~220 generated
    real-web pages with ~6 mirrored photos each (the embedded sample is too tidy to find a leak)."""
    import pyarrow.parquet as pq

    from pipelines.m3w import run
    from pipelines.progress import is_drop

    shared_path("html")
    bench = _bench()
    pages, pool = bench.real_pages(every=4), bench.photo_pool()
    warc_dir, mirror, _ = bench.write_input(2 * len(pages), tmp_path / "in", pages, pool)
    out = tmp_path / "out"
    stats = run(["--input", str(warc_dir / "*.warc.gz"), "--output", str(out), "--mirror_dir", str(mirror),
                 "--no_http", "--no_report", "--max_content_documents=0", "--direct_num_workers=1"])["stats"]

    def drops(stage: str) -> int:
        return sum(v for k, v in stats.items() if k.split("/")[0] == stage and is_drop(k))

    assert stats["read/kept"] == 2 * len(pages)
    chain = ["read", "extract", "filter", "language", "url_dedup", "near_dup", "image_set_dedup", "paragraph_dedup",
             "media_requests", "assemble"]
    for before, stage in zip(chain, chain[1:]):
        assert stats[f"{stage}/kept"] + drops(stage) == stats[f"{before}/kept"], stage
    assert stats["assemble/kept"] > 100 and stats["media/kept"] > 500
    rows = pq.read_table(out / "rejects").to_pylist()
    # (windows cut short of images are counted `window/too_few_images`, not written; the media
    # elements past a page's limit are counted each, written once per page)
    over_limit = stats.get("extract_media/media_over_page_limit", 0)
    over_pages = sum(1 for r in rows if r["reason"] == "media_over_page_limit")
    assert (over_limit == 0) == (over_pages == 0)
    for stage in [*chain, "extract_media", "media", "assemble_media", "window"]:
        written = sum(1 for r in rows if r["stage"] == stage)
        counted = drops(stage) - (stats.get("window/too_few_images", 0) if stage == "window" else 0)
        if stage == "extract_media":
            counted -= over_limit - over_pages
        assert written == counted, stage
    assert drops("extract_media") > 1000  # logos, teasers, images outside the content: each a row


def test_the_job_measured_is_the_job_alone(tmp_path, capsys) -> None:
    """The job child reports the shuffle sizes of the graph the runner ran without translating the
    pipeline once more (a second translation cost ~0.6 CPU-s that the bench billed to the job)."""
    import json

    import apache_beam as beam

    shared_path("html")
    bench = _bench()
    warc_dir, mirror, _ = bench.write_input(8, tmp_path / "in", bench.real_pages(every=40), bench.photo_pool())
    translations = []
    original = beam.Pipeline.to_runner_api

    def counted(self, *args, **kwargs):
        translations.append(1)
        return original(self, *args, **kwargs)

    flags = ["--input", str(warc_dir / "*.warc.gz"), "--mirror_dir", str(mirror), "--direct_num_workers=1",
             *bench.JOB_FLAGS]
    beam.Pipeline.to_runner_api = counted
    try:
        from pipelines.m3w import run

        run([*flags, "--output", str(tmp_path / "job")])
        alone = len(translations)
        translations.clear()
        bench.job_child([*flags, "--output", str(tmp_path / "bench")])
    finally:
        beam.Pipeline.to_runner_api = original
    assert len(translations) == alone
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["samples"] > 0 and "SmallestHashes/Top(5000)" in report["shuffle"]
    assert any(name.endswith("/Partitions/Spread") for name in report["shuffle"])


TREE = """
import json, os, time
shared = bytearray(SIZE)  # touched here, before the forks: every fork maps the same pages
for i in range(0, SIZE, 4096):
    shared[i] = 1


def fork(then):
    pid = os.fork()
    if pid == 0:
        then()
        os._exit(0)
    return pid


def pool():  # like pipelines.warm_workers: the launcher forks a pool, the pool forks the workers
    for pid in [fork(lambda: time.sleep(1.5)) for _ in range(2)]:
        os.waitpid(pid, 0)


os.waitpid(fork(pool), 0)
print(json.dumps({}))
"""


def test_forked_workers_are_found_and_their_shared_pages_counted_once(tmp_path) -> None:
    """Workers forked from the launcher keep its command line, and their RSS holds the pages they
    share with it: the bench finds them as workers and sums PSS beside RSS."""
    bench = _bench()
    size = 200 * 2**20
    script = tmp_path / "tree.py"
    script.write_text(TREE.replace("SIZE", str(size)))
    _, peaks, _, _ = bench.measured([sys.executable, str(script)], tmp_path / "tree.log")
    assert len(peaks.workers) == 2
    assert peaks.total > 3.5 * size  # the launcher, the pool and both workers each count the buffer
    assert peaks.total_pss < 1.5 * size  # once in all
    assert all(uss < size / 2 for uss in peaks.workers_uss.values())
