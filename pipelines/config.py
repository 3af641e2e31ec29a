"""Command-line options of the M3W job, parsed into one picklable `JobConfig` for the DoFns.

Unknown flags (`--runner`, `--project`, `--temp_location`, ...) are passed through to Beam.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, field

from m3w_builder.extract import ExtractOptions
from m3w_builder.filters import FilterOptions
from m3w_builder.images import ImageOptions
from m3w_builder.tokenizer import TrainOptions
from m3w_builder.windows import WindowOptions

DEFAULT_RUNNER = "FnApiRunner"


@dataclass
class JobConfig:
    """Everything the M3W job's stages need, in one picklable object."""

    inputs: list[str]
    output: str
    prefix: str = "m3w"
    url_map: str | None = None
    mirror_dir: str | None = None
    tokenizer: str | None = None
    tokenizer_sample_docs: int = 5000
    seed: int = 0
    min_doc_images: int = 1
    max_doc_images: int = 30
    samples_per_shard: int = 1000
    write_rejects: bool = True
    videos: bool = True
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    images: ImageOptions = field(default_factory=ImageOptions)
    windows: WindowOptions = field(default_factory=WindowOptions)
    train: TrainOptions = field(default_factory=TrainOptions)

    def to_json(self) -> dict:
        """The options as recorded in dataset.json."""
        return asdict(self)


def build_parser() -> argparse.ArgumentParser:
    """The job's own flags (Beam's flags are accepted too and passed through)."""
    p = argparse.ArgumentParser(
        prog="python -m pipelines.m3w",
        description="Build M3W interleaved image-text WebDataset shards from WARC/HTML web pages. "
        "Beam flags (--runner, --direct_num_workers, --project, --region, --temp_location, "
        "--setup_file, ...) are passed through to Beam.",
    )
    io = p.add_argument_group("input/output")
    io.add_argument("--input", dest="inputs", action="append", default=None,
                    help="WARC/ARC(.gz) files, HTML files, globs, or Common Crawl *.paths(.gz) lists; "
                    "repeatable; any Beam filesystem (local, gs://, s3://). Default: the embedded sample.")
    io.add_argument("--output", required=True, help="output folder (local or gs://...)")
    io.add_argument("--prefix", default="m3w", help="shard name prefix (default: m3w)")
    io.add_argument("--url_map", default=None,
                    help="JSON-lines file mapping HTML files to URLs: {\"file\": name, \"url\": ..., "
                    "\"http_content_type\": ...}")
    io.add_argument("--mirror_dir", default=None, help="local mirror of media: MIRROR/host/path")
    io.add_argument("--samples_per_shard", type=int, default=1000)
    io.add_argument("--no_rejects", action="store_true", help="do not write the rejects parquet")
    tok = p.add_argument_group("tokenizer and windows")
    tok.add_argument("--tokenizer", default=None,
                     help="a sentencepiece .model with <image>/<EOC> user symbols; default: train one "
                     "in the job on a sample of the input")
    tok.add_argument("--vocab_size", type=int, default=8192)
    tok.add_argument("--tokenizer_sample_docs", type=int, default=5000)
    tok.add_argument("--seed", type=int, default=0, help="job seed (window sampling)")
    tok.add_argument("--max_tokens", type=int, default=256, help="L: tokens per window")
    tok.add_argument("--max_images", type=int, default=5, help="N: images per window")
    tok.add_argument("--window_mode", choices=("random", "tile"), default="random",
                     help="random: --windows_per_doc random windows; tile: cover each document")
    tok.add_argument("--windows_per_doc", type=int, default=1)
    tok.add_argument("--window_align", choices=("any", "chunk"), default="any",
                     help="any token may start a window, or only chunk starts (after <EOC>)")
    tok.add_argument("--min_window_images", type=int, default=1)
    filt = p.add_argument_group("filters")
    filt.add_argument("--min_words", type=int, default=50)
    filt.add_argument("--max_words", type=int, default=100_000)
    filt.add_argument("--min_doc_images", type=int, default=1, help="after media resolution")
    filt.add_argument("--max_doc_images", type=int, default=30)
    filt.add_argument("--max_page_bytes", type=int, default=5_000_000)
    filt.add_argument("--page_time_limit", type=float, default=10.0, help="seconds per page")
    filt.add_argument("--keep_boilerplate", action="store_true")
    media = p.add_argument_group("media")
    media.add_argument("--image_size", type=int, default=256, help="shorter side of stored images")
    media.add_argument("--min_image_side", type=int, default=150)
    media.add_argument("--max_image_side", type=int, default=20000)
    media.add_argument("--min_aspect", type=float, default=0.5)
    media.add_argument("--max_aspect", type=float, default=2.0)
    media.add_argument("--no_videos", action="store_true", help="drop <video> nodes")
    return p


def config_from_args(args: argparse.Namespace, default_inputs: list[str]) -> JobConfig:
    """Turn parsed flags into a `JobConfig`."""
    return JobConfig(
        inputs=args.inputs or default_inputs,
        output=args.output.rstrip("/"),
        prefix=args.prefix,
        url_map=args.url_map,
        mirror_dir=args.mirror_dir,
        tokenizer=args.tokenizer,
        tokenizer_sample_docs=args.tokenizer_sample_docs,
        seed=args.seed,
        min_doc_images=args.min_doc_images,
        max_doc_images=args.max_doc_images,
        samples_per_shard=args.samples_per_shard,
        write_rejects=not args.no_rejects,
        videos=not args.no_videos,
        extract=ExtractOptions(max_page_bytes=args.max_page_bytes, time_limit_s=args.page_time_limit,
                               drop_boilerplate=not args.keep_boilerplate),
        filters=FilterOptions(min_words=args.min_words, max_words=args.max_words),
        images=ImageOptions(image_size=args.image_size, min_side=args.min_image_side,
                            max_side=args.max_image_side, min_aspect=args.min_aspect, max_aspect=args.max_aspect),
        windows=WindowOptions(max_tokens=args.max_tokens, max_images=args.max_images, mode=args.window_mode,
                              per_doc=args.windows_per_doc, align=args.window_align,
                              min_images=args.min_window_images),
        train=TrainOptions(vocab_size=args.vocab_size),
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
    if runner == DEFAULT_RUNNER and "--direct_num_workers" not in names:
        out.append(f"--direct_num_workers={os.cpu_count() or 1}")
    if runner == DEFAULT_RUNNER and "--direct_running_mode" not in names:
        workers = next((a.split("=", 1)[1] for a in out if a.startswith("--direct_num_workers=")), "1")
        out.append("--direct_running_mode=" + ("multi_processing" if workers != "1" else "in_memory"))
    return out
