"""The M3W Beam job end to end against an in-process loop over the same library stages, on the
embedded sample crawl repeated to a few hundred pages. Both report documents per core-second
(CPU time of this process and its children), measured in the same process."""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from m3w_builder.demo.crawl import write_sample_crawl
from m3w_builder.drops import Rejected
from m3w_builder.extract.dom import extract
from m3w_builder.media.images import ImageOptions
from m3w_builder.media.process import process_media
from m3w_builder.quality.filters import filter_document
from m3w_builder.read.records import WebRecord, read_archive
from m3w_builder.samples.assemble import attach_media, build_samples
from m3w_builder.samples.tokenizer import Tokenizer, train_tokenizer
from m3w_builder.samples.windows import WindowOptions
from pipelines.m3w import run

COPIES = 8


def _cpu() -> float:
    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime


def in_process(paths: list[Path]) -> int:
    """The job's stages as a plain loop: read, extract, filter, media, tokenize, window."""
    pages, media = [], {}
    for path in paths:
        for item in read_archive(lambda p=path: open(p, "rb"), str(path)):
            if isinstance(item, WebRecord) and item.is_html:
                pages.append(item)
            elif isinstance(item, WebRecord) and item.is_media:
                media[item.url] = item.body
    docs = []
    for page in pages:
        try:
            doc = extract(page.body, page.url, content_type=page.content_type).document
            docs.append(filter_document(doc).document)
        except Rejected:
            continue
    tokenizer = Tokenizer(train_tokenizer([d.text for d in docs]))
    cache: dict[str, object] = {}
    for doc in docs:
        results = {}
        for i, node in enumerate(doc.media):
            if node.src not in cache and node.src in media:
                cache[node.src] = process_media(node.src, node.type, media[node.src], ImageOptions())
            if node.src in cache:
                results[i] = cache[node.src]
        kept_doc, kept, _ = attach_media(doc, results)
        build_samples(kept_doc, kept, tokenizer, WindowOptions(), 0)
    return len(pages)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="m3w-bench-"))
    try:
        crawl = write_sample_crawl(work / "crawl")
        paths = []
        for i in range(COPIES):  # distinct file names so each copy is read as its own archive
            copy = work / f"crawl-{i}.warc.gz"
            shutil.copy(crawl, copy)
            paths.append(copy)
        start = _cpu()
        n_loop = in_process(paths)
        loop_s = _cpu() - start
        start, wall = _cpu(), time.time()
        dataset = run(["--input", str(work / "crawl-*.warc.gz"), "--output", str(work / "out"),
                       "--direct_num_workers=1", "--no_http", "--no_report", "--no_language_id",
                       "--no_url_dedup", "--no_near_dup", "--no_image_set_dedup", "--no_paragraph_dedup",
                       "--max_url_references=0", "--max_content_documents=0"])  # only the loop's stages
        beam_s, beam_wall = _cpu() - start, time.time() - wall
        n_beam = dataset["stats"]["read/kept"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"M3W job on {COPIES} copies of the sample crawl ({n_beam} pages):")
    print(f"  in-process loop over the same stages: {n_loop / loop_s:8.1f} docs/core-s")
    print(f"  Beam job (FnApiRunner, 1 worker):     {n_beam / beam_s:8.1f} docs/core-s ({beam_wall:.1f} s wall)")
    print(f"  ratio Beam/loop:                      {(n_beam / beam_s) / (n_loop / loop_s):8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
