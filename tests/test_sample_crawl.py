"""The embedded sample crawl: reproducible bytes, real-web shape, and a checkable image-text signal."""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import av
import lxml.html
import numpy as np
import pytest
from PIL import Image, ImageOps
from warcio.archiveiterator import ArchiveIterator

from m3w_builder.demo.crawl import DUPLICATE_OF, DUPLICATE_URL, REVISITED, main, write_sample_crawl
from m3w_builder.demo.crawl_media import PALETTE

COLOURS = "|".join(PALETTE)
DESCRIPTION = re.compile(
    rf"^[^.]*?\b({COLOURS}) (circle|square|triangle|star|stripes)\b[^.]*?\b({COLOURS}) background\.")
CLIP_DESCRIPTION = re.compile(rf"\b({COLOURS}) ball moving[^.]*?\b({COLOURS}) background|"
                              rf"\b({COLOURS}) ball falling[^.]*?\b({COLOURS}) background")


@dataclass
class Record:
    rec_type: str
    url: str
    status: int
    content_type: str
    body: bytes


@dataclass
class Crawl:
    path: Path
    records: list[Record]

    def response(self, url: str) -> Record:
        return next(r for r in self.records if r.rec_type == "response" and r.url == url)

    @property
    def pages(self) -> list[Record]:
        return [r for r in self.records if r.rec_type == "response" and r.status == 200
                and r.content_type.startswith("text/html")]


def read_crawl(path: Path) -> Crawl:
    records = []
    with path.open("rb") as f:
        for rec in ArchiveIterator(f):
            http = rec.http_headers
            body = rec.content_stream().read() if rec.rec_type == "response" else b""
            records.append(Record(rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI") or "",
                                  int(http.get_statuscode()) if http else 0,
                                  (http.get_header("Content-Type") or "") if http else "", body))
    return Crawl(path, records)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    return read_crawl(write_sample_crawl(tmp_path_factory.mktemp("crawl")))


def page_tree(page: Record) -> tuple[lxml.html.HtmlElement, str]:
    """Parsed page (decoded per its real charset) and the base URL its references resolve against."""
    head = page.body[:200]
    charset = "shift_jis" if b"Shift_JIS" in head else "cp1252" if b"windows-1252" in head else "utf-8"
    tree = lxml.html.fromstring(page.body.decode(charset))
    base = tree.xpath("//base/@href")
    return tree, urljoin(page.url, base[0]) if base else page.url


def image_ref(img: lxml.html.HtmlElement) -> str:
    for attr in ("data-src", "data-lazy-src", "src"):
        value = img.get(attr)
        if value and not value.startswith("data:"):
            return value
    raise AssertionError(f"image without a real source: {lxml.html.tostring(img)!r}")


def colour_shares(img: Image.Image) -> Counter[str]:
    """Fraction of pixels nearest to each palette colour."""
    names = list(PALETTE)
    pixels = np.asarray(img.convert("RGB"), dtype=np.int32).reshape(-1, 1, 3)
    palette = np.array([PALETTE[n] for n in names], dtype=np.int32).reshape(1, -1, 3)
    nearest = ((pixels - palette) ** 2).sum(axis=2).argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(names)) / len(nearest)
    return Counter(dict(zip(names, counts.tolist())))


def test_bytes_are_reproducible(tmp_path: Path, crawl: Crawl, capsys: pytest.CaptureFixture[str]) -> None:
    again = write_sample_crawl(tmp_path / "again")
    assert hashlib.sha256(again.read_bytes()).hexdigest() == hashlib.sha256(crawl.path.read_bytes()).hexdigest()
    data = crawl.path.read_bytes()
    assert data[:4] == b"\x1f\x8b\x08\x00" and data[4:8] == b"\0\0\0\0"  # gzip member with zero mtime
    main([str(tmp_path / "seed1"), "--seed", "1"])
    printed = Path(capsys.readouterr().out.strip())
    assert printed == tmp_path / "seed1" / "sample-crawl.warc.gz"
    assert printed.read_bytes() != data


def test_crawl_shape(crawl: Crawl) -> None:
    assert crawl.path.stat().st_size < 6_000_000  # small enough to build in seconds
    assert crawl.records[0].rec_type == "warcinfo"
    assert len(crawl.pages) >= 36
    assert all(p.status for p in crawl.records if p.rec_type == "response")
    revisits = [r for r in crawl.records if r.rec_type == "revisit"]
    assert [r.url for r in revisits] == [REVISITED]
    assert crawl.response(DUPLICATE_URL).body == crawl.response(DUPLICATE_OF).body
    for page in crawl.pages:
        html = page.body
        for marker in (b'id="cookie-banner"', b"<nav", b"<header", b"<footer", b"<aside", b'class="ad', b"<iframe"):
            assert marker in html, (page.url, marker)
    bodies = b"".join(p.body for p in crawl.pages)
    for feature in (b"<base href=", b"data-src=", b"data-lazy-src=", b"<picture>", b"<figcaption>",
                    b"&lt;image&gt;", b"&lt;EOC&gt;", b"<video"):
        assert feature in bodies, feature
    assert re.search(rb'srcset="[^"]+ \d+w, [^"]+ \d+w"', bodies)
    assert bodies.count(b"<video") >= 2


def test_charsets(crawl: Crawl) -> None:
    by_charset = {p.content_type.split("charset=")[-1]: p for p in crawl.pages if "charset=" in p.content_type}
    cp1252 = by_charset["windows-1252"].body
    assert "\u201c" in cp1252.decode("cp1252") and "é" in cp1252.decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        cp1252.decode("utf-8")
    sjis = by_charset["Shift_JIS"].body
    assert "庭" in sjis.decode("shift_jis")
    with pytest.raises(UnicodeDecodeError):
        sjis.decode("utf-8")
    liar = next(p for p in crawl.pages if b"charset=iso-8859-1" in p.body)
    assert "charset" not in liar.content_type
    assert "crème fraîche" in liar.body.decode("utf-8")


def test_every_media_reference_resolves(crawl: Crawl) -> None:
    refs: set[str] = set()
    for page in crawl.pages:
        tree, base = page_tree(page)
        refs.update(urljoin(base, image_ref(img)) for img in tree.iter("img"))
        for srcset in tree.xpath("//img/@srcset | //source/@srcset"):
            refs.update(urljoin(base, c.split()[0]) for c in srcset.split(","))
        refs.update(urljoin(base, v) for v in tree.xpath("//video/@poster | //video//source/@src"))
    statuses = {url: crawl.response(url).status for url in refs}
    assert sorted(statuses.values()).count(404) == 1
    assert all(s in (200, 404) for s in statuses.values())


def test_deliberately_odd_media(crawl: Crawl) -> None:
    images = [r for r in crawl.records if r.rec_type == "response" and r.content_type.startswith("image/")]
    sizes: Counter[tuple[int, int]] = Counter()
    broken = 0
    for rec in images:
        if rec.content_type == "image/svg+xml":
            assert rec.body.lstrip().startswith(b"<?xml")
            continue
        img = Image.open(io.BytesIO(rec.body))
        try:
            img.load()
        except OSError:
            broken += 1
            continue
        sizes[img.size] += 1
        if img.getexif().get(0x0112) == 6:
            assert ImageOps.exif_transpose(img).size == img.size[::-1]
            sizes["exif6"] += 1  # type: ignore[index]
        if img.info.get("progressive"):
            sizes["progressive"] += 1  # type: ignore[index]
    assert broken == 1
    assert sizes[(1, 1)] == 1 and sizes[(40, 40)] == 1
    assert sizes["exif6"] == 1 and sizes["progressive"] == 1  # type: ignore[index]
    assert sum(1 for r in images if r.content_type == "image/webp") == 1
    assert sum(1 for r in images if r.content_type == "image/svg+xml") == 1
    logo_uses = sum(p.body.count(b'src="/static/logo.png"') for p in crawl.pages)
    assert logo_uses >= 30


def test_text_and_picture_counts(crawl: Crawl) -> None:
    for page in crawl.pages:
        tree, _ = page_tree(page)
        article = tree.xpath("//article")[0]
        if b'lang="ja"' not in page.body:
            assert 150 <= len(article.text_content().split()) <= 900, page.url
            assert 1 <= len(described_images(article)) <= 8, page.url


def described_images(article: lxml.html.HtmlElement) -> list[tuple[lxml.html.HtmlElement, re.Match[str]]]:
    """(img, description match) for each description paragraph that directly follows an image."""
    pairs, last_img = [], None
    for el in article.iter("img", "p"):
        if el.tag == "img":
            last_img = el
            continue
        match = DESCRIPTION.match(el.text_content())
        if match and last_img is not None:
            pairs.append((last_img, match))
        last_img = None
    return pairs


def test_pictures_match_the_text_after_them(crawl: Crawl) -> None:
    checked = 0
    for page in crawl.pages:
        tree, base = page_tree(page)
        for img, match in described_images(tree.xpath("//article")[0]):
            rec = crawl.response(urljoin(base, image_ref(img)))
            if rec.status != 200:
                continue
            picture = Image.open(io.BytesIO(rec.body))
            try:
                picture.load()
            except OSError:  # the deliberately truncated JPEG
                continue
            shares = colour_shares(picture)
            colour, _, background = match.groups()
            assert {colour, background} == {c for c, _ in shares.most_common(2)}, (rec.url, match.group(0), shares)
            assert shares[colour] > 0.04 and shares[background] > 0.3, (rec.url, shares)
            checked += 1
    assert checked >= 80


def test_videos_decode_and_match_their_text(crawl: Crawl) -> None:
    videos = [r for r in crawl.records if r.rec_type == "response" and r.content_type.startswith("video/")]
    assert len(videos) >= 2
    described = {}
    for page in crawl.pages:
        tree, base = page_tree(page)
        for video in tree.iter("video"):
            match = CLIP_DESCRIPTION.search(video.xpath("following::p[1]")[0].text_content())
            assert match, page.url
            colour, background = [g for g in match.groups() if g]
            for src in video.xpath(".//source/@src"):  # lxml nests unclosed <source> tags
                described[urljoin(base, src)] = (colour, background)
    assert {v.url for v in videos} == set(described)
    for rec in videos:
        with av.open(io.BytesIO(rec.body)) as container:
            frames = [f.to_image() for f in container.decode(video=0)]
        assert len(frames) >= 25, rec.url
        colour, background = described[rec.url]
        shares = colour_shares(frames[len(frames) // 2])
        assert shares.most_common(1)[0][0] == background and shares[colour] > 0.04, (rec.url, shares)
