"""Score an extractor against the dev ground truth in ../shared/data/html (bench-quality and its tests).

Text: 4-gram shingles, precision/recall/F1 per page, then averaged over pages (as the article-
extraction benchmarks score). Tokens are lower-cased `\\w+` words; scripts written without spaces
(Chinese, Japanese kana/kanji, Thai, Lao, Burmese, Khmer) contribute one token per character, so
their shingles are character 4-grams. Shingles are multisets, so repeated boilerplate counts.

Images: readability's `expected.html` keeps the article's content images. A kept image matches
an expected one when its URL equals any candidate URL of that `<img>` (src, srcset, lazy attributes,
all resolved against the page URL readability used); an `<img>` repeated with the same URLs on a
page is one image. Precision and recall are pooled over pages. Readability also keeps icons a
Flamingo dataset drops (one page repeats a 20 px check mark 184 times), so recall is reported twice:
over all expected images, and over those not declared smaller than `SMALL_SIDE` px.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from m3w_builder.extract.urls import parse_srcset, resolve

READABILITY_URL = "http://fakehost/test/page.html"
_NO_SPACE_SCRIPTS = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(f"[{_NO_SPACE_SCRIPTS}]|[^\\W{_NO_SPACE_SCRIPTS}]+")
SHINGLE = 4
SMALL_SIDE = 64
# newspaper4k page names → language (the rest are English).
_NEWSPAPER_LANGUAGES = {"arabic": "ar", "burmese": "my", "chinese": "zh", "japanese": "ja", "latvian": "lv",
                        "spanish": "es", "thai": "th", "yna_co_kr": "ko"}


def tokens(text: str) -> list[str]:
    """Word tokens, one per character in scripts without spaces (see the module docstring)."""
    return _TOKEN_RE.findall(text.lower())


def shingles(text: str, n: int = SHINGLE) -> Counter:
    """Multiset of n-token shingles (a text shorter than n tokens is one shingle)."""
    toks = tokens(text)
    if len(toks) < n:
        return Counter([tuple(toks)]) if toks else Counter()
    return Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of one page (or their means over pages)."""

    precision: float
    recall: float
    f1: float


def text_scores(predicted: str, expected: str) -> Scores:
    """Shingle precision/recall/F1 of an extracted text against the expected text."""
    got, want = shingles(predicted), shingles(expected)
    if not got or not want:
        return Scores(float(not got and not want), float(not want), float(not got and not want))
    common = sum((got & want).values())
    precision, recall = common / sum(got.values()), common / sum(want.values())
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return Scores(precision, recall, f1)


def mean_scores(scores: Iterable[Scores]) -> Scores:
    """Per-page scores averaged over pages."""
    items = list(scores)
    n = max(len(items), 1)
    return Scores(sum(s.precision for s in items) / n, sum(s.recall for s in items) / n,
                  sum(s.f1 for s in items) / n)


@dataclass(frozen=True)
class DevPage:
    """One page with ground truth: its bytes, the URL to extract it under, expected text/images."""

    name: str
    dataset: str  # readability | newspaper4k
    language: str
    html: bytes
    url: str
    expected_text: str
    expected_images: tuple[frozenset[str], ...] | None  # candidate URLs per expected <img>; None: unknown
    small_images: frozenset[int] = frozenset()  # indexes of expected images declared < SMALL_SIDE px


def _img_urls(img: etree._Element, base: str) -> frozenset[str]:
    urls = set()
    for key, value in img.items():
        if key == "srcset" or key.endswith("srcset"):
            urls.update(u for u, _ in parse_srcset(value))
        elif key == "src" or key.startswith("data-"):
            urls.add(value)
    return frozenset(u for u in (resolve(base, v) for v in urls) if u)


def _declared_small(img: etree._Element) -> bool:
    for key in ("width", "height"):
        match = re.match(r"\s*(\d+)", img.get(key) or "")
        if match and int(match.group(1)) < SMALL_SIDE:
            return True
    return False


def _readability_truth(path: Path) -> tuple[str, tuple[frozenset[str], ...], frozenset[int]]:
    root = etree.fromstring(path.read_bytes(), etree.HTMLParser(encoding="utf-8"))
    if root is None:
        return "", (), frozenset()
    for el in root.iter("br", "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre", "blockquote"):
        el.tail = "\n" + (el.tail or "")
    text = " ".join(etree.tostring(root, method="text", encoding="unicode").split())
    images: dict[frozenset[str], bool] = {}
    for img in root.iter("img"):
        urls = _img_urls(img, READABILITY_URL)
        if urls and urls not in images:
            images[urls] = _declared_small(img)
    small = frozenset(i for i, is_small in enumerate(images.values()) if is_small)
    return text, tuple(images), small


def dev_pages(html_root: Path) -> Iterator[DevPage]:
    """The dev pages that have ground truth, readability's first, in name order."""
    for expected in sorted((html_root / "mozilla-readability").glob("*.expected.html")):
        page = expected.with_name(expected.name.replace(".expected.html", ".html"))
        if page.exists():
            text, images, small = _readability_truth(expected)
            yield DevPage(page.stem, "readability", "", page.read_bytes(), READABILITY_URL, text, images, small)
    for expected in sorted((html_root / "newspaper4k").glob("*.expected.txt")):
        page = expected.with_name(expected.name.replace(".expected.txt", ".html"))
        if page.exists():
            language = next((lang for key, lang in _NEWSPAPER_LANGUAGES.items() if page.stem.startswith(key)), "en")
            yield DevPage(page.stem, "newspaper4k", language, page.read_bytes(),
                          f"https://example.test/{page.stem}.html",
                          expected.read_text(encoding="utf-8", errors="replace"), None)


@dataclass
class ImageTally:
    """Pooled content-image counts: kept, kept that match an expected image, expected, expected found."""

    kept: int = 0
    kept_matching: int = 0
    expected: int = 0
    expected_found: int = 0
    sized: int = 0        # expected images not declared small
    sized_found: int = 0
    pages_out_of_order: int = 0

    def add(self, kept_srcs: list[str], expected: tuple[frozenset[str], ...], small: frozenset[int] = frozenset()) \
            -> None:
        """Add one page: our kept image URLs against its expected images' candidate URLs."""
        wanted = set().union(*expected) if expected else set()
        self.kept += len(kept_srcs)
        self.kept_matching += sum(1 for s in kept_srcs if s in wanted)
        got = set(kept_srcs)
        self.expected += len(expected)
        self.expected_found += sum(1 for urls in expected if urls & got)
        self.sized += sum(1 for i in range(len(expected)) if i not in small)
        self.sized_found += sum(1 for i, urls in enumerate(expected) if i not in small and urls & got)
        firsts = list(dict.fromkeys(s for s in kept_srcs if s in wanted))  # a repeat is no order violation
        positions = [next(i for i, urls in enumerate(expected) if s in urls) for s in firsts]
        if any(b < a for a, b in zip(positions, positions[1:])):
            self.pages_out_of_order += 1

    @property
    def precision(self) -> float:
        return self.kept_matching / self.kept if self.kept else 1.0

    @property
    def recall(self) -> float:
        return self.expected_found / self.expected if self.expected else 1.0

    @property
    def recall_sized(self) -> float:
        return self.sized_found / self.sized if self.sized else 1.0
