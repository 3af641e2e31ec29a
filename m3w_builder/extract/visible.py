"""A page's text as a reader sees it: characters that draw nothing removed, combining-mark runs capped.

Invisible format characters (soft hyphen, zero-width space, word joiner, invisible separator, bidi
embeddings, overrides and isolates, LRM/RLM, a BOM inside the text), C1 controls and private-use
characters (icon-font glyphs) draw nothing a reader reads, but they split or join words for the
filters, the deduplication (a copied article with a zero-width space in each word is new to
MinHash) and the tokenizer. They go without a break (`ex<SHY>ample` is `example`, as shown); ZWNJ
and ZWJ stay: they spell Persian and Indic words and join emoji. A base character keeps at most 30
combining marks (Unicode's stream-safe limit, UAX #15): more only stack into "zalgo" text, and one
`a` with a million accents was a paragraph of 2 MB.
"""

from __future__ import annotations

import re

_INVISIBLE = ("\u0080-\u009f\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
              "\ufff9-\ufffb\ue000-\uf8ff\U000f0000-\U0010ffff")
_MAX_MARKS = 30
# The combining-mark blocks used to stack marks on any letter (script-specific marks come one to a
# few per letter: virama, vowel signs, harakat, niqqud)
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]+")
_OVER_CAP_RE = re.compile(f"[{_MARKS}]{{{_MAX_MARKS + 1}}}")
_MARK_RUN_RE = re.compile(f"([{_MARKS}]{{{_MAX_MARKS}}})[{_MARKS}]+")
# A character of either step: one scan of a text that holds none (almost all), not one per step.
_ANY_RE = re.compile(f"[{_INVISIBLE}{_MARKS}]")


def visible(text: str) -> str:
    """`text` without what draws nothing and with combining-mark runs capped (see the module
    docstring); ASCII text is returned as it is, unscanned."""
    if text.isascii() or _ANY_RE.search(text) is None:
        return text
    text = _INVISIBLE_RE.sub("", text)
    return _MARK_RUN_RE.sub(r"\1", text) if _OVER_CAP_RE.search(text) else text  # a search is cheaper than a sub
