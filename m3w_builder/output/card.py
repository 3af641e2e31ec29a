"""`README.md` in every output folder: a dataset card in the Hugging Face layout (YAML metadata,
then description, structure, creation, counts, opt-outs, licensing, limitations), filled from
`dataset.json` and the counters so it always states what this run actually did."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from m3w_builder.options import option
from m3w_builder.output import funnel

if TYPE_CHECKING:
    import jinja2


@functools.cache
def templates() -> jinja2.Environment:
    """The card's templates, loaded when a card is written: every job process imports this module
    (for `CardOptions`), only the launcher writes a card, so workers never import jinja2."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                              autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                              undefined=jinja2.StrictUndefined)

OPTOUT_REASONS = {
    "robots_disallowed": "robots.txt disallowed the media URL for our user agent",
    "x_robots_tag": "`X-Robots-Tag` header said noai / noimageai",
    "noai": "page-level `noai` / `noimageai` robots meta",
    "tdm_reserved": "TDM reservation (`tdm-reservation` meta or header)",
    "optout": "opt-out signal",
    "blocked_domain": "domain on the block list",
    "blocked_url": "URL on the block list",
}
_KIND = {
    "m3w": ("interleaved image-text web documents (M3W, Flamingo-style)", ["image-text-to-text"],
            ["multimodal", "interleaved", "webdataset"]),
    "align": ("image-alt-text pairs harvested from web pages (ALIGN-style)", ["image-to-text", "text-to-image"],
              ["multimodal", "image-text-pairs", "webdataset"]),
    "ltip": ("image-caption pairs from a URL list (LTIP-style)", ["image-to-text", "text-to-image"],
             ["multimodal", "image-text-pairs", "webdataset"]),
    "vtp": ("short video-caption pairs stored as 1 FPS frames (VTP-style)", ["video-text-to-text"],
            ["multimodal", "video-text-pairs", "webdataset"]),
}
LIMITATIONS = [
    ("Content belongs to its original authors; the licence below covers this compilation only, and each "
     "sample's `url` says where it came from."),
    "Opt-outs are honoured as they were served at crawl or fetch time; a later opt-out is not reflected.",
    ("Filters are heuristic (word counts, symbol ratios, language identification, caption rules): some "
     "boilerplate, spam or mislabelled languages pass and some good text is dropped."),
    "No NSFW, toxicity or personal-data filtering is applied; images are not checked against CSAM hash lists.",
    "Images are resized to a shorter side of 256 px and re-encoded as JPEG; videos keep 1 frame per second.",
]


@dataclass
class CardOptions:
    """Licence fields of the dataset card (the Hugging Face `license` metadata)."""

    license: str = option("unknown", help="licence of the compiled dataset, an SPDX-style Hub id "
                                          "(cc-by-4.0, odc-by, other, ...); 'unknown' when not set")
    license_name: str = option("", help="name of the licence when --license is 'other'")
    license_link: str = option("", help="link to the licence text when --license is 'other'")


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "n>10M"


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _yaml(value: object) -> str:
    """A scalar or list of scalars as YAML (JSON strings are valid YAML scalars)."""
    return json.dumps(value, ensure_ascii=False)


def _front_matter(kind: str, samples: int, languages: list[str], card: CardOptions, pretty: str) -> str:
    _what, tasks, tags = _KIND.get(kind, ("multimodal samples", [], ["webdataset"]))
    lines = [f"license: {_yaml(card.license)}"]
    if card.license_name:
        lines.append(f"license_name: {_yaml(card.license_name)}")
    if card.license_link:
        lines.append(f"license_link: {_yaml(card.license_link)}")
    if languages:
        lines.append("language:\n" + "".join(f"- {_yaml(code)}\n" for code in languages).rstrip("\n"))
    lines.append("task_categories:\n" + "".join(f"- {_yaml(t)}\n" for t in tasks).rstrip("\n"))
    lines.append("tags:\n" + "".join(f"- {_yaml(t)}\n" for t in tags).rstrip("\n"))
    lines.append(f"size_categories:\n- {_yaml(_size_category(samples))}")
    lines.append(f"pretty_name: {_yaml(pretty)}")
    return "\n".join(lines) + "\n"


def _structure(kind: str) -> str:
    if kind == "m3w":
        return ("Each sample is one window of at most 256 tokens of a web page: `{key}.json` holds `text` with "
                "`<image>` markers where the images stood and `<EOC>` before every image and at the end of the "
                "document, `input_ids` for `tokenizer.model`, the window span and per-image metadata (source URL, "
                "sha256, original and stored size, alt); `{key}.{i}.jpg` are the images in marker order, and a "
                "video is `{key}.{i}.{t:03d}.jpg` frames at 1 FPS.")
    if kind == "vtp":
        return ("Each sample is one clip: `{key}.txt` (caption), `{key}.json` (img2dataset-style fields and the "
                "frame list with timestamps) and `{key}.{t:03d}.jpg` frames at 1 FPS.")
    return ("Each sample is one pair in img2dataset's layout: `{key}.jpg`, `{key}.txt` (caption) and `{key}.json` "
            "(url, caption, status, width, height, original_width, original_height, sha256, exif).")


def _sources(options: dict) -> str:
    inputs = options.get("inputs") or []
    shown = "".join(f"\n- `{i}`" for i in inputs[:10]) + (f"\n- … {len(inputs) - 10} more" if len(inputs) > 10 else "")
    return f"Inputs of this run ({len(inputs)}):{shown}" if inputs else "Inputs are recorded in `dataset.json`."


def _processing(kind: str) -> str:
    if kind == "m3w":
        return ("Pages read from WARC/HTML, DOM walked into text/image/video nodes in order (boilerplate dropped), "
                "paragraph and document filters, opt-out and block lists, language identification, URL and "
                "near-duplicate removal, media resolved once per URL and decoded/resized, sentencepiece windows.")
    return ("Rows of the input list (or `<img>` alt texts of pages), caption rules, duplicates removed, media "
            "resolved once per URL and decoded/resized (videos to 1 FPS frames).")


def _stage_rows(counters: dict[str, int]) -> list[dict]:
    rows = []
    for stage in funnel.stages(counters):
        if stage.kept is None and not stage.volumes:
            continue
        listed = stage.drops if stage.kept is not None else stage.volumes  # raw counters off the convention
        top = sorted(listed.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
        rows.append({"stage": f"{stage.name} ({stage.unit})", "kept": "–" if stage.kept is None else f"{stage.kept:,}",
                     "dropped": f"{stage.dropped:,}" if stage.kept is not None else "–",
                     "reasons": ", ".join(f"{k} {v:,}" for k, v in top) or "–"})
    return rows


def _optouts(options: dict, counters: dict[str, int]) -> list[str]:
    fetch = (options.get("media") or {}).get("fetch") or {}
    lines = []
    if fetch:
        lines.append(f"robots.txt for media fetched over HTTP: {'honoured' if fetch.get('respect_robots', True) else 'OFF'}")
        directives = fetch.get("x_robots_directives") or []
        lines.append(f"`X-Robots-Tag` directives honoured: {', '.join(directives) or 'none'}")
    blocklist = options.get("blocklist") or (options.get("quality") or {}).get("blocklist")
    lines.append(f"block list: {blocklist}" if blocklist else "block list: none given")
    dropped = {}
    for name, value in counters.items():
        reason = name.partition("/")[2]
        if reason in OPTOUT_REASONS:
            dropped[name] = value
    for name, value in sorted(dropped.items()):
        lines.append(f"{OPTOUT_REASONS[name.partition('/')[2]]}: {value:,} dropped (`{name}`)")
    if not dropped:
        lines.append("no item of this run carried an opt-out signal")
    return lines


def _licensing(card: CardOptions) -> str:
    if card.license == "unknown":
        return ("No licence was set for this compilation (`--license`). Each sample keeps the URL it came "
                "from; rights in the content stay with its authors.")
    name = card.license_name or card.license
    link = f" ({card.license_link})" if card.license_link else ""
    return (f"This compilation is released under **{name}**{link}. Rights in the underlying content stay with its "
            "authors; each sample keeps the URL it came from.")


def render_card(dataset: dict, counters: dict[str, int], card: CardOptions | None = None,
                command: str = "") -> str:
    """The dataset card of an output folder as Markdown with YAML front matter."""
    card = card or CardOptions()
    kind = str(dataset.get("kind", "?"))
    shards = dataset.get("shardlist", [])
    samples = sum(s.get("nsamples", 0) for s in shards)
    languages = list(funnel.languages(counters))
    what = _KIND.get(kind, ("multimodal samples",))[0]
    first = shards[0]["url"] if shards else "SHARD.tar"
    try:
        version = metadata.version("m3w-builder")
    except metadata.PackageNotFoundError:
        version = "(not installed)"
    return templates().get_template("card.md.j2").render(
        front_matter=_front_matter(kind, samples, languages, card, f"{dataset.get('name', kind)} ({kind})"),
        title=f"Dataset Card for {dataset.get('name', kind)}",
        summary=f"A {kind.upper()} dataset: {what}.", builder_version=version,
        command=command or f"python -m pipelines.{'m3w' if kind == 'm3w' else 'pairs --source ' + kind}",
        dataset=dataset, totals={"samples": f"{samples:,}", "shards": len(shards),
                                 "bytes_human": _human(sum(s.get("filesize", 0) for s in shards))},
        structure=_structure(kind), first_shard=first, sources=_sources(dataset.get("options", {})),
        processing=_processing(kind), stages=_stage_rows(counters),
        optouts=_optouts(dataset.get("options", {}), counters),
        options_json=json.dumps(dataset.get("options", {}), indent=1, sort_keys=True, ensure_ascii=False),
        licensing=_licensing(card), limitations=LIMITATIONS,
    )


def card_from_args(args) -> CardOptions:
    """The `CardOptions` of the parsed card flags (field defaults where a flag was not given)."""
    return CardOptions(**{k: getattr(args, k) for k in CardOptions.__dataclass_fields__
                          if getattr(args, k, None) is not None})


def card_options(options: dict) -> CardOptions:
    """The card fields recorded among a job's options (`license`, `license_name`, `license_link`),
    top level or in a `card` group."""
    fields = {**options, **(options.get("card") or {})}
    return CardOptions(**{k: str(fields[k]) for k in CardOptions.__dataclass_fields__ if fields.get(k)})
