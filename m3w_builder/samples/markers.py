"""Marker text (DESIGN §3): `T0<EOC><image>T1<EOC><image>T2<EOC>`, with forged markers neutralised.

`<EOC>` goes before every media node (except one at the very start: no empty first chunk) and at
the end of the document. A video is one media item and gets one `<image>` marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from m3w_builder.document import Document, TextNode

IMAGE_TOKEN = "<image>"
EOC_TOKEN = "<EOC>"
_FORGED_RE = re.compile(r"<\s*(image|eoc)\s*>", re.IGNORECASE)


def neutralise(text: str) -> str:
    """Rewrite literal marker look-alikes in page text so no page can forge a marker."""
    return _FORGED_RE.sub(lambda m: f"\u2039{m.group(1)}\u203a", text)


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
