"""Corpus-level quality: the per-document steps the M3W job runs inside its document pass
(text-only pre-pass, opt-out, language, dedup keys) and the dedup decisions it takes over the
documents' small `DocKeys` (URL, near-duplicate, image-set, per-site paragraphs).

Per-document work runs in `LibraryStage`s (counted `stage/kept`, `stage/<reason>`, faults
isolated). Decisions use the pure rules of `m3w_builder.quality.dedup` over keyed values
(normalised URLs, ids, MinHash signatures, paragraph and image-set hashes) and join back onto the
`DocKeys` by `doc_id`: a document's text and media never move. A key that cannot be computed
(`<stage>_keys/error_<Type>`) leaves its document out of that dedup step. Every decision
transform returns `{"docs": PCollection[DocKeys], "rejects": PCollection}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems

from m3w_builder.document import Document
from m3w_builder.drops import Rejected
from m3w_builder.quality import dedup, minhash
from m3w_builder.quality.blocklist import BlockList
from m3w_builder.quality.keys import DocKeys, base_keys, pack_paragraphs, unpack_paragraphs
from m3w_builder.quality.language import detect_language
from m3w_builder.quality.options import QualityOptions
from m3w_builder.quality.prepass import PrepassConfig, prepass_reason
from m3w_builder.quality.urlkeys import normalize_url
from pipelines.metrics import REJECTS, count
from pipelines.stages import (
    Counts,
    Dropped,
    Forward,
    Kept,
    LibraryStage,
    apply,
    error_detail,
    error_reason,
)

PREPASS = "prepass"
OPTOUT = "optout"
LANGUAGE = "language"
URL_DEDUP = "url_dedup"
NEAR_DUP = "near_dup"
IMAGE_SET_DEDUP = "image_set_dedup"
PARAGRAPH_DEDUP = "paragraph_dedup"

Outputs = dict[str, beam.PCollection]


def load_blocklist(paths: Sequence[str]) -> BlockList:
    """Read block-list files (any Beam filesystem path) into one `BlockList`."""
    lines: list[str] = []
    for path in paths:
        with FileSystems.open(path) as handle:
            lines.extend(handle.read().decode("utf-8").splitlines())
    return BlockList.from_lines(lines)


def _split(result: beam.pvalue.DoOutputsTuple, key_rejects: beam.PCollection | None = None) -> Outputs:
    rejects = result[REJECTS]
    if key_rejects is not None:
        rejects = (key_rejects, rejects) | "AllRejects" >> beam.Flatten()
    return {"docs": result.out, "rejects": rejects}


def _keys(pcoll: beam.PCollection, label: str, stage: str,
          fn: Callable[[Any], Iterator[Any]]) -> tuple[beam.PCollection, beam.PCollection]:
    """Dedup keys of every document, computed fault-isolated (`<stage>_keys/error_<Type>`): the
    keys and the rejects rows of the documents whose key failed."""
    keyed = apply(pcoll, label, LibraryStage(f"{stage}_keys", lambda d: (Forward(k) for k in fn(d)), many=True))
    return keyed.out, keyed[REJECTS]


class KeepById:
    """Stage function: (doc_id, {doc, drop}) → the latest capture unless a drop decision names it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self, element: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        doc_id, groups = element
        copies = sorted(groups["doc"], key=dedup.capture_order)
        winners = sorted(groups["drop"])  # decisions are keyed by loser, valued by the survivor
        for i, doc in enumerate(copies):
            if winners or i > 0:
                yield Dropped(self.reason, doc_id, doc.url, f"kept {winners[0] if winners else doc_id}")
            else:
                yield doc


class _DropByIds(beam.PTransform):
    """Join `(doc_id, winner)` drop decisions back onto `(docs, decisions, key rejects)` by doc_id."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__()
        self.stage, self.reason = stage, reason

    def expand(self, pcolls: tuple[beam.PCollection, beam.PCollection, beam.PCollection]) -> Outputs:
        docs, decisions, key_rejects = pcolls
        keyed = docs | "KeyById" >> beam.Map(lambda d: (d.doc_id, d))
        joined = {"doc": keyed, "drop": decisions} | "JoinById" >> beam.CoGroupByKey()
        return _split(apply(joined, "Decide", LibraryStage(self.stage, KeepById(self.reason), many=True)), key_rejects)


class UrlDedup(beam.PTransform):
    """One document per normalised URL (`urlkeys.normalize_url`): the latest capture."""

    def expand(self, docs: beam.PCollection) -> Outputs:
        def url_key(doc: Document) -> Iterator[tuple[str, tuple[float, str]]]:
            yield normalize_url(doc.url), (dedup.capture_time(doc.fetch_time), doc.doc_id)

        keys, key_rejects = _keys(docs, "KeyByUrl", URL_DEDUP, url_key)
        decisions = (
            keys
            | "GroupByUrl" >> beam.GroupByKey()
            | "Losers" >> beam.FlatMap(lambda kv: dedup.url_losers(kv[1]))
        )
        return (docs, decisions, key_rejects) | _DropByIds(URL_DEDUP, "url_duplicate")


class NearDupDedup(beam.PTransform):
    """MinHash LSH near-duplicate removal (survivor rule in `m3w_builder.quality.dedup`).

    Signatures are computed once; `(band_key, doc_id)` pairs are grouped per band bucket; each
    document of a bucket is paired with at most `max_candidates` smaller ids of that bucket (the
    smallest ones), bounding the pairs of huge exact-duplicate buckets; candidate pairs are
    deduplicated, joined with both signatures and kept when their estimated Jaccard ≥ `threshold`.
    """

    def __init__(
        self,
        threshold: float = 0.8,
        params: minhash.MinHashParams | None = None,
        max_candidates: int = 32,
    ) -> None:
        super().__init__()
        self.threshold, self.max_candidates = threshold, max_candidates
        self.params = params or minhash.MinHashParams()

    def expand(self, docs: beam.PCollection) -> Outputs:
        params, threshold, max_candidates = self.params, self.threshold, self.max_candidates

        def bucket_pairs(element: tuple[bytes, Iterable[str]]) -> Iterable[tuple[str, str]]:
            for pair in dedup.candidate_pairs(element[1], max_candidates):
                count(NEAR_DUP, "n_candidate_pairs")
                yield pair

        def with_larger_sig(
            element: tuple[str, dict[str, Iterable[Any]]],
        ) -> Iterable[tuple[str, tuple[str, bytes]]]:
            larger, groups = element
            sig = next(iter(groups["sig"]), None)
            if sig is not None:
                for smaller in groups["smaller"]:
                    yield smaller, (larger, sig)

        def verify(element: tuple[str, dict[str, Iterable[Any]]]) -> Iterable[tuple[str, str]]:
            smaller, groups = element
            sig = next(iter(groups["sig"]), None)
            if sig is None:
                return
            sig_a = np.frombuffer(sig, dtype=np.uint32)
            for larger, sig_b in groups["larger"]:
                if minhash.jaccard(sig_a, np.frombuffer(sig_b, dtype=np.uint32)) >= threshold:
                    count(NEAR_DUP, "n_verified_pairs")
                    yield larger, smaller

        sigs, key_rejects = _keys(docs, "Signature", NEAR_DUP,
                                  lambda d: iter([(d.doc_id, d.signature)] if d.signature is not None else []))
        pairs = (
            sigs
            | "BandKeys"
            >> beam.FlatMap(
                lambda kv: [
                    (k, kv[0]) for k in minhash.band_keys(np.frombuffer(kv[1], dtype=np.uint32), params)
                ]
            )
            | "GroupBands" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.FlatMap(bucket_pairs)
            | "DistinctPairs" >> beam.Distinct()
        )
        by_larger = {"sig": sigs, "smaller": pairs | "KeyByLarger" >> beam.Map(lambda p: (p[1], p[0]))}
        halves = (
            by_larger | "JoinLarger" >> beam.CoGroupByKey() | "LargerSig" >> beam.FlatMap(with_larger_sig)
        )
        decisions = (
            {"sig": sigs, "larger": halves}
            | "JoinSmaller" >> beam.CoGroupByKey()
            | "Verify" >> beam.FlatMap(verify)
        )
        shed = docs | "ShedSignature" >> beam.Map(lambda d: replace(d, signature=None))  # read: not carried on
        return (shed, decisions, key_rejects) | _DropByIds(NEAR_DUP, "near_duplicate")


class ImageSetDedup(beam.PTransform):
    """Documents whose set of image/video URLs equals another's: the smallest doc_id is kept.

    Only documents with at least `image_set_min_images` distinct media URLs have the key
    (`image_set_keys`): a single shared image is usually a site logo and says nothing about the content.
    """

    def expand(self, docs: beam.PCollection) -> Outputs:
        def keyed(keys: DocKeys) -> Iterator[tuple[bytes, str]]:
            if keys.image_set is not None:
                yield keys.image_set, keys.doc_id

        keys, key_rejects = _keys(docs, "KeyByImageSet", IMAGE_SET_DEDUP, keyed)
        decisions = (
            keys
            | "GroupSets" >> beam.GroupByKey()
            | "Losers" >> beam.FlatMap(lambda kv: dedup.smallest_wins(kv[1]))
        )
        shed = docs | "ShedImageSet" >> beam.Map(lambda d: replace(d, image_set=None))
        return (shed, decisions, key_rejects) | _DropByIds(IMAGE_SET_DEDUP, "image_set_duplicate")


class DomainParagraphDedup(beam.PTransform):
    """Find the paragraphs found in ≥ `min_docs` documents of the same site (host without `www.`):
    navigation, footers, cookie banners. Each document's `DocKeys.strip` gets its repeated
    paragraphs; the document pass that loads the text removes them (`strip_stage`)."""

    def __init__(self, min_docs: int = 3) -> None:
        super().__init__()
        self.min_docs = min_docs

    def expand(self, docs: beam.PCollection) -> Outputs:
        min_docs = self.min_docs

        def occurrences(keys: DocKeys) -> Iterator[tuple[tuple[str, bytes], str]]:
            for key in unpack_paragraphs(keys.paragraphs):
                yield (keys.site, key), keys.doc_id

        def repeated(element: tuple[tuple[str, bytes], Iterable[str]]) -> Iterable[tuple[str, bytes]]:
            ids = set(element[1])
            if len(ids) >= min_docs:
                for doc_id in ids:
                    yield doc_id, element[0][1]

        def mark(element: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
            _doc_id, groups = element
            remove = frozenset(groups["remove"])
            for keys in groups["doc"]:  # the paragraph keys are read: only the strip set goes on
                yield Forward(replace(keys, strip=remove, paragraphs=b""))

        keys, key_rejects = _keys(docs, "Paragraphs", PARAGRAPH_DEDUP, occurrences)
        hits = (
            keys
            | "GroupParagraphs" >> beam.GroupByKey()
            | "Repeated" >> beam.FlatMap(repeated)
        )
        keyed = docs | "KeyById" >> beam.Map(lambda d: (d.doc_id, d))
        joined = {"doc": keyed, "remove": hits} | "JoinById" >> beam.CoGroupByKey()
        return _split(apply(joined, "Mark", LibraryStage(PARAGRAPH_DEDUP, mark, many=True)), key_rejects)


def strip_paragraphs(item: tuple[Document, DocKeys]) -> Iterator[Any]:
    """Stage function (`paragraph_dedup`, in the document pass): remove the site-wide paragraphs
    found for this document; one left without text is dropped (`no_text_left`); removed
    paragraphs are counted as `paragraph_dedup/n_paragraphs_removed`."""
    doc, keys = item
    kept, removed = dedup.strip_paragraphs(doc, set(keys.strip))
    if not dedup.has_text(kept):
        yield Counts(volumes={"paragraphs_removed": removed})
        raise Rejected("no_text_left", f"{removed} site-wide paragraphs removed")
    yield Kept(kept, volumes={"paragraphs_removed": removed})


class DetectLanguage:
    """Stage function: detect a document's language (sets `Document.language`, counts
    `language/n_<code>`); drop languages outside `allow` (`not_allowed`) and scores below
    `min_score` (`low_score`)."""

    def __init__(self, allow: Sequence[str] = (), min_score: float = 0.0) -> None:
        self.allow, self.min_score = frozenset(allow), min_score

    def __call__(self, doc: Document) -> Iterator[Any]:
        lang, score = detect_language(doc.text)
        yield Counts(volumes={lang: 1})  # `language/n_<code>`: detected languages, for the report
        if self.allow and lang not in self.allow:
            raise Rejected("not_allowed", lang)
        if score < self.min_score:
            raise Rejected("low_score", f"{lang} {score:.3f} < {self.min_score}")
        yield replace(doc, language=lang)


class AddKey:
    """Stage function over (document, keys): set one optional dedup key. A key that cannot be
    computed is counted (`<stage>_keys/error_<Type>` + a rejects row) and the document goes on
    without it, left out of that one dedup step."""

    def __init__(self, name: str, compute: Callable[[Document], Any]) -> None:
        self.name, self.compute = name, compute

    def __call__(self, item: tuple[Document, DocKeys]) -> Iterator[Any]:
        doc, keys = item
        try:
            value = self.compute(doc)
        except Exception as error:  # noqa: BLE001 - the document goes on without this key
            yield Dropped(error_reason(error), doc.doc_id, doc.url, error_detail(error), carry=item)
            return
        yield Forward((doc, replace(keys, **{self.name: value})))


def _signature(params: minhash.MinHashParams) -> Callable[[Document], bytes]:
    return lambda doc: minhash.signature(doc.text, params).tobytes()


def _image_set(min_images: int) -> Callable[[Document], bytes | None]:
    return lambda doc: dedup.image_set_key(doc, min_images)


def _paragraphs(doc: Document) -> bytes:
    return pack_paragraphs(dedup.paragraph_keys(doc))


def with_keys(doc: Document) -> Forward:
    """Stage function: a document → (document, its `DocKeys`)."""
    return Forward((doc, base_keys(doc)))


def document_stages(o: QualityOptions) -> list[LibraryStage]:
    """The per-document quality steps, in the order the document pass runs them: block lists →
    language → the dedup keys the enabled decisions need."""
    stages = []
    if o.blocklist:
        stages.append(LibraryStage(OPTOUT, BlockListCheck(o.blocklist)))
    if o.language_id:
        stages.append(LibraryStage(LANGUAGE, DetectLanguage(o.language_list, o.min_language_score), many=True))
    stages.append(LibraryStage("document_keys", with_keys))
    keys = [(o.near_dup, NEAR_DUP, "signature", lambda: _signature(o.minhash_params())),
            (o.image_set_dedup, IMAGE_SET_DEDUP, "image_set", lambda: _image_set(o.image_set_min_images)),
            (o.paragraph_dedup, PARAGRAPH_DEDUP, "paragraphs", lambda: _paragraphs)]
    for enabled, stage, field_name, make in keys:
        if enabled:
            stages.append(LibraryStage(f"{stage}_keys", AddKey(field_name, make()), many=True))
    return stages


class _BlockListed:
    """Loads the block lists once per worker (they may be large: not pickled into the graph)."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        self.blocklist = BlockList()

    def setup(self) -> None:
        self.blocklist = load_blocklist(self.paths)


class BlockListCheck(_BlockListed):
    """Stage function: a document whose URL is on a block list is rejected."""

    def __call__(self, doc: Document) -> Document:
        reason = self.blocklist.match(doc.url)
        if reason:
            raise Rejected(reason, doc.url)
        return doc


class PrepassCheck(_BlockListed):
    """Stage function: block lists and the text-only rules on a raw page record."""

    def __init__(self, config: PrepassConfig, html_of: Callable, url_of: Callable, headers_of: Callable | None,
                 paths: Sequence[str]) -> None:
        super().__init__(paths)
        self.config, self.html_of, self.url_of, self.headers_of = config, html_of, url_of, headers_of

    def __call__(self, record: Any) -> Iterator[Any]:
        page, url = self.html_of(record), self.url_of(record)
        headers = self.headers_of(record) if self.headers_of else None
        reason = self.blocklist.match(url) or prepass_reason(page, self.config, headers)
        if reason:
            yield Counts(volumes={"bytes_in": len(page), "bytes_skipped": len(page)})
            raise Rejected(reason, url)
        yield Kept(record, volumes={"bytes_in": len(page)})


def prepass_stage(config: PrepassConfig, html_of: Callable[[Any], bytes], url_of: Callable[[Any], str],
                  headers_of: Callable[[Any], Any] | None = None, blocklist_paths: Sequence[str] = ()) -> LibraryStage:
    """The text-only pre-pass over raw page records, before DOM extraction and media.

    `html_of`, `url_of` and optional `headers_of` read a record (whatever the reader emits).
    Counts `prepass/kept`, the drop reasons, and `prepass/n_bytes_in` / `n_bytes_skipped`: the
    HTML bytes that never reach the DOM extractor, the saving shown in the report.
    """
    return LibraryStage(PREPASS, PrepassCheck(config, html_of, url_of, headers_of, blocklist_paths), many=True,
                        ident=lambda r: (url_of(r), url_of(r)))


class QualityStage(beam.PTransform):
    """The dedup decisions over `DocKeys`, cheapest and most selective first:
    URL dedup → near-dup → image-set dedup → per-site paragraphs.

    Paragraph dedup runs last on purpose: run before near-dup it would strip the shared content
    of a domain's duplicate pages from every copy. Returns `{"docs", "rejects"}`.
    """

    def __init__(self, options: QualityOptions) -> None:
        super().__init__()
        self.options = options

    def steps(self) -> list[tuple[str, beam.PTransform]]:
        o = self.options
        candidates = [
            ("UrlDedup", o.url_dedup, UrlDedup),
            ("NearDup", o.near_dup, lambda: NearDupDedup(o.near_dup_threshold, o.minhash_params())),
            ("ImageSetDedup", o.image_set_dedup, ImageSetDedup),
            ("ParagraphDedup", o.paragraph_dedup, lambda: DomainParagraphDedup(o.paragraph_min_docs)),
        ]
        return [(name, make()) for name, enabled, make in candidates if enabled]

    def expand(self, docs: beam.PCollection) -> Outputs:
        rejects = []
        for name, step in self.steps():
            out = docs | name >> step
            docs = out["docs"]
            rejects.append(out["rejects"])
        if not rejects:
            rejects.append(docs.pipeline | "NoRejects" >> beam.Create([]))
        return {"docs": docs, "rejects": tuple(rejects) | "FlattenRejects" >> beam.Flatten()}
