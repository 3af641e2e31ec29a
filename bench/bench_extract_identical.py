"""Invariant for speed work on the extractor: its output on every real page is byte-identical.

    python bench/bench_extract_identical.py --write /tmp/extract-before.jsonl   # on the old code
    python bench/bench_extract_identical.py --check /tmp/extract-before.jsonl   # on the new code

Every page under ../shared/data/html (dev, silver and warc-extracted sets; the `*.expected.*`
ground truth skipped) is extracted with the default options, with `keep_all_images` (every
image with its class) and with `drop_boilerplate` off; each result (the document's JSON with
its media drops and encoding, or the reject reason) is one line. `--check` names every page and
option set whose line differs and exits 1 if any does. Not a timed test: a check to run by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from m3w_builder.drops import Rejected
from m3w_builder.extract import ExtractOptions, extract
from m3w_builder.extract.evaluate import READABILITY_URL

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "html"
OPTION_SETS = {"default": ExtractOptions(), "keep_all_images": ExtractOptions(keep_all_images=True),
               "keep_boilerplate": ExtractOptions(drop_boilerplate=False)}


def all_pages(root: Path) -> Iterator[tuple[str, bytes, str, str | None]]:
    """(name, bytes, URL, HTTP Content-Type) of every page under `root`, with the URL each bench uses."""
    index = {}
    if (root / "warc-extracted" / "index.jsonl").exists():
        for line in (root / "warc-extracted" / "index.jsonl").read_text().splitlines():
            row = json.loads(line)
            index[row["file"]] = (row["url"], row.get("http_content_type"))
    for path in sorted(root.rglob("*")):
        if not path.is_file() or ".expected." in path.name or path.suffix in (".json", ".jsonl", ".txt", ".md"):
            continue
        folder = path.parent.name
        url, content_type = index.get(path.name, (f"https://example.test/{folder}/{path.name}", None))
        if folder == "mozilla-readability":
            url = READABILITY_URL
        yield f"{folder}/{path.name}", path.read_bytes(), url, content_type


def result_line(data: bytes, url: str, content_type: str | None, options: ExtractOptions) -> str:
    """One extraction as a JSON line (sorted keys: comparable byte for byte)."""
    try:
        result = extract(data, url, content_type=content_type, options=options)
    except Rejected as rejected:
        return json.dumps({"rejected": rejected.reason}, sort_keys=True)
    out = {"document": result.document.to_dict(), "media_drops": dict(sorted(result.media_drops.items())),
           "encoding": result.encoding}
    return json.dumps(out, sort_keys=True, ensure_ascii=False)


def lines(root: Path) -> dict[str, str]:
    return {f"{name} {label}": result_line(data, url, content_type, options)
            for name, data, url, content_type in all_pages(root) for label, options in OPTION_SETS.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, help="write every page's result here")
    action.add_argument("--check", type=Path, help="compare every page's result with this file")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no pages under {args.data}: nothing to check")
        return 0
    now = lines(args.data)
    if args.write:
        args.write.write_text("".join(f"{key}\t{line}\n" for key, line in now.items()))
        print(f"wrote {len(now)} results to {args.write}")
        return 0
    before = dict(row.split("\t", 1) for row in args.check.read_text().splitlines())
    differ = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    for key in differ:
        print(f"differs: {key}")
    print(f"{len(now)} results, {len(differ)} differ from {args.check}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
