"""CLI: `python -m m3w_builder.extract PAGE.html --url URL` prints what the extractor makes of one page:
the node list as JSON (each image with its `image_class`), one line per image with its class, and
the marker text."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from m3w_builder.drops import Rejected
from m3w_builder.extract.dom import ExtractOptions, extract
from m3w_builder.options import ArgumentParser
from m3w_builder.samples.markers import render_text


def main(argv: list[str] | None = None) -> int:
    """CLI: print what the extractor makes of one page (node list as JSON, then the marker text)."""
    parser = ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("page", type=Path, help="an HTML file")
    parser.add_argument("--url", default="http://example.com/", help="the page's URL (resolves relative links)")
    parser.add_argument("--content-type", default=None, help="HTTP Content-Type header, if known")
    parser.add_argument("--keep-boilerplate", action="store_true", help="keep the whole page, not only its main content")
    parser.add_argument("--keep-all-images", action="store_true",
                        help="list every image with its class (content, teaser, logo, ad, outside), not only content")
    args = parser.parse_args(argv)
    options = ExtractOptions(drop_boilerplate=not args.keep_boilerplate, keep_all_images=args.keep_all_images)
    try:
        page = args.page.read_bytes()
    except OSError as error:
        parser.error(f"{args.page}: {error.strerror or error}")
    try:
        result = extract(page, args.url, content_type=args.content_type, options=options)
    except Rejected as rejected:
        print(json.dumps({"rejected": rejected.reason, "detail": rejected.detail}))
        print(f"{args.page}: rejected: {rejected.reason}: {rejected.detail}", file=sys.stderr)
        return 1
    out = result.document.to_dict()
    out["encoding"] = result.encoding
    out["media_drops"] = dict(result.media_drops)
    out["dropped_media"] = [drop._asdict() for drop in result.dropped_media]
    print(json.dumps(out, ensure_ascii=False, indent=1))
    print("\n--- images ---")
    for node in result.document.media:
        print(f"{getattr(node, 'image_class', '') or node.type:<8} {node.src}")
    print("\n--- marker text ---")
    print(render_text(result.document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
