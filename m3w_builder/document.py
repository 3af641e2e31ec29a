"""The document model (DESIGN §2): a web page after extraction, as ordered text/image/video nodes.

Plain dataclasses that round-trip through JSON (`to_dict`/`from_dict`), so every stage and every
runner can move them; the JSON form is the versioned schema `schemas/document.v1.json`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Union

SCHEMA_VERSION = 1


@dataclass
class TextNode:
    """A paragraph-level string (block elements break paragraphs, inline ones do not)."""

    text: str
    type: str = "text"


@dataclass
class ImageNode:
    """An image in DOM position: resolved absolute `src`, alt text, nearby figcaption, and its class
    from the DOM (`content`, `teaser`, `logo`, `ad`, `outside`; see `extract/images.py`)."""

    src: str
    alt: str = ""
    caption: str = ""
    width: int | None = None
    height: int | None = None
    dom_path: str = ""
    image_class: str = ""
    type: str = "image"


@dataclass
class VideoNode:
    """A `<video>` in DOM position: resolved `src` (first playable source) and all sources."""

    src: str
    sources: list[str] = field(default_factory=list)
    poster: str = ""
    width: int | None = None
    height: int | None = None
    dom_path: str = ""
    type: str = "video"


Node = Union[TextNode, ImageNode, VideoNode]
_NODE_TYPES: dict[str, type] = {"text": TextNode, "image": ImageNode, "video": VideoNode}


@dataclass
class Document:
    """One page: identity, provenance and ordered nodes."""

    doc_id: str
    url: str
    nodes: list[Node]
    fetch_time: str = ""
    source: str = ""
    language: str = ""
    title: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def media(self) -> list[ImageNode | VideoNode]:
        """Image and video nodes in DOM order."""
        return [n for n in self.nodes if not isinstance(n, TextNode)]

    @property
    def text(self) -> str:
        """All paragraph text joined by newlines (for filters and language id)."""
        return "\n".join(n.text for n in self.nodes if isinstance(n, TextNode))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Document":
        nodes = []
        for raw in data["nodes"]:
            node_cls = _NODE_TYPES[raw["type"]]
            nodes.append(node_cls(**raw))
        fields = {k: v for k, v in data.items() if k != "nodes"}
        return cls(nodes=nodes, **fields)


def make_doc_id(url: str, nodes: list[Node]) -> str:
    """Stable id: sha256 of the URL and a digest of the content, 32 hex chars (no dots)."""
    content = hashlib.sha256()
    for node in nodes:
        payload = node.text if isinstance(node, TextNode) else node.src
        content.update(node.type.encode() + b"\0" + payload.encode("utf-8", "surrogatepass") + b"\0")
    return hashlib.sha256(url.encode("utf-8", "surrogatepass") + b"\0" + content.digest()).hexdigest()[:32]
