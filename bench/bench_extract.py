"""Extraction throughput on the real pages of ../shared/data/html, against a bare lxml parse of the
same bytes measured in the same process (the machine is shared and noisy: read the ratio).

    python bench/bench_extract.py [--rounds 3] [--against REF]

`--against REF` (a git ref, e.g. `main`) also times that commit's extractor, imported beside this
one under another package name and interleaved with it page by page, so a speed change is read
as a ratio measured under the same load.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from m3w_builder.extract.dom import extract

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT.parent / "shared" / "data" / "html"
_AGAINST_PACKAGE = "m3w_against"


def _runner(extract_fn: Callable, rejected: type[Exception]) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        try:
            extract_fn(data, "https://example.test/page.html")
        except rejected:
            pass
    return run


def _import_ref(ref: str, into: Path) -> Callable[[bytes], None]:
    """The extractor of commit `ref`, its package copied under `into` and renamed (imports rewritten)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "m3w_builder"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    package = into / "m3w_builder"
    for path in package.rglob("*.py"):
        path.write_text(re.sub(r"\bm3w_builder\b", _AGAINST_PACKAGE, path.read_text()))
    package.rename(into / _AGAINST_PACKAGE)
    sys.path.insert(0, str(into))
    dom = importlib.import_module(f"{_AGAINST_PACKAGE}.extract.dom")
    drops = importlib.import_module(f"{_AGAINST_PACKAGE}.drops")
    return _runner(dom.extract, drops.Rejected)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", help="a git ref whose extractor is timed beside this one")
    args = parser.parse_args()
    pages = [p.read_bytes() for p in sorted(HTML.rglob("*")) if p.suffix.lower() in (".html", ".htm")
             and ".expected." not in p.name]
    if not pages:
        print(f"no pages under {HTML}: skipped")
        return 0
    from m3w_builder.drops import Rejected
    lxml_parser = etree.HTMLParser()
    runs = {"extract": _runner(extract, Rejected), "parse": lambda d: etree.fromstring(d, lxml_parser)}
    with tempfile.TemporaryDirectory() as tmp:
        if args.against:
            runs[args.against] = _import_ref(args.against, Path(tmp))
        # interleaved page by page, the least CPU time of `rounds` per page: load on a shared machine
        # slows all alike and mostly adds to some rounds, which the minimum drops; the order of the
        # runs turns with the page and the round, since the first run of a page pays its cold caches
        best = {name: [float("inf")] * len(pages) for name in runs}
        names = list(runs)
        for round_ in range(args.rounds):
            for i, data in enumerate(pages):
                turn = (i + round_) % len(names)
                for name in names[turn:] + names[:turn]:
                    run = runs[name]
                    start = time.process_time()
                    run(data)
                    best[name][i] = min(best[name][i], time.process_time() - start)
    seconds = {name: sum(times) for name, times in best.items()}
    n = len(pages)
    print(f"extraction on {n} real pages ({sum(map(len, pages)) / 1e6:.1f} MB):")
    print(f"  extract (decode+parse+boilerplate+DOM→nodes): {n / seconds['extract']:8.1f} docs/core-s")
    print(f"  bare lxml parse of the same bytes:            {n / seconds['parse']:8.1f} docs/core-s")
    print(f"  ratio extract/parse-only:                     {seconds['parse'] / seconds['extract']:8.2f}")
    if args.against:
        print(f"  extract at {args.against}: {n / seconds[args.against]:8.1f} docs/core-s; "
              f"this tree is {seconds[args.against] / seconds['extract']:.3f}x as fast")
    return 0


if __name__ == "__main__":
    sys.exit(main())
