"""Corpus-level quality as Beam transforms: opt-out, language, URL / near-duplicate / image-set
dedup, per-domain paragraph dedup, and the text-only pre-pass that runs before extraction.

Every transform over documents returns `{"docs": PCollection[Document], "rejects": PCollection}`;
each dropped document is counted as `stage/reason` and emitted as a rejects row
(`pipelines.metrics.drop`). Dedup decisions are computed from small keyed values (normalised URLs,
ids, MinHash signatures, paragraph and image-set hashes); only the final join by `doc_id`
(`CoGroupByKey`) moves whole documents, once per dedup stage.

Survivors are deterministic, independent of runner, bundling and input order:
- URL dedup keeps the latest `fetch_time`, ties to the smallest `doc_id`;
- near-duplicates: a document is dropped when a verified near-duplicate (signature Jaccard ≥
  threshold) has a smaller `doc_id`. One round, no iteration: the smallest id of every duplicate
  cluster survives and no two survivors are verified duplicates of each other; in a chain
  a~b~c (a and c not similar) both b and c go, c being still ≥ 2t-1 similar to a;
- image-set dedup keeps the smallest `doc_id` of each set of image URLs.
Documents with the same `doc_id` (same URL, same content) are exact copies: the latest capture
is kept and the others dropped with the stage's reason.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems

from m3w_builder.document import Document, TextNode
from m3w_builder.quality import minhash
from m3w_builder.quality.blocklist import BlockList
from m3w_builder.quality.language import detect_language
from m3w_builder.quality.prepass import PrepassConfig, prepass_reason
from m3w_builder.quality.urlkeys import normalize_url, site_of
from pipelines.metrics import REJECTS, count, drop

PREPASS = "prepass"
OPTOUT = "optout"
LANGUAGE = "language"
LANG_COUNTS = "lang"  # `lang/<code>`: detected languages, for the report
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


def _timestamp(value: str) -> float:
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


def _capture_order(doc: Document) -> tuple[float, str]:
    """Sort key putting the latest capture first."""
    return (-_timestamp(doc.fetch_time), doc.source)


def _split(result: beam.pvalue.DoOutputsTuple) -> Outputs:
    return {"docs": result.docs, "rejects": result[REJECTS]}


class _DropByIds(beam.PTransform):
    """Join `(doc_id, any)` drop decisions back onto `(docs, decisions)` by doc_id."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__()
        self.stage, self.reason = stage, reason

    def expand(self, pcolls: tuple[beam.PCollection, beam.PCollection]) -> Outputs:
        docs, decisions = pcolls
        stage, reason = self.stage, self.reason

        def join(element: tuple[str, dict[str, Iterable[Any]]]) -> Iterable[Any]:
            doc_id, groups = element
            copies = sorted(groups["doc"], key=_capture_order)
            dropped = any(True for _ in groups["drop"])
            for i, doc in enumerate(copies):
                if dropped or i > 0:
                    yield drop(stage, reason, doc_id, doc.url)
                else:
                    count(stage, "kept")
                    yield doc

        keyed = docs | "KeyById" >> beam.Map(lambda d: (d.doc_id, d))
        joined = {"doc": keyed, "drop": decisions} | "JoinById" >> beam.CoGroupByKey()
        return _split(joined | "Decide" >> beam.FlatMap(join).with_outputs(REJECTS, main="docs"))


class UrlDedup(beam.PTransform):
    """One document per normalised URL (`urlkeys.normalize_url`): the latest capture."""

    def expand(self, docs: beam.PCollection) -> Outputs:
        def losers(element: tuple[str, Iterable[tuple[float, str]]]) -> Iterable[tuple[str, str]]:
            ranked = sorted(set(element[1]), key=lambda e: (-e[0], e[1]))
            winner = ranked[0][1]
            for _, doc_id in ranked[1:]:
                if doc_id != winner:
                    yield doc_id, winner

        decisions = (
            docs
            | "KeyByUrl" >> beam.Map(lambda d: (normalize_url(d.url), (_timestamp(d.fetch_time), d.doc_id)))
            | "GroupByUrl" >> beam.GroupByKey()
            | "Losers" >> beam.FlatMap(losers)
        )
        return (docs, decisions) | _DropByIds(URL_DEDUP, "url_duplicate")


class NearDupDedup(beam.PTransform):
    """MinHash LSH near-duplicate removal (survivor rule in the module docstring).

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
            ids = sorted(set(element[1]))
            for i, larger in enumerate(ids[1:], start=1):
                for smaller in ids[: min(i, max_candidates)]:
                    count(NEAR_DUP, "n_candidate_pairs")
                    yield smaller, larger

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

        sigs = docs | "Signature" >> beam.Map(
            lambda d: (d.doc_id, minhash.signature(d.text, params).tobytes())
        )
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
        return (docs, decisions) | _DropByIds(NEAR_DUP, "near_duplicate")


def image_set_key(doc: Document) -> bytes:
    """Digest of the set of a document's media URLs."""
    return hashlib.blake2b(
        "\n".join(sorted({m.src for m in doc.media})).encode("utf-8", "surrogatepass"), digest_size=16
    ).digest()


class ImageSetDedup(beam.PTransform):
    """Documents whose set of image/video URLs equals another's: the smallest doc_id is kept.

    Only documents with at least `min_images` distinct media URLs take part: a single shared
    image is usually a site logo and says nothing about the content.
    """

    def __init__(self, min_images: int = 2) -> None:
        super().__init__()
        self.min_images = min_images

    def expand(self, docs: beam.PCollection) -> Outputs:
        min_images = self.min_images

        def keyed(doc: Document) -> Iterable[tuple[bytes, str]]:
            if len({m.src for m in doc.media}) >= max(min_images, 1):
                yield image_set_key(doc), doc.doc_id

        def losers(element: tuple[bytes, Iterable[str]]) -> Iterable[tuple[str, str]]:
            ids = sorted(set(element[1]))
            for doc_id in ids[1:]:
                yield doc_id, ids[0]

        decisions = (
            docs
            | "KeyByImageSet" >> beam.FlatMap(keyed)
            | "GroupSets" >> beam.GroupByKey()
            | "Losers" >> beam.FlatMap(losers)
        )
        return (docs, decisions) | _DropByIds(IMAGE_SET_DEDUP, "image_set_duplicate")


def paragraph_key(text: str) -> bytes | None:
    """Digest of a paragraph after whitespace and case normalisation (None when blank)."""
    norm = " ".join(text.split()).casefold()
    return hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8).digest() if norm else None


class DomainParagraphDedup(beam.PTransform):
    """Remove paragraphs found in ≥ `min_docs` documents of the same site (host without `www.`):
    navigation, footers, cookie banners. A document left without text is dropped (`no_text_left`);
    removed paragraphs are counted as `paragraph_dedup/n_paragraphs_removed`."""

    def __init__(self, min_docs: int = 3) -> None:
        super().__init__()
        self.min_docs = min_docs

    def expand(self, docs: beam.PCollection) -> Outputs:
        min_docs = self.min_docs

        def occurrences(doc: Document) -> Iterable[tuple[tuple[str, bytes], str]]:
            keys = {paragraph_key(n.text) for n in doc.nodes if isinstance(n, TextNode)}
            site = site_of(doc.url)
            for key in keys - {None}:
                yield (site, key), doc.doc_id

        def repeated(element: tuple[tuple[str, bytes], Iterable[str]]) -> Iterable[tuple[str, bytes]]:
            ids = set(element[1])
            if len(ids) >= min_docs:
                for doc_id in ids:
                    yield doc_id, element[0][1]

        def strip(element: tuple[str, dict[str, Iterable[Any]]]) -> Iterable[Any]:
            doc_id, groups = element
            remove = set(groups["remove"])
            for doc in groups["doc"]:
                nodes = [
                    n for n in doc.nodes if not (isinstance(n, TextNode) and paragraph_key(n.text) in remove)
                ]
                if remove:
                    count(PARAGRAPH_DEDUP, "n_paragraphs_removed", len(doc.nodes) - len(nodes))
                if not any(isinstance(n, TextNode) and n.text.strip() for n in nodes):
                    yield drop(PARAGRAPH_DEDUP, "no_text_left", doc_id, doc.url)
                    continue
                count(PARAGRAPH_DEDUP, "kept")
                yield replace(doc, nodes=nodes) if remove else doc

        hits = (
            docs
            | "Paragraphs" >> beam.FlatMap(occurrences)
            | "GroupParagraphs" >> beam.GroupByKey()
            | "Repeated" >> beam.FlatMap(repeated)
        )
        keyed = docs | "KeyById" >> beam.Map(lambda d: (d.doc_id, d))
        joined = {"doc": keyed, "remove": hits} | "JoinById" >> beam.CoGroupByKey()
        return _split(joined | "Strip" >> beam.FlatMap(strip).with_outputs(REJECTS, main="docs"))


class LanguageFilter(beam.PTransform):
    """Detect each document's language (sets `Document.language`, counts `lang/<code>`); drop
    languages outside `allow` (`not_allowed`) and scores below `min_score` (`low_score`)."""

    def __init__(self, allow: Sequence[str] = (), min_score: float = 0.0) -> None:
        super().__init__()
        self.allow, self.min_score = frozenset(allow), min_score

    def expand(self, docs: beam.PCollection) -> Outputs:
        allow, min_score = self.allow, self.min_score

        def detect(doc: Document) -> Iterable[Any]:
            lang, score = detect_language(doc.text)
            count(LANG_COUNTS, lang)
            if allow and lang not in allow:
                yield drop(LANGUAGE, "not_allowed", doc.doc_id, doc.url)
            elif score < min_score:
                yield drop(LANGUAGE, "low_score", doc.doc_id, doc.url)
            else:
                count(LANGUAGE, "kept")
                yield replace(doc, language=lang)

        return _split(docs | "DetectLanguage" >> beam.FlatMap(detect).with_outputs(REJECTS, main="docs"))


class _BlockListFn(beam.DoFn):
    """Loads the block lists once per worker (they may be large: not pickled into the graph)."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        self.blocklist = BlockList()

    def setup(self) -> None:
        self.blocklist = load_blocklist(self.paths)


class _OptOutFn(_BlockListFn):
    def process(self, doc: Document) -> Iterable[Any]:
        reason = self.blocklist.match(doc.url)
        if reason:
            yield drop(OPTOUT, reason, doc.doc_id, doc.url)
        else:
            count(OPTOUT, "kept")
            yield doc


class OptOutFilter(beam.PTransform):
    """Drop documents whose URL is on a block list (`blocked_domain`, `blocked_url`). Page-level
    `noai` signals live in the raw page: `PrePassFilter` or `optout.apply_page_optout` in the
    extractor handle them."""

    def __init__(self, blocklist_paths: Sequence[str]) -> None:
        super().__init__()
        self.paths = list(blocklist_paths)

    def expand(self, docs: beam.PCollection) -> Outputs:
        return _split(
            docs | "BlockList" >> beam.ParDo(_OptOutFn(self.paths)).with_outputs(REJECTS, main="docs")
        )


class _PrepassFn(_BlockListFn):
    def __init__(
        self,
        config: PrepassConfig,
        html_of: Callable,
        url_of: Callable,
        headers_of: Callable | None,
        paths: Sequence[str],
    ) -> None:
        super().__init__(paths)
        self.config, self.html_of, self.url_of, self.headers_of = config, html_of, url_of, headers_of

    def process(self, record: Any) -> Iterable[Any]:
        page, url = self.html_of(record), self.url_of(record)
        headers = self.headers_of(record) if self.headers_of else None
        count(PREPASS, "n_bytes_in", len(page))
        reason = self.blocklist.match(url) or prepass_reason(page, self.config, headers)
        if reason:
            count(PREPASS, "n_bytes_skipped", len(page))
            yield drop(PREPASS, reason, url, url)
        else:
            count(PREPASS, "kept")
            yield record


class PrePassFilter(beam.PTransform):
    """Text-only pre-pass over raw page records, before DOM extraction and media.

    `html_of`, `url_of` and optional `headers_of` read a record (whatever the reader emits).
    Counts `prepass/kept`, the drop reasons, and `prepass/n_bytes_in` / `n_bytes_skipped`: the
    HTML bytes that never reach the DOM extractor, the saving shown in the report.
    """

    def __init__(
        self,
        config: PrepassConfig,
        html_of: Callable[[Any], bytes],
        url_of: Callable[[Any], str],
        headers_of: Callable[[Any], Any] | None = None,
        blocklist_paths: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.fn = _PrepassFn(config, html_of, url_of, headers_of, blocklist_paths)

    def expand(self, records: beam.PCollection) -> Outputs:
        return _split(records | "Prepass" >> beam.ParDo(self.fn).with_outputs(REJECTS, main="docs"))


def add_quality_options(parser: argparse.ArgumentParser) -> None:
    """Add the quality options to an argparse parser (or a Beam `PipelineOptions` parser)."""
    group = parser.add_argument_group("quality") if isinstance(parser, argparse.ArgumentParser) else parser
    group.add_argument(
        "--blocklist", action="append", default=[], help="block-list file (domains, URL prefixes); repeatable"
    )
    group.add_argument("--languages", default="", help="comma-separated language allow-list (empty: all)")
    group.add_argument(
        "--min_language_score", type=float, default=0.0, help="minimum language-id probability"
    )
    group.add_argument("--no_language_id", action="store_true", help="skip language identification")
    group.add_argument("--no_url_dedup", action="store_true", help="skip URL dedup")
    group.add_argument("--no_near_dup", action="store_true", help="skip MinHash near-duplicate removal")
    group.add_argument(
        "--near_dup_threshold",
        type=float,
        default=0.8,
        help="signature Jaccard at which two documents are duplicates",
    )
    group.add_argument("--minhash_num_perm", type=int, default=128, help="MinHash permutations")
    group.add_argument(
        "--minhash_bands", type=int, default=16, help="LSH bands (must divide --minhash_num_perm)"
    )
    group.add_argument("--minhash_ngram", type=int, default=5, help="word shingle size")
    group.add_argument("--no_image_set_dedup", action="store_true", help="skip image-set dedup")
    group.add_argument(
        "--image_set_min_images",
        type=int,
        default=2,
        help="media URLs a document needs to take part in image-set dedup",
    )
    group.add_argument("--no_paragraph_dedup", action="store_true", help="skip per-domain paragraph dedup")
    group.add_argument(
        "--paragraph_min_docs",
        type=int,
        default=3,
        help="documents of one site a paragraph must appear in to be removed",
    )
    group.add_argument(
        "--prepass", action="store_true", help="run the text-only pre-pass before DOM extraction"
    )
    group.add_argument("--prepass_min_words", type=int, default=20, help="pre-pass: minimum visible words")
    group.add_argument(
        "--prepass_min_images", type=int, default=0, help="pre-pass: minimum <img>/<video> tags"
    )
    group.add_argument(
        "--prepass_min_alpha_ratio",
        type=float,
        default=0.5,
        help="pre-pass: minimum share of letters in the visible text",
    )


def prepass_config(options: Any) -> PrepassConfig:
    """The `PrepassConfig` of parsed options."""
    return PrepassConfig(
        min_words=options.prepass_min_words,
        min_images=options.prepass_min_images,
        min_alpha_ratio=options.prepass_min_alpha_ratio,
    )


def minhash_params(options: Any) -> minhash.MinHashParams:
    """The `MinHashParams` of parsed options."""
    perm, bands = options.minhash_num_perm, options.minhash_bands
    return minhash.MinHashParams(ngram=options.minhash_ngram, num_perm=perm, bands=bands, rows=perm // bands)


class QualityStage(beam.PTransform):
    """All document-level quality steps, cheapest and most selective first:
    block lists → language → URL dedup → near-dup → image-set dedup → per-domain paragraphs.

    Paragraph dedup runs last on purpose: run before near-dup it would strip the shared content
    of a domain's duplicate pages from every copy. Returns `{"docs", "rejects"}`.
    """

    def __init__(self, options: Any) -> None:
        super().__init__()
        self.options = options

    def steps(self) -> list[tuple[str, beam.PTransform]]:
        o = self.options
        languages = [lang.strip() for lang in o.languages.split(",") if lang.strip()]
        if languages and o.no_language_id:
            raise ValueError("--languages needs language identification (drop --no_language_id)")
        candidates = [
            ("OptOut", bool(o.blocklist), lambda: OptOutFilter(o.blocklist)),
            ("Language", not o.no_language_id, lambda: LanguageFilter(languages, o.min_language_score)),
            ("UrlDedup", not o.no_url_dedup, UrlDedup),
            ("NearDup", not o.no_near_dup, lambda: NearDupDedup(o.near_dup_threshold, minhash_params(o))),
            ("ImageSetDedup", not o.no_image_set_dedup, lambda: ImageSetDedup(o.image_set_min_images)),
            ("ParagraphDedup", not o.no_paragraph_dedup, lambda: DomainParagraphDedup(o.paragraph_min_docs)),
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
