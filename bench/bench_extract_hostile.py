"""Extraction cost of adversarial page shapes, each scaled by n: CPU time of `extract()` at n and 10n.

    python bench/bench_extract_hostile.py [--sizes 1000,10000] [SHAPE ...]

A rule whose cost grows faster than the page shows as a ratio far above the size ratio (10 for
1000,10000); ~10-12 is linear (cache effects). Limits are lifted (`max_page_bytes`, `max_page_tags`,
`max_page_media`, the deadline) so the shape, not a guard, decides; libxml2's depth limit still
rejects nesting past 2048 (`too_deep`). Nested shapes keep the nested text under 80% of the page,
so each level is a boilerplate candidate. Thread CPU time, best of two runs up to n = 10,000: read
ratios, not absolute times (the machine is shared). `tests/test_extract_cost.py` pins the
findings under a page deadline.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from itertools import pairwise

from m3w_builder.drops import Rejected
from m3w_builder.extract import ExtractOptions, extract

PARAGRAPH = "<p>" + "Some real article words, with commas, and sentences that read as prose. " * 3 + "</p>"
STORY = PARAGRAPH * 20
OTHER = f"<div>{STORY * 30}</div>"  # outweighs a nested shape's text: each level stays a candidate
UNLIMITED = ExtractOptions(max_page_bytes=10 ** 9, max_page_tags=10 ** 8, time_limit_s=1000, max_page_media=10 ** 6)
DEPTH = 1000


def _page(body: str) -> str:
    return f"<html><head><title>A page title about soup</title></head><body>{body}</body></html>"


def _nested(opening: str, closing: str, inner: str) -> str:
    return _page(OTHER + opening * DEPTH + inner + closing * DEPTH)


def _gallery(i: int) -> str:
    captions = "".join(f"<p>Caption {j} of {i}, with, many, commas, here, and, there, more, words.</p>"
                       for j in range(30))
    return f"<div><div><div><div class='gallery'><div>{captions}</div></div></div></div></div>"


SHAPES: dict[str, Callable[[int], str]] = {
    "images_in_one_block": lambda n: _page(f"<article>{STORY}<div>" + "".join(
        f"<img src='/i{i}.jpg' width=300 height=200>" for i in range(n)) + "</div></article>"),
    "images_in_one_textless_link": lambda n: _page(STORY + "<a href='/x'>" + "".join(
        f"<img src='/i{i}.jpg'>" for i in range(2000)) + "<i></i>" * n + "</a>"),
    "sibling_blocks": lambda n: _page("<div>" + "".join(f"<div>text number {i} here</div>" for i in range(n)) + "</div>"),
    "paragraphs": lambda n: _page("<article>" + PARAGRAPH * n + "</article>"),
    "class_of_many_names": lambda n: _page(f"<div class='{' '.join(f'w{i}' for i in range(n))}'>{STORY}</div>"),
    "one_huge_class": lambda n: _page(f"<div class='{'a' * (n * 10)}'>{STORY}</div>"),
    "class_on_many_blocks": lambda n: _page("<div>" + "<div class='share-box related-posts'>item</div>" * n
                                            + STORY + "</div>"),
    "short_lines": lambda n: _page("<pre>" + "line\n" * (n * 10) + "</pre>" + STORY),
    "line_breaks": lambda n: _page("<div>" + "word<br>" * n + "</div>" + STORY),
    "long_line_without_spaces": lambda n: _page(f"<p>{'a' * (n * 50)}</p>" + STORY),
    "links_in_a_paragraph": lambda n: _page("<p>" + "".join(f"<a href='/l{i}'>link {i}</a> and " for i in range(n))
                                            + "</p>" + STORY),
    "long_alt_and_title": lambda n: _page(STORY + f"<img src='/a.jpg' alt='{'alt ' * (n * 10)}' title='{'t' * n}'>"),
    "figures": lambda n: _page("<article>" + STORY + "".join(
        f"<figure><img src='/f{i}.jpg' width=500 height=400><figcaption>Caption {i}</figcaption></figure>"
        for i in range(n)) + "</article>"),
    "nested_figure_captions": lambda n: _nested("<figure><figcaption><img src='/a.jpg'>", "</figcaption></figure>",
                                                "word " * (n * 10)),
    "headings_and_sections": lambda n: _page("<article>" + STORY + "".join(
        f"<h{1 + i % 6}>Heading {i}</h{1 + i % 6}><p>short {i}</p>" for i in range(n)) + "</article>"),
    "huge_srcset": lambda n: _page(STORY + "<img srcset='" + ", ".join(f"/u{i}.jpg {i}w" for i in range(n)) + "'>"),
    "table_of_100_columns": lambda n: _page(STORY + "<table>" + ("<tr>" + "<td>cell</td>" * 100 + "</tr>") * (n // 100)
                                            + "</table>"),
    "list_items": lambda n: _page(STORY + "<ul>" + "<li>item plain text</li><li><a href='/x'>linked</a></li>" * (n // 2)
                                  + "</ul>"),
    "signup_forms": lambda n: _page(STORY + "<form><label>L</label><input type=email></form>" * n),
    "signup_forms_deep": lambda n: _page(STORY + "<div>" * 2000 + "<form><input type=email></form>" * (n // 2)
                                         + "</div>" * 2000),
    "hidden_blocks_deep": lambda n: _page("<div>" * 2000 + STORY + "<div hidden>x</div>" * n + "</div>" * 2000),
    "related_share_subscribe": lambda n: _page("<article>" + STORY + "<p>Related</p><div>Share</div><div>Subscribe</div>"
                                               * n + "</article>"),
    "notice_lines": lambda n: _page("<article>" + STORY + "".join(
        f"<p>{x}</p>" for x in ["Advertisement", "Author: Bob", "12:30", "3 Comments", "Reviews"] * (n // 5))
        + "</article>"),
    "comment_headings": lambda n: _page("<article>" + STORY + "".join(
        f"<div><h3>{i} Comments</h3><p>reply {i}</p></div>" for i in range(n)) + "</article>"),
    "counters": lambda n: _page("<article>" + STORY + "".join(f"<p>{1 + i % 999}</p>" for i in range(n)) + "</article>"),
    "long_urls": lambda n: _page(STORY + f"<img src='/{'a' * (n * 10)}.jpg'><a href='/{'b' * (n * 10)}'>link</a>"),
    "galleries_outscoring_the_story": lambda n: _page("<div>" + STORY + "".join(_gallery(i) for i in range(n // 30))
                                                      + "</div>"),
    "teaser_cards": lambda n: _page("<article>" + STORY + "<div>" + "".join(
        f"<div class='card'><h3><a href='/s{i}'>A teaser title number {i}</a></h3><p>blurb {i}</p></div>"
        for i in range(n)) + "</div></article>"),
    "nested_toolbars": lambda n: _nested("<div class='toolbar'>", "</div>", "word " * (n * 10)),
    "nested_heading_anchors": lambda n: _nested("<div id='related-one-two-three'><h2>", "</h2></div>",
                                                "word " * (n * 10)),
    "nested_noscripts": lambda n: _nested("<noscript>", "</noscript>", "word " * (n * 10)),
    "deep_images": lambda n: _page("<div>" * 2000 + STORY + "".join(f"<img src='/d{i}.jpg'>" for i in range(min(n, 2000)))
                                   + "</div>" * 2000),
}


def cpu_seconds(html: str, rounds: int) -> tuple[float, str]:
    """The least thread CPU time of `rounds` extractions of `html`, and the outcome (`ok` or the reason)."""
    data = html.encode()
    best, outcome = float("inf"), "ok"
    for _ in range(rounds):
        start = time.thread_time()
        try:
            extract(data, "https://site.test/a/page.html", options=UNLIMITED)
        except Rejected as rejected:
            outcome = rejected.reason
        best = min(best, time.thread_time() - start)
    return best, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated values of n, ascending")
    parser.add_argument("shapes", nargs="*", help=f"shapes to run (default: all): {', '.join(SHAPES)}")
    args = parser.parse_args()
    sizes = [int(float(size)) for size in args.sizes.split(",")]
    for name in args.shapes or SHAPES:
        row = [(n, *cpu_seconds(SHAPES[name](n), 2 if n <= 10_000 else 1), len(SHAPES[name](n))) for n in sizes]
        ratios = " ".join(f"{later[1] / max(earlier[1], 1e-4):.1f}" for earlier, later in pairwise(row))
        cells = " ".join(f"n={n:g}: {seconds:.3f}s {outcome} {size // 1000} kB" for n, seconds, outcome, size in row)
        print(f"{name:32} {cells}  ratio {ratios}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
