"""The pairs job: ALIGN (image/alt text), LTIP (image/long text) and VTP (video/text) pair shards.

    python -m pipelines.pairs --source align|ltip|vtp --output out/ltip [--input LIST ...] [Beam flags]

`--source align` harvests (src, alt) from WARC/HTML pages (and accepts URL+caption lists);
`ltip`/`vtp` read parquet/csv/tsv/jsonl(.gz) lists (`--url_col`, `--caption_col`). Media come from
`--media_input` WARCs, the page crawl itself, `--mirror_dir`, `--media_cache`, local paths, or the
safe HTTP fetcher (`pipelines.media_stage.ResolveMedia`). Without `--input` the embedded sample
of the source is used. Output: `{prefix}-NNNNNN.tar/.idx/.parquet`, `dataset.json`, `stats.json`,
`report.html`, `rejects/`. Shards are assigned by a stable hash of each item's key over the
number of input items, so a rerun skips finished shards and `--retry_failed` rewrites only shards
with failures.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from m3w_builder.extract.dom import ExtractOptions
from m3w_builder.media.images import ImageOptions
from m3w_builder.output.card import add_card_flags, card_from_args
from m3w_builder.pairs.align import CaptionRules
from m3w_builder.read.lists import ListOptions, is_list_file
from pipelines import fs, progress
from pipelines.config import JobConfig, add_media_arguments, beam_args, media_options_from_args
from pipelines.m3w import publish
from pipelines.media_stage import ResolveMediaTransform
from pipelines.metrics import REJECTS, count
from pipelines.pairs_stages import (
    Compose,
    FrequentCaptions,
    HarvestAlts,
    ReadPairList,
    Settle,
    WritePairShard,
    alt_keyed,
    local_urls,
    manifest_rows,
    media_request,
    read_local,
)
from pipelines.read import MEDIA, ExpandInputs, ReadRecords
from pipelines.shard_io import WriteRejects, dataset_json, num_shards, reject_bucket, stable_hash

SAMPLE_DIR = Path.home() / ".cache" / "m3w-builder" / "sample-pairs"
# Per-source defaults: (min words, max words, min side, min aspect, max aspect, max alt frequency, max url refs)
DEFAULTS = {
    "align": (3, 20, 200, 1 / 3, 3.0, 10, 1000),  # ALIGN's rules
    "ltip": (3, 512, 64, 1 / 4, 4.0, 0, 0),
    "vtp": (1, 512, 1, 1 / 8, 8.0, 0, 0),
}


@dataclass
class PairsConfig:
    """Everything the pairs stages need; `job` is the `JobConfig` handed to `ResolveMedia`."""

    source: str
    inputs: list[str]
    media_inputs: list[str]
    output: str
    job: JobConfig
    prefix: str = "pairs"
    list_options: ListOptions = field(default_factory=ListOptions)
    caption_rules: CaptionRules = field(default_factory=CaptionRules)
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    max_alt_frequency: int = 10
    video_frames: int = 0
    samples_per_shard: int = 1000
    local_paths: bool = True
    write_rejects: bool = True
    retry_failed: bool = False
    report: bool = True

    @property
    def kind(self) -> str:
        return "video" if self.source == "vtp" else "image"

    def to_json(self) -> dict:
        out = asdict(self)
        out["media"] = out.pop("job")["media"]
        out["images"] = asdict(self.job.images)
        out["card"] = asdict(self.job.card)
        return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipelines.pairs",
        description="Build ALIGN/LTIP/VTP pair WebDataset shards (<image>caption<EOC>). Beam flags are passed through.")
    p.add_argument("--source", choices=tuple(DEFAULTS), required=True)
    io = p.add_argument_group("input/output")
    io.add_argument("--input", dest="inputs", action="append", default=None,
                    help="lists (parquet/csv/tsv/jsonl, .gz too) or, for align, WARC/HTML pages; globs; repeatable. "
                    "Default: the embedded sample of --source")
    io.add_argument("--media_input", action="append", default=[],
                    help="WARC files whose image/video records answer the list URLs (replay); repeatable")
    io.add_argument("--output", required=True)
    io.add_argument("--prefix", default=None, help="shard name prefix (default: the source)")
    io.add_argument("--url_map", default=None, help="JSON-lines file mapping HTML files to URLs (align pages)")
    io.add_argument("--mirror_dir", default=None, help="local mirror of media: MIRROR/host/path")
    io.add_argument("--samples_per_shard", type=int, default=1000, help="input items per shard")
    io.add_argument("--no_rejects", action="store_true")
    io.add_argument("--no_report", action="store_true", help="do not write report.html")
    add_card_flags(io)
    lists = p.add_argument_group("lists")
    lists.add_argument("--url_col", default="url")
    lists.add_argument("--caption_col", default="caption")
    lists.add_argument("--extra_cols", default=None, help="comma-separated columns to keep (default: all others)")
    lists.add_argument("--list_format", choices=("parquet", "csv", "tsv", "jsonl"), default=None)
    lists.add_argument("--list_encoding", default=None, help="encoding of non-UTF-8 lines (default: detected)")
    lists.add_argument("--no_local_paths", action="store_true", help="refuse local file paths in lists")
    text = p.add_argument_group("captions")
    text.add_argument("--min_caption_words", type=int, default=None)
    text.add_argument("--max_caption_words", type=int, default=None)
    text.add_argument("--min_caption_chars", type=int, default=5)
    text.add_argument("--max_caption_chars", type=int, default=4000)
    text.add_argument("--keep_boilerplate_captions", action="store_true")
    text.add_argument("--keep_filename_captions", action="store_true")
    text.add_argument("--max_alt_frequency", type=int, default=None,
                      help="drop captions shared by more than K distinct images (0: off; align default 10)")
    media = p.add_argument_group("media")
    media.add_argument("--image_size", type=int, default=256)
    media.add_argument("--min_image_side", type=int, default=None)
    media.add_argument("--max_image_side", type=int, default=20000)
    media.add_argument("--min_aspect", type=float, default=None)
    media.add_argument("--max_aspect", type=float, default=None)
    media.add_argument("--video_frames", type=int, default=0,
                       help="VTP: store exactly N frames (1 FPS) per video, shorter ones fail (0: all frames)")
    add_media_arguments(media)
    p.set_defaults(max_url_references=None)
    return p


def _pick(value, default):
    return default if value is None else value


def config_from_args(args: argparse.Namespace, inputs: list[str], media_inputs: list[str]) -> PairsConfig:
    words_min, words_max, side, aspect_min, aspect_max, alt_freq, url_refs = DEFAULTS[args.source]
    media = media_options_from_args(argparse.Namespace(**{**vars(args), "max_url_references": 0}))
    media.max_url_references = _pick(args.max_url_references, url_refs)
    images = ImageOptions(image_size=args.image_size, min_side=_pick(args.min_image_side, side),
                          max_side=args.max_image_side, min_aspect=_pick(args.min_aspect, aspect_min),
                          max_aspect=_pick(args.max_aspect, aspect_max))
    output = args.output.rstrip("/")
    job = JobConfig(inputs=inputs, output=output, prefix=args.prefix or args.source, url_map=args.url_map,
                    mirror_dir=args.mirror_dir, media=media, images=images, card=card_from_args(args))
    return PairsConfig(
        source=args.source, inputs=inputs, media_inputs=media_inputs, output=output, job=job,
        prefix=args.prefix or args.source,
        list_options=ListOptions(url_col=args.url_col, caption_col=args.caption_col, format=args.list_format,
                                 extra_cols=tuple(args.extra_cols.split(",")) if args.extra_cols else None,
                                 encoding=args.list_encoding),
        caption_rules=CaptionRules(min_words=_pick(args.min_caption_words, words_min),
                                   max_words=_pick(args.max_caption_words, words_max),
                                   min_chars=args.min_caption_chars, max_chars=args.max_caption_chars,
                                   drop_boilerplate=not args.keep_boilerplate_captions,
                                   drop_filenames=not args.keep_filename_captions),
        max_alt_frequency=_pick(args.max_alt_frequency, alt_freq), video_frames=args.video_frames,
        samples_per_shard=args.samples_per_shard, local_paths=not args.no_local_paths,
        write_rejects=not args.no_rejects, retry_failed=args.retry_failed, report=not args.no_report,
    )


def _split_inputs(path: str, source: str):
    """Lists on `lists`; pages (align only) on the main output; anything else is a counted drop."""
    if is_list_file(path):
        yield beam.pvalue.TaggedOutput("lists", path)
    elif source == "align":
        yield path
    else:
        count("read", "not_a_list")
        yield beam.pvalue.TaggedOutput(REJECTS, {"id": path, "url": path, "stage": "read", "reason": "not_a_list"})


class FinalizePairs(beam.DoFn):
    """Write dataset.json (stats are merged in by the launcher after the run)."""

    def __init__(self, cfg: PairsConfig) -> None:
        self.cfg = cfg

    def process(self, shards: list[dict]):
        cfg = self.cfg
        fs.write_bytes_atomic(fs.join(cfg.output, "dataset.json"),
                              dataset_json(cfg.source, shards, None, None, cfg.to_json()))
        yield len(shards)


def build_pipeline(p: beam.Pipeline, cfg: PairsConfig) -> None:
    """Add the whole pairs graph to `p`."""
    files = (p | "Inputs" >> beam.Create(cfg.inputs)
             | "Expand" >> beam.ParDo(ExpandInputs()).with_outputs(REJECTS, main="files"))
    split = files.files | "Split" >> beam.FlatMap(_split_inputs, cfg.source).with_outputs(REJECTS, "lists", main="pages")
    rejects = [files[REJECTS], split[REJECTS]]
    list_items = (split.lists | "SpreadLists" >> beam.Reshuffle()
                  | "ReadLists" >> beam.ParDo(ReadPairList(cfg)))
    records = (split.pages | "SpreadFiles" >> beam.Reshuffle()
               | "ReadPages" >> beam.ParDo(ReadRecords(cfg.job.url_map)).with_outputs(REJECTS, MEDIA, main="pages"))
    harvested = (records.pages | "SpreadPages" >> beam.Reshuffle()
                 | "Harvest" >> beam.ParDo(HarvestAlts(cfg)).with_outputs(REJECTS, main="items"))
    media_files = (p | "MediaInputs" >> beam.Create(cfg.media_inputs)
                   | "ExpandMedia" >> beam.ParDo(ExpandInputs()).with_outputs(REJECTS, main="files"))
    media_records = (media_files.files | "SpreadMediaFiles" >> beam.Reshuffle()
                     | "ReadMedia" >> beam.ParDo(ReadRecords(None)).with_outputs(REJECTS, MEDIA, main="pages"))
    rejects += [records[REJECTS], harvested[REJECTS], media_files[REJECTS], media_records[REJECTS]]
    items = ((list_items, harvested.items) | "AllItems" >> beam.Flatten()
             | "KeyItems" >> beam.Map(lambda i: (i.key, i)))
    if cfg.retry_failed:
        previous = p | "Manifests" >> beam.Create([fs.join(cfg.output, f"{cfg.prefix}-*.parquet")]) \
            | "ReadManifests" >> beam.FlatMap(manifest_rows)
    else:
        previous = p | "NoManifests" >> beam.Create([])
    settled = ({"items": items, "prev": previous} | "GroupByKey" >> beam.CoGroupByKey()
               | "Settle" >> beam.ParDo(Settle()).with_outputs(REJECTS, main="items"))
    rejects.append(settled[REJECTS])
    kept = settled.items
    if cfg.max_alt_frequency:
        frequency = (kept | "KeyByCaption" >> beam.Map(alt_keyed) | "GroupByCaption" >> beam.GroupByKey()
                     | "FrequentCaptions" >> beam.ParDo(FrequentCaptions(cfg.max_alt_frequency)).with_outputs(
                         REJECTS, main="items"))
        rejects.append(frequency[REJECTS])
        kept = frequency.items
    local = (kept | "LocalUrls" >> beam.FlatMap(local_urls) | "DistinctLocal" >> beam.Distinct()
             | "ReadLocal" >> beam.FlatMap(read_local))
    all_records = (records[MEDIA], media_records[MEDIA], local) | "AllRecords" >> beam.Flatten()
    requests = kept | "MediaRequests" >> beam.FlatMap(media_request)
    resolved = {"requests": requests, "records": all_records} | "ResolveMedia" >> ResolveMediaTransform(cfg.job)
    media = resolved["media"]
    rejects.append(resolved["rejects"])
    entries = ({"items": kept | "KeyKept" >> beam.Map(lambda i: (i.key, i)), "media": media}
               | "GroupByItem" >> beam.CoGroupByKey() | "Compose" >> beam.ParDo(Compose(cfg.video_frames)))
    n_items = beam.pvalue.AsSingleton(entries | "CountItems" >> beam.combiners.Count.Globally())
    extra_names = beam.pvalue.AsSingleton(kept | "ExtraNames" >> beam.FlatMap(lambda i: list(i.extra))
                                          | "DistinctExtra" >> beam.Distinct() | "ExtraList" >> beam.combiners.ToList())
    per_shard = cfg.samples_per_shard
    shards = (entries
              | "AssignShard" >> beam.Map(lambda e, n: (stable_hash(e[0]) % num_shards(n, per_shard), e), n_items)
              | "GroupShards" >> beam.GroupByKey()
              | "WriteShards" >> beam.ParDo(WritePairShard(cfg.output, cfg.prefix), extra_names))
    _ = shards | "ShardList" >> beam.combiners.ToList() | "Finalize" >> beam.ParDo(FinalizePairs(cfg))
    if cfg.write_rejects:
        _ = (rejects | "AllRejects" >> beam.Flatten() | "RejectBuckets" >> beam.Map(reject_bucket)
             | "GroupRejects" >> beam.GroupByKey() | "WriteRejects" >> beam.ParDo(WriteRejects(cfg.output)))


def default_inputs(source: str, output: str) -> tuple[list[str], list[str]]:
    """The embedded sample of `source` (copied next to a remote output)."""
    from m3w_builder.demo.pairs import write_sample_pairs

    inputs, media_inputs = write_sample_pairs(SAMPLE_DIR / source, source)
    if "://" not in output:
        return inputs, media_inputs
    copied = []
    for group in (inputs, media_inputs):
        remote = [fs.join(output, "_input", Path(p).name) for p in group]
        for local, dest in zip(group, remote):
            fs.write_bytes_atomic(dest, Path(local).read_bytes())
        copied.append(remote)
    return copied[0], copied[1]


def summary(cfg: PairsConfig, dataset: dict) -> str:
    stats = dataset["stats"]
    shards = dataset["shardlist"]
    failures = {k[6:]: v for k, v in stats.items() if k.startswith("pairs/") and k != "pairs/success"}
    return "\n".join([
        f"{cfg.source.upper()} pairs written to {cfg.output}",
        f"  shards: {len(shards)}  samples: {sum(s['nsamples'] for s in shards)}  "
        f"bytes: {sum(s['filesize'] for s in shards)}",
        f"  list rows: {stats.get('list/rows', 0)}  pages: {stats.get('align_page/pages', 0)}  "
        f"alt candidates: {stats.get('align/candidates', 0)}  pairs stored: {stats.get('pairs/success', 0)}",
        "  failures: " + ", ".join(f"{k}={v}" for k, v in sorted(failures.items())),
    ])


def run(argv: list[str] | None = None) -> dict:
    """Parse flags, run the job, write stats and report.html; returns the dataset.json document."""
    args, extra = build_parser().parse_known_args(argv)
    if args.inputs:
        inputs, media_inputs = args.inputs, args.media_input
    else:
        inputs, media_inputs = default_inputs(args.source, args.output)
        media_inputs = media_inputs + args.media_input
    cfg = config_from_args(args, inputs, media_inputs)
    fs.ensure_dir(cfg.output)
    fs.clean_stale_temporaries(cfg.output)
    start = time.time()
    pipeline = beam.Pipeline(options=PipelineOptions(beam_args(extra)))
    build_pipeline(pipeline, cfg)
    with progress.live(cfg.output):
        result = pipeline.run()
        result.wait_until_finish()
    return publish(cfg, result, start, summary)


def main() -> int:
    run(sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
