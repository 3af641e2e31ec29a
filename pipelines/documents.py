"""Extract and filter stages: a page record → a `Document` (`extract`) → a filtered one (`filter`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

from m3w_builder.document import Document, VideoNode
from m3w_builder.drops import Rejected
from m3w_builder.extract.dom import ExtractOptions, MediaDrop, extract
from m3w_builder.quality.filters import FilterOptions, filter_document
from m3w_builder.quality.optout import (
    apply_page_optout,
    header_directives,
    meta_directives,
)
from m3w_builder.read.records import WebRecord
from pipelines.stages import Dropped, Kept, LibraryStage


class ExtractPage:
    """Stage function: parse and walk the DOM, honour page-level `noai`, drop videos if switched off.

    Media elements dropped on the way are sub-item drops (`extract_media/<reason>`), each with its
    rejects row (URL and what decided it), after the document."""

    def __init__(self, options: ExtractOptions, videos: bool = True) -> None:
        self.options = options
        self.videos = videos

    def __call__(self, record: WebRecord) -> Iterator[Kept | Dropped]:
        result = extract(record.body, record.url, content_type=record.content_type,
                         fetch_time=record.fetch_time, source=record.source, options=self.options)
        directives = meta_directives(record.body) | header_directives(record.optout_headers)
        doc = apply_page_optout(result.document, directives)
        dropped = list(result.dropped_media)
        # counts no row stands for (the elements past `max_page_media` are one row for the page)
        unwritten = result.media_drops - Counter(media.reason for media in dropped)
        if not self.videos:
            videos = [n for n in doc.nodes if isinstance(n, VideoNode)]
            if videos:
                dropped += [MediaDrop("video_disabled", n.src, "videos are switched off (--no_videos)") for n in videos]
                doc = replace(doc, nodes=[n for n in doc.nodes if not isinstance(n, VideoNode)])
        yield Kept(doc, drops=unwritten)
        for media in dropped:
            yield Dropped(media.reason, doc.doc_id, media.url, media.detail, part=True)


class FilterDocument:
    """Stage function: paragraph and document rules (`filter_paragraph/<reason>` for removed
    paragraphs), then the minimum number of media nodes."""

    def __init__(self, options: FilterOptions, min_doc_images: int) -> None:
        self.options = options
        self.min_doc_images = min_doc_images

    def __call__(self, doc: Document) -> Kept:
        filtered = filter_document(doc, self.options)
        if len(filtered.document.media) < self.min_doc_images:
            raise Rejected("too_few_images", f"{len(filtered.document.media)} < {self.min_doc_images} media nodes")
        return Kept(filtered.document, drops=filtered.paragraph_drops)


def extract_stage(options: ExtractOptions, videos: bool = True) -> LibraryStage:
    return LibraryStage("extract", ExtractPage(options, videos), many=True, parts="extract_media",
                        ident=lambda r: (r.source, r.url))


def filter_stage(options: FilterOptions, min_doc_images: int) -> LibraryStage:
    return LibraryStage("filter", FilterDocument(options, min_doc_images), parts="filter_paragraph")
