"""Images of a page: their source URL (lazy attributes, `srcset`, `<picture>`) and their class.

Classes: `content` (in the article, the default kept set), `teaser` (a thumbnail linking to another
page: related/recommended article cards), `logo` (logos, icons, avatars, emoji, spacers: small
declared size or named so), `ad` (ad and tracker hosts and slots), `outside` (elsewhere on the page
than the main content). The class is decided from the DOM alone, before any download.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from lxml import etree

from m3w_builder.extract.urls import best_srcset, resolve

CONTENT, TEASER, LOGO, AD, OUTSIDE = "content", "teaser", "logo", "ad", "outside"
IMAGE_CLASSES = (CONTENT, TEASER, LOGO, AD, OUTSIDE)

LAZY_SRC_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-hi-res-src",
                  "data-normal", "data-full-src", "data-orig-src", "data-original-src", "data-actualsrc",
                  "data-echo", "data-img-src", "data-image", "data-srcset-fallback")
LAZY_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "data-original-set")
_LOGO_RE = re.compile(r"logo|icon|avatar|sprite|emoji|emoticon|smiley|badge|favicon|gravatar|spinner|"
                      r"loader|loading|placeholder|spacer|blank\.|pixel|button|rating|star-|flag-|"
                      r"author-?(?:photo|image|pic)|profile-?(?:photo|image|pic)|headshot", re.IGNORECASE)
_AD_RE = re.compile(r"doubleclick|googlesyndication|googleadservices|adservice|adnxs|amazon-adsystem|"
                    r"taboola|outbrain|criteo|scorecardresearch|quantserve|/ads?/|/adserver|/banners?/|"
                    r"[/._-]ad[sx]?[/._-]|advert|sponsor|tracking|beacon|analytics|facebook\.com/tr",
                    re.IGNORECASE)
_IMAGE_FILE_RE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|bmp|svg|tiff?)(?:$|[?#])", re.IGNORECASE)
_MIN_CONTENT_SIDE = 64


def candidate_sources(el: etree._Element) -> Iterator[str | None]:
    """Candidate sources in preference order, computed lazily (most images stop at the first)."""
    get = el.get
    for attr in LAZY_SRC_ATTRS:
        yield get(attr)
    for attr in LAZY_SRCSET_ATTRS:
        yield best_srcset(get(attr))
    yield best_srcset(get("srcset"))
    yield get("src")
    picture = next(el.iterancestors("picture"), None)  # libxml2 may nest <img> inside <source>
    if picture is not None:
        for source in picture.iter("source"):
            yield best_srcset(source.get("srcset")) or source.get("src")


def image_source(el: etree._Element, base_url: str, page_url: str) -> str | None:
    """The best absolute http(s) source of an `<img>`; the page itself or a bare host is no image."""
    for candidate in candidate_sources(el):
        if candidate:
            url = resolve(base_url, candidate)
            if url and url != page_url and urlsplit(url).path not in ("", "/"):
                return url
    return None


def _named(el: etree._Element, pattern: re.Pattern) -> bool:
    return any(value and pattern.search(value) for value in (el.get("class"), el.get("id")))


_LINKED = "linked"  # provisional: a bare image linking to another page


def dom_class(el: etree._Element, src: str, width: int | None, height: int | None, base_url: str,
              page_url: str) -> str | None:
    """The class an image's own markup decides (ad, logo, teaser, `_LINKED`), or None when it
    depends on where the main content is. Runs before sentinels are written into the tree."""
    if _AD_RE.search(src) or _named(el, _AD_RE):
        return AD
    sides = [s for s in (width, height) if s]
    if (sides and min(sides) < _MIN_CONTENT_SIDE) or _named(el, _LOGO_RE) \
            or _LOGO_RE.search(urlsplit(src).path.rsplit("/", 1)[-1]) or _LOGO_RE.search(el.get("alt") or ""):
        return LOGO
    for ancestor in el.iterancestors("a", "nav"):
        if ancestor.tag == "nav":
            return OUTSIDE
        href = resolve(base_url, ancestor.get("href"))
        if href and href != page_url and href != src and not _IMAGE_FILE_RE.search(href):
            return TEASER if "".join(ancestor.itertext()).strip() else _LINKED
        return None
    return None


def final_class(provisional: str | None, in_content: bool) -> str:
    """The class once the main content is known: a bare linked image in the article is content."""
    if provisional == _LINKED:
        return CONTENT if in_content else TEASER
    if provisional is None:
        return CONTENT if in_content else OUTSIDE
    return provisional
