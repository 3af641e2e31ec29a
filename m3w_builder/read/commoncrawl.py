"""Pick WARC files of a Common Crawl crawl: the first N lines of its `warc.paths.gz`, as URLs.

    python -m m3w_builder.read.commoncrawl CC-MAIN-2024-10 --files 2 [--base s3://commoncrawl/]

prints one WARC URL per line (what `make build-m3w CC_CRAWL=... CC_FILES=N` passes to the job).
The listing is always fetched over https (it is public); the WARCs are named under `--base`:
`https://data.commoncrawl.org/` (anonymous, the default) or `s3://commoncrawl/` (AWS credentials).
"""

from __future__ import annotations

import gzip
import re
import sys
import zlib

from m3w_builder.options import ArgumentParser
from m3w_builder.read.remote import RemoteError, RemoteOptions, open_remote

HTTPS_BASE = "https://data.commoncrawl.org/"
CRAWL_NAME = re.compile(r"CC-MAIN-\d{4}-\d{2}")


def listing_url(crawl: str, listing_base: str = HTTPS_BASE) -> str:
    if not CRAWL_NAME.fullmatch(crawl):
        raise ValueError(f"not a crawl name: {crawl!r} (expected CC-MAIN-YYYY-WW, e.g. CC-MAIN-2024-10)")
    return f"{listing_base.rstrip('/')}/crawl-data/{crawl}/warc.paths.gz"


def warc_urls(crawl: str, files: int, base: str = HTTPS_BASE, listing_base: str = HTTPS_BASE,
              options: RemoteOptions | None = None) -> list[str]:
    """The first `files` WARCs of `crawl`'s listing, joined to `base`."""
    if files < 1:
        raise ValueError(f"--files must be at least 1, not {files}")
    with open_remote(listing_url(crawl, listing_base), options) as raw:
        lines = gzip.decompress(raw.read()).decode("utf-8").split()
    if len(lines) < files:
        raise ValueError(f"{crawl} lists {len(lines)} WARC files, fewer than the {files} asked for")
    return [f"{base.rstrip('/')}/{line.lstrip('/')}" for line in lines[:files]]


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("crawl", help="crawl name, e.g. CC-MAIN-2024-10")
    parser.add_argument("--files", type=int, default=1, help="how many WARCs (the first N of the listing)")
    parser.add_argument("--base", default=HTTPS_BASE, help="where the WARCs are read from (https:// or s3://)")
    parser.add_argument("--listing_base", default=HTTPS_BASE, help="where warc.paths.gz is fetched from")
    args = parser.parse_args(argv)
    try:
        urls = warc_urls(args.crawl, args.files, args.base, args.listing_base)
    except (ValueError, RemoteError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print("\n".join(urls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
