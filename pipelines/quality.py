"""Corpus-level quality: the per-document steps the M3W job runs inside its document pass
(text-only pre-pass, opt-out, language, dedup keys) and the dedup decisions it takes over the
documents' small `DocKeys` (URL, near-duplicate, image-set, per-site paragraphs).

Per-document work runs in `LibraryStage`s (counted `stage/kept`, `stage/<reason>`, faults
isolated). Decisions use the pure rules of `m3w_builder.quality.dedup` over keyed values
(normalised URLs, ids, MinHash signatures, paragraph and image-set hashes): each step reads only
its own value of the documents the earlier steps kept (joined with the earlier losers' ids), and
all decisions are joined onto the `DocKeys` once, by `doc_id` (`Decisions`): a document's text and
media never move, and its keys are grouped once, not once per step. No grouping is a Beam
shuffle: each goes through files partitioned by its key (`pipelines.exchange`), so neither the
local runner's launcher nor a worker holds the corpus's keys. A key that cannot be computed
(`<stage>_keys/error_<Type>`) leaves its document out of that dedup step. Every decision
transform returns `{"docs": PCollection[DocKeys], "rejects": PCollection}`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems

from m3w_builder.document import Document
from m3w_builder.drops import Rejected
from m3w_builder.quality import dedup, minhash
from m3w_builder.quality.blocklist import BlockList
from m3w_builder.quality.keys import (
    DocKeys,
    base_keys,
    compact_id,
    full_id,
    pack_paragraphs,
    unpack_paragraphs,
)
from m3w_builder.quality.language import detect_language
from m3w_builder.quality.options import QualityOptions
from m3w_builder.quality.prepass import PrepassConfig, prepass_reason
from m3w_builder.quality.urlkeys import normalize_url
from pipelines.exchange import Exchange
from pipelines.metrics import REJECTS, count
from pipelines.stages import (
    Chain,
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
    """Read block-list files (any Beam filesystem path) into one `BlockList`; the launcher parsed
    each already (`checks.check_side_files`). A byte that is no UTF-8 cannot match a URL: replaced."""
    lines: list[str] = []
    for path in paths:
        with FileSystems.open(path) as handle:
            lines.extend(handle.read().decode("utf-8", errors="replace").splitlines())
    return BlockList.from_lines(lines)


def _keys(pcoll: beam.PCollection, label: str, stage: str,
          fn: Callable[[Any], Iterator[Any]]) -> tuple[beam.PCollection, beam.PCollection]:
    """Dedup keys of every document, computed fault-isolated (`<stage>_keys/error_<Type>`): the
    keys and the rejects rows of the documents whose key failed."""
    keyed = apply(pcoll, label, LibraryStage(f"{stage}_keys", lambda d: (Forward(k) for k in fn(d)), many=True))
    return keyed.out, keyed[REJECTS]


def _gone(decision: tuple[str, Any]) -> list[tuple[str, int]]:
    """(doc_id, 1) of a dropping step's (loser, winner) decision: what later steps join with."""
    return [(decision[0], 1)]


def _alive(element: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[tuple[str, list[Any]]]:
    doc_id, groups = element
    if next(iter(groups["gone"]), None) is None:
        captures = list(groups["value"])
        if captures:
            yield doc_id, captures


def _still_in(docs: beam.PCollection, gone: beam.PCollection | None, step: Step, label: str,
              exchange: Exchange) -> tuple[beam.PCollection, beam.PCollection]:
    """(doc_id, value) of the documents no earlier step dropped, one per doc_id (`step.pick`
    chooses among its captures' values), and the rejects rows of values that could not be picked
    (`<stage>_keys/error_<Type>`). Only a step's own values (`step.values`) and the losers' ids
    (`gone`: the earlier steps' decisions) meet in this join; the first step has no losers to join
    with, and sees every capture."""
    if gone is None:
        grouped = docs | f"{label}Each" >> beam.FlatMap(lambda keys: [(i, [v]) for i, v in step.values(keys)])
    else:
        grouped = ({"value": docs, "gone": gone}
                   | f"{label}JoinGone" >> exchange.cogroup(items={"value": step.values, "gone": _gone}, then=_alive))
    picked = apply(grouped, f"{label}Pick", LibraryStage(f"{step.stage}_keys", step.pick, many=True))
    return picked.out, picked[REJECTS]


class Step(beam.PTransform):
    """One dedup decision over the keys of the documents still in the running.

    `values(keys)` is what the step reads of a document, `decide` turns (doc_id, value) pairs
    into `(doc_id, winner)` drops (or, for paragraphs, `(doc_id, paragraph key)` hits). The
    documents' `DocKeys` do not travel with the steps: `Decisions` joins every step's decisions
    onto them once. Its groupings go through files (`exchange`), never a Beam shuffle."""

    stage = ""
    reason = ""  # the drop reason; "" for a step that marks instead of dropping

    def values(self, keys: DocKeys) -> Iterator[tuple[str, Any]]:
        raise NotImplementedError

    def pick(self, element: tuple[str, list[Any]]) -> Iterator[Any]:
        """Stage function: the value of a document from those of its captures (keys read from the
        text are the same for every capture of a doc_id: the first)."""
        doc_id, captures = element
        yield Forward((doc_id, captures[0]))

    def decide(self, values: beam.PCollection, exchange: Exchange
               ) -> tuple[beam.PCollection, beam.PCollection | None]:
        """(decisions, rejects rows of keys that could not be computed, or None)."""
        raise NotImplementedError


class UrlDedup(Step):
    """One document per normalised URL (`urlkeys.normalize_url`): the latest capture."""

    stage, reason = URL_DEDUP, "url_duplicate"

    def values(self, keys: DocKeys) -> Iterator[tuple[str, Any]]:
        yield keys.doc_id, keys  # the first step: nothing is shuffled before its own grouping

    def decide(self, values: beam.PCollection, exchange: Exchange) -> tuple[beam.PCollection, beam.PCollection]:
        def url_key(element: tuple[str, DocKeys]) -> Iterator[tuple[str, tuple[float, str]]]:
            keys = element[1]
            yield normalize_url(keys.url), (dedup.capture_time(keys.fetch_time), keys.doc_id)

        keys, key_rejects = _keys(values, "KeyByUrl", URL_DEDUP, url_key)
        decisions = keys | "GroupByUrl" >> exchange.group(then=lambda kv: dedup.url_losers(kv[1]))
        return decisions, key_rejects


class NearDupDedup(Step):
    """MinHash LSH near-duplicate removal (survivor rule in `m3w_builder.quality.dedup`).

    The documents sharing a band key are an LSH bucket; each document of a bucket is paired with
    at most `max_candidates` smaller ids of that bucket (the smallest ones), bounding the pairs of
    huge exact-duplicate buckets; candidate pairs are deduplicated, joined with both signatures
    and kept when their estimated Jaccard ≥ `threshold`. Every grouping (band keys, distinct
    pairs, both signature joins) goes through files (`pipelines.exchange`): 16 band keys per
    document would cost ~4 KB each in the local runner's launcher as Beam elements.
    """

    stage, reason = NEAR_DUP, "near_duplicate"

    def __init__(
        self,
        threshold: float = 0.8,
        params: minhash.MinHashParams | None = None,
        max_candidates: int = 32,
    ) -> None:
        super().__init__()
        self.threshold, self.max_candidates = threshold, max_candidates
        self.params = params or minhash.MinHashParams()

    def values(self, keys: DocKeys) -> Iterator[tuple[str, Any]]:
        if keys.signature is not None:
            yield keys.doc_id, keys.signature

    def decide(self, sigs: beam.PCollection, exchange: Exchange) -> tuple[beam.PCollection, None]:
        params, threshold, max_candidates = self.params, self.threshold, self.max_candidates

        def band_items(element: tuple[str, bytes]) -> Iterator[tuple[bytes, bytes | str]]:
            ref = compact_id(element[0])
            for key in minhash.band_keys(np.frombuffer(element[1], dtype=np.uint32), params):
                yield key, ref  # key[0] is the band, key[1:] its digest

        def bucket_pairs(element: tuple[bytes, list[bytes | str]]) -> Iterable[tuple[tuple[str, str], None]]:
            for pair in dedup.candidate_pairs((full_id(i) for i in element[1]), max_candidates):
                count(NEAR_DUP, "n_candidate_pairs")
                yield pair, None

        def by_larger(element: tuple[tuple[str, str], list[None]]) -> list[tuple[str, str]]:
            smaller, larger = element[0]  # a distinct candidate pair, keyed by its larger id
            return [(larger, smaller)]

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

        pairs = (
            sigs
            | "GroupBands" >> exchange.group(items=band_items, then=bucket_pairs)
            | "DistinctPairs" >> exchange.group(then=by_larger)
        )
        halves = {"sig": sigs, "smaller": pairs} | "JoinLarger" >> exchange.cogroup(then=with_larger_sig)
        decisions = {"sig": sigs, "larger": halves} | "JoinSmaller" >> exchange.cogroup(then=verify)
        return decisions, None


class ImageSetDedup(Step):
    """Documents whose set of image/video URLs equals another's: the smallest doc_id is kept.

    Only documents with at least `image_set_min_images` distinct media URLs have the key
    (`image_set_keys`): a single shared image is usually a site logo and says nothing about the content.
    """

    stage, reason = IMAGE_SET_DEDUP, "image_set_duplicate"

    def values(self, keys: DocKeys) -> Iterator[tuple[str, Any]]:
        yield keys.doc_id, DocKeys(keys.doc_id, "", keys.fetch_time, keys.source, image_set=keys.image_set)

    def pick(self, element: tuple[str, list[DocKeys]]) -> Iterator[Any]:
        """The image set of the latest capture, the one the earlier steps kept (a page-level
        `noimageai` may have removed the media of one capture of a doc_id and not another's)."""
        doc_id, captures = element
        latest = min(captures, key=dedup.capture_order)
        if latest.image_set is not None:
            yield Forward((doc_id, latest.image_set))

    def decide(self, values: beam.PCollection, exchange: Exchange) -> tuple[beam.PCollection, None]:
        decisions = values | "GroupSets" >> exchange.group(items=lambda kv: [(kv[1], kv[0])],
                                                           then=lambda kv: dedup.smallest_wins(kv[1]))
        return decisions, None


_SITE_DIGEST_BYTES = 8


def site_paragraph_key(site: str, paragraph: bytes) -> bytes:
    """One paragraph of one site as 16 bytes (8-byte digest of the site, the paragraph key): what
    paragraph occurrences are grouped by, so that no site is a hot key (a big site's paragraphs
    spread over every partition; only a paragraph shared by all its pages is a large group)."""
    digest = hashlib.blake2b(site.encode("utf-8", "surrogatepass"), digest_size=_SITE_DIGEST_BYTES).digest()
    return digest + paragraph


def site_wide_hits(element: tuple[bytes, list[bytes | str]], min_docs: int) -> Iterator[tuple[str, bytes]]:
    """(doc_id, paragraph key) for each document of one (site, paragraph) group when the paragraph
    is found in ≥ `min_docs` distinct documents of the site (a capture seen twice counts once)."""
    key, refs = element
    distinct = set(refs)
    if len(distinct) >= min_docs:
        for ref in distinct:
            yield full_id(ref), key[_SITE_DIGEST_BYTES:]


class DomainParagraphDedup(Step):
    """Find the paragraphs found in ≥ `min_docs` documents of the same site (host without `www.`):
    navigation, footers, cookie banners. Each document's `DocKeys.strip` gets its repeated
    paragraphs; the media pass that loads the text removes them (`strip_paragraphs`).

    Occurrences are grouped per (site, paragraph) (`site_paragraph_key`), through files: ~50 per
    document would cost ~9 KB of the local runner's launcher as Beam elements, and a grouping per
    site would make a big site one reader's load."""

    stage = PARAGRAPH_DEDUP

    def __init__(self, min_docs: int = 3) -> None:
        super().__init__()
        self.min_docs = min_docs

    def values(self, keys: DocKeys) -> Iterator[tuple[str, Any]]:
        if keys.paragraphs:
            yield keys.doc_id, (keys.site, keys.paragraphs)

    def decide(self, values: beam.PCollection, exchange: Exchange) -> tuple[beam.PCollection, None]:
        def occurrences(element: tuple[str, tuple[str, bytes]]) -> Iterator[tuple[bytes, bytes | str]]:
            doc_id, (site, packed) = element
            ref = compact_id(doc_id)
            for key in unpack_paragraphs(packed):
                yield site_paragraph_key(site, key), ref

        hits = values | "GroupParagraphs" >> exchange.group(items=occurrences,
                                                             then=partial(site_wide_hits, min_docs=self.min_docs))
        return hits, None


Item = tuple[str, list[DocKeys], dict[str, list[Any]]]  # (doc_id, its captures, decisions by stage)


class Settle:
    """Stage function of a dropping step on (doc_id, captures, decisions): a document a decision
    names goes, every capture of it. The first such step also keeps only the latest capture of a
    doc_id (the others are dropped with its reason): the later steps see one capture."""

    def __init__(self, stage: str, reason: str, first: bool) -> None:
        self.stage, self.reason, self.first = stage, reason, first

    def __call__(self, item: Item) -> Iterator[Any]:
        doc_id, copies, decisions = item
        if self.first:
            copies = sorted(copies, key=dedup.capture_order)
        winners = sorted(decisions.get(self.stage, ()))  # decisions are keyed by loser, valued by the survivor
        for i, doc in enumerate(copies):
            if winners or i > 0:
                yield Dropped(self.reason, doc_id, doc.url, f"kept {winners[0] if winners else doc_id}")
        if not winners:
            yield doc_id, copies[:1], decisions


def mark_paragraphs(item: Item) -> Iterator[Any]:
    """Stage function (`paragraph_dedup`): every capture gets the document's site-wide paragraphs
    as its `strip` set (removed by the media pass, which counts them)."""
    doc_id, copies, decisions = item
    remove = frozenset(decisions.get(PARAGRAPH_DEDUP, ()))
    yield Forward((doc_id, [replace(c, strip=remove) for c in copies], decisions))


def keep_latest_capture(item: Item) -> Iterator[Any]:
    """Stage function (`assemble`): of several captures of one document (same URL and content),
    the latest goes on; the others are `duplicate_document`."""
    doc_id, copies, _ = item
    copies = sorted(copies, key=dedup.capture_order)
    for duplicate in copies[1:]:
        yield Dropped("duplicate_document", doc_id, duplicate.url, f"kept the capture from {copies[0].source}")
    yield Forward(copies[0])


class RunChain(beam.DoFn):
    """A `Chain` of stages as one DoFn: rejects rows on their tag, the last stage's outputs on main."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    def setup(self) -> None:
        self.chain.setup()

    def process(self, item):
        yield from self.chain.run(item)


def _shed(keys: DocKeys) -> list[tuple[str, DocKeys]]:
    """The keys that go on past the decisions (the dedup keys are read by their steps only)."""
    return [(keys.doc_id, replace(keys, site="", signature=None, image_set=None, paragraphs=b""))]


def _captures(element: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Item]:
    doc_id, groups = element
    copies = list(groups["doc"])
    if copies:
        yield doc_id, copies, {stage: list(values) for stage, values in groups.items() if stage != "doc"}


class Decisions(beam.PTransform):
    """Run dedup `steps` in order, each over the values of the documents the earlier ones kept,
    then join every decision onto the documents' `DocKeys` once and settle them in one chain of
    stages (counted per step as if each ran alone). With `latest`, one capture per doc_id goes on
    (`assemble/duplicate_document`). Every grouping goes through `exchange`'s files."""

    def __init__(self, steps: list[tuple[str, Step]], exchange: Exchange, latest: bool = True) -> None:
        super().__init__()
        self.steps, self.exchange, self.latest = steps, exchange, latest

    def expand(self, docs: beam.PCollection) -> Outputs:
        decided: dict[str, beam.PCollection] = {}
        rejects: list[beam.PCollection] = []
        stages: list[LibraryStage] = []
        gone = None
        for name, step in self.steps:
            values, pick_rejects = _still_in(docs, gone, step, name, self.exchange)
            rejects.append(pick_rejects)
            out = values | name >> _Decide(step, self.exchange)
            decisions = decided[step.stage] = out["decisions"]
            if "rejects" in out:
                rejects.append(out["rejects"])
            if step.reason:
                stages.append(LibraryStage(step.stage, Settle(step.stage, step.reason, first=gone is None), many=True))
                gone = decisions if gone is None else (gone, decisions) | f"{name}AllGone" >> beam.Flatten()
            else:
                stages.append(LibraryStage(step.stage, mark_paragraphs, many=True))
        if self.latest:
            stages.append(LibraryStage("assemble", keep_latest_capture, many=True))
        joined = {"doc": docs, **decided} | "JoinDecisions" >> self.exchange.cogroup(items={"doc": _shed}, then=_captures)
        settled = joined | "Settle" >> beam.ParDo(RunChain(Chain(stages))).with_outputs(REJECTS, main="docs")
        kept = settled.docs if self.latest else settled.docs | "EachCapture" >> beam.FlatMap(lambda item: item[1])
        rejects.append(settled[REJECTS])
        return {"docs": kept, "rejects": tuple(rejects) | "AllRejects" >> beam.Flatten()}


class _Decide(beam.PTransform):
    """A step's `decide` under its own label."""

    def __init__(self, step: Step, exchange: Exchange) -> None:
        super().__init__()
        self.step, self.exchange = step, exchange

    def expand(self, values: beam.PCollection) -> Outputs:
        decisions, rejects = self.step.decide(values, self.exchange)
        return {"decisions": decisions} if rejects is None else {"decisions": decisions, "rejects": rejects}


def strip_paragraphs(item: tuple[Document, frozenset[bytes]]) -> Iterator[Any]:
    """Stage function (`paragraph_dedup`, in the media pass): remove the site-wide paragraphs
    found for this document (its `DocKeys.strip`); one left without text is dropped
    (`no_text_left`); removed paragraphs are counted as `paragraph_dedup/n_paragraphs_removed`."""
    doc, strip = item
    kept, removed = dedup.strip_paragraphs(doc, set(strip))
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
    URL dedup → near-dup → image-set dedup → per-site paragraphs, then one capture per document.

    Paragraph dedup runs last on purpose: run before near-dup it would strip the shared content
    of a domain's duplicate pages from every copy. Returns `{"docs", "rejects"}`: the surviving
    `DocKeys`, one per doc_id, with their `strip` sets.
    """

    def __init__(self, options: QualityOptions, exchange: Exchange) -> None:
        super().__init__()
        self.options, self.exchange = options, exchange

    def steps(self) -> list[tuple[str, Step]]:
        o = self.options
        candidates = [
            ("UrlDedup", o.url_dedup, UrlDedup),
            ("NearDup", o.near_dup, lambda: NearDupDedup(o.near_dup_threshold, o.minhash_params())),
            ("ImageSetDedup", o.image_set_dedup, ImageSetDedup),
            ("ParagraphDedup", o.paragraph_dedup, lambda: DomainParagraphDedup(o.paragraph_min_docs)),
        ]
        return [(name, make()) for name, enabled, make in candidates if enabled]

    def expand(self, docs: beam.PCollection) -> Outputs:
        return docs | "Decisions" >> Decisions(self.steps(), self.exchange, latest=True)
