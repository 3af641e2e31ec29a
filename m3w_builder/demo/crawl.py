"""The embedded sample crawl: a small, byte-reproducible WARC shaped like a real web crawl.

`write_sample_crawl(out_dir, seed)` writes `out_dir/sample-crawl.warc.gz` (one gzip member per
record, like Common Crawl): a warcinfo record, HTML pages on fictional `.test` hosts with real-web
boilerplate and charsets, the images and videos they reference (a few deliberately broken), a
revisit record and a duplicate page. Content pictures show a coloured shape and the paragraph right
after each one describes it, so the data carries a learnable image-text signal.

Determinism: all randomness comes from `random.Random` seeded by `seed` (and page URL); WARC-Date
and WARC-Record-ID (uuid5) are passed explicitly; warcio's gzip stream (zlib) has a zero mtime;
videos are muxed and encoded with `bitexact` flags.

CLI: `python -m m3w_builder.demo.crawl OUT_DIR [--seed N]` prints the written path.
"""

from __future__ import annotations

import io
import random
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from m3w_builder.demo import crawl_media as media
from m3w_builder.demo.crawl_pages import Blob, Page, PageSpec, build_page
from m3w_builder.options import ArgumentParser

FILENAME = "sample-crawl.warc.gz"


def _spec(site: str, path: str, *features: str) -> PageSpec:
    return PageSpec(site, path, frozenset(features))


PLAN: tuple[PageSpec, ...] = (
    _spec("garden", "/2024/04/raised-beds.html", "images=8", "srcset"),
    _spec("garden", "/2024/04/tomato-diary.html", "avatar"),
    _spec("garden", "/2024/03/seed-saving.html", "progressive"),
    _spec("garden", "/2024/03/sweet-peas.html", "images=1"),
    _spec("garden", "/2024/02/compost.html"),
    _spec("garden", "/2024/02/lavender.html", "srcset"),
    _spec("garden", "/2024/01/winter-jobs.html"),
    _spec("garden", "/about/our-plot.html"),
    _spec("garden", "/2023/12/garlic.html"),
    _spec("city", "/2024/05/tram-extension.html", "clip-1"),
    _spec("city", "/2024/05/footbridge.html", "base"),
    _spec("city", "/2024/05/night-market.html", "base", "images=5"),
    _spec("city", "/2024/04/library.html", "missing"),
    _spec("city", "/2024/04/cycle-lanes.html", "exif6"),
    _spec("city", "/2024/04/budget-vote.html"),
    _spec("city", "/2024/03/harbour-festival.html"),
    _spec("city", "/2024/03/old-cinema.html"),
    _spec("city", "/local/school-garden.html"),
    _spec("crafts", "/blogs/news/linen-thread.html", "picture"),
    _spec("crafts", "/blogs/news/beeswax.html", "svg"),
    _spec("crafts", "/blogs/news/dye-shed.html", "truncated"),
    _spec("crafts", "/blogs/news/buttons.html", "srcset"),
    _spec("crafts", "/blogs/news/spring-fair.html"),
    _spec("crafts", "/pages/about.html"),
    _spec("crafts", "/blogs/news/felt.html", "images=7"),
    _spec("travel", "/2024/05/coastal-path.html", "cp1252"),
    _spec("travel", "/2024/05/night-train.html", "clip-2"),
    _spec("travel", "/2024/04/hill-villages.html"),
    _spec("travel", "/2024/04/island-ferry.html", "images=6"),
    _spec("travel", "/2024/03/mountain-hut.html"),
    _spec("travel", "/2024/03/covered-market.html"),
    _spec("travel", "/2024/02/lighthouse.html"),
    _spec("kitchen", "/recipes/lentil-soup.html", "lying"),
    _spec("kitchen", "/recipes/apple-crumble.html", "forgery"),
    _spec("kitchen", "/recipes/flatbreads.html"),
    _spec("kitchen", "/recipes/lemon-cake.html"),
    _spec("kitchen", "/recipes/oat-biscuits.html"),
    _spec("nihon", "/blog/2024/haru.html", "sjis", "images=3"),
) + tuple(  # archive pages: more described pictures, so a model can learn from the sample
    _spec(site, f"/archive/{2020 + n % 4}/{n:02d}.html", f"images={4 + n % 5}")
    for site in ("garden", "city", "crafts", "travel", "kitchen")
    for n in range(16)
)
DUPLICATE_OF = "http://www.example-garden.test/2024/04/raised-beds.html"
DUPLICATE_URL = DUPLICATE_OF + "?utm_source=newsletter&utm_medium=email"
REVISITED = "https://news.example-city.test/2024/04/budget-vote.html"


def _clips(rng: random.Random) -> dict[str, tuple[media.ClipSpec, dict[str, bytes]]]:
    """Two clips: a ball moving right (WebM and MP4 sources) and one falling down (MP4 only)."""
    out = {}
    for name, direction, seconds, size, containers in (
        ("clip-1", "right", 4, (160, 120), ("webm", "mp4")),
        ("clip-2", "down", 3, (320, 240), ("mp4",)),
    ):
        colour = rng.choice(media.SHAPE_COLOURS)
        background = rng.choice([c for c in media.PALETTE if c not in (colour, "grey")])
        spec = media.ClipSpec(colour, background, direction, seconds, size)
        out[name] = (spec, {c: media.encode_clip(spec, c) for c in containers})
    return out


class _Crawl:
    """Writes records in crawl order with fixed dates and record ids."""

    def __init__(self, stream: io.BytesIO, seed: int):
        self.writer = WARCWriter(stream, gzip=True)
        self.seed = seed
        self.clock = datetime(2024, 5, 1, tzinfo=timezone.utc) + timedelta(hours=seed % 5000)
        self.written: dict[str, ArcWarcRecord] = {}
        self.info_id = self._id("warcinfo", FILENAME)

    def _id(self, kind: str, url: str) -> str:
        return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{self.seed}/{kind}/{url}')}>"

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=3)
        return self.clock

    @staticmethod
    def _iso(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def warcinfo(self) -> None:
        fields = (b"software: m3w-builder sample_crawl\r\nformat: WARC File Format 1.0\r\n"
                  b"description: synthetic sample crawl of fictional .test hosts\r\n"
                  b"isPartOf: m3w-sample-" + str(self.seed).encode() + b"\r\n")
        record = self.writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(fields), length=len(fields),
            warc_headers_dict={"WARC-Record-ID": self.info_id, "WARC-Date": self._iso(self._tick()),
                               "WARC-Filename": FILENAME})
        self.writer.write_record(record)

    def _http(self, blob: Blob, url: str, when: datetime) -> StatusAndHeaders:
        status = {200: "200 OK", 404: "404 Not Found"}[blob.status]
        server = "nginx/1.24.0" if url.startswith("https") else "Apache/2.4.58 (Debian)"
        headers = [("Date", format_datetime(when, usegmt=True)), ("Server", server),
                   ("Content-Type", blob.content_type), ("Content-Length", str(len(blob.body)))]
        if blob.status == 200:
            headers.append(("Last-Modified", format_datetime(when - timedelta(days=9), usegmt=True)))
            headers.append(("Cache-Control", "max-age=3600"))
        return StatusAndHeaders(status, headers, protocol="HTTP/1.1")

    def response(self, url: str, blob: Blob) -> None:
        """Write a response record for `url` unless one was already written."""
        if url in self.written:
            return
        when = self._tick()
        host = urlsplit(url).hostname or ""
        record = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(blob.body), length=len(blob.body),
            http_headers=self._http(blob, url, when),
            warc_headers_dict={"WARC-Record-ID": self._id("response", url), "WARC-Date": self._iso(when),
                               "WARC-IP-Address": f"192.0.2.{sum(host.encode()) % 250 + 1}",
                               "WARC-Warcinfo-ID": self.info_id})
        self.writer.write_record(record)
        self.written[url] = record

    def page(self, page: Page) -> None:
        self.response(page.url, Blob(200, page.content_type, page.body))
        for url, blob in page.media.items():
            self.response(url, blob)

    def revisit(self, url: str, blob: Blob) -> None:
        """A later fetch of `url` whose payload was identical (identical-payload-digest profile)."""
        original = self.written[url]
        when = self._tick() + timedelta(days=30)
        record = self.writer.create_revisit_record(
            url, original.rec_headers.get_header("WARC-Payload-Digest"),
            url, original.rec_headers.get_header("WARC-Date"),
            http_headers=self._http(blob, url, when),
            warc_headers_dict={"WARC-Record-ID": self._id("revisit", url), "WARC-Date": self._iso(when),
                               "WARC-Warcinfo-ID": self.info_id})
        self.writer.write_record(record)


def sample_crawl_bytes(seed: int = 0) -> bytes:
    """The gzipped WARC for `seed`, in memory."""
    rng = random.Random(seed)
    clips = _clips(rng)
    pages = [build_page(spec, seed, clips) for spec in PLAN]
    stream = io.BytesIO()
    crawl = _Crawl(stream, seed)
    crawl.warcinfo()
    for page in pages:
        crawl.page(page)
    by_url = {p.url: p for p in pages}
    dup = by_url[DUPLICATE_OF]
    crawl.response(DUPLICATE_URL, Blob(200, dup.content_type, dup.body))
    revisited = by_url[REVISITED]
    crawl.revisit(REVISITED, Blob(200, revisited.content_type, revisited.body))
    return stream.getvalue()


def write_sample_crawl(out_dir: str | Path, seed: int = 0) -> Path:
    """Write `out_dir/sample-crawl.warc.gz` for `seed` and return its path."""
    path = Path(out_dir) / FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(sample_crawl_bytes(seed))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description="Write the embedded sample WARC crawl.")
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(write_sample_crawl(args.out_dir, args.seed))


if __name__ == "__main__":
    main()
