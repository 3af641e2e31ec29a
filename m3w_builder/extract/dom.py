"""DOM → Document: text/image/video nodes in DOM order from an lxml tree.

lxml (libxml2) parses real-web tag soup fast, and every bulk step (stripping skipped tags, finding
boilerplate candidates, serialising text) runs in C; bs4's Python tree would be ~10x slower.

CLI: `python -m m3w_builder.extract PAGE.html --url URL` (`__main__.py`).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from m3w_builder.document import Document, ImageNode, Node, TextNode, VideoNode, make_doc_id
from m3w_builder.drops import Rejected
from m3w_builder.extract.charset import decode_html
from m3w_builder.extract.urls import best_srcset, resolve
from m3w_builder.options import option

BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption center dd details dialog div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main nav ol p "
    "pre section summary table tbody td tfoot th thead tr ul".split()
)
SKIP_TAGS = frozenset(
    "script style noscript template svg math canvas iframe frame frameset object embed applet form "
    "button select input textarea option nav aside footer head map dialog audio track".split()
)
_BOILERPLATE_ROLES = frozenset(
    "navigation banner contentinfo complementary dialog alertdialog alert search menu menubar".split()
)
_BOILERPLATE_RE = re.compile(
    r"(?:^|[\s_-])(?:cookies?|consent|gdpr|advert\w*|ads?|adslot|adsbygoogle|sponsor(?:ed)?|promo|"
    r"newsletter|subscribe|share|sharing|social|sidebar|related|recommended|popup|modal|"
    r"breadcrumbs?|menu|navbar|nav|footer|masthead|comments?|signup|paywall|banner)(?:$|[\s_-])",
    re.IGNORECASE,
)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_LAZY_SRC_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-hi-res-src")
_LAZY_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset")
_PROTECTED_TAGS = frozenset(("html", "body", "main", "article"))
_MAX_BOILERPLATE_SHARE = 0.3


@dataclass
class ExtractOptions:
    """Per-page limits and switches of the extractor."""

    max_page_bytes: int = option(5_000_000, "pages larger than this are dropped (page_too_large)")
    time_limit_s: float = option(10.0, "seconds per page", flag="page_time_limit")
    drop_boilerplate: bool = option(True, "keep navigation, ads, cookie banners and hidden elements",
                                    flag="keep_boilerplate")
    max_tracking_pixel_side: int = 2


@dataclass
class ExtractResult:
    """The document plus counts of media nodes dropped during extraction, by reason."""

    document: Document
    media_drops: Counter = field(default_factory=Counter)
    encoding: str = ""


def _int_attr(value: str | None) -> int | None:
    if not value:
        return None
    match = re.match(r"\s*(\d+)", value)
    return int(match.group(1)) if match else None


def _clean(text: str) -> str:
    return " ".join(text.split())


def _flag_kind(key: str, value: str) -> str | None:
    """Boilerplate signalled by one attribute: `hidden` (hidden/aria-hidden/display:none) or `role`."""
    if key == "hidden" or (key == "aria-hidden" and value == "true"):
        return "hidden"
    if key == "style":
        return "hidden" if _HIDDEN_STYLE_RE.search(value) else None
    if key == "role":
        return "role" if value.lower() in _BOILERPLATE_ROLES else None
    return None


# Boilerplate is marked on containers; links, inline formatting and media are not looked at
# (about half of a page's elements), which keeps this per-element Python loop short.
_CONTAINER_TAGS = tuple(sorted(
    (BLOCK_TAGS | frozenset("span iframe form figure".split())) - frozenset("br hr html body".split())
))


def _candidates(body: etree._Element) -> list[tuple[etree._Element, str]]:
    """Boilerplate-looking elements with why: `hidden`, `role` (ARIA) or `name` (class/id naming
    ads, menus, cookie banners...). Decisions are cached per distinct attribute value of the page.

    A `name` match is only a candidate: the caller keeps it when it holds most of the page's text,
    since real pages wrap content in `has-sidebar`-like containers. One pass over `items()` is the
    cheapest way found to see every element's attributes (XPath predicates cost more)."""
    out = []
    decided: dict[tuple[str, str], str | None] = {}
    for el in body.iter(*_CONTAINER_TAGS):
        for item in el.items():
            kind = decided.get(item, "")
            if kind == "":
                key, value = item
                if key == "class" or key == "id":
                    kind = "name" if _BOILERPLATE_RE.search(value) else None
                else:
                    kind = _flag_kind(key, value)
                decided[item] = kind
            if kind is not None and not (kind == "name" and el.tag in _PROTECTED_TAGS):
                out.append((el, kind))
                break
    return out


_STRIP_TAGS = tuple(SKIP_TAGS - BLOCK_TAGS)  # inline: removed, their tail joins the text around
_EMPTY_TAGS = tuple(SKIP_TAGS & BLOCK_TAGS)  # block: emptied, still a paragraph break
# Private-use code points mark paragraph breaks and media positions in the serialised text.
_BREAK = "\ue000"
_MEDIA = "\ue001"
# Removed before parsing: our sentinels, and control characters lxml refuses in text we edit.
_SENTINELS_RE = re.compile("[\ue000\ue001\x00-\x08\x0b\x0c\x0e-\x1f]")
_WHITESPACE_RE = re.compile(r"\s+")
_SPLIT_RE = re.compile(f"{_MEDIA}(\\d+){_MEDIA}")


class _Extractor:
    """One page: remove boilerplate, collect media in DOM order, then serialise text with sentinels.

    The DOM is never walked node by node in Python: libxml2 strips skipped tags, an XPath prefilter
    finds boilerplate candidates, and `tostring(method="text")` produces the text with private-use
    sentinels standing for block boundaries and media positions.
    """

    def __init__(self, base_url: str, options: ExtractOptions) -> None:
        self.base_url = base_url
        self.options = options
        self.media: list[Node] = []
        self.media_drops: Counter = Counter()

    def remove_boilerplate(self, body: etree._Element) -> None:
        etree.strip_elements(body, *_STRIP_TAGS, with_tail=False)
        for el in list(body.iter(*_EMPTY_TAGS)):
            el.clear(keep_tail=True)
        if not self.options.drop_boilerplate:
            return
        page_chars = -1
        for el, kind in _candidates(body):
            if not any(a is body for a in el.iterancestors()):
                continue  # inside a subtree already cleared
            if kind == "name":
                if page_chars < 0:  # computed once, on the first candidate only
                    page_chars = len(body.xpath("string()"))
                if len(el.xpath("string()")) > _MAX_BOILERPLATE_SHARE * page_chars:
                    continue
            el.clear(keep_tail=True)

    def _image_candidates(self, el: etree._Element):
        """Candidate sources in preference order, computed lazily (most images stop at the first)."""
        get = el.get
        for attr in _LAZY_SRC_ATTRS:
            yield get(attr)
        for attr in _LAZY_SRCSET_ATTRS:
            yield best_srcset(get(attr))
        yield best_srcset(get("srcset"))
        yield get("src")
        picture = next(el.iterancestors("picture"), None)  # libxml2 may nest <img> inside <source>
        if picture is not None:
            for source in picture.iter("source"):
                yield best_srcset(source.get("srcset")) or source.get("src")

    def image(self, el: etree._Element) -> ImageNode | None:
        get = el.get
        src = next((u for u in (resolve(self.base_url, c) for c in self._image_candidates(el) if c) if u), None)
        if src is None:
            raw = get("src") or ""
            self.media_drops["image_data_uri" if raw.strip().startswith("data:") else "image_no_src"] += 1
            return None
        width, height = _int_attr(get("width")), _int_attr(get("height"))
        limit = self.options.max_tracking_pixel_side
        if width is not None and height is not None and width <= limit and height <= limit:
            self.media_drops["image_tracking_pixel"] += 1
            return None
        caption = ""
        figure = next(el.iterancestors("figure"), None)
        if figure is not None:
            figcaption = next(figure.iter("figcaption"), None)
            if figcaption is not None:
                caption = _clean(figcaption.xpath("string()"))
        return ImageNode(src=src, alt=_clean(get("alt") or ""), caption=caption, width=width, height=height,
                         dom_path=_dom_path(el))

    def video(self, el: etree._Element) -> VideoNode | None:
        sources = [el.get("src")] + [s.get("src") for s in el.iter("source")]
        resolved = [u for u in (resolve(self.base_url, s) for s in sources) if u]
        if not resolved:
            self.media_drops["video_no_src"] += 1
            return None
        return VideoNode(src=resolved[0], sources=resolved, poster=resolve(self.base_url, el.get("poster")) or "",
                         width=_int_attr(el.get("width")), height=_int_attr(el.get("height")),
                         dom_path=_dom_path(el))

    def mark_media(self, body: etree._Element) -> None:
        """Collect media nodes in DOM order and leave a sentinel where each one stood."""
        for el in list(body.iter("img", "video")):
            node = self.image(el) if el.tag == "img" else self.video(el)
            if el.tag == "video":
                el.clear(keep_tail=True)  # fallback text inside <video> is not page text
            if node is not None:
                el.tail = f"{_MEDIA}{len(self.media)}{_MEDIA}" + (el.tail or "")
                self.media.append(node)

    def nodes(self, body: etree._Element) -> list[Node]:
        """Serialise the text with paragraph sentinels and split it into nodes."""
        for el in body.iter(*BLOCK_TAGS):
            el.text = _BREAK + (el.text or "")
            if el is not body:
                el.tail = _BREAK + (el.tail or "")
        text = etree.tostring(body, method="text", encoding="unicode", with_tail=False)
        text = _WHITESPACE_RE.sub(" ", text)  # once over the page, not once per piece
        nodes: list[Node] = []
        expected = 0  # our markers come in order; anything else is page text that imitates one
        for paragraph in text.split(_BREAK):
            if _MEDIA not in paragraph:
                paragraph = paragraph.strip()
                if paragraph:
                    nodes.append(TextNode(paragraph))
                continue
            for i, piece in enumerate(_SPLIT_RE.split(paragraph)):
                if i % 2:
                    if piece == str(expected) and expected < len(self.media):
                        nodes.append(self.media[expected])
                        expected += 1
                else:
                    piece = piece.strip()
                    if piece:
                        nodes.append(TextNode(piece))
        return nodes


def _dom_path(el: etree._Element) -> str:
    return "/".join(reversed([a.tag for a in el.iterancestors()] )) + "/" + el.tag


_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)


def _check_deadline(deadline: float, options: ExtractOptions) -> None:
    if time.perf_counter() > deadline:
        raise Rejected("timeout", f"extraction exceeded {options.time_limit_s}s")


def parse_html(text: str) -> etree._Element | None:
    """Parse decoded HTML text with libxml2's HTML parser; None when nothing parses.

    Control characters and the private-use code points used as sentinels are removed first."""
    return _parse_utf8(_SENTINELS_RE.sub("", text).encode("utf-8", errors="replace"))


def _parse_utf8(data: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(data, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def extract(
    data: bytes,
    url: str,
    *,
    content_type: str | None = None,
    fetch_time: str = "",
    source: str = "",
    options: ExtractOptions | None = None,
) -> ExtractResult:
    """Extract one page's bytes into a Document; raises `Rejected` for pages that yield nothing."""
    options = options or ExtractOptions()
    if len(data) > options.max_page_bytes:
        raise Rejected("too_large", f"{len(data)} bytes > {options.max_page_bytes}")
    if not data.strip():
        raise Rejected("empty")
    deadline = time.perf_counter() + options.time_limit_s
    decoded = decode_html(data, content_type)
    root = _parse_utf8(data) if decoded.method == "utf8" else parse_html(decoded.text)
    if root is None:
        raise Rejected("parse_error")
    try:
        return _extract_tree(root, url, fetch_time, source, options, deadline, decoded.encoding)
    except ValueError:  # lxml refuses to edit text holding control characters: clean them and retry
        root = parse_html(decoded.text)
        if root is None:
            raise Rejected("parse_error") from None
        return _extract_tree(root, url, fetch_time, source, options, deadline, decoded.encoding)


def _extract_tree(
    root: etree._Element, url: str, fetch_time: str, source: str, options: ExtractOptions, deadline: float,
    encoding: str,
) -> ExtractResult:
    base = url
    base_el = next(root.iter("base"), None)
    if base_el is not None and base_el.get("href"):
        base = resolve(url, base_el.get("href")) or url
    title_el = next(root.iter("title"), None)
    title = _clean(title_el.xpath("string()")) if title_el is not None else ""
    body = next(root.iter("body"), None)
    body = body if body is not None else root
    extractor = _Extractor(base, options)
    extractor.remove_boilerplate(body)
    _check_deadline(deadline, options)
    extractor.mark_media(body)
    nodes = extractor.nodes(body)
    _check_deadline(deadline, options)
    if not nodes:
        raise Rejected("no_content")
    language = (root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip().lower()
    document = Document(
        doc_id=make_doc_id(url, nodes), url=url, nodes=nodes, fetch_time=fetch_time,
        source=source, language=language, title=title,
    )
    return ExtractResult(document, extractor.media_drops, encoding)
