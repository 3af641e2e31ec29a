"""Extraction throughput on the real pages of ../shared/data/html, against a bare lxml parse of the
same bytes measured in the same process (the machine is shared and noisy: read the ratio)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lxml import etree

from m3w_builder.drops import Rejected
from m3w_builder.extract.dom import extract

HTML = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "html"


def _cpu(run, repeats: int = 3) -> float:
    """Best CPU seconds of `repeats` runs (one core)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def main() -> int:
    pages = [p.read_bytes() for p in sorted(HTML.rglob("*")) if p.suffix.lower() in (".html", ".htm")]
    if not pages:
        print(f"no pages under {HTML}: skipped")
        return 0

    def extract_all() -> None:
        for data in pages:
            try:
                extract(data, "https://example.test/page.html")
            except Rejected:
                pass

    def parse_all() -> None:
        parser = etree.HTMLParser()
        for data in pages:
            etree.fromstring(data, parser)

    parse_s = _cpu(parse_all)
    extract_s = _cpu(extract_all)
    n = len(pages)
    print(f"extraction on {n} real pages ({sum(map(len, pages)) / 1e6:.1f} MB):")
    print(f"  extract (decode+parse+boilerplate+DOM→nodes): {n / extract_s:8.1f} docs/core-s")
    print(f"  bare lxml parse of the same bytes:            {n / parse_s:8.1f} docs/core-s")
    print(f"  ratio extract/parse-only:                     {parse_s / extract_s:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
