"""`report.html`: one self-contained page saying what a job did (no network; a small inline
script adds search, filters and pagination, and the page reads in full without it).

Sections: summary with throughput; the funnel, one chart per unit (pages, paragraphs, media,
samples: `funnel.py`) and a table of in / kept / dropped / % with drop reasons per stage; top
domains and languages; size and aspect distributions of the images; the shard table; a rejects
browser (a sample of `rejects/*.parquet`: stage, reason, detail, URL); a browsable sample of
windows with their images where their `<image>` markers are (pairs: the image or frame strip above
its caption). The HTML comes from jinja2 templates (`templates/report.html.j2`) with autoescaping,
so page text is always text, never markup.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from m3w_builder.output import charts, funnel
from m3w_builder.output.tars import Members
from m3w_builder.quality.urlkeys import site_of

_MARKER = re.compile(r"(<image>|<EOC>)")
_MIME = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
PAIR_KINDS = frozenset(("align", "ltip", "vtp"))
MAX_FRAMES = 6  # frames of a video shown in the sample section
PAGE_SIZE = 8  # samples and rejects per page of the browsers
TOP = 15  # domains and languages charted

if TYPE_CHECKING:
    import jinja2


@functools.cache
def templates() -> jinja2.Environment:
    """The report's templates, loaded when a report is written: every job process imports this
    module (through `pipelines.publish`), only the launcher writes a report."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


@dataclass
class StoredSample:
    """One sample read from a shard: its json and its other members by suffix (`0.jpg`, `txt`)."""

    key: str
    meta: dict[str, Any]
    media: dict[str, bytes]


@dataclass
class ReportData:
    """Everything the page shows, gathered from `dataset.json`, `stats.json`, the shards and rejects."""

    dataset: dict[str, Any]
    stats: dict[str, int]
    wall_seconds: float | None = None
    rejects: list[dict[str, Any]] = field(default_factory=list)  # a sample of rejects rows
    scanned: int = 0
    scanned_shards: int = 0
    tokens_per_window: list[int] = field(default_factory=list)
    tokens_per_doc: dict[str, int] = field(default_factory=dict)
    images_per_window: list[int] = field(default_factory=list)
    image_widths: list[int] = field(default_factory=list)
    image_heights: list[int] = field(default_factory=list)
    aspects: list[float] = field(default_factory=list)
    stored_widths: list[int] = field(default_factory=list)
    stored_heights: list[int] = field(default_factory=list)
    caption_words: list[int] = field(default_factory=list)
    domains: Counter = field(default_factory=Counter)
    sample_languages: Counter = field(default_factory=Counter)
    windows: list[StoredSample] = field(default_factory=list)

    @property
    def pairs(self) -> bool:
        """Whether the dataset holds image/video-text pairs rather than M3W windows."""
        return self.dataset.get("kind") in PAIR_KINDS


def caption(window: StoredSample) -> str:
    """A pair's caption: its `.txt` member, else the `caption` field of its json."""
    if "txt" in window.media:
        return window.media["txt"].decode("utf-8", "replace")
    return str(window.meta.get("caption", ""))


def stored_sample(key: str, members: Members) -> StoredSample:
    """A shard's (key, members) with its json parsed."""
    media = dict(members)
    meta = json.loads(media.pop("json")) if "json" in media else {}
    return StoredSample(key, meta, media)


def add_window(data: ReportData, window: StoredSample) -> None:
    """Add one sample's numbers to the distributions."""
    (_add_pair if data.pairs else _add_m3w)(data, window)
    if window.meta.get("language"):
        data.sample_languages[window.meta["language"]] += 1
    site = site_of(str(window.meta.get("url", "")))  # pages for M3W, image hosts for pairs
    if site:
        data.domains[site] += 1
    data.scanned += 1


def _add_size(data: ReportData, width: int | None, height: int | None) -> None:
    if width and height:
        data.image_widths.append(width)
        data.image_heights.append(height)
        data.aspects.append(round(width / height, 3))


def _add_m3w(data: ReportData, window: StoredSample) -> None:
    meta = window.meta
    span = meta.get("window", {})
    ids = meta.get("input_ids")
    data.tokens_per_window.append(len(ids) if ids is not None else span.get("token_end", 0) - span.get("token_start", 0))
    if "doc_tokens" in span:
        data.tokens_per_doc[meta.get("doc_id", window.key)] = span["doc_tokens"]
    images = meta.get("images", [])
    data.images_per_window.append(len(images))
    for image in images:
        size = image.get("original_size") or image.get("stored_size") or [None, None]
        _add_size(data, size[0], size[1])


def _add_pair(data: ReportData, window: StoredSample) -> None:
    meta = window.meta
    data.caption_words.append(len(caption(window).split()))
    _add_size(data, meta.get("original_width"), meta.get("original_height"))
    if meta.get("width") and meta.get("height"):
        data.stored_widths.append(meta["width"])
        data.stored_heights.append(meta["height"])


# ---------------------------------------------------------------- page context


def _funnel(data: ReportData) -> dict:
    """Charts (one per unit) and table rows of the funnel."""
    stages = funnel.stages(data.stats)
    units: dict[str, list[funnel.Stage]] = {}
    for stage in stages:
        units.setdefault(stage.unit, []).append(stage)
    unit_charts = []
    for unit, members in units.items():
        counted = [s for s in members if s.kept is not None]
        if counted:
            notes = [f"{s.kept:,}" + (f" (−{100 * s.drop_share:.1f}%)" if s.drop_share else "") for s in counted]
            unit_charts.append(charts.hbars(f"{unit}: kept and dropped per stage", [(s.name, s.kept) for s in counted],
                                            dropped=[s.dropped for s in counted], notes=notes, width=620))
    rows = []
    for stage in stages:
        entered = stage.entered
        reasons = sorted(stage.drops.items(), key=lambda kv: (-kv[1], kv[0]))
        rows.append({
            "stage": stage.name, "unit": stage.unit, "entered": entered, "kept": stage.kept,
            "dropped": stage.dropped if stage.kept is not None else None,
            "share": f"{100 * stage.drop_share:.1f}%" if stage.drop_share is not None else "–",
            "reasons": [(k, v, f"{100 * v / entered:.1f}%" if entered else "") for k, v in reasons],
            "volumes": sorted(stage.volumes.items()),
        })
    return {"charts": unit_charts, "rows": rows, "prepass": _prepass(data.stats)}


def _prepass(stats: dict[str, int]) -> str:
    total, skipped = stats.get("prepass/n_bytes_in", 0), stats.get("prepass/n_bytes_skipped", 0)
    if not total:
        return ""
    docs = sum(v for k, v in stats.items() if k.startswith("prepass/") and k != "prepass/kept" and "/n_" not in k)
    return (f"Text-only pre-pass: {docs:,} pages and {skipped:,} of {total:,} HTML bytes "
            f"({100 * skipped / total:.1f}%) never reached DOM extraction or media fetching.")


def _throughput(data: ReportData) -> list[str]:
    """Items per second of the first counted stage of each unit, over the job's wall time."""
    if not data.wall_seconds:
        return []
    seconds = data.wall_seconds
    lines = [f"wall time {seconds:,.1f} s"]
    seen = set()
    for stage in funnel.stages(data.stats):
        if stage.unit in seen or stage.entered is None:
            continue
        seen.add(stage.unit)
        lines.append(f"{stage.entered / seconds:,.1f} {stage.unit}/s ({stage.name})")
    samples = sum(s.get("nsamples", 0) for s in data.dataset.get("shardlist", []))
    lines.append(f"{samples / seconds:,.1f} samples written/s")
    return lines


def _distributions(data: ReportData) -> list[charts.Chart]:
    sizes = [charts.histogram("original image width (px)", data.image_widths),
             charts.histogram("original image height (px)", data.image_heights),
             charts.histogram("image aspect ratio (width / height)", data.aspects)]
    if data.pairs:
        return [charts.histogram("caption length (words)", data.caption_words), *sizes,
                charts.histogram("stored image width (px)", data.stored_widths),
                charts.histogram("stored image height (px)", data.stored_heights)]
    return [charts.histogram("tokens per window", data.tokens_per_window),
            charts.histogram("tokens per document", list(data.tokens_per_doc.values())),
            charts.histogram("images per window", data.images_per_window), *sizes]


def _tops(data: ReportData) -> list[charts.Chart]:
    languages = funnel.languages(data.stats)
    title = "languages (documents detected)" if languages else "languages (sample windows)"
    languages = languages or dict(data.sample_languages.most_common())
    found = [charts.hbars(f"top domains (of {data.scanned:,} samples read)", data.domains.most_common(TOP))]
    if languages or not data.pairs:
        found.append(charts.hbars(title, list(languages.items())[:TOP]))
    return found


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


class _Images:
    """Data URIs under a byte budget shared by the whole page."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def uri(self, window: StoredSample, member: str) -> dict:
        payload = window.media.get(member)
        if payload is None:
            return {"src": "", "missing": f"[{member} missing]"}
        if len(payload) > self.budget:
            return {"src": "", "missing": f"[{member} omitted: report size budget]"}
        self.budget -= len(payload)
        mime = _MIME.get(member.rsplit(".", 1)[-1].lower(), "image/jpeg")
        return {"src": f"data:{mime};base64,{base64.b64encode(payload).decode()}", "missing": ""}


def _pieces(window: StoredSample, images: _Images) -> list[dict]:
    """An M3W window's text as text / eoc / image / video pieces in marker order."""
    entries = window.meta.get("images", [])
    pieces, index = [], 0
    for part in _MARKER.split(window.meta.get("text", "")):
        if part == "<EOC>":
            pieces.append({"kind": "eoc"})
        elif part == "<image>":
            info = entries[index] if index < len(entries) else {}
            title = f"<image> {index}: {info.get('src', '')}"
            if info.get("kind") == "video":
                frames = [images.uri(window, f["member"]) for f in info.get("frames", [])[:MAX_FRAMES]]
                pieces.append({"kind": "video", "frames": frames, "title": title})
            else:
                pieces.append({"kind": "image", "title": title, **images.uri(window, info.get("member", f"{index}.jpg"))})
            index += 1
        elif part:
            pieces.append({"kind": "text", "text": part})
    return pieces


def _sample_card(window: StoredSample, pairs: bool, images: _Images) -> dict:
    meta = window.meta
    card = {"key": window.key, "url": str(meta.get("url", "")), "language": meta.get("language") or "",
            "site": site_of(str(meta.get("url", "")))}
    if pairs:
        frames = meta.get("frames")
        head = (f"{meta.get('original_width', '?')}×{meta.get('original_height', '?')} px → "
                f"{meta.get('width', '?')}×{meta.get('height', '?')} px")
        if frames:
            head += f" · {len(frames)} frames"
        media = [images.uri(window, f["member"]) for f in frames[:MAX_FRAMES]] if frames else [images.uri(window, "jpg")]
        text = caption(window)
        card.update(head=head, video=bool(frames), media=media, caption=text, n_images=len(frames or [1]))
    else:
        span = meta.get("window", {})
        card.update(head=f"tokens {span.get('token_start', '?')}–{span.get('token_end', '?')} of "
                         f"{span.get('doc_tokens', '?')}", pieces=_pieces(window, images),
                    n_images=len(meta.get("images", [])))
        text = meta.get("text", "")
    card["search"] = " ".join((window.key, card["url"], text)).lower()
    return card


def render(data: ReportData, image_budget: int = 3_000_000) -> str:
    """The whole page as one HTML string."""
    dataset = data.dataset
    shards = dataset.get("shardlist", [])
    images = _Images(image_budget)
    cards = [_sample_card(w, data.pairs, images) for w in data.windows]
    reject_stages = sorted({r["stage"] for r in data.rejects})
    tokenizer = dataset.get("tokenizer") or {}
    return templates().get_template("report.html.j2").render(
        kind=str(dataset.get("kind", "?")), pairs=data.pairs,
        n_samples=sum(s.get("nsamples", 0) for s in shards), shards=shards, size=_size,
        total_size=sum(s.get("filesize", 0) for s in shards), window=dataset.get("window"),
        tokenizer=tokenizer, options=json.dumps(dataset.get("options", {}), indent=1, sort_keys=True),
        throughput=_throughput(data), funnel=_funnel(data), tops=_tops(data), distributions=_distributions(data),
        scanned=data.scanned, scanned_shards=data.scanned_shards, cards=cards, page_size=PAGE_SIZE,
        sample_kind="pair" if data.pairs else "window", languages=sorted({c["language"] for c in cards} - {""}),
        rejects=data.rejects, reject_stages=reject_stages,
        reject_total=sum(s.dropped for s in funnel.stages(data.stats)),
    )


def collect(
    dataset: dict[str, Any],
    stats: dict[str, int],
    shard_readers: Iterable[Callable[[], Iterator[tuple[str, Members]]]],
    max_windows: int = 24,
    max_scan: int = 20_000,
) -> ReportData:
    """Read samples from shards (each reader a generator of (key, members) over one shard of any
    output format, `formats.iter_shard`; closed here, so a shard left early closes its file).

    The first `ceil(max_windows / number of shards)` samples of each shard are kept for the
    browsable section; at most `max_scan` samples feed the distributions.
    """
    readers = list(shard_readers)
    data = ReportData(dataset=dataset, stats=stats)
    per_shard = math.ceil(max_windows / max(len(readers), 1))
    for reader in readers:
        if data.scanned >= max_scan:
            break
        data.scanned_shards += 1
        with closing(reader()) as samples:
            for i, (key, members) in enumerate(samples):
                window = stored_sample(key, members)
                add_window(data, window)
                if i < per_shard and len(data.windows) < max_windows:
                    data.windows.append(window)
                if data.scanned >= max_scan:
                    break
    return data
