"""Unusual markup costs time linear in the page: each shape here cost super-linear CPU in one rule
of the extractor, so a few hundred kB ran past the page deadline (a lost page) or for minutes
between two deadline checks (a stalled worker). Each page is extracted under a deadline far above
its linear cost (tens of ms) and far below what the old code spent on it, so a regression shows as
a `timeout` rejection, whatever the machine's load (the deadline is thread CPU time)."""

from __future__ import annotations

from m3w_builder.document import TextNode
from m3w_builder.extract import ExtractOptions, extract

URL = "https://site.test/a/page.html"
PARAGRAPH = "<p>" + "Some real article words, with commas, and sentences that read as prose. " * 3 + "</p>"
STORY = PARAGRAPH * 20
TIGHT = ExtractOptions(time_limit_s=1.0)


def _texts(body: str) -> list[str]:
    page = f"<html><head><title>A page</title></head><body>{body}</body></html>".encode()
    return [node.text for node in extract(page, URL, options=TIGHT).document.nodes if isinstance(node, TextNode)]


def test_a_class_of_many_numbered_names_is_read_in_linear_time():
    """The top block's class less its numbered variants (`content._part_class`) looked each name up
    in the list of names: 25,000 names `w0 w1 ...` took ~4 s."""
    names = " ".join(f"w{i}" for i in range(25_000))
    assert len(_texts(f"<div class='{names}'>{STORY}</div>")) == 20
