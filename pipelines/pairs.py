"""The pairs job: ALIGN (image/alt text), LTIP (image/long text) and VTP (video/text) pair shards.

    python -m pipelines.pairs --source align|ltip|vtp --output out/ltip [--input LIST ...] [Beam flags]

`--source align` harvests (src, alt) from WARC/HTML pages (and accepts URL+caption lists);
`ltip`/`vtp` read parquet/csv/tsv/jsonl(.gz) lists (`--url_col`, `--caption_col`). Media come from
`--media_input` WARCs, the page crawl itself, `--mirror_dir`, `--media_cache`, local paths, or the
safe HTTP fetcher (`pipelines.media_stage.ResolveMedia`). Without `--input` the embedded sample
of the source is used. Output: `{prefix}-NNNNNN.tar/.idx/.parquet` (`--output_format parquet`: one
`.parquet` per shard with the media in a column; `files`: a folder per shard + `.parquet`),
`{prefix}-NNNNNN_stats.json`, `dataset.json`, `stats.json`, `report.html`, `rejects/`. Shards are
assigned by a stable hash of each item's key over the number of input items, so a rerun skips
finished shards and `--retry_failed` rewrites only shards with failures.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from m3w_builder.cache import user_cache_dir
from m3w_builder.drops import Rejected
from m3w_builder.extract.dom import ExtractOptions
from m3w_builder.media.images import ImageOptions
from m3w_builder.media.video import VideoOptions
from m3w_builder.options import add_options, option, options_from_args
from m3w_builder.output import formats
from m3w_builder.output.card import CardOptions
from m3w_builder.pairs.align import CaptionRules
from m3w_builder.pairs.items import manifest_columns
from m3w_builder.read.lists import ListOptions, is_list_file
from pipelines import checks, fs, progress, warm_workers
from pipelines.config import (
    MediaOptions,
    add_media_options,
    beam_args,
    media_options_from_args,
    new_parser,
    parse_job_args,
)
from pipelines.media_stage import ResolveMediaTransform
from pipelines.metrics import REJECTS
from pipelines.pairs_stages import (
    CheckCandidate,
    Compose,
    FrequentCaptions,
    HarvestPage,
    ReadPairList,
    ReadReused,
    Settle,
    WritePairShard,
    alt_keyed,
    local_urls,
    manifest_rows,
    media_request,
    not_reused,
    read_local,
    reused_by_shard,
)
from pipelines.publish import dataset_json, publish
from pipelines.read import MEDIA, expand_stage, read_stage
from pipelines.shard_io import RejectsFiles, num_shards, stable_hash
from pipelines.stages import Counts, LibraryStage, apply, freeze_startup_objects

SAMPLE_DIR = user_cache_dir() / "sample-pairs"
SOURCES = ("align", "ltip", "vtp")
# Defaults of the flags left unset, per source (field name → value): ALIGN's rules; looser ones for
# long captions (LTIP) and video (VTP)
SOURCE_DEFAULTS = {
    "align": {"min_words": 3, "max_words": 20, "min_side": 200, "min_aspect": 1 / 3, "max_aspect": 3.0,
              "max_alt_frequency": 10, "max_url_references": 1000},
    "ltip": {"min_words": 3, "max_words": 512, "min_side": 64, "min_aspect": 1 / 4, "max_aspect": 4.0,
             "max_alt_frequency": 0, "max_url_references": 0},
    "vtp": {"min_words": 1, "max_words": 512, "min_side": 1, "min_aspect": 1 / 8, "max_aspect": 8.0,
            "max_alt_frequency": 0, "max_url_references": 0},
}
PER_SOURCE = {name: None for name in SOURCE_DEFAULTS["align"]}  # shown as None: the source decides


@dataclass
class PairsOptions:
    """Everything the pairs stages need (also what `ResolveMedia` reads: media, mirror_dir, images, video)."""

    source: str = option(help="which pair dataset to build", choices=SOURCES)
    output: str = option(help="output folder (local or gs://...)")
    inputs: list[str] = option(factory=list, flag="input",
                               help="lists (parquet/csv/tsv/jsonl, .gz too) or, for align, WARC/HTML pages; globs; "
                               "empty: the embedded sample of --source")
    media_inputs: list[str] = option(factory=list, flag="media_input",
                                     help="WARC files whose image/video records answer the list URLs (replay)")
    prefix: str | None = option(None, "shard name prefix (default: the source)")
    output_format: str = option(formats.WEBDATASET, "img2dataset's output formats: webdataset (tar + .idx + "
                                "manifest), parquet (the manifest with the media in a column), files (a folder "
                                "of KEY.jpg/.txt/.json per shard + manifest)", choices=formats.OUTPUT_FORMATS)
    url_map: str | None = option(None, "JSON-lines file mapping HTML files to URLs (align pages)")
    mirror_dir: str | None = option(None, "mirror of media, MIRROR/host/path: a local folder or gs://, s3://...")
    samples_per_shard: int = option(1000, "input items per shard", low=1)
    min_shards: int = option(8, "at least this many shards (at most one per item), so a small dataset still "
                             "splits across DataLoader workers")
    write_rejects: bool = option(True, "do not write the rejects parquet", flag="no_rejects")
    report: bool = option(True, "do not write report.html", flag="no_report")
    overwrite: bool = option(False, "rebuild an --output that holds a dataset built with other options or inputs")
    allow_empty: bool = option(False, "exit 0 even when no sample was written")
    local_paths: bool = option(True, "refuse local file paths in lists", flag="no_local_paths")
    max_alt_frequency: int = option(10, "drop captions shared by more than K distinct images (0: off)")
    video_frames: int = option(0, "VTP: store exactly N frames (1 FPS) per video, shorter ones fail (0: all frames)")
    list_options: ListOptions = field(default_factory=ListOptions)
    caption_rules: CaptionRules = field(default_factory=CaptionRules)
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    images: ImageOptions = field(default_factory=ImageOptions)
    media: MediaOptions = field(default_factory=MediaOptions)
    card: CardOptions = field(default_factory=CardOptions)
    video: VideoOptions | None = None  # None: `VideoOptions(image=images)`

    @property
    def kind(self) -> str:
        return "video" if self.source == "vtp" else "image"

    def to_json(self) -> dict:
        return asdict(self)


def build_parser() -> argparse.ArgumentParser:
    """The job's flags, generated from `PairsOptions` and the option classes it holds."""
    p = new_parser("python -m pipelines.pairs",
                   "Build ALIGN/LTIP/VTP pair WebDataset shards (<image>caption<EOC>). Beam flags are passed through.")
    p.epilog = "Flags shown with default None take the --source default: " + "; ".join(
        f"{source}: " + ", ".join(f"{k}={v:g}" for k, v in values.items()) for source, values in SOURCE_DEFAULTS.items())
    add_options(p.add_argument_group("job"), PairsOptions, PER_SOURCE)
    add_options(p.add_argument_group("dataset card"), CardOptions)
    lists = p.add_argument_group("lists")
    add_options(lists, ListOptions, skip=("extra_cols",))
    lists.add_argument("--extra_cols", default=None, help="comma-separated columns to keep (default: all others)")
    add_options(p.add_argument_group("captions"), CaptionRules, PER_SOURCE)
    add_options(p.add_argument_group("images"), ImageOptions, PER_SOURCE)
    add_media_options(p, PER_SOURCE)
    return p


def config_from_args(args: argparse.Namespace, inputs: list[str], media_inputs: list[str]) -> PairsOptions:
    """`PairsOptions` of the parsed flags, unset per-source flags from `SOURCE_DEFAULTS`."""
    checks.check_media_locations(args.mirror_dir, args.media_cache)
    defaults = SOURCE_DEFAULTS[args.source]
    unset = {k: v for k, v in defaults.items() if getattr(args, k, None) is None}
    args = argparse.Namespace(**{**vars(args), **unset})
    extra_cols = tuple(args.extra_cols.split(",")) if args.extra_cols else None
    return options_from_args(
        PairsOptions, args, inputs=inputs, media_inputs=media_inputs, output=args.output.rstrip("/"),
        prefix=args.prefix or args.source,
        list_options=options_from_args(ListOptions, args, extra_cols=extra_cols),
        caption_rules=options_from_args(CaptionRules, args),
        images=options_from_args(ImageOptions, args),
        media=media_options_from_args(args),
        card=options_from_args(CardOptions, args),
    )


def check_values(cfg: PairsOptions) -> None:
    """Refuse sizes and bounds no run can honour (a zero shard size, a negative count, a minimum
    above its maximum) with a one-line `UsageError`, before anything is read or written."""
    checks.check_bounds(cfg)
    checks.check_prefix(cfg.prefix)
    lists = cfg.list_options
    for flag, column in (("--url_col", lists.url_col), ("--caption_col", lists.caption_col)):
        if not column.strip():
            raise checks.UsageError(f"{flag} {column!r}: names no column")
    if lists.url_col == lists.caption_col:
        raise checks.UsageError(f"--url_col and --caption_col both name {lists.url_col!r}: a caption is not its URL")
    if lists.extra_cols and not all(c.strip() for c in lists.extra_cols):
        raise checks.UsageError(f"--extra_cols {','.join(lists.extra_cols)!r}: an empty column name")
    if lists.encoding is not None:
        checks.check_text_encoding("--list_encoding", lists.encoding)
    rules, images = cfg.caption_rules, cfg.images
    if not 0 < images.min_aspect <= images.max_aspect:
        raise checks.UsageError(f"--min_aspect {images.min_aspect:g} --max_aspect {images.max_aspect:g}: "
                                "need 0 < min <= max")
    for low, high, name in ((rules.min_words, rules.max_words, "caption_words"),
                            (rules.min_chars, rules.max_chars, "caption_chars"),
                            (images.min_side, images.max_side, "image_side")):
        if low and high and low > high:
            raise checks.UsageError(f"--min_{name} {low} is above --max_{name} {high}")


def route_input(path: str, source: str):
    """Stage function (`route`): lists on `lists`; pages (align only) on the main output."""
    if is_list_file(path):
        yield Counts(volumes={"lists": 1})
        yield beam.pvalue.TaggedOutput("lists", path)
    elif source == "align":
        yield path
    else:
        raise Rejected("not_a_list", f"{path} is not a list file (parquet/csv/tsv/jsonl)")


def remove_stale_shards(output: str, prefix: str, stems: set[str]) -> int:
    """Delete the files of shards this run did not write (a retry that succeeds on more items
    spreads them over more shard ids, so some earlier shards end up holding none), so a glob over
    the folder reads what dataset.json lists; returns how many paths were deleted."""
    shard = re.compile(rf"^\.?({re.escape(prefix)}-\d{{6}})(?:[._]|$)")
    stale = set()
    # (pattern, whether it matches the files of a files-format folder, which is deleted whole)
    for pattern, in_folder in ((f"{prefix}-*", False), (f".{prefix}-*", False), (f"{prefix}-*/*", True)):
        for result in FileSystems.match([fs.join(output, pattern)]):
            for meta in result.metadata_list:
                path = FileSystems.split(meta.path)[0] if in_folder else meta.path
                match = shard.match(FileSystems.split(path)[1])
                if match and match.group(1) not in stems:
                    stale.add(path)
    if stale:
        FileSystems.delete(sorted(stale))
    return len(stale)


class FinalizePairs(beam.DoFn):
    """Remove stale shards, write dataset.json (stats are merged in by the launcher after the run)."""

    def __init__(self, cfg: PairsOptions, fingerprint: str) -> None:
        self.cfg = cfg
        self.fingerprint = fingerprint

    def process(self, shards: list[dict]):
        cfg = self.cfg
        tars = [s for s in shards if s["nsamples"]]
        failed_only = sorted(formats.manifest_name(s["url"]) for s in shards if not s["nsamples"])
        remove_stale_shards(cfg.output, cfg.prefix, {formats.stem_of(s["url"]) for s in shards})
        fs.write_bytes_atomic(fs.join(cfg.output, "dataset.json"),
                              dataset_json(cfg.source, tars, None, None, cfg.to_json(), self.fingerprint,
                                           failed_manifests=failed_only))
        yield len(tars)


def build_pipeline(p: beam.Pipeline, cfg: PairsOptions, fingerprint: str = "") -> None:
    """Add the whole pairs graph to `p` (`fingerprint`: `checks.fingerprint` of this run)."""
    files = apply(p | "Inputs" >> beam.Create(cfg.inputs), "Expand", expand_stage())
    split = apply(files.out, "Split", LibraryStage("route", lambda path: route_input(path, cfg.source), many=True),
                  tags=("lists",))
    list_items = apply(split.lists | "SpreadLists" >> beam.Reshuffle(), "ReadLists",
                       LibraryStage("list", ReadPairList(cfg), many=True))
    records = apply(split.out | "SpreadFiles" >> beam.Reshuffle(), "ReadPages", read_stage(cfg.url_map), tags=(MEDIA,))
    pages = apply(records.out | "SpreadPages" >> beam.Reshuffle(), "Harvest",
                  LibraryStage("align_page", HarvestPage(cfg), ident=lambda r: (r.source, r.url)))
    harvested = apply(pages.out | "Candidates" >> beam.FlatMap(lambda candidates: candidates), "CheckCandidates",
                      LibraryStage("align", CheckCandidate(cfg), ident=lambda c: (c.page_url, c.src)))
    media_files = apply(p | "MediaInputs" >> beam.Create(cfg.media_inputs), "ExpandMedia", expand_stage())
    media_records = apply(media_files.out | "SpreadMediaFiles" >> beam.Reshuffle(), "ReadMedia", read_stage(None),
                          tags=(MEDIA,))
    rejects = [files[REJECTS], split[REJECTS], list_items[REJECTS], records[REJECTS], pages[REJECTS],
               harvested[REJECTS], media_files[REJECTS], media_records[REJECTS]]
    items = ((list_items.out, harvested.out) | "AllItems" >> beam.Flatten()
             | "KeyItems" >> beam.Map(lambda i: (i.key, i)))
    if cfg.media.retry_failed:
        previous = p | "Manifests" >> beam.Create([fs.join(cfg.output, f"{cfg.prefix}-*.parquet")]) \
            | "ReadManifests" >> beam.FlatMap(manifest_rows)
    else:
        previous = p | "NoManifests" >> beam.Create([])
    grouped = {"items": items, "prev": previous} | "GroupByKey" >> beam.CoGroupByKey()
    settled = apply(grouped, "Settle", LibraryStage("settle", Settle(), many=True))
    rejects.append(settled[REJECTS])
    kept = settled.out
    if cfg.max_alt_frequency:
        by_caption = kept | "KeyByCaption" >> beam.Map(alt_keyed) | "GroupByCaption" >> beam.GroupByKey()
        frequency = apply(by_caption, "FrequentCaptions",
                          LibraryStage("captions", FrequentCaptions(cfg.max_alt_frequency), many=True))
        rejects.append(frequency[REJECTS])
        kept = frequency.out
    local_files = kept | "LocalUrls" >> beam.FlatMap(local_urls) | "DistinctLocal" >> beam.Distinct()
    local_cap = (cfg.video or VideoOptions()).max_bytes if cfg.kind == "video" else cfg.images.max_bytes
    local = apply(local_files, "ReadLocal", LibraryStage("local_media", functools.partial(read_local, max_bytes=local_cap)))
    rejects.append(local[REJECTS])
    all_records = (records[MEDIA], media_records[MEDIA], local.out) | "AllRecords" >> beam.Flatten()
    requests = kept | "MediaRequests" >> beam.FlatMap(media_request)
    resolved = {"requests": requests, "records": all_records} | "ResolveMedia" >> ResolveMediaTransform(cfg)
    rejects.append(resolved["rejects"])
    joined = ({"items": kept | "KeyKept" >> beam.Map(lambda i: (i.key, i)), "media": resolved["media"]}
              | "GroupByItem" >> beam.CoGroupByKey())
    composed = apply(joined, "Compose", LibraryStage("pairs", Compose(cfg.video_frames), many=True))
    rejects.append(composed[REJECTS])
    reused = (composed.out | "ByOldShard" >> beam.FlatMap(reused_by_shard) | "GroupOldShards" >> beam.GroupByKey()
              | "ReadReused" >> beam.ParDo(ReadReused(cfg.output)))
    entries = (composed.out | "NotReused" >> beam.Filter(not_reused), reused) | "AllEntries" >> beam.Flatten()
    n_items = beam.pvalue.AsSingleton(entries | "Successes" >> beam.Filter(lambda e: e[1][0] == "sample")
                                      | "CountItems" >> beam.combiners.Count.Globally())
    extra_columns = beam.pvalue.AsSingleton(kept | "ExtraNames" >> beam.FlatMap(lambda i: list(i.extra))
                                            | "CountExtra" >> beam.combiners.Count.PerElement()
                                            | "ExtraList" >> beam.combiners.ToList()
                                            | "ExtraColumns" >> beam.Map(manifest_columns))
    per_shard, min_shards = cfg.samples_per_shard, cfg.min_shards
    shards = (entries
              | "AssignShard" >> beam.Map(lambda e, n: (stable_hash(e[0]) % num_shards(n, per_shard, min_shards), e),
                                          n_items)
              | "GroupShards" >> beam.GroupByKey()
              | "WriteShards" >> beam.ParDo(WritePairShard(cfg.output, cfg.prefix, fingerprint, cfg.output_format,
                                                         cfg.kind), extra_columns))
    _ = shards | "ShardList" >> beam.combiners.ToList() | "Finalize" >> beam.ParDo(FinalizePairs(cfg, fingerprint))
    if cfg.write_rejects:
        _ = rejects | "AllRejects" >> beam.Flatten() | "Rejects" >> RejectsFiles(cfg.output)


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


def run(argv: list[str] | None = None) -> dict:
    """Parse flags, run the job, write stats and report.html; returns the dataset.json document."""
    parser = build_parser()
    args, extra = parse_job_args(parser, argv)
    try:
        checks.refuse_credentials(parser, args)
        if args.inputs:
            inputs, media_inputs = args.inputs, args.media_inputs or []
        else:
            inputs, media_inputs = default_inputs(args.source, args.output)
            media_inputs = media_inputs + (args.media_inputs or [])
        cfg = config_from_args(args, inputs, media_inputs)
        check_values(cfg)
        checks.check_side_files(cfg.url_map)
        checks.check_output(cfg.output)
        checks.claim_output(cfg.output)  # before anything in it is read, cleaned or written
        listing = checks.input_listing(cfg.inputs) + checks.input_listing(cfg.media_inputs, "--media_input")
        checks.check_inputs_outside_output(cfg.output, [("--input", path) for path, _size in listing]
                                           + [("--url_map", cfg.url_map or ""), ("--mirror_dir", cfg.mirror_dir or "")])
        fingerprint = checks.fingerprint(cfg.to_json(), listing)
        checks.check_rerun(cfg.output, fingerprint, cfg.to_json(), cfg.overwrite, cfg.prefix)
    except (checks.UsageError, ValueError) as error:
        checks.release_output()
        raise SystemExit(f"{parser.prog}: error: {error}") from None
    try:
        fs.clean_stale_temporaries(cfg.output)
        start = time.time()
        options = PipelineOptions(beam_args(extra))
        pipeline = beam.Pipeline(runner=warm_workers.local_runner(extra, options), options=options)
        build_pipeline(pipeline, cfg, fingerprint)
        freeze_startup_objects()
        with warm_workers.forked(pipeline.runner), progress.live(cfg.output):
            result = pipeline.run()
            result.wait_until_finish()
        return publish(cfg, result, start, f"{cfg.source.upper()} pairs")
    finally:
        checks.release_output()


def main() -> int:
    with fs.stop_on_storage_failure(build_parser().prog):
        run(sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
