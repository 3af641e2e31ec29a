"""How the M3W job scales with the corpus: CPU per page, peak memory per process, shuffle per page.

    python bench/bench_scale.py --fast                 # 1k pages (a CI-style smoke run)
    python bench/bench_scale.py --sizes 1000,4000      # chosen sizes
    python bench/bench_scale.py                        # 1k, 4k, 16k, 64k (by hand: hours of CPU)
    python bench/bench_scale.py --sizes 16000,64000 --loop_up_to 4000   # large sizes, the loop measured at 4k

The input is generated deterministically from ../shared/data: the 437 real pages of `html/`, each
copy under its own URL (`https://c{k}.{host}/...`) with ~10% of its words replaced (UTF-8 pages;
pages in legacy encodings keep their words) so copies are not near-duplicates, and up to 6 real
photos of `images/` per page, placed after its paragraphs (`<figure><img>`), each URL its own file in
a `--mirror_dir` (hard links into one copy of the photos). Pages go into several `.warc.gz` files
(Common Crawl layout: `response` records with HTTP headers) so the input is file-granular.

Per size it runs the real job as a user does (`python -m pipelines.m3w --no_http --mirror_dir ...`,
the default local runner, 2 workers, `--max_content_documents=0` because a few dozen photos shared by
thousands of pages would otherwise all be dropped as frequent content, `--no_report`) while psutil
samples the memory of the launcher and of each worker process, and then an in-process loop over the
same library stages on the same files. It prints CPU ms/page of both, peak RSS and USS per process,
the process tree's peak summed RSS and summed PSS (workers forked from the launcher share its pages:
the RSS sum counts each shared page once per process, the PSS sum once in all), shuffle bytes per
page (the FnApiRunner's sampled byte sizes of every GroupByKey input) and the output counts.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import itertools
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SIZES = (1000, 4000, 16000, 64000)
FAST_SIZES = (1000,)
WORKERS = 2
PAGES_PER_FILE = 1000  # and at least 4 files per size
REPLACED_WORDS = 0.10
PHOTOS_PER_PAGE = 6
PHOTO_HOST = "photos.bench.example"
GZIP_LEVEL = 1  # generation speed; the job's decompression costs about the same at any level
SAMPLE_S = 0.25  # psutil sampling period
JOB_FLAGS = ["--no_http", "--no_report", "--max_content_documents=0"]

_TOKENS = re.compile(r"(<[^>]*>|\w+)")  # tags (kept whole) and words (replaceable)
_PARAGRAPH_END = re.compile(r"</p\s*>", re.IGNORECASE)


@dataclass
class Page:
    """One real page, cut at its chosen paragraph ends into segments of tokens."""

    url: str
    content_type: str
    encoding: str  # "utf-8" (words replaceable) or "latin-1" (bytes kept as they are)
    segments: list[list[str]]  # photos go between segments
    words: list[list[int]]  # indices of the replaceable words of each segment


@dataclass
class Photo:
    name: str
    width: int
    height: int


def page_files() -> list[Path]:
    """The 437 pages of ../shared/data/html (ground-truth `*.expected.*` files skipped)."""
    return [p for p in sorted((SHARED / "html").rglob("*")) if p.is_file() and ".expected" not in p.name
            and p.suffix.lower() in (".html", ".htm", ".xhtml")]


def real_pages(every: int = 1) -> list[Page]:
    """Every `every`-th real page, with its URL and HTTP Content-Type where the crawl recorded them."""
    index = {}
    for line in (SHARED / "html" / "warc-extracted" / "index.jsonl").read_text().splitlines():
        entry = json.loads(line)
        index[entry["file"]] = entry
    pages = []
    for path in page_files()[::every]:
        entry = index.get(path.name) if path.parent.name == "warc-extracted" else None
        url = entry["url"] if entry else f"https://www.{path.parent.name}.example/{path.stem}/"
        content_type = (entry or {}).get("http_content_type") or "text/html"
        pages.append(_page(path.read_bytes(), url, content_type))
    return pages


def _page(body: bytes, url: str, content_type: str) -> Page:
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = body.decode("latin-1"), "latin-1"  # byte-exact; `</p>` is ASCII in every encoding
    ends = [m.end() for m in _PARAGRAPH_END.finditer(text)]
    if len(ends) > PHOTOS_PER_PAGE:  # spread the photos over the page
        step = len(ends) / PHOTOS_PER_PAGE
        ends = [ends[int(i * step)] for i in range(PHOTOS_PER_PAGE)]
    cuts = [0, *ends, len(text)]
    segments, words = [], []
    for start, end in itertools.pairwise(cuts):
        parts = _TOKENS.split(text[start:end])
        segments.append(parts)
        words.append([i for i in range(1, len(parts), 2) if encoding == "utf-8" and not parts[i].startswith("<")])
    return Page(url, content_type, encoding, segments, words)


def photo_pool() -> list[Photo]:
    """Real photos: JPEGs that decode, at least 200 px on the short side, at most 2048 on the long."""
    photos = []
    for line in (SHARED / "MANIFEST-images.jsonl").read_text().splitlines():
        row = json.loads(line)
        w, h = row.get("size") or (0, 0)
        if row.get("decode") == "ok" and row.get("format") == "JPEG" and min(w, h) >= 200 and max(w, h) <= 2048 \
                and 0.5 <= w / h <= 2.0:
            photos.append(Photo(row["file"], w, h))
    return photos


def _copy(page: Page, k: int, seed: int, vocabulary: list[str], pool: list[Photo]) -> tuple[str, bytes, list]:
    """Copy k of a page: its URL, body and the (mirror path, photo) of each image it shows."""
    rng = random.Random(seed)
    scheme, rest = page.url.split("://", 1)
    host, _, path = rest.partition("/")
    url = f"{scheme}://c{k}.{host.removeprefix('www.')}/{path}"
    photos = rng.sample(pool, min(PHOTOS_PER_PAGE, len(page.segments) - 1))
    out, links = [], []
    for i, (parts, words) in enumerate(zip(page.segments, page.words)):
        parts = list(parts)
        chosen = rng.sample(words, round(len(words) * REPLACED_WORDS))
        for j, word in zip(chosen, rng.choices(vocabulary, k=len(chosen))):
            parts[j] = word
        out.append("".join(parts))
        if i < len(photos):
            photo = photos[i]
            rel = f"{seed}/{i}.jpg"
            out.append(f'<figure><img src="https://{PHOTO_HOST}/{rel}" width="{photo.width}" '
                       f'height="{photo.height}" alt="photo {i + 1} of the page"></figure>')
            links.append((rel, photo))
    return url, "".join(out).encode(page.encoding), links


def write_input(n_pages: int, folder: Path, pages: list[Page], pool: list[Photo]) -> tuple[Path, Path, int]:
    """`folder/warc/*.warc.gz` with `n_pages` pages and `folder/mirror`; returns (warc dir, mirror, files)."""
    warc_dir, mirror = folder / "warc", folder / "mirror"
    warc_dir.mkdir(parents=True)
    originals = mirror / "_photos"
    originals.mkdir(parents=True)
    for photo in pool:
        shutil.copyfile(SHARED / photo.name, originals / Path(photo.name).name)
    vocabulary = sorted({p[j] for page in pages for parts, words in zip(page.segments, page.words)
                         for p in [parts] for j in words[:50] if p[j].isascii() and p[j].isalpha()})
    n_files = max(4, -(-n_pages // PAGES_PER_FILE))
    per_file = -(-n_pages // n_files)
    for f in range(n_files):
        with open(warc_dir / f"bench-{f:05d}.warc.gz", "wb") as out:
            for i in range(f * per_file, min(n_pages, (f + 1) * per_file)):
                page = pages[i % len(pages)]
                url, body, links = _copy(page, i // len(pages), i, vocabulary, pool)
                headers = StatusAndHeaders("200 OK", [("Content-Type", page.content_type),
                                                      ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
                warc_headers = {"WARC-Date": f"2024-02-{1 + i % 28:02d}T00:00:00Z",
                                "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>"}
                record = io.BytesIO()  # one gzip member per record, as Common Crawl writes them
                writer = WARCWriter(record, gzip=False)
                writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                              http_headers=headers, warc_headers_dict=warc_headers))
                out.write(gzip.compress(record.getvalue(), compresslevel=GZIP_LEVEL, mtime=0))
                for rel, photo in links:
                    target = mirror / PHOTO_HOST / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.link(originals / Path(photo.name).name, target)
    return warc_dir, mirror, n_files


@dataclass
class Peaks:
    """Peak RSS (bytes) per process of a sampled process tree, and the tree's CPU seconds."""

    launcher: int = 0
    workers: dict[int, int] = field(default_factory=dict)  # Beam SDK worker processes
    workers_uss: dict[int, int] = field(default_factory=dict)  # their pages of their own (not shared)
    others: int = 0  # any other descendant (largest)
    total: int = 0  # sum of RSS: counts a page shared by forked processes once per process
    total_pss: int = 0  # sum of PSS: each shared page split among its sharers (what the tree holds)
    cpu: dict[int, tuple[float, float]] = field(default_factory=dict)  # pid → (user, system)

    def system_share(self) -> float:
        user, system = sum(c[0] for c in self.cpu.values()), sum(c[1] for c in self.cpu.values())
        return system / (user + system) if user + system else 0.0


def _sample(root: psutil.Process, peaks: Peaks, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        total = total_pss = 0
        for proc in tree:
            try:
                memory = proc.memory_full_info()
                times = proc.cpu_times()
            except psutil.Error:
                continue
            total += memory.rss
            total_pss += memory.pss
            peaks.cpu[proc.pid] = (times.user, times.system)
            if proc.pid == root.pid:
                peaks.launcher = max(peaks.launcher, memory.rss)
            elif proc.pid in peaks.workers or _is_worker(proc, root):
                peaks.workers[proc.pid] = max(peaks.workers.get(proc.pid, 0), memory.rss)
                peaks.workers_uss[proc.pid] = max(peaks.workers_uss.get(proc.pid, 0), memory.uss)
            else:
                peaks.others = max(peaks.others, memory.rss)
        peaks.total = max(peaks.total, total)
        peaks.total_pss = max(peaks.total_pss, total_pss)
        stop.wait(SAMPLE_S)


def _is_worker(proc: psutil.Process, root: psutil.Process) -> bool:
    """A Beam SDK worker: Beam's `sdk_worker_main` process, or a worker forked by the launcher's
    pool (`pipelines.warm_workers`: the launcher's command line, its parent the pool, not the launcher)."""
    try:
        cmdline = proc.cmdline()
        if proc.name().startswith("python") and any("sdk_worker" in part for part in cmdline):
            return True
        return cmdline == root.cmdline() and proc.ppid() != root.pid
    except psutil.Error:
        return False


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(cmd: list[str], log: Path) -> tuple[dict, Peaks, float, float]:
    """Run `cmd` (which prints one JSON line last; its stderr goes to `log`), sampling its process
    tree. Returns (its JSON, peaks, CPU seconds of the tree, wall seconds)."""
    cpu0, wall0 = _children_cpu(), time.time()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_GCE_CHECK": "True"}
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        peaks, stop = Peaks(), threading.Event()
        sampler = threading.Thread(target=_sample, args=(psutil.Process(proc.pid), peaks, stop), daemon=True)
        sampler.start()
        out, _ = proc.communicate()
        stop.set()
        sampler.join()
    if proc.returncode:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        raise SystemExit(f"bench_scale: {cmd[2]} run failed with exit status {proc.returncode} "
                         f"(log: {log}): {tail[0][:300]}")
    cpu = max(_children_cpu() - cpu0, sum(u + s for u, s in peaks.cpu.values()))  # reaped workers roll up into RUSAGE_CHILDREN
    return json.loads(out.strip().splitlines()[-1]), peaks, cpu, time.time() - wall0


def job_child(argv: list[str]) -> None:
    """Child mode: the real job (`pipelines.m3w.run`), then its counts and shuffle sizes as JSON."""
    import apache_beam as beam
    from apache_beam.metrics import monitoring_infos as mi
    from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner

    from pipelines.m3w import run

    captured: dict = {}
    original, translated = beam.Pipeline.run, FnApiRunner.run_via_runner_api

    def capturing_run(self, *args, **kwargs):
        captured["result"] = original(self, *args, **kwargs)
        return captured["result"]

    def capturing_proto(self, proto, *args, **kwargs):  # the graph the runner ran: translating it again
        captured["proto"] = proto                        # cost ~0.6 CPU-s the job does not spend
        return translated(self, proto, *args, **kwargs)

    beam.Pipeline.run, FnApiRunner.run_via_runner_api = capturing_run, capturing_proto
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            dataset = run(argv)
        finally:
            sys.stdout = stdout
    shuffled = {}  # GroupByKey input PCollection → the GroupByKey's name
    transforms = captured["proto"].components.transforms
    lifted = {sub for t in transforms.values() if t.spec.urn == "beam:transform:combine_per_key:v1"
              for sub in t.subtransforms}  # the runner combines before shuffling: only partials move
    for tid, t in transforms.items():
        if t.spec.urn == "beam:transform:group_by_key:v1" and tid not in lifted:
            for pcoll in t.inputs.values():
                shuffled[pcoll] = t.unique_name.removesuffix("/GroupByKey")
    sizes: dict[str, list] = {}
    counts: dict[str, int] = {}
    for info in captured["result"].monitoring_infos():
        pcoll = info.labels.get("PCOLLECTION")
        if pcoll not in shuffled:
            continue
        if info.urn == mi.SAMPLED_BYTE_SIZE_URN:
            n, total, _, _ = mi.extract_distribution(info)
            acc = sizes.setdefault(pcoll, [0, 0])
            acc[0], acc[1] = acc[0] + n, acc[1] + total
        elif info.urn == mi.ELEMENT_COUNT_URN:
            counts[pcoll] = counts.get(pcoll, 0) + mi.extract_counter_value(info)
    by_stage = {}
    for pcoll, (n, total) in sizes.items():
        if n:
            by_stage[shuffled[pcoll]] = by_stage.get(shuffled[pcoll], 0) + int(total / n * counts.get(pcoll, n))
    stats = dataset["stats"]
    print(json.dumps({"stats": stats, "shuffle": by_stage,
                      "samples": sum(s["nsamples"] for s in dataset["shardlist"]),
                      "shard_bytes": sum(s["filesize"] for s in dataset["shardlist"])}))


def loop_child(warc_dir: str, mirror_dir: str) -> None:
    """Child mode: the job's library stages as a plain loop over the same files: read, extract,
    filter, language id, MinHash signature, mirror media (decode, resize), attach, tokenizer
    training on a sample, tokenize and window. Prints its counts as JSON."""
    from m3w_builder.drops import Rejected
    from m3w_builder.extract.dom import extract
    from m3w_builder.media.fetch import MirrorResolver
    from m3w_builder.media.images import ImageOptions
    from m3w_builder.media.process import failed, process_media
    from m3w_builder.quality.filters import filter_document
    from m3w_builder.quality.language import detect_language
    from m3w_builder.quality.minhash import signature
    from m3w_builder.read.records import WebRecord, read_archive
    from m3w_builder.samples.assemble import attach_media, build_samples
    from m3w_builder.samples.tokenizer import (
        Tokenizer,
        smallest_within,
        train_tokenizer,
    )
    from m3w_builder.samples.windows import WindowOptions
    from pipelines.config import JobConfig

    docs, pages = [], 0
    for path in sorted(Path(warc_dir).glob("*.warc.gz")):
        for item in read_archive(lambda p=path: open(p, "rb"), str(path)):
            if not (isinstance(item, WebRecord) and item.is_html):
                continue
            pages += 1
            try:
                doc = filter_document(extract(item.body, item.url, content_type=item.content_type).document).document
            except Rejected:
                continue
            detect_language(doc.text)
            signature(doc.text)
            docs.append(doc)
    sample = sorted(docs, key=lambda d: hashlib.sha256(d.doc_id.encode()).digest())[:JobConfig.tokenizer_sample_docs]
    tokenizer = Tokenizer(train_tokenizer(smallest_within(enumerate(d.text for d in sample),
                                                          JobConfig.tokenizer_sample_chars)))
    mirror, options, samples = MirrorResolver(mirror_dir), ImageOptions(), 0
    for doc in docs:
        results = {}
        for i, node in enumerate(doc.media):
            data = mirror.read(node.src)
            results[i] = process_media(node.src, node.type, data, options) if data else failed(node.src, node.type, "not_found")
        kept_doc, kept, failures = attach_media(doc, results)
        if kept:
            samples += len(build_samples(kept_doc, kept, tokenizer, WindowOptions(), 0, failures)[0])
    print(json.dumps({"pages": pages, "documents": len(docs), "samples": samples}))


def gib(n: int) -> str:
    return f"{n / 2**30:.2f}"


def bench_size(n_pages: int, work: Path, pages: list[Page], pool: list[Photo], workers: int,
               loop_from: dict | None = None) -> dict:
    """One size: the job, then the loop (unless `loop_from`, an earlier size's row whose loop cost
    per page stands in: the loop holds nothing across pages, so its cost per page does not grow)."""
    folder = work / f"{n_pages}"
    started = time.time()
    warc_dir, mirror, n_files = write_input(n_pages, folder, pages, pool)
    input_bytes = sum(p.stat().st_size for p in warc_dir.iterdir())
    print(f"[{n_pages} pages] input: {n_files} WARC files, {input_bytes / 2**20:.0f} MiB, "
          f"written in {time.time() - started:.0f} s", flush=True)
    job_cmd = [sys.executable, __file__, "--_job", "--input", str(warc_dir / "*.warc.gz"), "--output",
               str(folder / "out"), "--mirror_dir", str(mirror), f"--direct_num_workers={workers}", *JOB_FLAGS]
    job, peaks, job_cpu, job_wall = measured(job_cmd, folder / "job.log")
    print(f"[{n_pages} pages] job: {job_cpu:.0f} CPU-s, {job_wall:.0f} s wall", flush=True)
    if loop_from is None:
        loop, loop_peaks, loop_cpu, loop_wall = measured(
            [sys.executable, __file__, "--_loop", str(warc_dir), str(mirror)], folder / "loop.log")
        print(f"[{n_pages} pages] loop: {loop_cpu:.0f} CPU-s, {loop_wall:.0f} s wall", flush=True)
        loop_ms, loop_rss, loop_samples, loop_note = 1000 * loop_cpu / max(loop["pages"], 1), loop_peaks.launcher, \
            loop["samples"], ""
    elif loop_from:
        loop_ms, loop_rss, loop_samples = loop_from["loop_ms"], loop_from["loop_rss"], loop_from["loop_samples"]
        loop_note = f" (loop of the {loop_from['pages']}-page size)"
    else:  # above --loop_up_to with no smaller size run: no loop (it holds every document in memory)
        loop_ms, loop_rss, loop_samples, loop_note = float("nan"), 0, 0, " (loop not run)"
    stats = job["stats"]
    read = stats.get("read/n_html_records", 0)
    shuffle = sum(job["shuffle"].values())
    top = sorted(job["shuffle"].items(), key=lambda kv: -kv[1])
    return {
        "pages": n_pages, "files": n_files, "read": read,
        "job_ms": 1000 * job_cpu / max(read, 1), "loop_ms": loop_ms, "loop_note": loop_note,
        "launcher": peaks.launcher, "workers": sorted(peaks.workers.values(), reverse=True), "total": peaks.total,
        "workers_uss": sorted(peaks.workers_uss.values(), reverse=True), "total_pss": peaks.total_pss,
        "others": peaks.others, "system": peaks.system_share(),
        "loop_rss": loop_rss, "shuffle_kb": shuffle / max(read, 1) / 1000,
        "top": [(name, v / max(read, 1) / 1000) for name, v in top],
        "documents": stats.get("assemble/kept", 0), "media": stats.get("media/kept", 0),
        "samples": job["samples"], "shard_mib": job["shard_bytes"] / 2**20, "loop_samples": loop_samples,
        "wall": job_wall,
    }


def report(rows: list[dict], workers: int) -> None:
    print(f"\nM3W job at scale (default local runner, {workers} workers; CPU = the job's whole process tree)")
    print("| pages | files | job CPU ms/page | loop CPU ms/page | job/loop | launcher RSS GiB | "
          "worker RSS GiB (peak each) | worker USS GiB (peak each) | total RSS GiB | total PSS GiB | system CPU | "
          "shuffle KB/page | docs | media | samples | shards KB/page | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pages']} | {r['files']} | {r['job_ms']:.0f} | {r['loop_ms']:.0f} | "
              f"{r['job_ms'] / r['loop_ms']:.2f} | {gib(r['launcher'])} | "
              f"{' / '.join(gib(w) for w in r['workers']) or '-'} | "
              f"{' / '.join(gib(w) for w in r['workers_uss']) or '-'} | {gib(r['total'])} | {gib(r['total_pss'])} | "
              f"{r['system']:.0%} | "
              f"{r['shuffle_kb']:.1f} | {r['documents']} | {r['media']} | {r['samples']} | "
              f"{r['shard_mib'] * 2**20 / 1000 / max(r['read'], 1):.0f} | {r['wall']:.0f} |")
    for r in rows:
        print(f"  {r['pages']} pages, shuffles (KB/page, largest first): "
              + ", ".join(f"{name} {kb:.2f}" for name, kb in r["top"] if kb >= 0.01)
              + f"; other processes peak {gib(r['others'])} GiB; in-process loop peak RSS "
              f"{gib(r['loop_rss'])} GiB, {r['loop_samples']} samples{r['loop_note']}")


def projected_total(rows: list[dict], n_pages: int) -> float:
    """Total peak PSS expected at `n_pages`: the growth per page between the last two sizes, or,
    after one size, the launcher's RSS growing in proportion (the workers hold one store at a time)."""
    last = rows[-1]
    if len(rows) >= 2:
        before = rows[-2]
        per_page = max(0.0, (last["total_pss"] - before["total_pss"]) / max(1, last["pages"] - before["pages"]))
        return last["total_pss"] + per_page * (n_pages - last["pages"])
    return last["total_pss"] + last["launcher"] * (n_pages / last["pages"] - 1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_job"]:
        job_child(argv[1:])
        return 0
    if argv[:1] == ["--_loop"]:
        loop_child(*argv[1:])
        return 0
    parser = argparse.ArgumentParser(description="M3W job scale benchmark (CPU/page, peak RSS, shuffle/page)")
    parser.add_argument("--fast", action="store_true", help=f"only {FAST_SIZES[0]} pages (smoke run)")
    parser.add_argument("--sizes", default=None, help="comma-separated page counts (default: 1k,4k,16k,64k)")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--loop_up_to", type=int, default=0,
                        help="run the in-process loop only for sizes up to this many pages; larger sizes use the "
                             "loop cost per page of the largest such size, or none when no such size ran (0: every size)")
    parser.add_argument("--work", default=None, help="folder for inputs and outputs (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    if not (SHARED / "html").is_dir() or not (SHARED / "images").is_dir():
        print(f"bench_scale: needs the shared test material at {SHARED}", file=sys.stderr)
        return 1
    try:
        sizes = FAST_SIZES if args.fast else tuple(int(s) for s in args.sizes.split(",")) if args.sizes else SIZES
    except ValueError:
        print(f"bench_scale: --sizes takes comma-separated integers, not {args.sizes!r}", file=sys.stderr)
        return 2
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="m3w-scale-"))
    pages, pool = real_pages(), photo_pool()
    print(f"{len(pages)} real pages, {len(pool)} real photos; work folder {work}", flush=True)
    rows = []
    try:
        for n in sizes:
            if rows:  # should memory grow with the corpus, do not start a size this machine cannot hold
                needed = projected_total(rows, n)
                available = psutil.virtual_memory().available
                if needed > 0.8 * available:
                    print(f"[{n} pages] skipped: its memory, projected from the sizes run, is ~{gib(needed)} GiB, "
                          f"{gib(available)} GiB available")
                    break
            if (work / f"{n}").exists():
                shutil.rmtree(work / f"{n}")
            looped = [r for r in rows if not r["loop_note"]]
            loop_from = (looped[-1] if looped else {}) if args.loop_up_to and n > args.loop_up_to else None
            rows.append(bench_size(n, work, pages, pool, args.workers, loop_from))
            report(rows, args.workers)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
