"""Windows of at most L tokens holding at most N images (DESIGN §3), seeded by doc id and job seed.

A window is read from a start position forward: tokens are taken until L are collected; `<image>`
markers past the N-th are removed (their images are not in the window), so the `<image>` count of
every window equals its number of images. Options:

- `mode="tile"` (default): consecutive windows covering the whole document (every token used once;
  taking one window per document throws most of the web away, OpenFlamingo's loader does that);
- `mode="random"`: `per_doc` windows at distinct random starts (Flamingo samples one per document);
- `align="any"` lets a window start on any token, `align="chunk"` only at the document start or
  right after an `<EOC>`.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass

from m3w_builder.options import option


@dataclass(frozen=True)
class WindowOptions:
    """Window length, image cap and sampling strategy."""

    max_tokens: int = option(256, "L: tokens per window", low=8)
    max_images: int = option(5, "N: images per window", low=1)
    mode: str = option("tile", "tile: consecutive windows covering each document, so no text is thrown away; "
                       "random: --windows_per_doc random windows per document (Flamingo's sampling)",
                       flag="window_mode", choices=("tile", "random"))
    per_doc: int = option(1, "random windows per document (--window_mode random)", flag="windows_per_doc", low=1)
    align: str = option("any", "any token may start a window, or only chunk starts (after <EOC>)",
                        flag="window_align", choices=("any", "chunk"))
    min_images: int = option(1, "windows with fewer images are dropped (window/too_few_images)",
                             flag="min_window_images")


@dataclass(frozen=True)
class Window:
    """Token ids of one window, its span in the document, and the media indexes of its images."""

    index: int
    token_start: int
    token_end: int
    input_ids: list[int]
    media: list[int]


def _read_window(ids: list[int], media: list[int], image_at: list[int], start: int, image_id: int,
                 opts: WindowOptions, index: int) -> Window:
    """Collect up to `max_tokens` tokens from `start`, dropping `<image>` markers past `max_images`.
    `image_at`: the positions of the `<image>` ids, so the images before `start` are found by a
    bisection (counting them anew for each window made tiling quadratic in the document's tokens:
    a page of 10^6 tokens, one long word or a script taken byte by byte, cost 21 CPU-s)."""
    out: list[int] = []
    kept_media: list[int] = []
    media_before = bisect.bisect_left(image_at, start)
    pos = start
    while pos < len(ids) and len(out) < opts.max_tokens:
        token = ids[pos]
        if token == image_id:
            if len(kept_media) < opts.max_images:
                out.append(token)
                kept_media.append(media[media_before])
            media_before += 1
        else:
            out.append(token)
        pos += 1
    return Window(index, start, pos, out, kept_media)


def _candidate_starts(ids: list[int], eoc_id: int, opts: WindowOptions) -> Sequence[int]:
    last = max(0, len(ids) - opts.max_tokens)
    if opts.align == "chunk":
        starts = [0] + [i + 1 for i, t in enumerate(ids) if t == eoc_id and i + 1 <= last]
        return sorted(set(starts))
    return range(last + 1)  # sampled as the list of its numbers is, without holding them


def make_windows(
    ids: list[int], media: list[int], *, image_id: int, eoc_id: int, doc_id: str, seed: int, opts: WindowOptions
) -> list[Window]:
    """Windows of one document's token ids; `media[k]` is the media index of the k-th `<image>`."""
    if not ids:
        return []
    image_at = [i for i, token in enumerate(ids) if token == image_id]
    windows: list[Window] = []
    if opts.mode == "tile":
        start = 0
        while start < len(ids):
            window = _read_window(ids, media, image_at, start, image_id, opts, len(windows))
            windows.append(window)
            start = window.token_end
    elif opts.mode == "random":
        rng = random.Random(f"{seed}:{doc_id}")
        candidates = _candidate_starts(ids, eoc_id, opts)
        starts = sorted(rng.sample(candidates, min(opts.per_doc, len(candidates))))
        windows = [_read_window(ids, media, image_at, s, image_id, opts, i) for i, s in enumerate(starts)]
    else:
        raise ValueError(f"unknown window mode {opts.mode!r}")
    return windows
