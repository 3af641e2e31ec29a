"""Marker text (DESIGN §3): `T0<EOC><image>T1<EOC><image>T2<EOC>`, with forged markers neutralised.

`<EOC>` goes before every media node (except one at the very start: no empty first chunk) and at
the end of the document. A video is one media item and gets one `<image>` marker.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from m3w_builder.document import Document, TextNode

IMAGE_TOKEN = "<image>"
EOC_TOKEN = "<EOC>"
_FORGED_RE = re.compile(r"<\s*(image|eoc)\s*>", re.IGNORECASE)
_OPENERS = re.compile("[<\ufe64\uff1c]")  # the only characters NFKC turns into "<"
# What sentencepiece's `nmt_nfkc` normaliser deletes on top of NFKC: C0/C1 control characters
# (measured against `SentencePieceNormalizer(rule_name="nmt_nfkc")` over every code point).
_DELETED = dict.fromkeys([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, 0x8F, 0x9F])


def fold(text: str) -> str:
    """`text` as the tokenizer's normaliser sees it: NFKC (`＜ｉｍａｇｅ＞` → `<image>`), control
    characters deleted (`<ima\\x01ge>` → `<image>`)."""
    return unicodedata.normalize("NFKC", text).translate(_DELETED)


def neutralise(text: str) -> str:
    """Rewrite marker look-alikes so no page, alt text, caption or title can forge a marker.

    Markers are looked for in the normalised form (`fold`), because that is what sentencepiece
    encodes; text without a look-alike is returned unchanged, text with one is returned folded
    with each look-alike rewritten as `‹image›` / `‹EOC›` (angle quotations stay themselves under
    NFKC). Models that tokenize captions themselves call this too (`model/data.py`)."""
    if not _OPENERS.search(text):
        return text
    folded = fold(text)
    if not _FORGED_RE.search(folded):
        return text
    return _FORGED_RE.sub(lambda m: f"\u2039{m.group(1)}\u203a", folded)


@dataclass(frozen=True)
class Segment:
    """One piece of a rendered document: text, a media marker (with its media index) or an EOC."""

    kind: str  # "text" | "media" | "eoc"
    text: str = ""
    media_index: int = -1


def render_segments(doc: Document) -> list[Segment]:
    """The document as text chunks, media markers and EOCs, in order."""
    segments: list[Segment] = []
    paragraphs: list[str] = []
    media_index = 0

    def close_text() -> None:
        if paragraphs:
            segments.append(Segment("text", neutralise("\n".join(paragraphs))))
            paragraphs.clear()

    for node in doc.nodes:
        if isinstance(node, TextNode):
            paragraphs.append(node.text)
            continue
        close_text()
        if segments:
            segments.append(Segment("eoc"))
        segments.append(Segment("media", media_index=media_index))
        media_index += 1
    close_text()
    if segments:
        segments.append(Segment("eoc"))
    return segments


def render_text(doc: Document) -> str:
    """The document's marker text as one string."""
    pieces = []
    for seg in render_segments(doc):
        pieces.append(seg.text if seg.kind == "text" else IMAGE_TOKEN if seg.kind == "media" else EOC_TOKEN)
    return "".join(pieces)
