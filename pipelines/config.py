"""Command-line options of the M3W job, parsed into one picklable `JobConfig` for the DoFns.

Flags are generated from the option dataclasses' fields (`m3w_builder.options`), so each default is
written once, next to the field it sets. Unknown flags (`--runner`, `--project`, `--temp_location`, ...) are passed through to Beam.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import asdict, dataclass, field, replace

from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

from m3w_builder.extract.dom import ExtractOptions
from m3w_builder.media.fetch import FetchOptions
from m3w_builder.media.images import ImageOptions
from m3w_builder.media.video import VideoOptions
from m3w_builder.options import ArgumentParser, add_options, option, options_from_args
from m3w_builder.output.card import CardOptions
from m3w_builder.quality.filters import FilterOptions
from m3w_builder.read.commoncrawl import HTTPS_BASE
from m3w_builder.quality.options import QualityOptions
from m3w_builder.samples.tokenizer import TrainOptions
from m3w_builder.samples.windows import WindowOptions
from pipelines import checks

DEFAULT_RUNNER = "FnApiRunner"
DEFAULT_OUTPUT = "out/m3w"


@dataclass
class MediaOptions:
    """How media URLs are resolved (WARC record, mirror, cache, HTTP) and deduplicated."""

    http: bool = option(True, "never fetch over HTTP (media only from WARC records, --mirror_dir, --media_cache)",
                        flag="no_http")
    fetch: FetchOptions = field(default_factory=FetchOptions)
    media_cache: str | None = option(None, "folder keeping fetched source bytes; reruns and --retry_failed read it first")
    retry_failed: bool = option(False, "refetch only the items a previous run into the same --output failed on "
                                "(M3W: successes come from --media_cache; pairs: from the previous shards)")
    fetch_threads: int = option(16, "concurrent downloads per worker", low=1)
    # OBELICS: image URLs seen more than 10 times are dropped
    max_url_references: int = option(10, "drop media URLs referenced more than this many times (0: off)")
    max_content_documents: int = option(10, "drop images whose bytes or perceptual hash occur in more documents (0: off)")
    phash_distance: int = option(4, "within a document, later images this close (Hamming bits) to an earlier one "
                                 "are dropped")


@dataclass
class JobConfig:
    """Everything the M3W job's stages need, in one picklable object."""

    inputs: list[str] = option(factory=list, flag="input",
                               help="WARC/ARC(.gz) files, HTML files, globs, or Common Crawl *.paths(.gz) lists; "
                               "any Beam filesystem (local, gs://, s3://); empty: the embedded sample")
    output: str = option(DEFAULT_OUTPUT, "output folder (local or gs://...)")
    prefix: str = option("m3w", "shard name prefix")
    url_map: str | None = option(None, "JSON-lines file mapping HTML files to URLs: "
                                 '{"file": name, "url": ..., "http_content_type": ...}')
    cc_base: str = option(HTTPS_BASE, "prefix for the relative paths of a Common Crawl warc.paths list "
                          "(https:// reads anonymously; s3://commoncrawl/ needs AWS credentials)")
    mirror_dir: str | None = option(None, "mirror of media, MIRROR/host/path: a local folder or gs://, s3://...")
    tokenizer: str | None = option(None, "a sentencepiece .model with <image>/<EOC> user symbols; default: "
                                   "train one in the job on a sample of the input")
    tokenizer_sample_docs: int = option(5000, "documents the in-job tokenizer is trained on, at most", low=1)
    tokenizer_sample_chars: int = option(4_000_000, "characters of their text it is trained on, at most "
                                         "(bounds the training's memory, ~25 bytes per character)", low=1000)
    decision_partitions: int = option(64, "partitions of every corpus-level grouping (dedup decisions, media URL "
                                      "counts and routing, frequent content), each read and grouped by one worker "
                                      "from files: a worker holds 1/N of a grouping's keys", low=1)
    seed: int = option(0, "job seed (window sampling)", low=None)
    min_doc_images: int = option(1, "minimum media per document, before and after media resolution")
    max_doc_images: int = option(30, "maximum stored media per document")
    samples_per_shard: int = option(1000, "windows per shard", low=1)
    min_shards: int = option(8, "at least this many shards (at most one per sample), so a small dataset still "
                             "splits across DataLoader workers")
    write_rejects: bool = option(True, "do not write the rejects parquet", flag="no_rejects")
    videos: bool = option(True, "drop <video> nodes", flag="no_videos")
    report: bool = option(True, "do not write report.html", flag="no_report")
    overwrite: bool = option(False, "rebuild an --output that holds a dataset built with other options or inputs")
    allow_empty: bool = option(False, "exit 0 even when no sample was written")
    media: MediaOptions = field(default_factory=MediaOptions)
    quality: QualityOptions = field(default_factory=QualityOptions)
    card: CardOptions = field(default_factory=CardOptions)
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    images: ImageOptions = field(default_factory=ImageOptions)
    video: VideoOptions | None = None  # None: `VideoOptions(image=images)`
    windows: WindowOptions = field(default_factory=WindowOptions)
    train: TrainOptions = field(default_factory=TrainOptions)

    def to_json(self) -> dict:
        """The options as recorded in dataset.json."""
        return asdict(self)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every flag shows its default; a switch is off unless given."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return f"{action.help} (default: off)"
        if action.required:
            return f"{action.help} (required)"
        if action.default is None and isinstance(action, argparse._AppendAction):
            return f"{action.help} (default: none)"
        return super()._get_help_string(action)


def new_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A job parser with the flags every job has: `--config FILE` and `-v`."""
    p = ArgumentParser(prog=prog, description=description, formatter_class=HelpFormatter)
    p.add_argument("--config", default=None,
                   help="a .toml, .yaml or .json file whose keys are flag names (without dashes); flags given "
                   "on the command line override it")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show Beam's logs from INFO on (by default only its errors)")
    return p


MAX_CONFIG_BYTES = 1 << 20  # a job config is a few hundred bytes; a device or a mistaken data file is not one


def read_config_file(path: str) -> dict:
    """The key/value pairs of a job config file (TOML, YAML or JSON, by suffix). Anything else is an
    error naming the file: a local FIFO or device (refused before a byte is read, so it cannot stall
    or flood the launcher) or a file over `MAX_CONFIG_BYTES` (`checks.read_named_file`'s
    `UsageError`), bad syntax, or a top level that is not a table of flag names (`ValueError`)."""
    data = checks.read_named_file("--config", path, MAX_CONFIG_BYTES)
    import yaml

    try:
        if path.endswith(".toml"):
            import tomllib

            config = tomllib.loads(data.decode("utf-8"))
        elif path.endswith((".yaml", ".yml")):
            config = yaml.safe_load(data) or {}
        else:
            config = json.loads(data)
    except (ValueError, yaml.YAMLError) as error:  # decode and syntax errors
        raise ValueError(f"--config {path}: {str(error).splitlines()[0]}") from None
    if not isinstance(config, dict):
        raise ValueError(f"--config {path}: holds a {type(config).__name__}, not a table of flag names")
    return config


def config_defaults(parser: argparse.ArgumentParser, config: dict) -> dict:
    """Parser defaults (by dest) from config keys named like flags; an unknown key is an error."""
    by_flag = {o.lstrip("-"): a for a in parser._actions for o in a.option_strings if o.startswith("--")}
    defaults: dict = {}
    for key, value in config.items():
        action = by_flag.get(str(key).replace("-", "_"))
        if action is None or action.dest in ("help", "config"):
            raise ValueError(f"--config: unknown key {key!r} (keys are flag names, e.g. max_tokens)")
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            if not isinstance(value, bool):
                raise ValueError(f"--config: {key} is a switch (true/false)")
            if value:
                defaults[action.dest] = action.const
        elif isinstance(action, argparse._AppendAction):
            defaults[action.dest] = list(value) if isinstance(value, (list, tuple)) else [value]
        else:
            defaults[action.dest] = value
    return defaults


def parse_job_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Flags over `--config` over field defaults; the rest are returned for Beam, and a flag that is
    neither the job's nor Beam's is a usage error (Beam would drop it with a log line and run).
    Beam's own logging is quiet unless `-v` (`quiet_logs`)."""
    first, _ = parser.parse_known_args(argv)
    if first.config:
        try:
            parser.set_defaults(**config_defaults(parser, read_config_file(first.config)))
        except (OSError, ValueError, checks.UsageError) as error:
            parser.error(str(error).splitlines()[0])
    args, extra = parser.parse_known_args(argv)
    unknown = unknown_beam_flags(extra)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    blank = empty_flag(parser, args)
    if blank:
        parser.error(f"{blank[0]} {blank[1]!r}: an empty value (leave the flag out for its default)")
    quiet_logs(args.verbose)
    return args, extra


def empty_flag(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, str] | None:
    """(flag, value) of the first flag given a blank value where its default is not blank: `--tokenizer ''` or
    `--mirror_dir ''` silently meant "not given", `--cc_base ''` made every Common Crawl path
    relative, `--blocklist ''` read the working directory's name as a file, `--output ''` wrote
    the dataset into the working directory."""
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0:
            continue
        value, default = getattr(args, action.dest, None), action.default
        values = value if isinstance(value, (list, tuple)) else [value]
        blank = next((v for v in values if isinstance(v, str) and not v.strip()), None)
        if blank is not None and not (isinstance(default, str) and not default.strip()):
            return action.option_strings[0], blank
    return None


def unknown_beam_flags(flags: list[str]) -> list[str]:
    """The flags (and stray values) among `flags` that no Beam options class declares: read with
    the parser Beam itself builds from every `PipelineOptions` subclass, as `get_all_options` does."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    for options_class in PipelineOptions.__subclasses__():
        options_class._add_argparse_args(parser)
    return parser.parse_known_args(flags)[1]


def quiet_logs(verbose: bool) -> None:
    """Beam's logs only with `-v` (then from INFO on). Quiet, local runs still print its errors, but
    not the WARN protobuf dumps its workers relay ("No semi_persistent_directory found", ...)."""
    if verbose:
        logging.basicConfig(level=logging.INFO)
    logging.getLogger("apache_beam").setLevel(logging.NOTSET if verbose else logging.ERROR)


def add_media_options(parser: argparse.ArgumentParser, defaults: dict | None = None) -> None:
    """Flags of media resolution and fetching (shared by the M3W and pairs jobs)."""
    group = parser.add_argument_group("media resolution")
    add_options(group, MediaOptions, defaults)
    add_options(group, FetchOptions)


def build_parser() -> argparse.ArgumentParser:
    """The job's own flags, generated from the option dataclasses (Beam's flags pass through)."""
    p = new_parser(
        "python -m pipelines.m3w",
        "Build M3W interleaved image-text WebDataset shards from WARC/HTML web pages. "
        "Beam flags (--runner, --direct_num_workers, --project, --region, --temp_location, "
        "--setup_file, ...) are passed through to Beam.")
    add_options(p.add_argument_group("job"), JobConfig)
    add_options(p.add_argument_group("tokenizer and windows"), TrainOptions)
    add_options(p.add_argument_group("tokenizer and windows"), WindowOptions)
    filters = p.add_argument_group("extraction and filters")
    add_options(filters, ExtractOptions)
    add_options(filters, FilterOptions)
    add_options(p.add_argument_group("images"), ImageOptions)
    add_media_options(p)
    add_options(p.add_argument_group("quality"), QualityOptions)
    add_options(p.add_argument_group("dataset card"), CardOptions)
    return p


def media_options_from_args(args: argparse.Namespace, **overrides) -> MediaOptions:
    """`MediaOptions` of the parsed flags; `--no_robots` also stops honouring `X-Robots-Tag`."""
    fetch = options_from_args(FetchOptions, args)
    if not fetch.respect_robots:
        fetch = replace(fetch, x_robots_directives=())
    return options_from_args(MediaOptions, args, fetch=fetch, **overrides)


def config_from_args(args: argparse.Namespace, default_inputs: list[str]) -> JobConfig:
    """Turn parsed flags into a `JobConfig` (`checks.UsageError` for a mirror or cache nowhere)."""
    checks.check_media_locations(args.mirror_dir, args.media_cache)
    return options_from_args(
        JobConfig, args,
        inputs=list(args.inputs or default_inputs),
        output=args.output.rstrip("/"),
        media=media_options_from_args(args),
        quality=options_from_args(QualityOptions, args),
        card=options_from_args(CardOptions, args),
        extract=options_from_args(ExtractOptions, args),
        filters=options_from_args(FilterOptions, args),
        images=options_from_args(ImageOptions, args),
        windows=options_from_args(WindowOptions, args),
        train=options_from_args(TrainOptions, args),
    )


def beam_args(extra: list[str]) -> list[str]:
    """Beam flags with local defaults: the FnApiRunner (offline), one worker process per core."""
    out = list(extra)
    names = {a.split("=", 1)[0] for a in out if a.startswith("--")}
    runner = next((a.split("=", 1)[1] for a in out if a.startswith("--runner=")), None)
    if runner is None and "--runner" in out:
        runner = out[out.index("--runner") + 1]
    if runner is None:
        out.append(f"--runner={DEFAULT_RUNNER}")
        runner = DEFAULT_RUNNER
    elif runner.lower() in ("directrunner", "direct"):
        # The DirectRunner first tries to download the Prism binary; the FnApiRunner runs offline.
        out = [a for a in out if a not in ("--runner", runner) and not a.startswith("--runner=")]
        out.append(f"--runner={DEFAULT_RUNNER}")
        runner = DEFAULT_RUNNER
    if "--no_pipeline_type_check" not in names:
        # The job's transforms declare no type hints (a DoFn's annotations would be read as hints):
        # the check has nothing to check, and its inference of every lambda's output type was a
        # quarter of the launcher's time to build the graph.
        out.append("--no_pipeline_type_check")
    if runner == DEFAULT_RUNNER and "--direct_num_workers" not in names:
        out.append(f"--direct_num_workers={os.cpu_count() or 1}")
    if runner == DEFAULT_RUNNER and "--direct_running_mode" not in names:
        workers = next((a.split("=", 1)[1] for a in out if a.startswith("--direct_num_workers=")), "1")
        out.append("--direct_running_mode=" + ("multi_processing" if workers != "1" else "in_memory"))
    return out
