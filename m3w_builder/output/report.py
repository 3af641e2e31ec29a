"""`report.html`: one self-contained page saying what a job did (no script, no network).

Sections: summary, the funnel of every `stage/reason` counter of `stats.json`, histograms as
inline SVG, the shard table, and a browsable sample with images as base64 data URIs. M3W datasets
chart tokens per window and per document, images per window, original image sizes and languages,
and show windows with their images where their `<image>` markers are. Pair datasets (`kind`
align/ltip/vtp) chart caption length and original and stored image sizes, and show each pair as
its image (VTP: a strip of frames) above its caption.

Counter conventions read here: `stage/kept` are the items a stage passed and every other
`stage/name` a drop reason, except names starting with `n_` (volumes such as
`prepass/n_bytes_skipped`). `language/n_<code>` counts detected languages. Stages without a
`kept` counter (volumes only) are listed with their raw counters.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from m3w_builder.output.tars import iter_samples

STAGE_ORDER = [
    "inputs",
    "route",
    "read",
    "list",
    "align_page",
    "align",
    "settle",
    "captions",
    "local_media",
    "retry",
    "prepass",
    "extract",
    "extract_media",
    "filter",
    "filter_paragraph",
    "optout",
    "language",
    "url_dedup",
    "near_dup",
    "image_set_dedup",
    "paragraph_dedup",
    "assemble",
    "assemble_media",
    "media",
    "pairs",
    "window",
    "shard",
]
_MARKER = re.compile(r"(<image>|<EOC>)")
_FUNNEL_HEAD = ["stage", "in", "kept", "dropped", "drop reasons / counters", "volumes"]
_MIME = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
PAIR_KINDS = frozenset(("align", "ltip", "vtp"))
MAX_FRAMES = 6  # frames of a video shown in the sample section


@dataclass
class StoredSample:
    """One sample read from a shard: its json and its other members by suffix (`0.jpg`, `txt`)."""

    key: str
    meta: dict[str, Any]
    media: dict[str, bytes]


@dataclass
class ReportData:
    """Everything the page shows, gathered from `dataset.json`, `stats.json` and the shards."""

    dataset: dict[str, Any]
    stats: dict[str, int]
    scanned: int = 0
    scanned_shards: int = 0
    tokens_per_window: list[int] = field(default_factory=list)
    tokens_per_doc: dict[str, int] = field(default_factory=dict)
    images_per_window: list[int] = field(default_factory=list)
    image_widths: list[int] = field(default_factory=list)
    image_heights: list[int] = field(default_factory=list)
    stored_widths: list[int] = field(default_factory=list)
    stored_heights: list[int] = field(default_factory=list)
    caption_words: list[int] = field(default_factory=list)
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


def iter_tar_samples(fileobj: IO[bytes]) -> Iterator[StoredSample]:
    """Samples of a WebDataset tar read as a stream (members of a sample are adjacent)."""
    for key, members in iter_samples(fileobj):
        media = dict(members)
        meta = json.loads(media.pop("json")) if "json" in media else {}
        yield StoredSample(key, meta, media)


def add_window(data: ReportData, window: StoredSample) -> None:
    """Add one sample's numbers to the histograms."""
    (_add_pair if data.pairs else _add_m3w)(data, window)
    if window.meta.get("language"):
        data.sample_languages[window.meta["language"]] += 1
    data.scanned += 1


def _add_m3w(data: ReportData, window: StoredSample) -> None:
    """Tokens, images and original image sizes of one M3W window."""
    meta = window.meta
    span = meta.get("window", {})
    ids = meta.get("input_ids")
    data.tokens_per_window.append(
        len(ids) if ids is not None else span.get("token_end", 0) - span.get("token_start", 0)
    )
    if "doc_tokens" in span:
        data.tokens_per_doc[meta.get("doc_id", window.key)] = span["doc_tokens"]
    images = meta.get("images", [])
    data.images_per_window.append(len(images))
    for image in images:
        size = image.get("original_size")
        if size:
            data.image_widths.append(size[0])
            data.image_heights.append(size[1])


def _add_pair(data: ReportData, window: StoredSample) -> None:
    """Caption words and the img2dataset size fields of one pair."""
    meta = window.meta
    data.caption_words.append(len(caption(window).split()))
    for values, name in (
        (data.image_widths, "original_width"),
        (data.image_heights, "original_height"),
        (data.stored_widths, "width"),
        (data.stored_heights, "height"),
    ):
        if meta.get(name):
            values.append(meta[name])


# ---------------------------------------------------------------- SVG charts


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def svg_bars(labels: list[str], values: list[float], title: str, width: int = 560) -> str:
    """Vertical bar chart of labelled values."""
    height, top, bottom, left = 220, 28, 42, 44
    if not values:
        return f'<figure class="chart"><figcaption>{html.escape(title)}: no data</figcaption></figure>'
    peak = max(values) or 1
    slot = (width - left - 10) / len(values)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">',
        f'<text x="{width / 2}" y="16" text-anchor="middle" class="t">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" class="axis"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="l">{_fmt(peak)}</text>',
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" class="l">0</text>',
    ]
    every = max(1, math.ceil(len(values) / 12))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar = (height - top - bottom) * value / peak
        x = left + i * slot + slot * 0.1
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bottom - bar:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{bar:.1f}" class="bar">'
            f"<title>{html.escape(label)}: {_fmt(value)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + slot * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle" class="l">'
                f"{html.escape(label)}</text>"
            )
    parts.append("</svg>")
    return f'<figure class="chart">{"".join(parts)}</figure>'


def svg_histogram(values: list[float], title: str, bins: int = 20) -> str:
    """Histogram: one bar per integer for small integer ranges, else `bins` equal bins."""
    if not values:
        return svg_bars([], [], title)
    low, high = min(values), max(values)
    if all(float(v).is_integer() for v in values) and high - low < bins:
        counts = Counter(int(v) for v in values)
        labels = list(range(int(low), int(high) + 1))
        return svg_bars([str(v) for v in labels], [counts[v] for v in labels], title)
    step = (high - low) / bins or 1
    counts = Counter(min(int((v - low) / step), bins - 1) for v in values)
    return svg_bars([_fmt(low + i * step) for i in range(bins)], [counts[i] for i in range(bins)], title)


# ---------------------------------------------------------------- sections


def _stage_rank(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def _by_stage(stats: dict[str, int]) -> dict[str, dict[str, int]]:
    stages: dict[str, dict[str, int]] = {}
    for name, value in stats.items():
        stage, _, reason = name.partition("/")
        stages.setdefault(stage, {})[reason or "count"] = value
    return dict(sorted(stages.items(), key=lambda kv: _stage_rank(kv[0])))


def _kept_name(counters: dict[str, int]) -> str | None:
    return "kept" if "kept" in counters else None


def funnel_section(stats: dict[str, int]) -> str:
    """Funnel table (in, kept, drop reasons, volumes) and a bar chart of what passed each stage.

    `in`, `dropped` and percentages need the strict convention (`stage/kept` + one counter per
    drop reason); other stages list their counters as they are.
    """
    rows, labels, kept_values = [_row(_FUNNEL_HEAD, "th")], [], []
    for stage, counters in _by_stage(stats).items():
        kept_name = _kept_name(counters)
        volumes = {k: v for k, v in counters.items() if k.startswith("n_")}
        others = {k: v for k, v in counters.items() if k != kept_name and k not in volumes}
        strict = kept_name == "kept"
        total = counters.get(kept_name, 0) + sum(others.values())
        items = "".join(
            f"<li>{html.escape(k)}: {v:,}"
            + (f" ({100 * v / total:.1f}%)" if strict and total else "")
            + "</li>"
            for k, v in sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        notes = "".join(f"<li>{html.escape(k[2:])}: {v:,}</li>" for k, v in sorted(volumes.items()))
        kept = counters[kept_name] if kept_name else None
        cells = [
            html.escape(stage),
            f"{total:,}" if strict else "–",
            "–" if kept is None else f"{kept:,}" + ("" if strict else f" ({html.escape(kept_name)})"),
            f"{total - kept:,}" if strict else "–",
            f"<ul>{items}</ul>",
            f"<ul>{notes}</ul>",
        ]
        rows.append(_row(cells))
        if kept is not None:
            labels.append(stage)
            kept_values.append(kept)
    chart = svg_bars(labels, kept_values, "items passing each stage", width=max(560, 70 * len(labels)))
    return f'<section id="funnel"><h2>Funnel</h2>{_prepass_note(stats)}{chart}<table>{"".join(rows)}</table></section>'


def _prepass_note(stats: dict[str, int]) -> str:
    total, skipped = stats.get("prepass/n_bytes_in", 0), stats.get("prepass/n_bytes_skipped", 0)
    if not total:
        return ""
    docs = sum(
        v for k, v in stats.items() if k.startswith("prepass/") and k != "prepass/kept" and "/n_" not in k
    )
    return (
        f'<p class="note">Text-only pre-pass: {docs:,} pages and {skipped:,} of {total:,} HTML bytes '
        f"({100 * skipped / total:.1f}%) never reached DOM extraction or media fetching.</p>"
    )


def histogram_section(data: ReportData) -> str:
    """Histogram charts over the scanned samples and the language counters."""
    languages = {k[len("language/n_"):]: v for k, v in data.stats.items() if k.startswith("language/n_")}
    language_title = "languages (documents detected)" if languages else "languages (sample windows)"
    languages = languages or dict(data.sample_languages)
    top = sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
    charts = [svg_histogram(values, title) for values, title in _histograms(data)]
    if top or not data.pairs:
        charts.append(svg_bars([k for k, _ in top], [v for _, v in top], language_title))
    total = len(data.dataset.get("shardlist", []))
    note = f"<p class=note>Over {data.scanned:,} samples read from {data.scanned_shards} of {total} shard(s).</p>"
    charts_html = "".join(charts)
    return (
        f'<section id="histograms"><h2>Histograms</h2>{note}<div class="charts">{charts_html}</div></section>'
    )


def _histograms(data: ReportData) -> list[tuple[list[float], str]]:
    """(values, title) of each histogram the dataset's kind gets."""
    sizes = [(data.image_widths, "original image width (px)"), (data.image_heights, "original image height (px)")]
    if data.pairs:
        return [
            (data.caption_words, "caption length (words)"),
            *sizes,
            (data.stored_widths, "stored image width (px)"),
            (data.stored_heights, "stored image height (px)"),
        ]
    return [
        (data.tokens_per_window, "tokens per window"),
        (list(data.tokens_per_doc.values()), "tokens per document"),
        (data.images_per_window, "images per window"),
        *sizes,
    ]


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _row(cells: list[str], tag: str = "td") -> str:
    """A table row of already-escaped cells."""
    return "<tr>" + "".join(f"<{tag}>{cell}</{tag}>" for cell in cells) + "</tr>"


def shard_section(shards: list[dict[str, Any]]) -> str:
    """Table of the shards listed in `dataset.json`, with a totals row."""
    rows = [_row(["shard", "samples", "size", "md5"], "th")]
    for s in shards:
        md5 = f"<code>{html.escape(str(s.get('md5sum', '')))}</code>"
        rows.append(
            _row(
                [
                    html.escape(str(s.get("url", ""))),
                    f"{s.get('nsamples', 0):,}",
                    _size(s.get("filesize", 0)),
                    md5,
                ]
            )
        )
    samples, size = sum(s.get("nsamples", 0) for s in shards), sum(s.get("filesize", 0) for s in shards)
    rows.append(_row([f"{len(shards)} shards", f"{samples:,}", _size(size), ""], "th"))
    return f'<section id="shards"><h2>Shards</h2><table>{"".join(rows)}</table></section>'


def _img(window: StoredSample, member: str, title: str, budget: list[int]) -> str:
    data = window.media.get(member)
    if data is None:
        return f'<span class="missing">[{html.escape(member)} missing]</span>'
    if len(data) > budget[0]:
        return f'<span class="missing">[{html.escape(member)} omitted: report size budget]</span>'
    budget[0] -= len(data)
    mime = _MIME.get(member.rsplit(".", 1)[-1].lower(), "image/jpeg")
    payload = base64.b64encode(data).decode()
    return f'<img src="data:{mime};base64,{payload}" title="{html.escape(title)}" alt="{html.escape(title)}">'


def _strip(window: StoredSample, frames: list[dict[str, Any]], title: str, budget: list[int]) -> str:
    """A video as a strip of its first `MAX_FRAMES` frames (`{"t": ..., "member": ...}`)."""
    images = "".join(_img(window, f["member"], title, budget) for f in frames[:MAX_FRAMES])
    return f'<span class="video">{images}</span>'


def _render_text(window: StoredSample, budget: list[int]) -> str:
    images = window.meta.get("images", [])
    out, index = [], 0
    for part in _MARKER.split(window.meta.get("text", "")):
        if part == "<EOC>":
            out.append('<span class="eoc">&lt;EOC&gt;</span>')
        elif part == "<image>":
            info = images[index] if index < len(images) else {}
            title = f"<image> {index}: {info.get('src', '')}"
            if info.get("kind") == "video":
                out.append(_strip(window, info.get("frames", []), title, budget))
            else:
                out.append(_img(window, info.get("member", f"{index}.jpg"), title, budget))
            index += 1
        elif part:
            out.append(f"<span>{html.escape(part)}</span>")
    return "".join(out)


def _window_card(window: StoredSample, budget: list[int]) -> tuple[str, str]:
    """Header text and body of an M3W window: text with its images in place."""
    span = window.meta.get("window", {})
    head = f"tokens {span.get('token_start', '?')}–{span.get('token_end', '?')} of {span.get('doc_tokens', '?')}"
    return head, f'<div class="text">{_render_text(window, budget)}</div>'


def _pair_card(window: StoredSample, budget: list[int]) -> tuple[str, str]:
    """Header text and body of a pair: its image (or strip of video frames) above its caption."""
    meta = window.meta
    head = (
        f"{meta.get('original_width', '?')}×{meta.get('original_height', '?')} px → "
        f"{meta.get('width', '?')}×{meta.get('height', '?')} px"
    )
    title = str(meta.get("url", ""))
    if "frames" in meta:
        head += f" · {len(meta['frames'])} frames"
        media = _strip(window, meta["frames"], title, budget)
    else:
        media = _img(window, "jpg", title, budget)
    return html.escape(head), (
        f'<figure class="pair">{media}<figcaption>{html.escape(caption(window))}</figcaption></figure>'
    )


def samples_section(windows: list[StoredSample], image_budget: int, pairs: bool = False) -> str:
    """Browsable samples (index + prev/next links): M3W windows with images in place, or pairs."""
    budget = [image_budget]
    card, kind = (_pair_card, "pair") if pairs else (_window_card, "window")
    index = " ".join(f'<a href="#w{i}">{i}</a>' for i in range(len(windows)))
    cards = []
    for i, window in enumerate(windows):
        nav = (f'<a href="#w{i - 1}">&larr; prev</a> ' if i else "") + (
            f'<a href="#w{i + 1}">next &rarr;</a>' if i + 1 < len(windows) else ""
        )
        head, body = card(window, budget)
        cards.append(
            f'<article id="w{i}" class="{kind}"><header><b>{i}</b> <code>{html.escape(window.key)}</code> '
            f"{html.escape(str(window.meta.get('url', '')))} {head} <span class=\"nav\">{nav}</span></header>"
            f"{body}</article>"
        )
    return (
        f'<section id="samples"><h2>Sample {kind}s</h2><p class="index">{index}</p>{"".join(cards)}</section>'
    )


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top;text-align:left}
ul{margin:0;padding-left:1.2em}.charts{display:flex;flex-wrap:wrap;gap:8px}figure.chart{margin:0}
svg .bar{fill:#4a7bd0}svg .axis{stroke:#444}svg text{font:11px sans-serif;fill:#333}svg .t{font-weight:bold;font-size:13px}
article.window,article.pair{border:1px solid #bbb;border-radius:6px;margin:1em 0;padding:.6em}
article header{font-size:12px;color:#555;margin-bottom:.4em}
.text{white-space:pre-wrap}.text img,figure.pair img{display:block;max-height:256px;margin:6px 0;border:1px solid #999}
figure.pair{margin:0}figure.pair figcaption{white-space:pre-wrap;max-width:80ch}
.video{display:flex;gap:4px;flex-wrap:wrap}.eoc{background:#eee;color:#a33;font-size:11px;border-radius:3px;padding:0 3px}
.missing{color:#a33}.note{color:#555}.nav{float:right}
"""


def summary_section(ds: dict[str, Any]) -> str:
    """Kind, sample and shard counts, window and tokenizer where the dataset has them, options."""
    shards = ds.get("shardlist", [])
    parts = [
        f"kind <b>{html.escape(str(ds.get('kind', '?')))}</b>",
        f"{sum(s.get('nsamples', 0) for s in shards):,} samples in {len(shards)} shards",
    ]
    if ds.get("window"):
        parts.append(f"window {html.escape(json.dumps(ds['window']))}")
    tokenizer = ds.get("tokenizer")
    if tokenizer:
        parts.append(
            f"tokenizer {html.escape(str(tokenizer.get('file', '?')))} (vocab {tokenizer.get('vocab_size', '?')})"
        )
    options = html.escape(json.dumps(ds.get("options", {}), indent=1, sort_keys=True))
    return f"<p>{' · '.join(parts)}</p><details><summary>options</summary><pre>{options}</pre></details>"


def render(data: ReportData, image_budget: int = 3_000_000) -> str:
    """The whole page as one HTML string."""
    body = "".join(
        [
            summary_section(data.dataset),
            funnel_section(data.stats),
            histogram_section(data),
            shard_section(data.dataset.get("shardlist", [])),
            samples_section(data.windows, image_budget, data.pairs),
        ]
    )
    toc = (
        "<nav>"
        + " · ".join(f'<a href="#{s}">{s}</a>' for s in ("funnel", "histograms", "shards", "samples"))
        + "</nav>"
    )
    title = f"m3w-builder report: {html.escape(str(data.dataset.get('kind', '?')))}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body><h1>{title}</h1>{toc}{body}</body></html>"
    )


def collect(
    dataset: dict[str, Any],
    stats: dict[str, int],
    shard_openers: Iterable[Callable[[], IO[bytes]]],
    max_windows: int = 24,
    max_scan: int = 20_000,
) -> ReportData:
    """Read samples from shards (each opened by its opener, read as a stream, closed here).

    The first `ceil(max_windows / number of shards)` samples of each shard are kept for the
    browsable section; at most `max_scan` samples feed the histograms.
    """
    openers = list(shard_openers)
    data = ReportData(dataset=dataset, stats=stats)
    per_shard = math.ceil(max_windows / max(len(openers), 1))
    for opener in openers:
        if data.scanned >= max_scan:
            break
        data.scanned_shards += 1
        with opener() as stream:
            for i, window in enumerate(iter_tar_samples(stream)):
                add_window(data, window)
                if i < per_shard and len(data.windows) < max_windows:
                    data.windows.append(window)
                if data.scanned >= max_scan:
                    break
    return data
