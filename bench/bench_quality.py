"""Cost per document of the quality stages on real pages (../shared/data/html).

    python bench/bench_quality.py [--data DIR] [--rounds 3]

Prints CPU µs/doc and docs/core-s (process time, best of `--rounds`) for: MinHash signature + LSH
band keys (the dedup cost), language id, and the text-only pre-pass next to a bare lxml parse of
the same bytes (what the pre-pass saves on every page it drops).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lxml import html as lxml_html

from m3w_builder.quality import minhash
from m3w_builder.quality.language import detect_language
from m3w_builder.quality.prepass import prepass_reason

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "html"


def page_text(page: bytes) -> str:
    """Visible text of a page, cheaply (scripts and styles dropped, lxml `text_content`)."""
    try:
        tree = lxml_html.fromstring(page)
    except (ValueError, lxml_html.etree.ParserError):
        return ""
    for node in tree.xpath("//script|//style|//noscript"):
        node.drop_tree()
    return " ".join(tree.text_content().split())


def best_cpu_seconds(fn: Callable[[object], object], items: Sequence[object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - start)
    return best


def report(name: str, seconds: float, n: int) -> None:
    print(f"{name:<34} {seconds / n * 1e6:10.1f} µs/doc {n / seconds:10.0f} docs/core-s")


def parse(page: bytes) -> None:
    try:
        lxml_html.fromstring(page)
    except (ValueError, lxml_html.etree.ParserError):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(args.data.rglob("*.htm*")) if args.data.is_dir() else []
    if not files:
        print(f"no HTML pages under {args.data}: nothing to measure")
        return
    pages = [f.read_bytes() for f in files]
    texts = [page_text(p) for p in pages]
    words = sum(len(minhash.normalize_words(t)) for t in texts) / len(texts)
    kib = sum(map(len, pages)) / len(pages) / 1024
    print(f"{len(pages)} pages, {kib:.0f} KiB HTML and {words:.0f} words of text per page")

    def dedup(text: str) -> None:
        minhash.band_keys(minhash.signature(text))

    report("minhash signature + LSH keys", best_cpu_seconds(dedup, texts, args.rounds), len(texts))
    report("  signature only", best_cpu_seconds(minhash.signature, texts, args.rounds), len(texts))
    report("language id (py3langid)", best_cpu_seconds(detect_language, texts, args.rounds), len(texts))
    report("text-only pre-pass (raw HTML)", best_cpu_seconds(prepass_reason, pages, args.rounds), len(pages))
    report("  lxml parse alone, for scale", best_cpu_seconds(parse, pages, args.rounds), len(pages))


if __name__ == "__main__":
    main()
