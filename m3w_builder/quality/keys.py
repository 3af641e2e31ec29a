"""The small stand-in of a document that corpus-level decisions run on.

Dedup decisions (URL, near-duplicate, image set, site-wide paragraphs) need a few hundred bytes
per document, never its text or media: the job writes each document once to an intermediate
file and moves only its `DocKeys` through the shuffles, so no stage's memory grows with the size
of the pages. `store` and `position` say where the document itself waits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from m3w_builder.document import Document
from m3w_builder.quality.urlkeys import site_of


@dataclass(frozen=True)
class DocKeys:
    """What the dedup rules read of one document, and where the document is stored."""

    doc_id: str
    url: str
    fetch_time: str
    source: str
    store: str = ""
    position: int = -1
    site: str = ""
    media_urls: tuple[str, ...] = ()
    sample_hash: int = 0  # orders documents for the tokenizer sample, independent of bundles
    signature: bytes | None = None  # MinHash signature (uint32 values), None when not computed
    image_set: bytes | None = None  # digest of the media URL set, None below the size that counts
    paragraphs: tuple[bytes, ...] = ()  # distinct paragraph keys, sorted
    strip: frozenset[bytes] = field(default_factory=frozenset)  # paragraphs found site-wide: removed later


def base_keys(doc: Document) -> DocKeys:
    """The keys every document has (the optional ones are added by their dedup step)."""
    digest = hashlib.sha256(doc.doc_id.encode("utf-8", "surrogatepass")).digest()
    return DocKeys(doc_id=doc.doc_id, url=doc.url, fetch_time=doc.fetch_time, source=doc.source,
                   site=site_of(doc.url), media_urls=tuple(m.src for m in doc.media),
                   sample_hash=int.from_bytes(digest[:8], "big"))
