"""The M3W job: web pages → interleaved `<image>`/`<EOC>` windows → WebDataset shards.

    python -m pipelines.m3w --output out/m3w [--input 'crawl/*.warc.gz' ...] [Beam flags]

Without `--input` it builds the embedded sample crawl first and runs on it. Locally it runs on the
FnApiRunner with one worker process per core; `--runner=DataflowRunner --project ... --region ...
--temp_location gs://... --setup_file ./setup.py` runs the same graph on Dataflow.

The graph works by *store* (an input archive, or a batch of single pages; `pipelines.work`):
1. documents: per store, read → pre-pass → extract → filter → opt-out → language → dedup keys
   in one pass; documents go to an intermediate file, only their small `DocKeys` go on;
2. decisions over the keys only: URL, near-duplicate, image-set, site-wide paragraphs, repeated
   captures; media URL reference counts; the tokenizer sample;
3. media: per store, strip site-wide paragraphs, cap media requests, resolve and decode media;
4. shards: per store, attach media, tokenize, cut windows, write its WebDataset shards.
Raw HTML, text and image bytes never enter a shuffle, so memory does not grow with the corpus,
and every store pass leaves a completion marker a rerun resumes from.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import math
import operator
import os
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from m3w_builder.cache import user_cache_dir
from m3w_builder.drops import Rejected
from m3w_builder.media.process import failed
from m3w_builder.media.resolve import Resolved, media_requests
from m3w_builder.output.shards import store_shard_name
from m3w_builder.quality.keys import url_key
from m3w_builder.samples.assemble import attach_media, build_samples
from m3w_builder.samples.tokenizer import Tokenizer, smallest_within, train_tokenizer
from pipelines import checks, fs, progress, warm_workers
from pipelines.config import (
    JobConfig,
    beam_args,
    build_parser,
    config_from_args,
    parse_job_args,
)
from pipelines.documents import extract_stage, filter_stage
from pipelines.exchange import EXCHANGE, Exchange, partition_numbers, remove_exchange
from pipelines.media_stage import (
    FrequentContent,
    account,
    cap_media_requests,
    content_keys,
    make_resolver,
    resolve_one,
)
from pipelines.metrics import REJECTS
from pipelines.publish import dataset_json, publish
from pipelines.quality import (
    PARAGRAPH_DEDUP,
    QualityStage,
    document_stages,
    prepass_stage,
    strip_paragraphs,
)
from pipelines.read import MEDIA, expand_stage, read_stage
from pipelines.shard_io import (
    MANIFEST_SCHEMA,
    OpenShard,
    RejectsFiles,
    num_shards,
    stable_hash,
)
from pipelines.stages import (
    Chain,
    Counts,
    Dropped,
    LibraryStage,
    apply,
    freeze_startup_objects,
)
from pipelines.work import (
    PickleRows,
    PickleWriter,
    StorePass,
    make_stores,
    read_pickles,
    remove_work,
    work_path,
)

CAPTURED = "captured"
CONTENT = "content"
MEDIA_BATCH_DOCS = 64  # documents whose media one media pass resolves at once (bounds its memory)

SAMPLE_DIR = user_cache_dir() / "sample"


def _record_body(record) -> bytes:
    return record.body


def _record_url(record) -> str:
    return record.url


def _record_headers(record) -> list[tuple[str, str]] | None:
    return record.optout_headers or None


class DocumentPass(StorePass):
    """Store pass 1: every page of the store's files through the per-document stages; documents
    to `_work/docs/STORE.parquet`, media records of the crawl to `_work/records/STORE.parquet`;
    emits each document's `DocKeys` and, on `captured`, (`url_key`, store) for every crawled media URL."""

    name = "documents"
    counter_stage = "read"

    def __init__(self, cfg: JobConfig, fingerprint: str) -> None:
        super().__init__(cfg.output, fingerprint)
        stages = [read_stage(cfg.url_map, cfg.extract.max_page_bytes * 10)]
        if cfg.quality.prepass:
            stages.append(prepass_stage(cfg.quality.prepass_config(), _record_body, _record_url, _record_headers,
                                        cfg.quality.blocklist))
        stages += [extract_stage(cfg.extract, cfg.videos), filter_stage(cfg.filters, cfg.min_doc_images),
                   *document_stages(cfg.quality)]
        self.chain = Chain(stages)

    def setup(self) -> None:
        self.chain.setup()

    def run(self, store: str, grouped: list[list[str]]):  # the store's one files list, grouped by store
        paths = [path for files in grouped for path in files]
        docs = PickleWriter(work_path(self.output, "docs", f"{store}.parquet"))
        records = PickleWriter(work_path(self.output, "records", f"{store}.parquet"))
        captured: set[int] = set()  # `url_key`s: what the output is keyed by, 8 bytes of a URL
        for path in paths:
            for out in self.chain.run(path):
                if isinstance(out, beam.pvalue.TaggedOutput) and out.tag == MEDIA:
                    url, record = out.value
                    records.append((url, record))
                    key = url_key(url)
                    if key not in captured:
                        captured.add(key)
                        yield beam.pvalue.TaggedOutput(CAPTURED, (key, store))
                elif isinstance(out, beam.pvalue.TaggedOutput):
                    yield out
                else:
                    doc, keys = out
                    yield replace(keys, store=store, position=docs.count)
                    docs.append(doc)
        docs.close()
        records.close()


def record_sources(element: tuple[int, dict[str, list[str]]]):
    """(store, (url key, stores holding a crawled record of it)) for every store whose documents
    use the URL, from the (url key, {"wanted": stores, "captured": stores}) group of one URL."""
    url, groups = element
    sources = sorted(set(groups["captured"]))
    if sources:
        for store in sorted(set(groups["wanted"])):
            yield store, (url, sources)


def wanted_urls(keys) -> list[tuple[int, str]]:
    """(url key, store) for each distinct media URL of a surviving document."""
    return [(url, keys.store) for url in sorted(set(keys.media_urls))]


def store_position(keys) -> list[tuple[str, tuple[int, frozenset]]]:
    """(store, (position, strip set)) of a surviving document: what its store's media pass needs."""
    return [(keys.store, (keys.position, keys.strip))]


def reference_counts(keys) -> list[tuple[int, int]]:
    """(url key, references) of one document's media: one item per distinct URL of a document."""
    return sorted(Counter(keys.media_urls).items())


def over_referenced(limit: int, element: tuple[int, int]):
    """The URL key of a (url key, references) count when it is over `limit` (no limit at 0)."""
    url, references = element
    if limit > 0 and references > limit:
        yield url


class MediaPass(StorePass):
    """Store pass 2: the surviving documents of a store lose their site-wide paragraphs, pass the
    media-request cap, and get their media resolved and decoded (a batch of documents at a time);
    (document, {media index: result}) go to `_work/media/STORE.parquet`. Emits (store, documents)
    and, on `content`, the (sha256 / phash, doc_id) keys that frequent-content removal counts
    (each pair once)."""

    name = "media"
    counter_stage = "media"

    def __init__(self, cfg: JobConfig, fingerprint: str) -> None:
        super().__init__(cfg.output, fingerprint)
        self.cfg = cfg
        self.strip = cfg.quality.paragraph_dedup
        stages = [LibraryStage(PARAGRAPH_DEDUP, strip_paragraphs, many=True)] if self.strip else []
        stages.append(LibraryStage("media_requests",
                                   partial(cap_media_requests, cfg.media.fetch.max_requests_per_document)))
        self.chain = Chain(stages)
        self.resolver = None
        self.pool: ThreadPoolExecutor | None = None

    def setup(self) -> None:
        self.chain.setup()
        self.resolver = make_resolver(self.cfg, 0)  # reference counts are corpus-wide: `too_frequent`
        self.pool = ThreadPoolExecutor(max(1, self.cfg.media.fetch_threads))

    def teardown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def _records(self, sources: dict[int, list[str]]) -> dict[str, list[tuple[str, int]]]:
        """Where the crawled records of the URLs this store needs are (by `url_key`, from every store
        that holds one): (store, row) per record of a URL, in store order. Only these places are
        held; each batch reads its own records (`_batch_records`), never the whole store's bytes."""
        by_store: dict[str, set[int]] = defaultdict(set)
        for url, stores in sources.items():
            for source in stores:
                by_store[source].add(url)
        places: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for source in sorted(by_store):
            wanted = by_store[source]
            for row, (url, _record) in enumerate(read_pickles(work_path(self.output, "records", f"{source}.parquet"))):
                if url_key(url) in wanted:
                    places[url].append((source, row))
        return places

    def _batch_records(self, urls: list[str], places: dict[str, list[tuple[str, int]]],
                       files: dict[str, PickleRows]) -> dict[str, list]:
        records: dict[str, list] = {}
        for url in urls:
            for source, row in places.get(url, ()):
                if source not in files:
                    files[source] = PickleRows(work_path(self.output, "records", f"{source}.parquet"))
                records.setdefault(url, []).append(files[source][row][1])
        return records

    def _resolve(self, docs: list, places: dict[str, list[tuple[str, int]]], files: dict[str, PickleRows],
                 too_frequent: frozenset[int], out: PickleWriter):
        requests: dict[str, list] = defaultdict(list)
        for doc in docs:
            for url, request in media_requests(doc):
                requests[url].append(request)
        records = self._batch_records(sorted(requests), places, files)
        limit = self.cfg.media.max_url_references

        def resolve(url: str):
            wanted = sorted(requests[url])
            if url_key(url) in too_frequent:
                return url, wanted, Resolved(failed(url, wanted[0][2], "url_too_frequent",
                                                    f"more than {limit} references in the corpus"))
            return url, wanted, resolve_one(self.resolver, url, wanted, records.get(url, []))

        results: dict[str, dict[int, object]] = defaultdict(dict)
        for url, wanted, resolved in self.pool.map(resolve, sorted(requests)):
            yield from account(url, wanted, resolved)
            for doc_id, index, _kind in wanted:
                results[doc_id][index] = resolved.result
        for doc in docs:
            media = results.get(doc.doc_id, {})
            out.append((doc, media))
            # each (content key, doc_id) once: counted with a combiner, no per-pair grouping
            for key in sorted({key for index in media for key in content_keys(doc.doc_id, media[index])}):
                yield beam.pvalue.TaggedOutput(CONTENT, key)

    def run(self, store: str, grouped, too_frequent: list[int]):
        strips = dict(grouped["keys"])  # position of each surviving document → its site-wide paragraphs
        if not strips:
            return
        frequent = frozenset(too_frequent)
        places = self._records(dict(grouped["records"]))
        files: dict[str, PickleRows] = {}
        out = PickleWriter(work_path(self.output, "media", f"{store}.parquet"))
        batch: list = []
        for position, doc in enumerate(read_pickles(work_path(self.output, "docs", f"{store}.parquet"))):
            if position not in strips:
                continue
            for kept in self.chain.run((doc, strips[position]) if self.strip else doc):
                if isinstance(kept, beam.pvalue.TaggedOutput):
                    yield kept
                else:
                    batch.append(kept)
            if len(batch) >= MEDIA_BATCH_DOCS:
                yield from self._resolve(batch, places, files, frequent, out)
                batch = []
        if batch:
            yield from self._resolve(batch, places, files, frequent, out)
        for rows in files.values():
            rows.close()
        out.close()
        yield store, out.count


class AssembleDocument:
    """Stage function: (doc, {media index: result}) → (doc, stored media, failed media). Duplicates
    and frequent content among the media go (`assemble_media/<status>`, a rejects row each), then
    the image-count rules."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config

    def __call__(self, element, frequent: frozenset[str]):
        doc, media = element
        doc, kept, failures = attach_media(doc, media, self.config.media.phash_distance, frequent)
        for failure in failures:  # each with its rejects row: every media node that leaves is written
            yield Dropped(failure.status, doc.doc_id, failure.url, failure.error_message, part=True)
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

    def __call__(self, element, tokenizer: Tokenizer):
        doc, media, failures = element
        samples, counts = build_samples(doc, media, tokenizer, self.config.windows, self.config.seed, failures)
        yield Counts(drops={"too_few_images": counts["too_few_images"]}, volumes={"windows_made": counts["windows_made"]})
        if not samples:
            raise Rejected("no_window", f"{counts['windows_made']} windows, none with enough images")
        yield from samples


class ShardPass(StorePass):
    """Store pass 3: attach media, tokenize and cut windows for a store's documents, and write its
    shards as they come (a sample's shard is a stable hash of its key, the shard count follows the
    store's document count, so no sample waits in memory). Emits the shardlist entries."""

    name = "shards"
    counter_stage = "shard"

    def __init__(self, cfg: JobConfig, fingerprint: str) -> None:
        super().__init__(cfg.output, fingerprint)
        self.cfg = cfg
        self.chain = Chain([LibraryStage("assemble", AssembleDocument(cfg), many=True, parts="assemble_media"),
                            LibraryStage("window", WindowDocument(cfg), many=True)])
        self._model: tuple[bytes, Tokenizer] | None = None

    def setup(self) -> None:
        self.chain.setup()

    def _tokenizer(self, model: bytes) -> Tokenizer:
        if self._model is None or self._model[0] != model:  # one model for the whole run
            self._model = (model, Tokenizer(model))
        return self._model[1]

    def run(self, store: str, n_docs: int, frequent: list[str], model: bytes, ordinals: dict[str, int]):
        cfg = self.cfg  # every store has its ordinal: their count is the store count (no grouping to count them)
        n = num_shards(n_docs, cfg.samples_per_shard, math.ceil(cfg.min_shards / max(1, len(ordinals))))
        sides = {0: (frozenset(frequent),), 1: (self._tokenizer(model),)}
        remove_store_shards(self.output, cfg.prefix, ordinals[store])
        shards: dict[int, OpenShard] = {}
        for element in read_pickles(work_path(self.output, "media", f"{store}.parquet")):
            for sample in self.chain.run(element, sides):
                if isinstance(sample, beam.pvalue.TaggedOutput):
                    yield sample
                    continue
                index = stable_hash(sample.key) % n
                if index not in shards:
                    shards[index] = OpenShard(self.output, store_shard_name(cfg.prefix, ordinals[store], index))
                rows = [sample.row, *({**f, "n_tokens": 0, "n_images": 0} for f in sample.failures)]
                shards[index].add(sample, rows)
        for index in sorted(shards):
            yield shards[index].close(MANIFEST_SCHEMA, self.fingerprint)


def remove_store_shards(output: str, prefix: str, ordinal: int) -> None:
    """Delete what an earlier, unfinished run wrote for a store (with other options it may have had
    other shard indices, which this run would not overwrite)."""
    stem = store_shard_name(prefix, ordinal, 0)[: -len("0000.tar")]
    patterns = [fs.join(output, f"{stem}*"), fs.join(output, f".{stem}*")]
    stale = [m.path for r in FileSystems.match(patterns) for m in r.metadata_list]
    if stale:
        FileSystems.delete(stale)


class TrainTokenizer:
    """The tokenizer of the run, trained on the texts of the sampled documents (read from their
    stores), in hash order up to `--tokenizer_sample_chars`; b"" when no document survived."""

    def __init__(self, cfg: JobConfig) -> None:
        self.cfg = cfg

    def __call__(self, sample: list[tuple[int, str, str, int]]) -> bytes:
        if not sample:
            return b""
        wanted: dict[str, dict[int, int]] = defaultdict(dict)
        for sample_hash, _doc_id, store, position in sample:
            wanted[store][position] = sample_hash

        def texts():
            for store in sorted(wanted):
                positions = wanted[store]
                for position, doc in enumerate(read_pickles(work_path(self.cfg.output, "docs", f"{store}.parquet"))):
                    if position in positions:
                        yield positions[position], doc.text

        return train_tokenizer(smallest_within(texts(), self.cfg.tokenizer_sample_chars), self.cfg.train)


def tokenizer_info(model: bytes) -> dict:
    tok = Tokenizer(model)
    return {"file": "tokenizer.model", "sha256": hashlib.sha256(model).hexdigest(), "vocab_size": tok.vocab_size,
            "image_token": "<image>", "image_token_id": tok.image_id, "eoc_token": "<EOC>", "eoc_token_id": tok.eoc_id}


class FinalizeDataset(beam.DoFn):
    """Write tokenizer.model and dataset.json (stats are merged in by the launcher after the run)."""

    def __init__(self, config: JobConfig, fingerprint: str) -> None:
        self.config = config
        self.fingerprint = fingerprint

    def process(self, _impulse: bytes, shards: list[dict], model: bytes):
        cfg = self.config
        if model:  # empty when no document survived: there was nothing to train on
            fs.write_bytes_atomic(fs.join(cfg.output, "tokenizer.model"), model)
        window = {"max_tokens": cfg.windows.max_tokens, "max_images": cfg.windows.max_images}
        fs.write_bytes_atomic(fs.join(cfg.output, "dataset.json"),
                              dataset_json("m3w", shards, tokenizer_info(model) if model else None, window, cfg.to_json(),
                                           self.fingerprint))
        yield len(shards)


def build_pipeline(p: beam.Pipeline, cfg: JobConfig, tokenizer_model: bytes | None = None,
                   fingerprint: str = "") -> None:
    """Add the whole M3W graph to `p` (`fingerprint`: `checks.fingerprint` of this run)."""
    inputs = apply(p | "Inputs" >> beam.Create(cfg.inputs), "Expand", expand_stage(cfg.cc_base))
    # one-element steps (the stores, dataset.json) start from an Impulse and read what they need
    # as a side input: a `ToList` combiner is 6 more steps and a grouping for the same list
    stores = (p | "StoresImpulse" >> beam.Impulse()
              | "Stores" >> beam.FlatMap(lambda _, files: make_stores(files), beam.pvalue.AsList(inputs.out)))
    ordinals = beam.pvalue.AsDict(stores | "Ordinals" >> beam.Map(lambda s: (s[1], s[0])))
    documents = (stores | "StoreFiles" >> beam.Map(lambda s: (s[1], s[2]))
                 | "SpreadStores" >> beam.GroupByKey()  # a store a key: spread over the workers
                 | "Documents" >> beam.ParDo(DocumentPass(cfg, fingerprint)).with_outputs(CAPTURED, main="keys"))
    exchange = job_exchange(cfg)
    partition_numbers(p, exchange.partitions)  # at the top level: every grouping spreads these
    quality = documents.keys | "Quality" >> QualityStage(cfg.quality, exchange)
    survivors = quality["docs"]
    rejects = [inputs[REJECTS], quality["rejects"]]

    limit = cfg.media.max_url_references
    too_frequent = beam.pvalue.AsList(  # a hot URL is one count, not a list
        survivors | "CountReferences" >> exchange.combine(operator.add, items=reference_counts,
                                                          then=partial(over_referenced, limit)))
    sources = ({"wanted": survivors, "captured": documents[CAPTURED]}
               | "JoinCaptured" >> exchange.cogroup(items={"wanted": wanted_urls}, then=record_sources))
    by_store = ({"keys": survivors, "records": sources}
                | "GroupByStore" >> exchange.cogroup(items={"keys": store_position}))
    media = by_store | "Media" >> beam.ParDo(MediaPass(cfg, fingerprint), too_frequent).with_outputs(
        CONTENT, main="stores")
    frequent = beam.pvalue.AsList(media[CONTENT] | "FrequentContent" >> FrequentContent(cfg.media.max_content_documents,
                                                                                       exchange))

    if tokenizer_model is not None:
        model = p | "Tokenizer" >> beam.Create([tokenizer_model])
    else:
        model = (
            survivors
            | "TokenizerSample" >> beam.Map(lambda k: (k.sample_hash, k.doc_id, k.store, k.position))
            | "SmallestHashes" >> beam.combiners.Top.Smallest(cfg.tokenizer_sample_docs)
            | "TrainTokenizer" >> beam.Map(TrainTokenizer(cfg))
        )
    model_side = beam.pvalue.AsSingleton(model)
    shards = media.stores | "Shards" >> beam.ParDo(ShardPass(cfg, fingerprint), frequent, model_side, ordinals)
    _ = (p | "FinalizeImpulse" >> beam.Impulse()
         | "Finalize" >> beam.ParDo(FinalizeDataset(cfg, fingerprint), beam.pvalue.AsList(shards), model_side))
    if cfg.write_rejects:
        _ = tuple(rejects) | "AllRejects" >> beam.Flatten() | "Rejects" >> RejectsFiles(cfg.output)


def job_exchange(cfg: JobConfig) -> Exchange:
    """Where the run's file groupings go (`_work/exchange/`, removed with `_work/`)."""
    return Exchange(work_path(cfg.output, EXCHANGE), cfg.decision_partitions)


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
    for path in manifests:  # one manifest's status column in memory at a time
        statuses = pq.read_table(io.BytesIO(fs.read_bytes(path)), columns=["status"]).column(0).to_pylist()
        failed += sum(1 for s in statuses if s in RETRYABLE or s.startswith("http_"))
    shards = [m.path for r in FileSystems.match([fs.join(cfg.output, f"{cfg.prefix}-*")]) for m in r.metadata_list]
    if shards:
        FileSystems.delete(shards)
    remove_work(cfg.output)  # the media and shard passes must run again
    return failed


def check_values(cfg: JobConfig) -> None:
    """Refuse numbers no run can honour (`checks.check_bounds`), a minimum above its maximum and a
    shard prefix that is no file-name part (`checks.check_prefix`), with a one-line `UsageError`
    before anything is read or written."""
    checks.check_bounds(cfg)
    checks.check_prefix(cfg.prefix)
    for low, high, names in ((cfg.min_doc_images, cfg.max_doc_images, ("min_doc_images", "max_doc_images")),
                             (cfg.windows.min_images, cfg.windows.max_images, ("min_window_images", "max_images")),
                             (cfg.filters.min_words or 0, cfg.filters.max_words or float("inf"), ("min_words", "max_words")),
                             (cfg.images.min_side, cfg.images.max_side, ("min_image_side", "max_image_side")),
                             (cfg.images.min_aspect, cfg.images.max_aspect, ("min_aspect", "max_aspect"))):
        if low > high:
            raise checks.UsageError(f"--{names[0]} {low} is above --{names[1]} {high}")


def prepare(cfg: JobConfig, dry_run: bool) -> tuple[bytes | None, str]:
    """Checks before Beam starts (a dry run touches no storage); returns the tokenizer given with
    `--tokenizer` and this run's fingerprint."""
    check_values(cfg)
    if dry_run:
        return None, checks.fingerprint(cfg.to_json(), [[p, None] for p in cfg.inputs])
    checks.check_side_files(cfg.url_map, cfg.quality.blocklist)
    tokenizer_model = checks.load_tokenizer(cfg.tokenizer) if cfg.tokenizer else None
    checks.check_output(cfg.output)
    checks.claim_output(cfg.output)  # before anything in it is read, cleaned or written
    listing = checks.input_listing(cfg.inputs)
    checks.check_inputs_outside_output(cfg.output, [("--input", path) for path, _size in listing] + [
        ("--url_map", cfg.url_map or ""), ("--tokenizer", cfg.tokenizer or ""), ("--mirror_dir", cfg.mirror_dir or "")]
        + [("--blocklist", path) for path in cfg.quality.blocklist])
    fingerprint = checks.fingerprint(cfg.to_json(), listing, tokenizer_model)
    checks.check_rerun(cfg.output, fingerprint, cfg.to_json(), cfg.overwrite, cfg.prefix)
    fs.clean_stale_temporaries(cfg.output)
    remove_exchange(work_path(cfg.output, EXCHANGE))  # a killed run's groupings: this run makes its own
    if cfg.media.retry_failed:
        print(f"--retry_failed: {prepare_retry(cfg)} failed media items of the previous run will be fetched again")
    return tokenizer_model, fingerprint


MALLOC_ARENAS = 2  # glibc malloc arenas of a local run's launcher and workers (see `limit_malloc_arenas`)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """Cap glibc's malloc arenas in this process and in the worker processes the local runner
    starts (they inherit `MALLOC_ARENA_MAX`). By default each thread that allocates gets an arena
    of its own (up to 8 per core) and memory freed in one is not reused by another: the bytes the
    runner's gRPC threads pass through stay in their arenas, ~30 MB of the launcher's 4k-page peak.
    Nothing changes off glibc, or when `MALLOC_ARENA_MAX` is set already."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX, for the threads still to start
    except (OSError, AttributeError):  # not glibc (musl): no per-thread arenas to cap
        pass


def run(argv: list[str] | None = None) -> dict | None:
    """Parse flags, run the job, write stats; returns the dataset.json document (on a dry run, the
    translated step names)."""
    parser = build_parser()
    args, extra = parse_job_args(parser, argv)
    options = PipelineOptions(beam_args(extra))
    dry_run = bool(options.get_all_options().get("dry_run"))
    try:
        checks.refuse_credentials(parser, args)
        cfg = config_from_args(args, [] if args.inputs or dry_run else default_inputs(args.output))
        tokenizer_model, fingerprint = prepare(cfg, dry_run)
    except (checks.UsageError, ValueError) as error:
        checks.release_output()
        raise SystemExit(f"{parser.prog}: error: {error}") from None
    try:
        return _run_job(cfg, options, warm_workers.local_runner(extra, options), dry_run, tokenizer_model,
                        fingerprint)
    finally:
        checks.release_output()


def _run_job(cfg: JobConfig, options: PipelineOptions, runner: beam.runners.PipelineRunner | None, dry_run: bool,
             tokenizer_model: bytes | None, fingerprint: str) -> dict:
    """Run the prepared job (the output folder held) and publish it; `runner` None: Beam's from `options`."""
    start = time.time()
    if not dry_run:
        limit_malloc_arenas()
    pipeline = beam.Pipeline(runner=runner, options=options)
    build_pipeline(pipeline, cfg, tokenizer_model, fingerprint)
    freeze_startup_objects()
    with warm_workers.forked(pipeline.runner), progress.live(cfg.output, enabled=not dry_run):
        result = pipeline.run()
        result.wait_until_finish()
    if dry_run:  # the DataflowRunner translated the graph and submitted nothing
        transforms = result.job.proto_pipeline.components.transforms.values()
        steps = sorted(t.unique_name for t in transforms if "/" not in t.unique_name)
        print(f"Dry run: the job translated for Dataflow ({len(steps)} top-level steps); nothing was submitted.")
        return {"dry_run": True, "steps": steps}
    dataset = publish(cfg, result, start, "M3W dataset")
    remove_work(cfg.output)
    return dataset


def main() -> int:
    with fs.stop_on_storage_failure(build_parser().prog):
        run(sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
