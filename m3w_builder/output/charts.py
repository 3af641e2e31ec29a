"""Chart geometry for report.html, as plain data the template draws as inline SVG.

Axes get round tick values (1, 2 or 5 × 10^k steps) and histogram bins get round edges; category
labels sit on the left of horizontal bars, so no two labels can overlap, and the labels of
vertical histograms are thinned to the ones that fit their slot (every bar keeps a tooltip).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

CHAR_PX = 6.6  # width of one character of the 11 px chart font, generously rounded up


def nice_step(span: float, target: int = 5) -> float:
    """A round step (1, 2 or 5 × 10^k) giving about `target` intervals over `span`."""
    if span <= 0:
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def ticks(peak: float, target: int = 5, integer: bool = True) -> list[float]:
    """Round tick values from 0 to at least `peak`."""
    step = nice_step(peak or 1, target)
    if integer:
        step = max(1.0, math.ceil(step))
    top = math.ceil((peak or 1) / step) * step
    return [round(i * step, 10) for i in range(round(top / step) + 1)]


def label(value: float) -> str:
    """A tick or edge value as short text (12k, 1.5M, 0.25)."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size * 10 or (abs(value) >= size and value % size == 0):
            scaled = value / size
            return f"{scaled:.0f}{suffix}" if scaled == int(scaled) else f"{scaled:.1f}{suffix}"
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


@dataclass
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    tooltip: str
    extra: float = 0.0  # a second, stacked segment (dropped) drawn after `value`
    extra_width: float = 0.0
    note: str = ""


@dataclass
class Chart:
    """One chart: `horizontal` bars with labels on the left, or vertical histogram columns."""

    title: str
    width: int
    height: int
    horizontal: bool
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (pixel position, text)
    xlabels: list[tuple[float, str]] = field(default_factory=list)  # vertical charts: (x, text)
    plot: tuple[float, float, float, float] = (0, 0, 0, 0)  # left, top, right, bottom
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, text)
    empty: bool = False


def hbars(title: str, items: list[tuple[str, float]], width: int = 560, dropped: list[float] | None = None,
          notes: list[str] | None = None) -> Chart:
    """Horizontal bars, one row per (label, value); `dropped` stacks a second segment per row."""
    row, top = 20, 30
    longest = max((len(name) for name, _ in items), default=4)
    left = min(200, 12 + CHAR_PX * longest)
    right = width - 120  # room for the value note after the longest bar
    height = top + row * len(items) + (44 if dropped else 28)  # tick labels, then the legend under them
    chart = Chart(title, width, height, True, plot=(left, top, right, top + row * len(items)), empty=not items)
    totals = [v + (dropped[i] if dropped else 0) for i, (_, v) in enumerate(items)]
    axis = ticks(max(totals, default=0))
    scale = (right - left) / (axis[-1] or 1)
    chart.ticks = [(left + t * scale, label(t)) for t in axis]
    for i, (name, value) in enumerate(items):
        extra = dropped[i] if dropped else 0.0
        shown = name if len(name) * CHAR_PX <= left - 8 else name[: int((left - 8) / CHAR_PX) - 1] + "…"
        tip = f"{name}: {value:,.0f}" + (f" kept, {extra:,.0f} dropped" if dropped else "")
        chart.bars.append(Bar(shown, value, left, top + i * row + 3, value * scale, row - 6, tip, extra,
                              extra * scale, notes[i] if notes else f"{value:,.0f}"))
    if dropped:
        chart.legend = [("bar", "kept"), ("drop", "dropped")]
    return chart


def histogram(title: str, values: list[float], bins: int = 16, width: int = 420) -> Chart:
    """Vertical histogram with round bin edges (integers one per bar when the range is small)."""
    height, top, bottom, left, right = 220, 30, 40, 46, width - 12
    chart = Chart(title, width, height, False, plot=(left, top, right, height - bottom), empty=not values)
    if not values:
        return chart
    low, high = min(values), max(values)
    integer = all(float(v).is_integer() for v in values)
    if integer and high - low < bins:
        step, start = 1.0, math.floor(low)
    else:
        step = nice_step(high - low or 1, bins)
        if integer:
            step = max(1.0, math.ceil(step))
        start = math.floor(low / step) * step
    count = max(1, math.floor((high - start) / step) + 1)
    counts = Counter(min(int((v - start) // step), count - 1) for v in values)
    axis = ticks(max(counts.values()))
    scale = (height - bottom - top) / (axis[-1] or 1)
    chart.ticks = [(height - bottom - t * scale, label(t)) for t in axis]
    slot = (right - left) / count
    edges = [start + i * step for i in range(count + 1)]
    texts = [label(edge) for edge in edges[:-1]]
    widest = max(len(t) for t in texts) * CHAR_PX + 6
    every = max(1, math.ceil(widest / slot))
    for i in range(count):
        value = counts.get(i, 0)
        span = texts[i] if step == 1 and integer else f"{texts[i]}–{label(edges[i + 1])}"
        chart.bars.append(Bar(texts[i], value, left + i * slot + slot * 0.08, height - bottom - value * scale,
                              slot * 0.84, value * scale, f"{span}: {value:,}"))
        if i % every == 0:
            anchor = left + i * slot if not (integer and step == 1) else left + (i + 0.5) * slot
            chart.xlabels.append((anchor, texts[i]))
    return chart
