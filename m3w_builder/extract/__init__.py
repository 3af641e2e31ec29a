"""Extract: a page's bytes → a `Document` (charset decoding, DOM parsing, text/image/video nodes in DOM order)."""

from m3w_builder.extract.dom import ExtractOptions, ExtractResult, extract

__all__ = ["ExtractOptions", "ExtractResult", "extract"]
