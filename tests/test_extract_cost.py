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


def test_many_galleries_outscoring_the_story_are_scored_again_a_bounded_number_of_times():
    """Each gallery embedded in an article that outscores it is removed and the page scored again
    (`content.select`): 300 galleries side by side were 300 scorings of the whole page (~2 s a MB),
    and 1000 a recursion past Python's limit. The first `_MAX_GALLERIES` go; the story stays."""
    captions = "".join(f"<p>Caption {j}, with, many, commas, here, and, there, more, words.</p>" for j in range(30))
    gallery = f"<div><div><div><div class='gallery'><div>{captions}</div></div></div></div></div>"
    texts = _texts(f"<div>{STORY}{gallery * 300}</div>")
    assert texts[:20] == [" ".join(PARAGRAPH[3:-4].split())] * 20


def _nested(opening: str, closing: str, inner: str) -> str:
    """The story, then 1000 nested `opening` elements around `inner` (under 80% of the page's text:
    each level is a boilerplate candidate the classifier looks at)."""
    return f"<div>{STORY * 30}</div>" + opening * 1000 + inner + closing * 1000


def test_nested_toolbars_around_a_long_text_do_not_read_it_once_per_level():
    """A `toolbar` or `disclosure` block is a widget only while it holds no digit, and the digit
    test read the whole subtree's text: 1000 nested ones around 100 kB read it 1000 times (~4 s).
    A block too big for a widget is tested for none."""
    for name in ("toolbar", "disclosure", "rating"):
        text = " ".join(_texts(_nested(f"<div class='{name}'>", "</div>", "word " * 20_000)))
        assert "read as prose" in text


def test_nested_heading_anchors_around_a_long_text_do_not_read_it_once_per_level():
    """An id made from the block's own heading names no boilerplate, and the test read the whole
    heading: 1000 nested `related-...` blocks, each heading holding the next, around 100 kB read
    it 1000 times (~2.5 s). A heading far longer than the id makes no such id: read no further."""
    opening = "<div id='related-one-two-three'><h2>"
    text = " ".join(_texts(_nested(opening, "</h2></div>", "word " * 20_000)))
    assert "read as prose" in text


def test_images_in_nested_figure_captions_do_not_read_the_caption_once_per_image():
    """Each image read the caption of its `<figure>` whole: 1000 nested figures, each caption
    holding an image and the next figure, around 500 kB read it 500 times (~3 s). A caption is
    read once per figure, and one past `_MAX_CAPTION_CHARS` is none (no caption is that long)."""
    nested = "".join(f"<figure><figcaption><img src='/i{i}.jpg' width=600 height=400>" for i in range(500))
    page = f"<html><body><article>{STORY}{nested}{'word ' * 100_000}{'</figcaption></figure>' * 500}</article>"
    result = extract(f"{page}</body></html>".encode(), URL, options=TIGHT)
    assert {node.caption for node in result.document.media} == {""}
    short = "<figure><img src='/a.jpg' width=600 height=400><figcaption> A <b>mill</b>  by the river </figcaption>"
    page = f"<html><body><article>{STORY}{short}</figure></article></body></html>"
    assert [node.caption for node in extract(page.encode(), URL).document.media] == ["A mill by the river"]


def test_images_in_one_textless_link_do_not_walk_it_once_per_image():
    """A linked image is a teaser when its link holds text, and the test walked the link until it
    found some: 2000 images in one link with 30,000 empty elements and no text walked it 2000
    times (~6 s). Each link's answer is kept for the page."""
    images = "".join(f"<img src='/i{i}.jpg' width=600 height=400>" for i in range(2000))
    page = f"<html><body><article>{STORY}<a href='/x'>{images}{'<i></i>' * 30_000}</a></article></body></html>"
    result = extract(page.encode(), URL, options=ExtractOptions(time_limit_s=1.0, keep_all_images=True))
    assert len(result.document.media) == 2000


def test_boilerplate_removed_deep_in_the_page_is_taken_out_of_its_ancestors_once():
    """Each removed block's text was taken out of every ancestor's totals on its own: 20,000 hidden
    blocks under 2000 nested ones were 4 * 10^7 steps (~4 s). The ancestors are settled once."""
    hidden = "<div hidden>x</div>" * 20_000
    texts = _texts("<div>" * 2000 + STORY + hidden + "</div>" * 2000)
    assert texts == [" ".join(PARAGRAPH[3:-4].split())] * 20


def test_signup_forms_deep_in_the_page_climb_a_bounded_number_of_wrappers():
    """Each sign-up form is widened to the small wrappers around it, and climbed every text-less
    one up to `<body>`, and each input climbed them all for its form: 10,000 forms under 2000 nested
    blocks were 4 * 10^7 steps (~3 s)."""
    forms = "<form><input type=email></form>" * 10_000
    texts = _texts(STORY + "<div>" * 2000 + forms + "</div>" * 2000)
    assert texts == [" ".join(PARAGRAPH[3:-4].split())] * 20
