"""Silver comparison on real pages without ground truth: our text against Trafilatura's, page by page.

    python bench/bench_extract_silver.py [--data DIR] [--worst 25] [--no-comments] [--extra 30] [--json OUT.jsonl]

The dev ground truth (bench_extract_quality.py) can be over-fitted; these pages are not scored
anywhere else: recipe-scrapers, warc-extracted (URL and charset from its index.jsonl), wpull-samples
and the newspaper4k pages without `expected.txt`. Trafilatura (default settings) is the silver
reference: where the two disagree, one of them is wrong, and looking at those pages by eye finds
classes of error. Pages where Trafilatura returns one identical text for `SAME_SILVER` or more pages
(a site's chrome: clueweb product pages) have no silver text and are left out, with their count.
Prints the mean shingle P/R/F1 of ours against Trafilatura's text, the count of
pages where they disagree (precision or recall under `DISAGREE`, each way), the worst pages each
way, and the classes of the images we keep; `--extra N` prints, for the N pages of lowest precision,
the lines we keep that Trafilatura lacks (most of their shingles absent from its text): the text to
classify by eye (boilerplate or content Trafilatura drops, such as recipe ingredients).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from m3w_builder.drops import Rejected
from m3w_builder.extract import ExtractOptions, extract
from m3w_builder.extract.charset import to_utf8
from m3w_builder.extract.evaluate import Scores, mean_scores, shingles, text_scores

try:
    import trafilatura
except ImportError:  # bench-only dependency
    trafilatura = None

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "html"
DISAGREE = 0.5  # shingle precision (we keep more) or recall (we keep less) under this
EXTRA_LINE = 0.5  # a line of ours with less than this share of its shingles in Trafilatura's text is extra
SAME_SILVER = 3  # Trafilatura's text for this many pages or more is identical: it is their chrome, no silver


def silver_pages(root: Path) -> list[tuple[str, bytes, str, str | None]]:
    """(name, bytes, URL, HTTP Content-Type) of every page without ground truth."""
    pages = []
    for path in sorted((root / "recipe-scrapers").glob("*.htm*")):
        pages.append((f"recipe/{path.stem}", path.read_bytes(), f"https://{path.stem.split('__')[0]}/recipe", None))
    index = root / "warc-extracted" / "index.jsonl"
    if index.exists():
        for line in index.read_text().splitlines():
            row = json.loads(line)
            path = root / "warc-extracted" / row["file"]
            if path.exists() and str(row.get("http_status", "200")).startswith("2"):
                pages.append((f"warc/{path.stem}", path.read_bytes(), row["url"], row.get("http_content_type")))
    for path in sorted((root / "wpull-samples").glob("*.htm*")):
        pages.append((f"wpull/{path.stem}", path.read_bytes(), f"http://example.test/{path.name}", None))
    for path in sorted((root / "newspaper4k").glob("*.html")):
        if not path.with_name(path.stem + ".expected.txt").exists():
            pages.append((f"news/{path.stem}", path.read_bytes(), f"https://example.test/{path.name}", None))
    return pages


def extra_lines(ours: str, theirs: str) -> list[str]:
    """Our lines whose shingles are mostly absent from `theirs`."""
    reference = shingles(theirs)
    extra = []
    for line in ours.split("\n"):
        own = shingles(line)
        if own and sum(1 for s in own if s in reference) < EXTRA_LINE * len(own):
            extra.append(line)
    return extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--worst", type=int, default=25, help="pages listed each way")
    parser.add_argument("--json", type=Path, help="write each page's texts, scores and images here")
    parser.add_argument("--extra", type=int, default=0, help="print our extra lines on this many worst pages")
    parser.add_argument("--no-comments", action="store_true",
                        help="Trafilatura without comments (its default keeps them; we never do)")
    args = parser.parse_args()
    if trafilatura is None or not args.data.is_dir():
        print("needs trafilatura (make bench-quality installs it) and the pages under --data: nothing to compare")
        return 0
    pages = silver_pages(args.data)
    rows = []
    classes: Counter = Counter()
    for name, data, url, content_type in pages:
        try:
            doc = extract(data, url, content_type=content_type, options=ExtractOptions(keep_all_images=True)).document
            ours, media = doc.text, [(n.image_class, n.src) for n in doc.media if hasattr(n, "image_class")]
        except Rejected as rejected:
            ours, media = "", [("rejected", rejected.reason)]
        text, _ = to_utf8(data, content_type)
        theirs = trafilatura.extract(text.decode("utf-8", "replace"), url=url,
                                     include_comments=not args.no_comments) or ""
        if not theirs.strip():
            continue  # no silver text: nothing to compare
        classes.update(c for c, _ in media)
        rows.append({"name": name, "url": url, "scores": text_scores(ours, theirs), "ours": ours,
                     "theirs": theirs, "media": media})
    repeated = Counter(" ".join(r["theirs"].split()) for r in rows)
    unscored = [r for r in rows if repeated[" ".join(r["theirs"].split())] >= SAME_SILVER]
    rows = [r for r in rows if repeated[" ".join(r["theirs"].split())] < SAME_SILVER]
    print(f"left out: {len(unscored)} pages whose Trafilatura text is the same on {SAME_SILVER}+ pages "
          f"(one site's chrome, not a silver article)")
    mean: Scores = mean_scores(r["scores"] for r in rows)
    more = [r for r in rows if r["scores"].precision < DISAGREE]
    less = [r for r in rows if r["scores"].recall < DISAGREE]
    print(f"silver: {len(rows)} pages with Trafilatura text; ours vs theirs P {mean.precision:.3f} "
          f"R {mean.recall:.3f} F1 {mean.f1:.3f}")
    print(f"disagreements (P or R < {DISAGREE}): {len({r['name'] for r in more + less})} "
          f"(we keep more: {len(more)}, we keep less: {len(less)})")
    by_group: dict[str, list[Scores]] = {}
    for r in rows:
        by_group.setdefault(r["name"].split("/")[0], []).append(r["scores"])
    for group, scores in sorted(by_group.items()):
        m = mean_scores(scores)
        print(f"  {group:<8}{len(scores):>5}  P {m.precision:.3f} R {m.recall:.3f} F1 {m.f1:.3f}")
    print("kept images by class (keep_all_images): " + ", ".join(f"{c} {n}" for c, n in classes.most_common()))
    for title, key in (("we keep more (lowest precision)", "precision"), ("we keep less (lowest recall)", "recall")):
        print(f"\n{title}:")
        for r in sorted(rows, key=lambda r: getattr(r["scores"], key))[:args.worst]:
            s = r["scores"]
            print(f"  {s.precision:.2f} {s.recall:.2f} {len(r['ours']):>7} {len(r['theirs']):>7}  {r['name']}")
    for r in sorted(rows, key=lambda r: r["scores"].precision)[:args.extra]:
        print(f"\n{r['name']} ({r['url']}): P {r['scores'].precision:.2f}, lines Trafilatura lacks:")
        for line in extra_lines(r["ours"], r["theirs"]):
            print(f"  + {line[:150]}")
    if args.json:
        with args.json.open("w") as out:
            for r in rows:
                s = r["scores"]
                out.write(json.dumps({**r, "scores": [s.precision, s.recall, s.f1]}, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
