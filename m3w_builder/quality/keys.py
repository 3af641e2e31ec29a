"""The small stand-in of a document that corpus-level decisions run on.

Dedup decisions (URL, near-duplicate, image set, site-wide paragraphs) need a few hundred bytes
per document, never its text or media: the job writes each document once to an intermediate
file and moves only its `DocKeys` through the shuffles, so no stage's memory grows with the size
of the pages. `store` and `position` say where the document itself waits.

The keys are compact on purpose (the local runner holds every shuffled value in the launcher):
media URLs travel as 8-byte hashes (`url_key`), paragraph keys as one byte string, doc ids in the
per-band and per-paragraph groups as 16 bytes (`compact_id`), and a `DocKeys` pickles as a plain
tuple of its values (no field names).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields

from m3w_builder.document import Document
from m3w_builder.quality.dedup import PARAGRAPH_KEY_BYTES
from m3w_builder.quality.urlkeys import site_of

_HEX = frozenset("0123456789abcdef")


def url_key(url: str) -> int:
    """A media URL as a signed 64-bit hash: what reference counts and record routing are keyed by
    (a collision merges two URLs' reference counts; record routing compares the full URL)."""
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def compact_id(doc_id: str) -> bytes | str:
    """A doc_id as the shuffles that group by other keys carry it: the 16 bytes of a 32-hex id
    (`make_doc_id`), any other id as it is; `full_id` gives it back exactly."""
    if len(doc_id) == 32 and all(c in _HEX for c in doc_id):
        return bytes.fromhex(doc_id)
    return doc_id


def full_id(value: bytes | str) -> str:
    return value.hex() if isinstance(value, bytes) else value


def pack_paragraphs(keys: set[bytes]) -> bytes:
    """Distinct paragraph keys, sorted and concatenated."""
    return b"".join(sorted(keys))


def unpack_paragraphs(packed: bytes) -> list[bytes]:
    n = PARAGRAPH_KEY_BYTES
    return [packed[i: i + n] for i in range(0, len(packed), n)]


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
    media_urls: tuple[int, ...] = ()  # `url_key` of every media node, in document order
    sample_hash: int = 0  # orders documents for the tokenizer sample, independent of bundles
    signature: bytes | None = None  # MinHash signature (uint32 values), None when not computed
    image_set: bytes | None = None  # digest of the media URL set, None below the size that counts
    paragraphs: bytes = b""  # distinct paragraph keys (`pack_paragraphs`)
    strip: frozenset[bytes] = field(default_factory=frozenset)  # paragraphs found site-wide: removed later

    def __reduce__(self):
        return DocKeys, tuple(getattr(self, name) for name in _FIELDS)


_FIELDS = tuple(f.name for f in fields(DocKeys))


def base_keys(doc: Document) -> DocKeys:
    """The keys every document has (the optional ones are added by their dedup step)."""
    digest = hashlib.sha256(doc.doc_id.encode("utf-8", "surrogatepass")).digest()
    return DocKeys(doc_id=doc.doc_id, url=doc.url, fetch_time=doc.fetch_time, source=doc.source,
                   site=site_of(doc.url), media_urls=tuple(url_key(m.src) for m in doc.media),
                   sample_hash=int.from_bytes(digest[:8], "big"))
