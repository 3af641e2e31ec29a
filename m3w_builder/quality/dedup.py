"""Dedup keys and survivor rules, pure functions the Beam quality stages group and join with.

Survivors are deterministic, independent of runner, bundling and input order:
- URL dedup keeps the latest `fetch_time`, ties to the smallest `doc_id`;
- near-duplicates: a document is dropped when a verified near-duplicate (signature Jaccard ≥
  threshold) has a smaller `doc_id`. One round, no iteration: the smallest id of every duplicate
  cluster survives and no two survivors are verified duplicates of each other; in a chain
  a~b~c (a and c not similar) both b and c go, c being still ≥ 2t-1 similar to a;
- image-set dedup keeps the smallest `doc_id` of each set of image URLs;
- copies with the same `doc_id` (same URL, same content): the latest capture is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timezone

from m3w_builder.document import Document, TextNode


def capture_time(value: str) -> float:
    """Seconds since the epoch of an ISO 8601 or 14-digit WARC/ARC date; -inf if unreadable."""
    try:
        if len(value) == 14 and value.isdigit():
            parsed = datetime.strptime(value, "%Y%m%d%H%M%S")
        else:
            parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return float("-inf")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def capture_order(doc: Document) -> tuple[float, str]:
    """Sort key putting the latest capture first."""
    return (-capture_time(doc.fetch_time), doc.source)


def url_losers(captures: Iterable[tuple[float, str]]) -> Iterator[tuple[str, str]]:
    """(loser, winner) doc ids among the (capture time, doc_id) captures of one normalised URL."""
    ranked = sorted(set(captures), key=lambda e: (-e[0], e[1]))
    winner = ranked[0][1]
    for _, doc_id in ranked[1:]:
        if doc_id != winner:
            yield doc_id, winner


def candidate_pairs(ids: Iterable[str], max_candidates: int) -> Iterator[tuple[str, str]]:
    """(smaller, larger) id pairs of one LSH bucket: each id with the at most `max_candidates` ids
    just below it. That bounds both the pairs of a huge exact-duplicate bucket and the fan-in:
    no id is paired with more than `max_candidates` larger ones, so no worker gathers the
    signatures of a whole cluster at its smallest id."""
    ordered = sorted(set(ids))
    for i, larger in enumerate(ordered[1:], start=1):
        for smaller in ordered[max(0, i - max_candidates): i]:
            yield smaller, larger


def image_set_key(doc: Document, min_images: int = 1) -> bytes | None:
    """Digest of the set of a document's media URLs; None with fewer than `min_images` distinct
    URLs (a single shared image is usually a site logo and says nothing about the content)."""
    urls = {m.src for m in doc.media}
    if len(urls) < max(min_images, 1):
        return None
    return hashlib.blake2b("\n".join(sorted(urls)).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def smallest_wins(ids: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(loser, winner) for every id of a group but the smallest."""
    ordered = sorted(set(ids))
    for doc_id in ordered[1:]:
        yield doc_id, ordered[0]


PARAGRAPH_KEY_BYTES = 8  # digest size of `paragraph_key`


def paragraph_key(text: str) -> bytes | None:
    """Digest of a paragraph after whitespace and case normalisation (None when blank)."""
    norm = " ".join(text.split()).casefold()
    return hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=PARAGRAPH_KEY_BYTES).digest() if norm else None


def paragraph_keys(doc: Document) -> set[bytes]:
    """The distinct paragraph keys of a document's text nodes."""
    return {paragraph_key(n.text) for n in doc.nodes if isinstance(n, TextNode)} - {None}


def strip_paragraphs(doc: Document, remove: set[bytes]) -> tuple[Document, int]:
    """`doc` without the paragraphs whose key is in `remove`, and how many went."""
    if not remove:
        return doc, 0
    nodes = [n for n in doc.nodes if not (isinstance(n, TextNode) and paragraph_key(n.text) in remove)]
    return replace(doc, nodes=nodes), len(doc.nodes) - len(nodes)


def has_text(doc: Document) -> bool:
    """Whether any text node holds more than whitespace."""
    return any(isinstance(n, TextNode) and n.text.strip() for n in doc.nodes)
