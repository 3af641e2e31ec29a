"""The M3W job: web pages → interleaved `<image>`/`<EOC>` windows → WebDataset shards.

    python -m pipelines.m3w --output out/m3w [--input 'crawl/*.warc.gz' ...] [Beam flags]

Without `--input` it builds the embedded sample crawl first and runs on it. Locally it runs on the
FnApiRunner with one worker process per core; `--runner=DataflowRunner --project ... --region ...
--temp_location gs://... --setup_file ./setup.py` runs the same graph on Dataflow.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from m3w_builder.samples.assemble import attach_media, build_samples
from m3w_builder.samples.tokenizer import Tokenizer, train_tokenizer
from pipelines import fs, progress
from pipelines.config import JobConfig, beam_args, build_parser, config_from_args
from pipelines.documents import ExtractDocuments
from m3w_builder.media.resolve import media_requests
from pipelines.media_stage import CapMediaRequests, FrequentContent, ResolveMediaTransform
from pipelines.metrics import NAMESPACE, REJECTS, count, drop
from pipelines.quality import PrePassFilter, QualityStage, prepass_config
from pipelines.read import MEDIA, ExpandInputs, ReadRecords
from pipelines.report import write_report
from pipelines.shard_io import WriteRejects, WriteShard, assign_shard, dataset_json, reject_bucket, stable_hash

SAMPLE_DIR = Path.home() / ".cache" / "m3w-builder" / "sample"


class AssembleDocuments(beam.DoFn):
    """(doc_id, {docs, media}) → (doc, stored media, failed media): duplicates and frequent content
    removed, then the image-count rules."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self._frequent: frozenset[str] | None = None

    def process(self, element, frequent: list[str]):
        doc_id, grouped = element
        if self._frequent is None:
            self._frequent = frozenset(frequent)
        docs = sorted(grouped["docs"], key=lambda d: (d.fetch_time, d.source), reverse=True)
        if not docs:
            return
        for duplicate in docs[1:]:  # same URL and content captured again
            yield drop("assemble", "duplicate_document", doc_id, duplicate.url)
        doc, kept, failures = attach_media(docs[0], dict(grouped["media"]), self.config.media.phash_distance,
                                           self._frequent)
        count("assemble", "media_dropped", len(failures))
        for failure in failures:
            if failure.status in ("duplicate_in_document", "near_duplicate_in_document", "frequent_content"):
                count("dedup", failure.status)
        if len(kept) < self.config.min_doc_images:
            yield drop("assemble", "too_few_images", doc_id, doc.url)
        elif len(kept) > self.config.max_doc_images:
            yield drop("assemble", "too_many_images", doc_id, doc.url)
        else:
            count("assemble", "documents")
            yield doc, kept, failures


class BuildSamples(beam.DoFn):
    """(doc, media, failures) → shard samples: render markers, tokenize, cut windows."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self._tokenizer: Tokenizer | None = None

    def process(self, element, model: bytes):
        if self._tokenizer is None:  # the side input is one model for the whole run
            self._tokenizer = Tokenizer(model)
        doc, media, failures = element
        samples, counts = build_samples(doc, media, self._tokenizer, self.config.windows, self.config.seed, failures)
        for name, n in counts.items():
            count("window", name, n)
        if not samples:
            yield drop("window", "no_window", doc.doc_id, doc.url)
        yield from samples


def tokenizer_texts(sampled: list[tuple[int, str]]) -> list[str]:
    return [text for _, text in sorted(sampled)]


def tokenizer_info(model: bytes) -> dict:
    tok = Tokenizer(model)
    return {"file": "tokenizer.model", "sha256": hashlib.sha256(model).hexdigest(), "vocab_size": tok.vocab_size,
            "image_token": "<image>", "image_token_id": tok.image_id, "eoc_token": "<EOC>", "eoc_token_id": tok.eoc_id}


class FinalizeDataset(beam.DoFn):
    """Write tokenizer.model and dataset.json (stats are merged in by the launcher after the run)."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config

    def process(self, shards: list[dict], model: bytes):
        cfg = self.config
        if model:  # empty when no document survived: there was nothing to train on
            fs.write_bytes_atomic(fs.join(cfg.output, "tokenizer.model"), model)
        window = {"max_tokens": cfg.windows.max_tokens, "max_images": cfg.windows.max_images}
        fs.write_bytes_atomic(fs.join(cfg.output, "dataset.json"),
                              dataset_json("m3w", shards, tokenizer_info(model) if model else None, window, cfg.to_json()))
        yield len(shards)


def _record_body(record) -> bytes:
    return record.body


def _record_url(record) -> str:
    return record.url


def _record_headers(record) -> list[tuple[str, str]] | None:
    return record.optout_headers or None


def build_pipeline(p: beam.Pipeline, cfg: JobConfig, tokenizer_model: bytes | None = None) -> None:
    """Add the whole M3W graph to `p`."""
    read = (
        p
        | "Inputs" >> beam.Create(cfg.inputs)
        | "Expand" >> beam.ParDo(ExpandInputs(cfg.cc_base)).with_outputs(REJECTS, main="files")
    )
    records = (
        read.files
        | "SpreadFiles" >> beam.Reshuffle()
        | "Read" >> beam.ParDo(ReadRecords(cfg.url_map, cfg.extract.max_page_bytes * 10)).with_outputs(REJECTS, MEDIA, main="pages")
    )
    pages = records.pages | "SpreadPages" >> beam.Reshuffle()
    rejects = [read[REJECTS], records[REJECTS]]
    quality_options = SimpleNamespace(**cfg.quality)
    if cfg.quality.get("prepass"):
        prepass = pages | "Prepass" >> PrePassFilter(
            prepass_config(quality_options), html_of=_record_body, url_of=_record_url, headers_of=_record_headers,
            blocklist_paths=cfg.quality.get("blocklist", []))
        pages = prepass["docs"]
        rejects.append(prepass["rejects"])
    extracted = pages | "Extract" >> beam.ParDo(ExtractDocuments(cfg)).with_outputs(REJECTS, main="docs")
    quality = extracted.docs | "Quality" >> QualityStage(quality_options)
    capped = quality["docs"] | "CapMediaRequests" >> beam.ParDo(
        CapMediaRequests(cfg.media.fetch.max_requests_per_document)).with_outputs(REJECTS, main="docs")
    docs = capped.docs
    rejects += [extracted[REJECTS], quality["rejects"], capped[REJECTS]]
    requests = docs | "MediaRequests" >> beam.FlatMap(media_requests)
    resolved = {"requests": requests, "records": records[MEDIA]} | "ResolveMedia" >> ResolveMediaTransform(cfg)
    media = resolved["media"]
    rejects.append(resolved["rejects"])
    frequent = beam.pvalue.AsList(media | "FrequentContent" >> FrequentContent(cfg.media.max_content_documents))
    assembled = (
        {"docs": docs | "KeyDocs" >> beam.Map(lambda d: (d.doc_id, d)), "media": media}
        | "GroupByDoc" >> beam.CoGroupByKey()
        | "Assemble" >> beam.ParDo(AssembleDocuments(cfg), frequent).with_outputs(REJECTS, main="docs")
    )
    if tokenizer_model is not None:
        model = p | "Tokenizer" >> beam.Create([tokenizer_model])
    else:
        model = (
            assembled.docs
            | "TokenizerSample" >> beam.Map(lambda e: (stable_hash(e[0].doc_id), e[0].text))
            | "SmallestHashes" >> beam.combiners.Top.Smallest(cfg.tokenizer_sample_docs)
            | "TrainTokenizer" >> beam.Map(lambda s: train_tokenizer(tokenizer_texts(s), cfg.train) if s else b"")
        )
    model_side = beam.pvalue.AsSingleton(model)
    samples = assembled.docs | "Windows" >> beam.ParDo(BuildSamples(cfg), model_side).with_outputs(REJECTS, main="samples")
    n_samples = beam.pvalue.AsSingleton(samples.samples | "CountSamples" >> beam.combiners.Count.Globally())
    shards = (
        samples.samples
        | "AssignShard" >> beam.Map(lambda s, n: assign_shard(s, n, cfg.samples_per_shard), n_samples)
        | "GroupShards" >> beam.GroupByKey()
        | "WriteShards" >> beam.ParDo(WriteShard(cfg.output, cfg.prefix))
    )
    _ = (
        shards
        | "ShardList" >> beam.combiners.ToList()
        | "Finalize" >> beam.ParDo(FinalizeDataset(cfg), model_side)
    )
    if cfg.write_rejects:
        _ = (
            (*rejects, assembled[REJECTS], samples[REJECTS])
            | "AllRejects" >> beam.Flatten()
            | "RejectBuckets" >> beam.Map(reject_bucket)
            | "GroupRejects" >> beam.GroupByKey()
            | "WriteRejects" >> beam.ParDo(WriteRejects(cfg.output))
        )


def collect_stats(result) -> dict[str, int]:
    """All `m3w` counters of a finished run as {stage/reason: value}."""
    stats: Counter = Counter()
    for counter in result.metrics().query()["counters"]:
        if counter.key.metric.namespace == NAMESPACE:
            stats[counter.key.metric.name] += counter.committed or counter.attempted or 0
    return dict(sorted(stats.items()))


def finish(cfg: JobConfig, stats: dict[str, int], seconds: float) -> dict:
    """Merge stats into dataset.json, write stats.json, and return the dataset document."""
    dataset = json.loads(fs.read_bytes(fs.join(cfg.output, "dataset.json")))
    dataset["stats"] = stats
    fs.write_bytes_atomic(fs.join(cfg.output, "dataset.json"), json.dumps(dataset, indent=1, sort_keys=True).encode())
    fs.write_bytes_atomic(fs.join(cfg.output, "stats.json"),
                          json.dumps({"counters": stats, "wall_seconds": round(seconds, 2)}, indent=1, sort_keys=True).encode())
    return dataset


def summary(cfg: JobConfig, dataset: dict) -> str:
    """A short human summary of a finished run."""
    stats = dataset["stats"]
    shards = dataset["shardlist"]
    lines = [
        f"M3W dataset written to {cfg.output}",
        f"  shards: {len(shards)}  samples: {sum(s['nsamples'] for s in shards)}  "
        f"bytes: {sum(s['filesize'] for s in shards)}",
        f"  pages read: {stats.get('read/html_records', 0) + stats.get('read/html_files', 0)}  "
        f"documents extracted: {stats.get('extract/documents', 0)}  kept after filters: {stats.get('filter/kept', 0)}  "
        f"in dataset: {stats.get('assemble/documents', 0)}",
        f"  media stored: {stats.get('media/success', 0)}  windows: {stats.get('window/windows_kept', 0)}",
        "  drops: " + ", ".join(f"{k}={v}" for k, v in stats.items() if progress.is_drop(k)),
        "  languages: " + ", ".join(f"{k[5:]}={v}" for k, v in stats.items() if k.startswith("lang/")),
    ]
    return "\n".join(lines)


def default_inputs(output: str) -> list[str]:
    """The embedded sample crawl, written locally (and copied next to a remote output)."""
    from m3w_builder.demo.crawl import write_sample_crawl

    local = write_sample_crawl(SAMPLE_DIR)
    if "://" not in output:
        return [str(local)]
    remote = fs.join(output, "_input", local.name)
    fs.write_bytes_atomic(remote, local.read_bytes())
    return [remote]


RETRYABLE = frozenset(("timeout", "connection_error", "dns_error", "http_error", "tls_error", "not_found"))


def prepare_retry(cfg: JobConfig) -> int:
    """`--retry_failed`: count the retryable media failures in the previous run's manifests and
    remove its shards so they are rebuilt; successes come back from `--media_cache`, failed URLs
    are fetched again. Returns how many failed items will be retried."""
    if not cfg.media.media_cache:
        raise SystemExit("--retry_failed needs --media_cache (the successes of the first run come from it)")
    pattern = fs.join(cfg.output, f"{cfg.prefix}-*.parquet")
    manifests = [m.path for r in FileSystems.match([pattern]) for m in r.metadata_list]
    failed = 0
    for path in manifests:
        rows = pq.read_table(io.BytesIO(fs.read_bytes(path))).to_pylist()
        failed += sum(1 for r in rows if r["status"] in RETRYABLE or r["status"].startswith("http_"))
    shards = [m.path for r in FileSystems.match([fs.join(cfg.output, f"{cfg.prefix}-*")]) for m in r.metadata_list]
    if shards:
        FileSystems.delete(shards)
    return failed


def run(argv: list[str] | None = None) -> dict | None:
    """Parse flags, run the job, write stats; returns the dataset.json document (on a dry run, the
    translated step names)."""
    args, extra = build_parser().parse_known_args(argv)
    options = PipelineOptions(beam_args(extra))
    dry_run = bool(options.get_all_options().get("dry_run"))
    cfg = config_from_args(args, [] if args.inputs or dry_run else default_inputs(args.output))
    if not dry_run:  # a dry run only translates the graph: touch no storage
        fs.ensure_dir(cfg.output)
        fs.clean_stale_temporaries(cfg.output)
    if cfg.media.retry_failed and not dry_run:
        print(f"--retry_failed: {prepare_retry(cfg)} failed media items of the previous run will be fetched again")
    tokenizer_model = fs.read_bytes(cfg.tokenizer) if cfg.tokenizer else None
    start = time.time()
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, cfg, tokenizer_model)
    with progress.live(cfg.output, enabled=not dry_run):
        result = pipeline.run()
        result.wait_until_finish()
    if dry_run:  # the DataflowRunner translated the graph and submitted nothing
        transforms = result.job.proto_pipeline.components.transforms.values()
        steps = sorted(t.unique_name for t in transforms if "/" not in t.unique_name)
        print(f"Dry run: the job translated for Dataflow ({len(steps)} top-level steps); nothing was submitted.")
        return {"dry_run": True, "steps": steps}
    return publish(cfg, result, start, summary)


def publish(cfg, result, start: float, describe) -> dict:
    """After a run: merge the stats into dataset.json, write stats.json and (unless switched off)
    report.html, print `describe(cfg, dataset)`; returns the dataset.json document."""
    dataset = finish(cfg, collect_stats(result), time.time() - start)
    print(describe(cfg, dataset))
    if cfg.report:
        print(f"  report: {write_report(cfg.output)}")
    return dataset


def main() -> int:
    run(sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
