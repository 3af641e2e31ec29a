"""DOM → Document: one pre-order walk over an lxml tree emitting text/image/video nodes in DOM order.

lxml (libxml2) parses real-web tag soup fast and `etree.iterwalk` with `skip_subtree()` lets one C-level
walk drop boilerplate subtrees without copying the tree; bs4's Python tree would be ~10x slower.

Usage: `python -m m3w_builder.extract PAGE.html --url URL` prints the node list and the marker text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from m3w_builder.charset import decode_html
from m3w_builder.document import Document, ImageNode, Node, TextNode, VideoNode, make_doc_id
from m3w_builder.errors import Rejected
from m3w_builder.urls import best_srcset, resolve

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
_WS_RE = re.compile(r"\s+")
_DEADLINE_EVERY = 256
_MAX_BOILERPLATE_SHARE = 0.3


@dataclass
class ExtractOptions:
    """Per-page limits and switches of the extractor."""

    max_page_bytes: int = 5_000_000
    time_limit_s: float = 10.0
    drop_boilerplate: bool = True
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
    return _WS_RE.sub(" ", text).strip()


def _boilerplate_kind(el: etree._Element, tag: str) -> str | None:
    """Why an element looks like boilerplate: `hidden`, `role` (ARIA), `name` (class/id), or None.

    A `name` match (ads, menus, cookie banners...) is only a candidate: the walker keeps it when it
    holds most of the page's text, since real pages wrap content in `has-sidebar`-like containers.
    """
    attrib = el.attrib
    if not attrib:
        return None
    if "hidden" in attrib or attrib.get("aria-hidden") == "true":
        return "hidden"
    style = attrib.get("style")
    if style and _HIDDEN_STYLE_RE.search(style):
        return "hidden"
    if attrib.get("role", "").lower() in _BOILERPLATE_ROLES:
        return "role"
    if tag in _PROTECTED_TAGS:
        return None
    names = attrib.get("class", "") + " " + attrib.get("id", "")
    if len(names) > 1 and _BOILERPLATE_RE.search(names) is not None:
        return "name"
    return None


class _Walker:
    """State of one pre-order walk: the current paragraph and the nodes emitted so far."""

    def __init__(self, base_url: str, options: ExtractOptions) -> None:
        self.base_url = base_url
        self.options = options
        self.nodes: list[Node] = []
        self.parts: list[str] = []
        self.media_drops: Counter = Counter()
        self.path: list[str] = []
        self.root: etree._Element | None = None
        self.page_chars = -1

    def skip_boilerplate(self, el: etree._Element, tag: str) -> bool:
        """True for boilerplate subtrees, except name matches holding most of the page's text."""
        kind = _boilerplate_kind(el, tag)
        if kind != "name":
            return kind is not None
        if self.page_chars < 0:  # computed once, on the first candidate only
            self.page_chars = len(self.root.xpath("string()"))
        return len(el.xpath("string()")) <= _MAX_BOILERPLATE_SHARE * self.page_chars

    def flush(self) -> None:
        if self.parts:
            text = _clean("".join(self.parts))
            self.parts.clear()
            if text:
                self.nodes.append(TextNode(text))

    def image(self, el: etree._Element) -> None:
        attrib = el.attrib
        candidates = [attrib.get(a) for a in _LAZY_SRC_ATTRS]
        candidates += [best_srcset(attrib.get(a)) for a in _LAZY_SRCSET_ATTRS]
        candidates += [best_srcset(attrib.get("srcset")), attrib.get("src")]
        picture = next(el.iterancestors("picture"), None)  # libxml2 may nest <img> inside <source>
        if picture is not None:
            candidates += [best_srcset(s.get("srcset")) or s.get("src") for s in picture.iter("source")]
        src = next((u for u in (resolve(self.base_url, c) for c in candidates) if u), None)
        if src is None:
            raw = attrib.get("src", "")
            self.media_drops["image_data_uri" if raw.strip().startswith("data:") else "image_no_src"] += 1
            return
        width, height = _int_attr(attrib.get("width")), _int_attr(attrib.get("height"))
        limit = self.options.max_tracking_pixel_side
        if width is not None and height is not None and width <= limit and height <= limit:
            self.media_drops["image_tracking_pixel"] += 1
            return
        caption = ""
        figure = next(el.iterancestors("figure"), None)
        if figure is not None:
            figcaption = next(figure.iter("figcaption"), None)
            if figcaption is not None:
                caption = _clean(figcaption.xpath("string()"))
        self.flush()
        self.nodes.append(
            ImageNode(src=src, alt=_clean(attrib.get("alt", "")), caption=caption, width=width,
                      height=height, dom_path="/".join(self.path))
        )

    def video(self, el: etree._Element) -> None:
        sources = [el.get("src")] + [s.get("src") for s in el.iter("source")]
        resolved = [u for u in (resolve(self.base_url, s) for s in sources) if u]
        if not resolved:
            self.media_drops["video_no_src"] += 1
            return
        self.flush()
        self.nodes.append(
            VideoNode(src=resolved[0], sources=resolved, poster=resolve(self.base_url, el.get("poster")) or "",
                      width=_int_attr(el.get("width")), height=_int_attr(el.get("height")),
                      dom_path="/".join(self.path))
        )

    def walk(self, root: etree._Element, deadline: float) -> None:
        self.root = root
        walker = etree.iterwalk(root, events=("start", "end"))
        drop_boilerplate = self.options.drop_boilerplate
        seen = 0
        for event, el in walker:
            tag = el.tag
            if not isinstance(tag, str):  # comments and processing instructions: keep their tail
                if event == "end" and el.tail:
                    self.parts.append(el.tail)
                continue
            tag = tag.lower()
            if event == "start":
                seen += 1
                if seen % _DEADLINE_EVERY == 0 and time.perf_counter() > deadline:
                    raise Rejected("timeout", f"extraction exceeded {self.options.time_limit_s}s")
                if tag in SKIP_TAGS or (drop_boilerplate and self.skip_boilerplate(el, tag)):
                    walker.skip_subtree()
                    self.path.append(tag)
                    continue
                self.path.append(tag)
                if tag in BLOCK_TAGS:
                    self.flush()
                if tag == "img":
                    self.image(el)
                elif tag == "video":
                    self.video(el)
                    walker.skip_subtree()
                    continue
                if el.text:
                    self.parts.append(el.text)
            else:
                self.path.pop()
                if tag in BLOCK_TAGS:
                    self.flush()
                if el.tail and el is not root:
                    self.parts.append(el.tail)
        self.flush()


_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)


def parse_html(text: str) -> etree._Element | None:
    """Parse decoded HTML text with libxml2's HTML parser; None when nothing parses."""
    data = text.replace("\x00", "").encode("utf-8", errors="replace")
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
    root = parse_html(decoded.text)
    if root is None:
        raise Rejected("parse_error")
    base = url
    base_el = next(root.iter("base"), None)
    if base_el is not None and base_el.get("href"):
        base = resolve(url, base_el.get("href")) or url
    title_el = next(root.iter("title"), None)
    title = _clean(title_el.xpath("string()")) if title_el is not None else ""
    body = next(root.iter("body"), None)
    walker = _Walker(base, options)
    walker.walk(body if body is not None else root, deadline)
    if not walker.nodes:
        raise Rejected("no_content")
    language = (root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip().lower()
    document = Document(
        doc_id=make_doc_id(url, walker.nodes), url=url, nodes=walker.nodes, fetch_time=fetch_time,
        source=source, language=language, title=title,
    )
    return ExtractResult(document, walker.media_drops, decoded.encoding)


def main(argv: list[str] | None = None) -> int:
    """CLI: print what the extractor makes of one page (node list as JSON, then the marker text)."""
    from m3w_builder.markers import render_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="an HTML file")
    parser.add_argument("--url", default="http://example.com/", help="the page's URL (resolves relative links)")
    parser.add_argument("--content-type", default=None, help="HTTP Content-Type header, if known")
    parser.add_argument("--keep-boilerplate", action="store_true", help="do not drop nav/ads/cookie banners")
    args = parser.parse_args(argv)
    options = ExtractOptions(drop_boilerplate=not args.keep_boilerplate)
    try:
        result = extract(args.page.read_bytes(), args.url, content_type=args.content_type, options=options)
    except Rejected as rejected:
        print(json.dumps({"rejected": rejected.reason, "detail": rejected.detail}))
        return 1
    out = result.document.to_dict()
    out["encoding"] = result.encoding
    out["media_drops"] = dict(result.media_drops)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    print("\n--- marker text ---")
    print(render_text(result.document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
