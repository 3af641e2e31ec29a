"""Page bytes → Document: text/image/video nodes of the main content, in DOM order.

Steps: decode (`charset.py`), guard and parse (`parse.py`), drop skipped tags and guarded
boilerplate (`boilerplate.py`), walk the tree once into a compact block tree of paragraphs and
media positions (each media element read as the walk meets it) and select the main content
(`content.py`), classify images (`images.py`) and emit nodes. The walk is lxml's `iterwalk` (C); Python runs only at element
starts and ends, never per character or per text node.

CLI: `python -m m3w_builder.extract PAGE.html --url URL` (`__main__.py`).
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from lxml import etree

from m3w_builder.document import Document, ImageNode, Node, TextNode, VideoNode, make_doc_id
from m3w_builder.drops import Drops, Rejected
from m3w_builder.extract import boilerplate, content, declared, images
from m3w_builder.extract.charset import to_utf8
from m3w_builder.extract.parse import (UNKNOWN_VOID_TAGS, check_attribute_floods, clean_and_scan, parse_html,
                                       parse_utf8, tag_count, unnest_void_elements)
from m3w_builder.extract.urls import base_url, resolve
from m3w_builder.extract.visible import visible
from m3w_builder.options import option

__all__ = ["ExtractOptions", "ExtractResult", "extract", "parse_html"]


@dataclass
class ExtractOptions:
    """Per-page limits and switches of the extractor."""

    max_page_bytes: int = option(5_000_000, "pages larger than this are dropped (too_large)")
    time_limit_s: float = option(10.0, "CPU seconds per page, parsing included (timeout); a safety valve far "
                                 "above normal cost (~10 ms), measured on the thread so machine load "
                                 "cannot change a job's output", flag="page_time_limit", low=0.001)
    drop_boilerplate: bool = option(True, "select the main content and drop menus, ads, banners, teasers; "
                                    "--keep_boilerplate keeps the whole page", flag="keep_boilerplate")
    keep_all_images: bool = option(False, "keep every image whatever its class (content, teaser, logo, ad, "
                                   "outside); the class is in each image's metadata")
    max_tracking_pixel_side: int = option(2, "images declared this small on both sides are tracking pixels")
    max_tag_attributes: int = option(256, "a start tag with more attributes rejects the page "
                                     "(libxml2 is quadratic in them)")
    max_page_media: int = option(2000, "media elements looked at per page; later ones are dropped")
    max_page_tags: int = option(100_000, "pages with more '<' than this are dropped before parsing "
                                "(too_many_tags; the real pages seen hold at most 25,000)")


class MediaDrop(NamedTuple):
    """A media element of the page that yields no node: why, its URL where it has one, and what
    decided it (the rejects row of `extract_media/<reason>`)."""

    reason: str
    url: str
    detail: str


@dataclass
class ExtractResult:
    """The document plus the media elements dropped during extraction (`dropped_media`, in DOM
    order) and their counts by reason (`media_drops`). Elements past `max_page_media` are counted,
    and recorded once per page (one row naming how many): a page of 10^5 images is no 10^5 rows."""

    document: Document
    media_drops: Drops = field(default_factory=Drops)
    encoding: str = ""
    dropped_media: list[MediaDrop] = field(default_factory=list)


_DETAIL_SOURCE_CHARS = 200  # of a source that names no fetchable image, quoted in its rejects row
_MAX_CAPTION_CHARS = 5000  # of a `<figcaption>`'s raw text (`_Page.caption`); the real pages' hold at most 376
_INT_RE = re.compile(r"\s*(\d{1,9})(?![\d.]*\s*%)")  # a percentage (`width="100%"`) declares no pixel size
# Of the kept text, the share in linked-thumbnail cards that makes the content a list of cards (`_Page.is_listing`).
_LISTING_SHARE = 0.5


def _int_attr(value: str | None) -> int | None:
    if not value:
        return None
    if len(value) <= 9 and value.isascii() and value.isdigit():  # most sizes: what `_INT_RE` reads, no regex
        return int(value)
    match = _INT_RE.match(value)
    return int(match.group(1)) if match else None


def _clean(text: str) -> str:
    return " ".join(text.split())


def _dom_path(el: etree._Element, tags: list[str]) -> str:
    """The tags from the root down to `el`; `tags`: those of its ancestors, innermost first."""
    return "/".join(reversed(tags)) + "/" + el.tag


def _nearest(ancestors: list[etree._Element], tags: list[str], tag: str) -> etree._Element | None:
    """The innermost of `ancestors` with `tag` (`tags`: theirs): a C search of the tag list, where
    a Python scan reads each ancestor's tag again for each tag looked for."""
    return ancestors[tags.index(tag)] if tag in tags else None


def _first(root: etree._Element, tag: str) -> etree._Element | None:
    """The first `tag` element in document order (`root` included), walking only up to the end of
    the top-level subtree that holds it: `next(root.iter(tag))` walks the whole page, as lxml's
    iterator looks for the next match before it returns one (~0.2 ms a page for `<body>`)."""
    if root.tag == tag:
        return root
    for child in root:
        found = child if child.tag == tag else next(child.iter(tag), None)
        if found is not None:
            return found
    return None


def _scan(root: etree._Element) -> tuple[etree._Element | None, frozenset[etree._Element], list[etree._Element],
                                         list[etree._Element], list[etree._Element], list[etree._Element]]:
    """The first `<base>`, the blocks of the forms asking for an e-mail address
    (`boilerplate.email_form`, `signup_blocks`), the elements `boilerplate.strip_skipped`
    weighs, the `<figure>` elements (`images.restore_figure_images`), the JSON-LD scripts
    (`declared.recipe_lines`) and the AMP images (`images.restore_amp_images`), from one walk: without a
    `<base>` (most pages) looking for one walks the whole page anyway. The same walk finds the
    void elements `parse_utf8` left nested (`unnest=False`), unnested before the forms are widened:
    moving them keeps the document order and each form an ancestor of its inputs."""
    base, forms, weighed, figures, voids, scripts, amps = None, set(), [], [], [], [], []
    forms_above: dict[etree._Element, etree._Element | None] = {}
    for el in root.iter("base", "input", "figure", "script", *boilerplate.WEIGHED_TAGS, *UNKNOWN_VOID_TAGS,
                        *images.AMP_IMAGE_TAGS):
        tag = el.tag
        if tag == "script":
            if declared.is_json_ld(el):
                scripts.append(el)
        elif tag in UNKNOWN_VOID_TAGS:
            voids.append(el)
        elif tag == "input":
            form = boilerplate.email_form(el, forms_above)
            if form is not None:
                forms.add(form)
        elif tag == "figure":
            figures.append(el)
        elif tag in images.AMP_IMAGE_TAGS:
            amps.append(el)
        elif tag != "base":
            weighed.append(el)
        elif base is None:
            base = el
    unnest_void_elements(root, voids)
    return base, boilerplate.signup_blocks(forms), weighed, figures, scripts, amps


def _check_deadline(deadline: float, options: ExtractOptions) -> None:
    if time.thread_time() > deadline:
        raise Rejected("timeout", f"extraction exceeded {options.time_limit_s}s")


class _Page:
    """One page's media (in DOM order, with their provisional class) and the element of each."""

    def __init__(self, base_url: str, page_url: str, options: ExtractOptions) -> None:
        self.base_url = base_url
        self.page_url = page_url
        self.options = options
        self.media: list[tuple[ImageNode | VideoNode, str | None]] = []
        self.cards: list[etree._Element] = []  # the cards of the `_CARD` thumbnails (`images.link_card`)
        self.asides: dict[int, etree._Element] = {}  # media index -> the nearest `<aside>` above the image
        self.captions: dict[etree._Element, str] = {}  # figure -> its caption (`caption`)
        self.holders = images.Holders()  # what the images' ancestors say (`images.dom_class`)
        self.seen = 0  # media elements met
        self.drops = Drops()
        self.dropped: list[MediaDrop] = []

    def drop(self, reason: str, url: str, detail: str) -> None:
        self.drops[reason] += 1
        self.dropped.append(MediaDrop(reason, url, detail))

    def image(self, el: etree._Element) -> tuple[ImageNode, str | None] | None:
        """The node of an `<img>` and its provisional class, or None (counted); keeps its card."""
        get = el.get
        ancestors = list(el.iterancestors())
        tags = [ancestor.tag for ancestor in ancestors]
        src = images.image_source(el, self.base_url, self.page_url, ancestors)
        if src is None:
            self.drop(images.missing_source_reason(el, self.base_url, ancestors), "",
                      f"<img src={(get('src') or '')[:_DETAIL_SOURCE_CHARS]!r}>")
            return None
        width, height = _int_attr(get("width")), _int_attr(get("height"))
        limit = self.options.max_tracking_pixel_side
        if width is not None and height is not None and width <= limit and height <= limit:
            self.drop("image_tracking_pixel", src, f"declared {width}x{height}")
            return None
        figure = _nearest(ancestors, tags, "figure")
        caption = "" if figure is None else self.caption(figure)
        node = ImageNode(src=src, alt=_clean(get("alt") or ""), caption=caption, width=width, height=height,
                         dom_path=_dom_path(el, tags))
        provisional, card = images.dom_class(el, src, width, height, self.base_url, self.page_url, ancestors,
                                              self.holders)
        if card is not None:
            self.cards.append(card)
        aside = _nearest(ancestors, tags, "aside")
        if aside is not None:
            self.asides[len(self.media)] = aside
        return node, provisional

    def caption(self, figure: etree._Element) -> str:
        """The text of a `<figure>`'s first `<figcaption>`, read once per figure (2000 images in one
        figure read its caption 2000 times), and none past `_MAX_CAPTION_CHARS`: a longer one holds
        more than a caption (an unclosed `<figcaption>` took the page in), and nested ones around a
        long text would each read it whole."""
        caption = self.captions.get(figure)
        if caption is None:
            figcaption = next(figure.iter("figcaption"), None)
            text = None if figcaption is None else boilerplate.text_up_to(figcaption, _MAX_CAPTION_CHARS)
            caption = self.captions[figure] = "" if text is None else _clean(text)
        return caption

    def video(self, el: etree._Element) -> tuple[VideoNode, str | None] | None:
        sources = [el.get("src")] + [s.get("src") for s in el.iter("source")]
        resolved = [u for u in (resolve(self.base_url, s) for s in sources) if u]
        if not resolved:
            self.drop("video_no_src", "", f"<video src={(el.get('src') or '')[:_DETAIL_SOURCE_CHARS]!r}>")
            return None
        node = VideoNode(src=resolved[0], sources=resolved, poster=resolve(self.base_url, el.get("poster")) or "",
                         width=_int_attr(el.get("width")), height=_int_attr(el.get("height")),
                         dom_path=_dom_path(el, [ancestor.tag for ancestor in el.iterancestors()]))
        return node, None

    def add_media(self, el: etree._Element) -> int | None:
        """The index of the node of an `<img>`/`<video>`, or None when it yields none (counted).
        The tree walk calls it at each one's start, in DOM order: no walk of its own."""
        self.seen += 1
        over = self.seen > self.options.max_page_media
        found = None if over else self.image(el) if el.tag == "img" else self.video(el)
        if el.tag == "video":
            el.clear(keep_tail=True)  # fallback text inside <video> is not page text, over the limit too
        if over:
            self.drops["media_over_page_limit"] += 1
            return None
        if found is None:
            return None
        self.media.append(found)
        return len(self.media) - 1

    def pictures(self) -> frozenset[int]:
        """The media indexes whose own markup leaves them content candidates (`content.select`)."""
        return frozenset(index for index, (_, provisional) in enumerate(self.media)
                         if provisional is None or provisional == images.SUMMARY)

    def is_listing(self, blocks: list[content.Block], items: list[content.Item], kept: list[bool]) -> bool:
        """Whether the kept text is mostly in the cards of linked thumbnails (at least
        `_LISTING_SHARE`): the content is a list of cards (a section front, a blog index), whose
        thumbnails are its images; beside an article's own prose they are teasers."""
        if not self.cards:
            return False
        cards = set(self.cards)
        in_card = bytearray(len(blocks))
        for index, block in enumerate(blocks):
            if block.element in cards and not in_card[index]:
                in_card[index:block.end + 1] = b"\1" * (block.end + 1 - index)
        text = card_text = 0
        for item, keep in zip(items, kept):
            if keep and item.media < 0:
                text += item.weight
                if in_card[item.owner]:
                    card_text += item.weight
        return card_text >= _LISTING_SHARE * text

    def sidebars(self, blocks: list[content.Block], selection: content.Selection) -> frozenset[etree._Element]:
        """The `<aside>` elements above images (`asides`) that are sidebars: they do not hold the article's
        core (`Selection.core`; an unclosed element before an `<aside>` lets the parser nest the rest of
        the page, the article too, inside it). One pass over the block tree, only on pages with such images."""
        if not self.asides:
            return frozenset()
        asides, core = set(self.asides.values()), selection.core
        return frozenset(block.element for index, block in enumerate(blocks)
                         if block.element in asides and not index <= core <= block.end)

    def nodes(self, items: list[content.Item], kept: list[bool], selection: content.Selection,
              listing: bool, sidebars: frozenset[etree._Element]) -> list[Node]:
        """The kept items as nodes; media outside the content or of a dropped class are counted.
        `listing`: see `is_listing`; `sidebars`: see `sidebars`. A content image whose picture
        (`images.copy_key`) came before under another URL is a `copy`: the first stays, DOM order kept;
        an exact repeat is left to the assembler's duplicate rule, which sees the bytes."""
        out: list[Node] = []
        pictures: dict[str, str] = {}
        lead = images.lead_picture(items, kept, self.media)
        for index, (item, in_content) in enumerate(zip(items, kept)):
            if item.media < 0:
                if in_content:
                    text = visible(item.text)
                    text = text if text is item.text else " ".join(text.split())
                    if text:  # a paragraph of invisible characters is none
                        out.append(TextNode(text))
                continue
            node, provisional = self.media[item.media]
            if isinstance(node, VideoNode):
                if in_content or self.options.keep_all_images:
                    out.append(node)
                else:
                    self.drop("video_outside", node.src, f"outside the main content at {node.dom_path}")
                continue
            node.image_class = images.final_class(provisional, in_content or index == lead,
                                                  selection.link_blocks[item.owner], listing,
                                                  self.asides.get(item.media) in sidebars)
            if node.image_class == images.CONTENT:
                picture = images.copy_key(node.src)
                if pictures.get(picture, node.src) != node.src or (provisional == images.SUMMARY and pictures):
                    node.image_class = images.COPY
                pictures.setdefault(picture, node.src)
            if node.image_class == images.CONTENT or self.options.keep_all_images:
                out.append(node)
            else:
                self.drop(f"image_{node.image_class}", node.src, f"{node.image_class} at {node.dom_path}")
        return out

    def over_limit(self) -> list[MediaDrop]:
        """One record for the media elements past `max_page_media`, if any."""
        over = self.drops.get("media_over_page_limit", 0)
        return [MediaDrop("media_over_page_limit", "", f"{over} media elements past the first "
                          f"{self.options.max_page_media} of the page")] if over else []


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
    if not data or data.isspace():  # `strip()` would copy the page
        raise Rejected("empty")
    deadline = time.thread_time() + options.time_limit_s
    page_bytes, encoding = to_utf8(data, content_type)
    utf8, marks = clean_and_scan(page_bytes)
    tags = tag_count(utf8, marks) if len(utf8) > options.max_page_tags else 0  # each '<' is a byte
    if tags > options.max_page_tags:
        raise Rejected("too_many_tags", f"{tags} '<' > {options.max_page_tags}")
    check_attribute_floods(utf8, options.max_tag_attributes, marks)
    with _cyclic_gc_paused():
        root = parse_utf8(utf8, deadline, options.time_limit_s, marks, unnest=False)  # `_scan` unnests
        if root is None:
            raise Rejected("parse_error")
        _check_deadline(deadline, options)
        return _extract_tree(root, url, fetch_time, source, options, deadline, encoding)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused, if it runs, while a page is parsed and walked. The
    walk keeps ~1 tracked object alive per element (element proxies, blocks, items: 130,000 on the
    153 dev pages), none of them in a cycle, all freed by reference counting when the page is done;
    meanwhile each 700 of them start a collection, and the survivors soon a full one over the
    whole heap: 8% of the extraction's CPU time in a process holding Trafilatura (bench-quality),
    the cost grows with the heap. Other threads may run without the collector meanwhile."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _extract_tree(
    root: etree._Element, url: str, fetch_time: str, source: str, options: ExtractOptions, deadline: float,
    encoding: str,
) -> ExtractResult:
    base = url
    base_el, forms, weighed, figures, scripts, amps = _scan(root)
    if base_el is not None and base_el.get("href"):
        base = base_url(url, base_el.get("href"))
    title_el = _first(root, "title")
    title = _clean(visible(boilerplate.text_of(title_el))) if title_el is not None else ""
    language = (root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip().lower()
    body = _first(root, "body")
    body = body if body is not None else root
    page = _Page(base, resolve(url, url) or url, options)
    recipe = declared.recipe_lines(scripts) if scripts and options.drop_boilerplate else []
    if amps:  # first: a figure holding one holds an image
        images.restore_amp_images(amps)
    images.restore_noscript_images([el for el in weighed if el.tag == "noscript"])
    images.restore_figure_images(figures)
    boilerplate.strip_skipped(body, weighed)
    blocks, items = content.read_tree(body, page.add_media, options.drop_boilerplate)
    _check_deadline(deadline, options)
    pictures = page.pictures()
    if options.drop_boilerplate:
        named = content.remove_boilerplate(blocks, boilerplate.Classifier(forms).kind)
        selection = content.select(blocks, items, pictures, named)
        if recipe:
            declared.recover(blocks, items, selection, recipe)
    else:
        selection = content.keep_all(blocks)
    kept = content.kept_items(blocks, items, selection, pictures, title)
    nodes = page.nodes(items, kept, selection, page.is_listing(blocks, items, kept),
                       page.sidebars(blocks, selection))
    _check_deadline(deadline, options)
    if not nodes:
        raise Rejected("no_content")
    document = Document(
        doc_id=make_doc_id(url, nodes), url=url, nodes=nodes, fetch_time=fetch_time,
        source=source, language=language, title=title,
    )
    return ExtractResult(document, page.drops, encoding, page.dropped + page.over_limit())
