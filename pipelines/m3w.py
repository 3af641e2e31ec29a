"""The M3W job: web pages → interleaved `<image>`/`<EOC>` windows → WebDataset shards.

    python -m pipelines.m3w --output out/m3w [--input 'crawl/*.warc.gz' ...] [Beam flags]

Without `--input` it builds the embedded sample crawl first and runs on it. Locally it runs on the
FnApiRunner with one worker process per core; `--runner=DataflowRunner --project ... --region ...
--temp_location gs://... --setup_file ./setup.py` runs the same graph on Dataflow.
"""

from __future__ import annotations

import hashlib
import io
import sys
import time
from functools import partial
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from m3w_builder.drops import Rejected
from m3w_builder.media.resolve import media_requests
from m3w_builder.samples.assemble import attach_media, build_samples
from m3w_builder.samples.tokenizer import Tokenizer, train_tokenizer
from pipelines import checks, fs, progress
from pipelines.config import JobConfig, beam_args, build_parser, config_from_args, parse_job_args
from pipelines.documents import extract_stage, filter_stage
from pipelines.media_stage import FrequentContent, ResolveMediaTransform, cap_media_requests
from pipelines.metrics import REJECTS
from pipelines.publish import dataset_json, publish
from pipelines.quality import PrePassFilter, QualityStage
from pipelines.read import MEDIA, expand_stage, read_stage
from pipelines.shard_io import WriteRejects, WriteShard, assign_shard, reject_bucket, stable_hash
from pipelines.stages import Counts, Dropped, LibraryStage, apply

SAMPLE_DIR = Path.home() / ".cache" / "m3w-builder" / "sample"


class AssembleDocument:
    """Stage function: (doc_id, {docs, media}) → (doc, stored media, failed media). Repeat captures
    go, then duplicates and frequent content among the media (`assemble_media/<status>`, a rejects
    row each), then the image-count rules."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self._frequent: frozenset[str] | None = None

    def __call__(self, element, frequent: list[str]):
        doc_id, grouped = element
        if self._frequent is None:  # the side input is one list for the whole run
            self._frequent = frozenset(frequent)
        docs = sorted(grouped["docs"], key=lambda d: (d.fetch_time, d.source), reverse=True)
        if not docs:
            return
        for duplicate in docs[1:]:  # same URL and content captured again
            yield Dropped("duplicate_document", doc_id, duplicate.url, f"kept the capture from {docs[0].source}")
        doc, kept, failures = attach_media(docs[0], dict(grouped["media"]), self.config.media.phash_distance,
                                           self._frequent)
        for failure in failures:  # each with its rejects row: every media node that leaves is written
            yield Dropped(failure.status, doc_id, failure.url, failure.error_message, part=True)
        if len(kept) < self.config.min_doc_images:
            raise Rejected("too_few_images", f"{len(kept)} stored media < {self.config.min_doc_images}")
        if len(kept) > self.config.max_doc_images:
            raise Rejected("too_many_images", f"{len(kept)} stored media > {self.config.max_doc_images}")
        yield doc, kept, failures


class WindowDocument:
    """Stage function: (doc, media, failures) → shard samples (render markers, tokenize, cut windows);
    `window/kept` counts windows, `window/too_few_images` the windows dropped."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self._tokenizer: Tokenizer | None = None

    def __call__(self, element, model: bytes):
        if self._tokenizer is None:  # the side input is one model for the whole run
            self._tokenizer = Tokenizer(model)
        doc, media, failures = element
        samples, counts = build_samples(doc, media, self._tokenizer, self.config.windows, self.config.seed, failures)
        yield Counts(drops={"too_few_images": counts["too_few_images"]}, volumes={"windows_made": counts["windows_made"]})
        if not samples:
            raise Rejected("no_window", f"{counts['windows_made']} windows, none with enough images")
        yield from samples


def tokenizer_texts(sampled: list[tuple[int, str]]) -> list[str]:
    return [text for _, text in sorted(sampled)]


def tokenizer_info(model: bytes) -> dict:
    tok = Tokenizer(model)
    return {"file": "tokenizer.model", "sha256": hashlib.sha256(model).hexdigest(), "vocab_size": tok.vocab_size,
            "image_token": "<image>", "image_token_id": tok.image_id, "eoc_token": "<EOC>", "eoc_token_id": tok.eoc_id}


class FinalizeDataset(beam.DoFn):
    """Write tokenizer.model and dataset.json (stats are merged in by the launcher after the run)."""

    def __init__(self, config: JobConfig, fingerprint: str) -> None:
        self.config = config
        self.fingerprint = fingerprint

    def process(self, shards: list[dict], model: bytes):
        cfg = self.config
        if model:  # empty when no document survived: there was nothing to train on
            fs.write_bytes_atomic(fs.join(cfg.output, "tokenizer.model"), model)
        window = {"max_tokens": cfg.windows.max_tokens, "max_images": cfg.windows.max_images}
        fs.write_bytes_atomic(fs.join(cfg.output, "dataset.json"),
                              dataset_json("m3w", shards, tokenizer_info(model) if model else None, window, cfg.to_json(),
                                           self.fingerprint))
        yield len(shards)


def _record_body(record) -> bytes:
    return record.body


def _record_url(record) -> str:
    return record.url


def _record_headers(record) -> list[tuple[str, str]] | None:
    return record.optout_headers or None


def build_pipeline(p: beam.Pipeline, cfg: JobConfig, tokenizer_model: bytes | None = None,
                   fingerprint: str = "") -> None:
    """Add the whole M3W graph to `p` (`fingerprint`: `checks.fingerprint` of this run)."""
    read = apply(p | "Inputs" >> beam.Create(cfg.inputs), "Expand", expand_stage(cfg.cc_base))
    records = apply(read.out | "SpreadFiles" >> beam.Reshuffle(), "Read",
                    read_stage(cfg.url_map, cfg.extract.max_page_bytes * 10), tags=(MEDIA,))
    pages = records.out | "SpreadPages" >> beam.Reshuffle()
    rejects = [read[REJECTS], records[REJECTS]]
    if cfg.quality.prepass:
        prepass = pages | "Prepass" >> PrePassFilter(
            cfg.quality.prepass_config(), html_of=_record_body, url_of=_record_url, headers_of=_record_headers,
            blocklist_paths=cfg.quality.blocklist)
        pages = prepass["docs"]
        rejects.append(prepass["rejects"])
    extracted = apply(pages, "Extract", extract_stage(cfg.extract, cfg.videos))
    filtered = apply(extracted.out, "Filter", filter_stage(cfg.filters, cfg.min_doc_images))
    quality = filtered.out | "Quality" >> QualityStage(cfg.quality)
    capped = apply(quality["docs"], "CapMediaRequests",
                   LibraryStage("media_requests", partial(cap_media_requests, cfg.media.fetch.max_requests_per_document)))
    docs = capped.out
    rejects += [extracted[REJECTS], filtered[REJECTS], quality["rejects"], capped[REJECTS]]
    requests = docs | "MediaRequests" >> beam.FlatMap(media_requests)
    resolved = {"requests": requests, "records": records[MEDIA]} | "ResolveMedia" >> ResolveMediaTransform(cfg)
    media = resolved["media"]
    rejects.append(resolved["rejects"])
    frequent = beam.pvalue.AsList(media | "FrequentContent" >> FrequentContent(cfg.media.max_content_documents))
    grouped = {"docs": docs | "KeyDocs" >> beam.Map(lambda d: (d.doc_id, d)), "media": media} | "GroupByDoc" >> beam.CoGroupByKey()
    assembled = apply(grouped, "Assemble",
                      LibraryStage("assemble", AssembleDocument(cfg), many=True, parts="assemble_media"), frequent)
    if tokenizer_model is not None:
        model = p | "Tokenizer" >> beam.Create([tokenizer_model])
    else:
        model = (
            assembled.out
            | "TokenizerSample" >> beam.Map(lambda e: (stable_hash(e[0].doc_id), e[0].text))
            | "SmallestHashes" >> beam.combiners.Top.Smallest(cfg.tokenizer_sample_docs)
            | "TrainTokenizer" >> beam.Map(lambda s: train_tokenizer(tokenizer_texts(s), cfg.train) if s else b"")
        )
    model_side = beam.pvalue.AsSingleton(model)
    samples = apply(assembled.out, "Windows", LibraryStage("window", WindowDocument(cfg), many=True), model_side)
    n_samples = beam.pvalue.AsSingleton(samples.out | "CountSamples" >> beam.combiners.Count.Globally())
    shards = (
        samples.out
        | "AssignShard" >> beam.Map(lambda s, n: assign_shard(s, n, cfg.samples_per_shard, cfg.min_shards), n_samples)
        | "GroupShards" >> beam.GroupByKey()
        | "WriteShards" >> beam.ParDo(WriteShard(cfg.output, cfg.prefix, fingerprint))
    )
    _ = (
        shards
        | "ShardList" >> beam.combiners.ToList()
        | "Finalize" >> beam.ParDo(FinalizeDataset(cfg, fingerprint), model_side)
    )
    if cfg.write_rejects:
        _ = (
            (*rejects, assembled[REJECTS], samples[REJECTS])
            | "AllRejects" >> beam.Flatten()
            | "RejectBuckets" >> beam.Map(reject_bucket)
            | "GroupRejects" >> beam.GroupByKey()
            | "WriteRejects" >> beam.ParDo(WriteRejects(cfg.output))
        )


def default_inputs(output: str) -> list[str]:
    """The embedded sample crawl, written locally (and copied next to a remote output)."""
    from m3w_builder.demo.crawl import write_sample_crawl

    local = write_sample_crawl(SAMPLE_DIR)
    if "://" not in output:
        return [str(local)]
    remote = fs.join(output, "_input", local.name)
    fs.write_bytes_atomic(remote, local.read_bytes())
    return [remote]


RETRYABLE = frozenset(("timeout", "connection_error", "dns_error", "http_error", "tls_error", "not_found", "truncated"))


def prepare_retry(cfg: JobConfig) -> int:
    """`--retry_failed`: count the retryable media failures in the previous run's manifests and
    remove its shards so they are rebuilt; successes come back from `--media_cache`, failed URLs
    are fetched again. Returns how many failed items will be retried."""
    if not cfg.media.media_cache:
        raise checks.UsageError("--retry_failed needs --media_cache (the successes of the first run come from it)")
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


def prepare(cfg: JobConfig, dry_run: bool) -> tuple[bytes | None, str]:
    """Checks before Beam starts (a dry run touches no storage); returns the tokenizer given with
    `--tokenizer` and this run's fingerprint."""
    if dry_run:
        return None, checks.fingerprint(cfg.to_json(), [[p, None] for p in cfg.inputs])
    checks.check_output(cfg.output)
    listing = checks.input_listing(cfg.inputs)
    try:
        tokenizer_model = fs.read_bytes(cfg.tokenizer) if cfg.tokenizer else None
    except OSError as error:
        raise checks.UsageError(f"--tokenizer {cfg.tokenizer}: {error}") from None
    fingerprint = checks.fingerprint(cfg.to_json(), listing, tokenizer_model)
    checks.check_rerun(cfg.output, fingerprint, cfg.to_json(), cfg.overwrite, cfg.prefix)
    fs.clean_stale_temporaries(cfg.output)
    if cfg.media.retry_failed:
        print(f"--retry_failed: {prepare_retry(cfg)} failed media items of the previous run will be fetched again")
    return tokenizer_model, fingerprint


def run(argv: list[str] | None = None) -> dict | None:
    """Parse flags, run the job, write stats; returns the dataset.json document (on a dry run, the
    translated step names)."""
    parser = build_parser()
    args, extra = parse_job_args(parser, argv)
    options = PipelineOptions(beam_args(extra))
    dry_run = bool(options.get_all_options().get("dry_run"))
    try:
        cfg = config_from_args(args, [] if args.inputs or dry_run else default_inputs(args.output))
        tokenizer_model, fingerprint = prepare(cfg, dry_run)
    except (checks.UsageError, ValueError) as error:
        raise SystemExit(f"{parser.prog}: error: {error}") from None
    start = time.time()
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, cfg, tokenizer_model, fingerprint)
    with progress.live(cfg.output, enabled=not dry_run):
        result = pipeline.run()
        result.wait_until_finish()
    if dry_run:  # the DataflowRunner translated the graph and submitted nothing
        transforms = result.job.proto_pipeline.components.transforms.values()
        steps = sorted(t.unique_name for t in transforms if "/" not in t.unique_name)
        print(f"Dry run: the job translated for Dataflow ({len(steps)} top-level steps); nothing was submitted.")
        return {"dry_run": True, "steps": steps}
    return publish(cfg, result, start, "M3W dataset")


def main() -> int:
    run(sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
