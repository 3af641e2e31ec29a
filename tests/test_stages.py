"""The one stage pattern: `LibraryStage` on a real FnApiRunner, then faults injected into every
stage of both jobs (the library function each stage calls raises for some items): the jobs finish,
count `stage/error_<Type>`, write the rejects row with the message, and every stage's kept +
dropped equals what came in."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from m3w_builder.drops import Drops, Rejected
from m3w_builder.media import resolve
from pipelines import documents, m3w, media_stage, pairs, pairs_stages, quality, read
from pipelines.metrics import NAMESPACE, REJECTS
from pipelines.progress import is_drop
from pipelines.stages import Counts, Dropped, Forward, Kept, LibraryStage

LOCAL = ["--direct_num_workers=1", "--no_http", "--no_report"]


class InjectedFault(RuntimeError):
    """What the patched library functions raise."""


def _raise(name: str):
    raise InjectedFault(f"injected into {name}")


def _run_stage(stage: LibraryStage, items: list, tmp_path: Path) -> tuple[list, list[dict], dict[str, int]]:
    pipeline = beam.Pipeline(runner=FnApiRunner())
    out = pipeline | beam.Create(items, reshuffle=False) | beam.ParDo(stage).with_outputs(REJECTS, main="out")
    out.out | "Kept" >> beam.Map(json.dumps) | "WriteKept" >> beam.io.WriteToText(str(tmp_path / "kept"))
    out[REJECTS] | "Rows" >> beam.Map(json.dumps) | "WriteRows" >> beam.io.WriteToText(str(tmp_path / "rows"))
    result = pipeline.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]
                if c.key.metric.namespace == NAMESPACE}

    def read_back(prefix: str) -> list:
        return [json.loads(line) for p in sorted(tmp_path.glob(f"{prefix}-*")) for line in p.read_text().splitlines()]

    return read_back("kept"), read_back("rows"), counters


def _toy(item: str):
    if item == "rejected":
        raise Rejected("too_short", "3 words")
    if item == "broken":
        raise KeyError("no such field")
    if item == "half":
        yield Kept("half-1", drops=Drops(tracking_pixel=2), volumes={"bytes": 10})
        raise ValueError("cut in the middle")
    if item == "fan":
        yield Counts(volumes={"candidates": 3})
        yield Dropped("no_alt", "fan#1", "http://x/1.jpg", "alt missing")
        yield Dropped("frequent_caption", "fan#2", "http://x/2.jpg", carry="fan-2-row")
        yield Forward("fan-settled")
    yield item


def test_library_stage_counts_drops_and_isolates_faults(tmp_path):
    stage = LibraryStage("toy", _toy, many=True, parts="toy_parts")
    kept, rows, counters = _run_stage(stage, ["ok", "rejected", "broken", "half", "fan"], tmp_path)
    assert sorted(kept) == ["fan", "fan-2-row", "fan-settled", "half-1", "ok"]
    assert counters == {"toy/kept": 3, "toy/too_short": 1, "toy/error_KeyError": 1, "toy/error_ValueError": 1,
                        "toy/no_alt": 1, "toy/frequent_caption": 1, "toy_parts/tracking_pixel": 2,
                        "toy/n_bytes": 10, "toy/n_candidates": 3}
    by_reason = {r["reason"]: r for r in rows}
    assert by_reason["too_short"] == {"id": "rejected", "url": "rejected", "stage": "toy", "reason": "too_short",
                                      "detail": "3 words"}
    assert by_reason["error_KeyError"]["detail"] == "KeyError: 'no such field'"
    assert by_reason["error_ValueError"]["id"] == "half" and "cut in the middle" in by_reason["error_ValueError"]["detail"]
    assert by_reason["no_alt"]["url"] == "http://x/1.jpg" and len(rows) == 5


def _faulty(monkeypatch, owner, name: str, salt: str, key, modulo: int = 4) -> None:
    """Make `owner.name` raise `InjectedFault` for the items whose `key(*args)` hashes to 0 mod `modulo`."""
    real = getattr(owner, name)

    def patched(*args, **kwargs):
        if zlib.crc32((salt + str(key(*args))).encode()) % modulo == 0:
            raise InjectedFault(f"injected into {name}")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, patched)


def _rejects(out: Path) -> list[dict]:
    return pq.read_table(out / "rejects").to_pylist()


def _drops(stats: dict, stage: str) -> int:
    """Items `stage` dropped: every counter of it but `kept` and the volumes `n_*`."""
    return sum(v for k, v in stats.items() if k.split("/")[0] == stage and is_drop(k))


def _assert_errors(stats: dict, rows: list[dict], stages: list[str]) -> None:
    for stage in stages:
        assert stats.get(f"{stage}/error_InjectedFault", 0) >= 1, (stage, stats)
        hit = [r for r in rows if r["stage"] == stage and r["reason"] == "error_InjectedFault"]
        assert len(hit) == stats[f"{stage}/error_InjectedFault"], (stage, len(hit), {r["stage"] for r in rows})
        assert all(r["detail"].startswith("InjectedFault: injected into") for r in hit)


def test_faults_in_every_m3w_stage_are_counted_and_the_job_finishes(monkeypatch, tmp_path):
    from m3w_builder.demo.crawl import write_sample_crawl

    sample = write_sample_crawl(tmp_path / "crawl")
    blocklist = tmp_path / "block.txt"
    blocklist.write_text("blocked.example\n")
    paths_list = tmp_path / "more.paths.gz"
    paths_list.write_bytes(b"INJECT")
    real_decompress = read.gzip.decompress
    monkeypatch.setattr(read.gzip, "decompress", lambda data: (
        _raise("decompress") if data == b"INJECT" else real_decompress(data)))
    real_read = read.read_archive

    def read_then_fail(open_fn, path, max_bytes):  # a bad record after the first 600
        for i, item in enumerate(real_read(open_fn, path, max_bytes)):
            if i == 600:
                raise InjectedFault("injected into read_archive")
            yield item

    monkeypatch.setattr(read, "read_archive", read_then_fail)
    _faulty(monkeypatch, documents, "extract", "e", lambda body, url, **kw: url)
    _faulty(monkeypatch, documents, "filter_document", "f", lambda doc, options: doc.url)
    _faulty(monkeypatch, quality.BlockList, "match", "o", lambda self, url: url)
    _faulty(monkeypatch, quality, "detect_language", "l", lambda text: text[:200])
    _faulty(monkeypatch, quality, "normalize_url", "u", lambda url: url)
    _faulty(monkeypatch, quality.minhash, "signature", "n", lambda text, params: text[:200])
    _faulty(monkeypatch, quality.dedup, "image_set_key", "i", lambda doc, n: doc.url)
    _faulty(monkeypatch, quality.dedup, "paragraph_keys", "p", lambda doc: doc.url)
    _faulty(monkeypatch, quality.dedup, "strip_paragraphs", "s", lambda doc, remove: doc.url)
    _faulty(monkeypatch, quality.dedup, "capture_order", "c", lambda doc: doc.url, modulo=7)
    _faulty(monkeypatch, media_stage, "check_request_cap", "r", lambda doc, limit: doc.url)
    _faulty(monkeypatch, resolve, "process_media", "d", lambda url, *rest: url, modulo=10)
    _faulty(monkeypatch, m3w, "attach_media", "a", lambda doc, *rest: doc.url)
    _faulty(monkeypatch, m3w, "build_samples", "w", lambda doc, *rest: doc.url, modulo=2)
    out = tmp_path / "out"
    dataset = m3w.run(["--input", str(sample), "--input", str(paths_list), "--output", str(out),
                       "--blocklist", str(blocklist), *LOCAL])
    stats, rows = dataset["stats"], _rejects(out)
    _assert_errors(stats, rows, ["inputs", "read", "extract", "filter", "optout", "language", "url_dedup_keys",
                                 "near_dup_keys", "image_set_dedup_keys", "paragraph_dedup_keys", "url_dedup",
                                 "paragraph_dedup", "media_requests", "media", "assemble", "window"])
    assert dataset["shardlist"] and sum(s["nsamples"] for s in dataset["shardlist"]) > 0
    # kept + dropped equals what came in, stage by stage (errors are drops)
    chain = ["read", "extract", "filter", "optout", "language", "url_dedup", "near_dup", "image_set_dedup",
             "paragraph_dedup"]
    for before, stage in zip(chain, chain[1:]):
        assert stats[f"{stage}/kept"] + _drops(stats, stage) == stats[f"{before}/kept"], stage
    assert stats["window/kept"] + stats.get("window/too_few_images", 0) == stats["window/n_windows_made"]
    assert stats["shard/n_samples"] == stats["window/kept"]


def test_faults_in_every_pairs_stage_are_counted_and_the_job_finishes(monkeypatch, tmp_path):
    _faulty(monkeypatch, pairs_stages, "harvest", "h", lambda body, url, **kw: url)
    _faulty(monkeypatch, pairs_stages, "check_candidate", "k", lambda c, rules, side: c.src)
    _faulty(monkeypatch, pairs_stages, "make_item", "m", lambda url, caption, *rest, **kw: url + caption)
    _faulty(monkeypatch, pairs_stages, "pair_sample", "x", lambda item, *rest: item.key)
    out = tmp_path / "align"
    dataset = pairs.run(["--source", "align", "--output", str(out), *LOCAL])
    stats, rows = dataset["stats"], _rejects(out)
    _assert_errors(stats, rows, ["align_page", "align", "pairs"])
    assert dataset["shardlist"] and stats["pairs/kept"] > 0
    assert stats["align_page/n_candidates"] == stats["align/kept"] + _drops(stats, "align")

    monkeypatch.undo()
    listing_ok, listing_bad = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    rows_text = "".join(json.dumps({"url": f"{tmp_path}/missing-{i}.jpg", "caption": f"a photograph number {i} of a field"})
                        + "\n" for i in range(12))
    listing_ok.write_text(rows_text)
    listing_bad.write_text(rows_text)
    real_is_list, real_read_list = pairs.is_list_file, pairs_stages.read_list
    monkeypatch.setattr(pairs, "is_list_file", lambda path: (
        _raise("is_list_file") if path.endswith("b.jsonl") else real_is_list(path)))

    def read_then_fail(path, *rest):  # a row the reader cannot get past, after the first 5
        for i, row in enumerate(real_read_list(path, *rest)):
            if i == 5:
                raise InjectedFault("injected into read_list")
            yield row

    monkeypatch.setattr(pairs_stages, "read_list", read_then_fail)
    out = tmp_path / "ltip"
    dataset = pairs.run(["--source", "ltip", "--input", str(listing_ok), "--input", str(listing_bad),
                         "--output", str(out), "--allow_empty", *LOCAL])
    stats, rows = dataset["stats"], _rejects(out)
    _assert_errors(stats, rows, ["route", "list"])
    assert stats["list/n_rows"] == stats["list/kept"] == 5
    assert stats["pairs/local_missing"] == 5  # the rows read before the fault went on to their manifest rows


def test_a_process_freezes_its_startup_objects_once_at_its_first_stage_setup() -> None:
    """A worker's first `LibraryStage.setup` moves what the process holds into gc's permanent
    generation (full collections and the exit's last one no longer walk Beam's modules); later
    setups leave what came since to the collector."""
    import subprocess
    import sys

    code = ("import gc; from pipelines.stages import LibraryStage; LibraryStage('a', len).setup(); "
            "first = gc.get_freeze_count(); later = [[i] for i in range(5000)]; "
            "LibraryStage('b', len).setup(); print(first, gc.get_freeze_count())")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "NO_GCE_CHECK": "True"})
    first, second = map(int, done.stdout.split())
    assert first > 100_000 and second == first
