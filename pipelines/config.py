"""Command-line options of the M3W job, parsed into one picklable `JobConfig` for the DoFns.

Unknown flags (`--runner`, `--project`, `--temp_location`, ...) are passed through to Beam.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, field

from m3w_builder.extract.dom import ExtractOptions
from m3w_builder.media.fetch import FetchOptions
from m3w_builder.media.images import ImageOptions
from m3w_builder.media.video import VideoOptions
from m3w_builder.output.card import CardOptions, add_card_flags, card_from_args
from m3w_builder.quality.filters import FilterOptions
from m3w_builder.samples.tokenizer import TrainOptions
from m3w_builder.samples.windows import WindowOptions
from pipelines.quality import add_quality_options

QUALITY_FLAGS = (
    "blocklist", "languages", "min_language_score", "no_language_id", "no_url_dedup", "no_near_dup",
    "near_dup_threshold", "minhash_num_perm", "minhash_bands", "minhash_ngram", "no_image_set_dedup",
    "image_set_min_images", "no_paragraph_dedup", "paragraph_min_docs", "prepass", "prepass_min_words",
    "prepass_min_images", "prepass_min_alpha_ratio",
)

DEFAULT_RUNNER = "FnApiRunner"


@dataclass
class MediaOptions:
    """How media URLs are resolved (WARC record, mirror, cache, HTTP) and deduplicated."""

    http: bool = True
    fetch: FetchOptions = field(default_factory=FetchOptions)
    media_cache: str | None = None
    retry_failed: bool = False
    fetch_threads: int = 16
    max_url_references: int = 10  # OBELICS: image URLs seen more than 10 times are dropped (0: off)
    max_content_documents: int = 10  # same bytes / same perceptual hash in more documents (0: off)
    phash_distance: int = 4  # within a document, images this close (Hamming bits) are duplicates


@dataclass
class JobConfig:
    """Everything the M3W job's stages need, in one picklable object."""

    inputs: list[str]
    output: str
    prefix: str = "m3w"
    url_map: str | None = None
    cc_base: str = "s3://commoncrawl/"
    mirror_dir: str | None = None
    tokenizer: str | None = None
    tokenizer_sample_docs: int = 5000
    seed: int = 0
    min_doc_images: int = 1
    max_doc_images: int = 30
    samples_per_shard: int = 1000
    write_rejects: bool = True
    videos: bool = True
    report: bool = True
    card: CardOptions = field(default_factory=CardOptions)
    media: MediaOptions = field(default_factory=MediaOptions)
    quality: dict = field(default_factory=dict)  # the flags of `pipelines.quality.add_quality_options`
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    images: ImageOptions = field(default_factory=ImageOptions)
    video: VideoOptions | None = None  # None: `VideoOptions(image=images)`
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
    io.add_argument("--output", default="out/m3w", help="output folder (local or gs://...; default out/m3w)")
    io.add_argument("--cc_base", default="s3://commoncrawl/",
                    help="prefix for the relative paths of a Common Crawl warc.paths list")
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
    tok.add_argument("--window_mode", choices=("tile", "random"), default="tile",
                     help="tile (default): consecutive windows covering each document, so no text is "
                     "thrown away; random: --windows_per_doc random windows per document (Flamingo's sampling)")
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
    add_media_arguments(media)
    add_quality_options(p)
    p.add_argument("--no_report", action="store_true", help="do not write report.html")
    add_card_flags(p)
    return p


def add_media_arguments(media: argparse._ArgumentGroup) -> None:
    """Flags of media resolution (shared by the M3W and pairs jobs)."""
    media.add_argument("--no_http", action="store_true",
                       help="never fetch over HTTP (media only from WARC records, --mirror_dir, --media_cache)")
    media.add_argument("--http_proxy", default=None, help="send every HTTP request through this proxy (host:port)")
    media.add_argument("--http_allow", action="append", default=[],
                       help="hosts/IPs/CIDRs allowed although private or loopback (tests, private mirrors)")
    media.add_argument("--user_agent_contact", default=None, help="contact URL added to the user agent")
    media.add_argument("--http_timeout", type=float, default=30.0, help="seconds per media download")
    media.add_argument("--max_media_bytes", type=int, default=32 * 1024 * 1024)
    media.add_argument("--no_robots", action="store_true", help="ignore robots.txt and X-Robots-Tag noai")
    media.add_argument("--fetch_threads", type=int, default=16, help="concurrent downloads per worker")
    media.add_argument("--media_cache", default=None,
                       help="folder keeping fetched source bytes; reruns and --retry_failed read it first")
    media.add_argument("--retry_failed", action="store_true",
                       help="refetch only the items a previous run into the same --output failed on "
                       "(M3W: successes come from --media_cache; pairs: from the previous shards)")
    media.add_argument("--max_requests_per_document", type=int, default=FetchOptions().max_requests_per_document,
                       help="documents with more media nodes are dropped before any is fetched (0: no cap)")
    media.add_argument("--max_url_references", type=int, default=10,
                       help="drop media URLs referenced more than this many times (0: off)")
    media.add_argument("--max_content_documents", type=int, default=10,
                       help="drop images whose bytes or perceptual hash occur in more documents (0: off)")
    media.add_argument("--phash_distance", type=int, default=4,
                       help="within a document, later images this close to an earlier one are dropped")


def media_options_from_args(args: argparse.Namespace) -> MediaOptions:
    """Turn the media flags into `MediaOptions`."""
    return MediaOptions(
        http=not args.no_http,
        fetch=FetchOptions(contact_url=args.user_agent_contact, total_timeout_s=args.http_timeout,
                           max_bytes=args.max_media_bytes, respect_robots=not args.no_robots,
                           x_robots_directives=() if args.no_robots else FetchOptions().x_robots_directives,
                           allow=tuple(args.http_allow), proxy=args.http_proxy,
                           max_requests_per_document=args.max_requests_per_document),
        media_cache=args.media_cache, retry_failed=args.retry_failed, fetch_threads=args.fetch_threads,
        max_url_references=args.max_url_references, max_content_documents=args.max_content_documents,
        phash_distance=args.phash_distance,
    )


def config_from_args(args: argparse.Namespace, default_inputs: list[str]) -> JobConfig:
    """Turn parsed flags into a `JobConfig`."""
    return JobConfig(
        inputs=args.inputs or default_inputs,
        output=args.output.rstrip("/"),
        prefix=args.prefix,
        url_map=args.url_map,
        cc_base=args.cc_base,
        mirror_dir=args.mirror_dir,
        tokenizer=args.tokenizer,
        tokenizer_sample_docs=args.tokenizer_sample_docs,
        seed=args.seed,
        min_doc_images=args.min_doc_images,
        max_doc_images=args.max_doc_images,
        samples_per_shard=args.samples_per_shard,
        write_rejects=not args.no_rejects,
        videos=not args.no_videos,
        media=media_options_from_args(args),
        quality={name: getattr(args, name) for name in QUALITY_FLAGS},
        report=not args.no_report,
        card=card_from_args(args),
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
