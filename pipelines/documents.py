"""Extract + filter stage: a page record → a filtered `Document`, every drop counted with its reason."""

from __future__ import annotations

from dataclasses import replace

import apache_beam as beam

from m3w_builder.document import VideoNode
from m3w_builder.drops import Rejected
from m3w_builder.extract.dom import extract
from m3w_builder.quality.filters import filter_document
from m3w_builder.quality.optout import apply_page_optout, header_directives, meta_directives
from m3w_builder.read.records import WebRecord
from pipelines.config import JobConfig
from pipelines.metrics import count, drop


class ExtractDocuments(beam.DoFn):
    """Parse, walk the DOM, apply paragraph/document rules; pages without media stop here."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config

    def process(self, record: WebRecord):
        cfg = self.config
        try:
            result = extract(record.body, record.url, content_type=record.content_type,
                             fetch_time=record.fetch_time, source=record.source, options=cfg.extract)
        except Rejected as rejected:
            yield drop("extract", rejected.reason, record.source, record.url)
            return
        except Exception as error:  # a page must never crash the job: count what we did not foresee
            yield drop("extract", f"error_{type(error).__name__}", record.source, record.url)
            return
        directives = meta_directives(record.body) | header_directives(record.optout_headers)
        try:
            result.document = apply_page_optout(result.document, directives)
        except Rejected as rejected:  # the page asks not to be used for AI training
            yield drop("extract", rejected.reason, record.source, record.url)
            return
        count("extract", "documents")
        for reason, n in result.media_drops.items():
            count("extract_media", reason, n)
        doc = result.document
        if not cfg.videos:
            videos = sum(1 for n in doc.nodes if isinstance(n, VideoNode))
            if videos:
                count("extract_media", "video_disabled", videos)
                doc = replace(doc, nodes=[n for n in doc.nodes if not isinstance(n, VideoNode)])
        try:
            filtered = filter_document(doc, cfg.filters)
        except Rejected as rejected:
            yield drop("filter", rejected.reason, doc.doc_id, doc.url)
            return
        for reason, n in filtered.paragraph_drops.items():
            count("filter_paragraph", reason, n)
        doc = filtered.document
        if len(doc.media) < cfg.min_doc_images:
            yield drop("filter", "too_few_images", doc.doc_id, doc.url)
            return
        count("filter", "kept")
        yield doc
