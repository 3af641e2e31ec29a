"""ALIGN-style image/alt-text pairs: harvest (src, alt) from a page, and the caption rules.

ALIGN (Jia et al. 2021) kept an alt text unless it was boilerplate, shared by more than 10 images,
shorter than 3 or longer than 20 words; images needed both sides > 200 px and aspect < 3, and an
image with more than 1000 alt texts was dropped. Every rule here is an option and returns a reason
code (a `align/<reason>` counter); the frequency rules need the whole corpus and live in the job.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace

from m3w_builder.document import ImageNode
from m3w_builder.drops import Rejected
from m3w_builder.extract.dom import ExtractOptions, extract
from m3w_builder.options import option
from m3w_builder.quality.optout import apply_page_optout, header_directives, meta_directives

# Alt texts that say nothing about the picture (compared after `normalize_caption`).
_BOILERPLATE_LINES = """
image|img|picture|pic|photo|photograph|foto|bild|imagen|immagine|thumbnail|thumb|logo|icon|banner
avatar|spacer|placeholder|blank|untitled|alt|alt text|alt img|image alt|null|none|undefined
default|button|click here|read more|more|see more|view image|image description|featured image
hero image|cover image|main image|product image|gallery image|profile picture|profile photo
screenshot|graphic|illustration|no image|image not found|loading|advertisement|ad
"""
BOILERPLATE_ALTS = frozenset(w.strip() for line in _BOILERPLATE_LINES.splitlines() for w in line.split("|") if w.strip())

_IMAGE_EXT = r"(?:jpe?g|png|gif|webp|bmp|svg|tiff?|avif|heic|ico)"
_EXTENSION_RE = re.compile(rf"\.{_IMAGE_EXT}$", re.IGNORECASE)
# A file name without spaces (a path too): `IMG_1234`, `photo-3`, `red-bike_(2)`, `pics/2019/a`
_NAME_RE = re.compile(r"^[\w\-.,:%()+~@#!'&=\[\]/\\]*$")
# Names cameras, phones and apps give, spaces and all: `Screenshot 2021-01-02 at 10.11.12`,
# `Screen Shot 2020-05-01 at 3.14.15 PM`, `WhatsApp Image 2021-05-03 at 10.22.11`, `IMG 1234`
_APP_NAME_RE = re.compile(r"^(?:screen\s?shot|screen\s?capture|capture|snapshot|img|image|photo|pic|picture|pxl|"
                          r"dsc[nf]?|dcim|mvimg|gopr|vid|scan|whatsapp image|untitled|unnamed)[\s_\-]*\d", re.IGNORECASE)
_COPY_RE = re.compile(r"(?:\(\d+\)|[\s_\-]copy(?:\s*\d+)?)$", re.IGNORECASE)  # `x (2)`, `x copy`: a saved duplicate
_CAMERA_RE = re.compile(r"^(?:img|dsc[nf]?|dcim|pxl|p|gopr|mvimg|screenshot)[\s_\-]*\d[\d_\-\s]*$",
                        re.IGNORECASE)
_DIMENSION_RE = re.compile(r"^\d{2,5}\s*[x×*]\s*\d{2,5}(?:\s*px)?$", re.IGNORECASE)
_NUMBERED_RE = re.compile(r"^(?:image|img|picture|photo|pic|slide|figure|fig|thumbnail)[\s_\-#.]*\d+$", re.IGNORECASE)
_URL_RE = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_SPELLING_FORMAT = frozenset("\u200c\u200d")  # ZWNJ, ZWJ


@dataclass
class CaptionRules:
    """Text rules of a pair caption; 0 turns a bound off."""

    min_words: int = option(3, "minimum caption words", flag="min_caption_words")
    max_words: int = option(20, "maximum caption words", flag="max_caption_words")
    min_chars: int = option(5, "minimum caption characters", flag="min_caption_chars")
    # LTIP captions may hold up to 512 words: a 1000-character cap would contradict that bound
    max_chars: int = option(4000, "maximum caption characters", flag="max_caption_chars")
    drop_boilerplate: bool = option(True, "keep captions such as 'image', 'click here'",
                                    flag="keep_boilerplate_captions")
    drop_filenames: bool = option(True, "keep captions that are file names", flag="keep_filename_captions")


def normalize_caption(text: str) -> str:
    """NFC, whitespace collapsed (the caption as stored). Control characters (tab, newline, NUL)
    break words; invisible format characters (soft hyphen, zero-width space, bidi overrides, BOM),
    private-use and unassigned ones are dropped without a break (a space split `ex\u00adample`);
    ZWNJ and ZWJ stay: they spell Persian and Indic words and join emoji sequences."""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] != "C" or ch in _SPELLING_FORMAT:
            kept.append(ch)
        elif category == "Cc":
            kept.append(" ")
    return " ".join("".join(kept).split())


def alt_key(caption: str) -> str:
    """The form under which alt texts are compared for frequency: case-folded, punctuation-free."""
    return " ".join(_WORD_RE.findall(caption.casefold()))


def word_count(text: str) -> int:
    """Words (runs of letters/digits); a CJK run without spaces counts one word per 2 characters."""
    count = 0
    for word in _WORD_RE.findall(text):
        wide = sum(1 for ch in word if unicodedata.east_asian_width(ch) in ("W", "F"))
        count += max(1, (wide + 1) // 2 + (1 if wide < len(word) else 0)) if wide else 1
    return count


def is_filename(caption: str) -> bool:
    """Whether the caption IS an image file name (`IMG_1234.jpg`, `photo-3.png`, `Screenshot
    2021-01-02 at 10.11.12.png`), not a sentence that ends with or mentions one ("the result
    looks ok.jpg"): a name without spaces, or spaced words that cameras and apps write (a leading
    `Screenshot`/`IMG`/... and a number, numbered tokens only, a trailing `(2)` or `copy`)."""
    extension = _EXTENSION_RE.search(caption)
    if extension is None or "://" in caption:
        return False
    stem = caption[: extension.start()].strip()
    if _NAME_RE.match(stem):
        return True
    if _APP_NAME_RE.match(stem) or _COPY_RE.search(stem):
        return True
    return all(any(ch.isdigit() or ch == "_" for ch in token) for token in stem.split())


def caption_reason(caption: str, rules: CaptionRules) -> str | None:
    """The reason a (normalized) caption is dropped, or None when it is kept."""
    if not caption:
        return "empty_caption"
    folded = caption.casefold().strip(" .:!-_")
    if rules.drop_filenames and (is_filename(caption) or _CAMERA_RE.match(folded)):
        return "filename_caption"
    if rules.drop_boilerplate:
        if folded in BOILERPLATE_ALTS or alt_key(caption) in BOILERPLATE_ALTS:
            return "boilerplate_caption"
        if _DIMENSION_RE.match(folded) or _NUMBERED_RE.match(folded) or _URL_RE.match(folded):
            return "boilerplate_caption"
        if not _WORD_RE.search(caption):
            return "no_words"
    if rules.min_chars and len(caption) < rules.min_chars:
        return "too_short_chars"
    if rules.max_chars and len(caption) > rules.max_chars:
        return "too_long_chars"
    words = word_count(caption)
    if rules.min_words and words < rules.min_words:
        return "too_few_words"
    if rules.max_words and words > rules.max_words:
        return "too_many_words"
    return None


def pair_key(url: str, caption: str) -> str:
    """A stable, dot-free sample key derived from the pair itself (not from input order)."""
    return hashlib.sha256(f"{url}\n{caption}".encode("utf-8")).hexdigest()[:24]


@dataclass
class AltCandidate:
    """One `<img>` of a page with its alt text (before the caption rules)."""

    src: str
    alt: str
    page_url: str
    width: int | None = None
    height: int | None = None


def harvest(body: bytes, url: str, *, content_type: str | None = None, headers: list[tuple[str, str]] | None = None,
            options: ExtractOptions | None = None) -> Iterator[AltCandidate]:
    """(src, alt) of every image of a page in DOM order; raises `Rejected` for a page that yields
    nothing or opted out of AI use (`noai`, `tdm-reservation`; `noimageai` yields no image). Every
    image is harvested whatever its class in the page (the caption rules judge it)."""
    options = replace(options or ExtractOptions(), keep_all_images=True)
    result = extract(body, url, content_type=content_type, options=options)
    doc = apply_page_optout(result.document, meta_directives(body) | header_directives(headers or []))
    for node in doc.media:
        if isinstance(node, ImageNode):
            yield AltCandidate(node.src, normalize_caption(node.alt), doc.url, node.width, node.height)


def declared_size_reason(candidate: AltCandidate, min_side: int) -> str | None:
    """`declared_too_small` when the page's width/height attributes already rule the image out."""
    sides = [s for s in (candidate.width, candidate.height) if s]
    if min_side and sides and min(sides) < min_side and len(sides) == 2:
        return "declared_too_small"
    return None


def check_candidate(candidate: AltCandidate, rules: CaptionRules, min_side: int = 0) -> AltCandidate:
    """Return the candidate or raise `Rejected(reason)` under the per-pair rules."""
    if not candidate.alt:
        raise Rejected("no_alt", candidate.src)
    reason = caption_reason(candidate.alt, rules) or declared_size_reason(candidate, min_side)
    if reason:
        raise Rejected(reason, candidate.alt[:200])
    return candidate
