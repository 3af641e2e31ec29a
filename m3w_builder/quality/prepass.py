"""Cheap text-only pre-pass on raw HTML bytes, run before DOM extraction and media.

Byte regexes strip scripts, styles, comments and tags (no DOM is built) and the remaining text
is measured: words (counted as the document filters count them), letters among its bytes, `<img>`
tags, opt-out meta tags. About 0.6 ms per page, less than half of an lxml parse alone. Pages that are
certainly useless are dropped here, so the expensive extraction never sees them. The pass is
conservative: a page whose encoding it cannot tell cheaply is never dropped for its text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from m3w_builder.quality.filters import words
from m3w_builder.quality.optout import header_directives, meta_directives, page_drop_reason

# "unrolled loop" patterns: runs of [^<] / [^-] are scanned in C, far faster than a lazy .*?
_INVISIBLE = re.compile(
    rb"<script\b[^<]*(?:<(?!/script)[^<]*)*</script\s*>"
    rb"|<style\b[^<]*(?:<(?!/style)[^<]*)*</style\s*>"
    rb"|<!--[^-]*(?:-(?!->)[^-]*)*-->"
)
_TAG = re.compile(rb"<[^>]*>")
_ENTITY = re.compile(rb"&#?\w{1,8};")
_MEDIA = re.compile(rb"<(?:img|video)\b")
_META_CHARSET = re.compile(rb"""<meta\b[^>]*charset\s*=\s*["']?\s*([-\w:.]+)""")
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_NON_LETTERS = bytes(b for b in range(128) if b not in _ASCII_LETTERS)
_SPACE = b" \t\n\r\f\v"


@dataclass(frozen=True)
class PrepassConfig:
    """Thresholds of the pre-pass (0 disables a check)."""

    min_words: int = 20
    min_alpha_ratio: float = 0.5  # letters among non-space bytes of the visible text
    min_images: int = 0  # <img>/<video> tags in the raw page
    max_bytes: int = 20_000_000


def _decode(text: bytes, page: bytes, charset: str | None) -> str | None:
    """Decode extracted text bytes: UTF-8, then the declared charset; None if unsure."""
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        pass
    match = _META_CHARSET.search(page[:4096].lower())
    declared = charset or (match.group(1).decode("ascii", "replace") if match else None)
    try:
        return text.decode(declared, "replace") if declared else None
    except LookupError:
        return None


def visible_bytes(page: bytes) -> bytes:
    """Raw bytes of the text of a page: scripts, styles, comments, tags and entities removed."""
    low = page.lower()  # ASCII-only lowering keeps offsets, so patterns need no IGNORECASE
    return _ENTITY.sub(b" ", _TAG.sub(b" ", _INVISIBLE.sub(b" ", low)))


def alpha_ratio(text: bytes) -> float:
    """Fraction of non-space bytes that are letters (bytes >= 0x80 count as letters); 1.0 if none."""
    spaces = len(text) - len(text.translate(None, _SPACE))
    solid = len(text) - spaces
    if not solid:
        return 1.0
    non_letters = len(text) - len(text.translate(None, _NON_LETTERS)) - spaces
    return (solid - non_letters) / solid


def prepass_reason(
    page: bytes,
    config: PrepassConfig = PrepassConfig(),
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    charset: str | None = None,
) -> str | None:
    """Why the page can be dropped before DOM extraction, or None to keep it.

    Reasons: `too_large`, `noai`, `tdm_reserved`, `too_few_images`, `too_few_words`,
    `low_alpha_ratio`. `charset` is the HTTP Content-Type charset when the caller has one.
    UTF-16 pages (NUL bytes) are kept unchecked: byte patterns cannot read them.
    """
    if config.max_bytes and len(page) > config.max_bytes:
        return "too_large"
    optout = page_drop_reason(header_directives(headers) | meta_directives(page))
    if optout:
        return optout
    if config.min_images and len(_MEDIA.findall(page.lower())) < config.min_images:
        return "too_few_images"
    if b"\x00" in page[:4096]:
        return None
    text = visible_bytes(page)
    if config.min_words and len(text.split()) < config.min_words:
        decoded = _decode(text, page, charset)  # scripts without spaces: words counted as the filters do
        if decoded is not None and len(words(decoded)) < config.min_words:
            return "too_few_words"
    if config.min_alpha_ratio and alpha_ratio(text) < config.min_alpha_ratio:
        return "low_alpha_ratio"
    return None
