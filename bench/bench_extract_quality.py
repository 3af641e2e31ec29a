"""Main-content quality on the dev ground truth (../shared/data/html), ours against Trafilatura.

    python bench/bench_extract_quality.py [--data DIR] [--rounds 1]

Prints text precision/recall/F1 (4-gram shingles averaged per page, see
`m3w_builder.extract.evaluate`) for our extractor, our extractor + the default document filters,
and Trafilatura (default settings, if installed: it is a bench-only dependency), per dev set and per
newspaper4k language; content-image precision/recall of our kept images against readability's
`expected.html` images; and docs per CPU-second of each, measured interleaved page by page in
this process (the machine is shared and noisy: read the ratio).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from m3w_builder.document import Document, ImageNode
from m3w_builder.drops import Rejected
from m3w_builder.extract import extract
from m3w_builder.extract.evaluate import SMALL_SIDE, ImageTally, Scores, dev_pages, mean_scores, text_scores
from m3w_builder.quality.filters import filter_document

try:
    import trafilatura
except ImportError:  # bench-only dependency
    trafilatura = None

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "html"


def _ours(page) -> Document | None:
    try:
        return extract(page.html, page.url).document
    except Rejected:
        return None


def _filtered(doc: Document | None) -> str:
    try:
        return filter_document(doc).document.text if doc else ""
    except Rejected:
        return ""


def _trafilatura(page) -> str:
    return trafilatura.extract(page.html, url=page.url) or ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=1, help="timing rounds (quality is scored once)")
    parser.add_argument("--pages", action="store_true", help="print per-page F1 of each system")
    parser.add_argument("--all-pages", action="store_true", help="also time both on every page under --data")
    args = parser.parse_args()
    pages = list(dev_pages(args.data)) if args.data.is_dir() else []
    if not pages:
        print(f"no dev pages under {args.data}: nothing to measure")
        return 0
    systems = ["ours", "ours+filters"] + (["trafilatura"] if trafilatura else [])
    scores: dict[tuple[str, str], list[Scores]] = defaultdict(list)
    images = ImageTally()
    cpu = defaultdict(float)
    for round_ in range(args.rounds):
        for page in pages:  # interleaved: each page through every system before the next page
            start = time.process_time()
            doc = _ours(page)
            cpu["ours"] += time.process_time() - start
            if trafilatura:
                start = time.process_time()
                theirs = _trafilatura(page)
                cpu["trafilatura"] += time.process_time() - start
            if round_:
                continue
            srcs = [n.src for n in doc.nodes if isinstance(n, ImageNode)] if doc else []
            outputs = {"ours": doc.text if doc else "", "ours+filters": _filtered(doc),
                       "trafilatura": theirs if trafilatura else ""}
            groups = [page.dataset] + ([f"{page.dataset}/{page.language}"] if page.language else [])
            for system in systems:
                s = text_scores(outputs[system], page.expected_text)
                for group in groups + ["all"]:
                    scores[(group, system)].append(s)
            if args.pages:
                print(f"{page.dataset[:4]}/{page.name:<45} " + " ".join(
                    f"{system}={text_scores(outputs[system], page.expected_text).f1:.2f}" for system in systems))
            if page.expected_images is not None:
                images.add(srcs, page.expected_images, page.small_images)
    n = len(pages) * args.rounds
    groups = sorted({g for g, _ in scores}, key=lambda g: (g != "all", "/" in g, g))
    print(f"text P/R/F1 on {len(pages)} dev pages (4-gram shingles, mean per page)")
    print(f"{'set':<18}{'pages':>6}  " + "".join(f"{s:^22}" for s in systems))
    for group in groups:
        row = [mean_scores(scores[(group, s)]) for s in systems]
        print(f"{group:<18}{len(scores[(group, systems[0])]):>6}  " + "".join(
            f"  {m.precision:.3f} {m.recall:.3f} {m.f1:.3f} " for m in row))
    print(f"content images vs readability expected.html: kept {images.kept}, precision {images.precision:.3f}, "
          f"recall {images.recall:.3f} ({images.expected_found}/{images.expected}), "
          f"recall of those not declared < {SMALL_SIDE} px {images.recall_sized:.3f} "
          f"({images.sized_found}/{images.sized}), pages out of DOM order {images.pages_out_of_order}")
    for system in ("ours", "trafilatura"):
        if cpu[system]:
            print(f"speed {system:<12} {n / cpu[system]:8.1f} docs/CPU-s on the dev pages (extraction only)")
    if cpu["trafilatura"]:
        print(f"speed ratio ours/trafilatura: {cpu['trafilatura'] / cpu['ours']:.1f}x")
    if args.all_pages and trafilatura:
        _speed_on_all_pages(args.data, args.rounds)
    return 0


def _speed_on_all_pages(root: Path, rounds: int) -> None:
    """Docs/CPU-s of both extractors on every page under `root` (dev or not), interleaved."""
    pages = [p.read_bytes() for p in sorted(root.rglob("*.htm*")) if ".expected." not in p.name]
    cpu = defaultdict(float)
    for _ in range(rounds):
        for data in pages:
            start = time.process_time()
            try:
                extract(data, "https://example.test/page.html")
            except Rejected:
                pass
            cpu["ours"] += time.process_time() - start
            start = time.process_time()
            trafilatura.extract(data, url="https://example.test/page.html")
            cpu["trafilatura"] += time.process_time() - start
    n = len(pages) * rounds
    print(f"speed on all {len(pages)} pages: ours {n / cpu['ours']:.1f}, trafilatura {n / cpu['trafilatura']:.1f} "
          f"docs/CPU-s, ratio {cpu['trafilatura'] / cpu['ours']:.1f}x")


if __name__ == "__main__":
    raise SystemExit(main())
