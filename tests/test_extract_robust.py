"""Hostile markup never fails, stalls or silently truncates extraction: each shape is a document or
a counted `Rejected` reason (issue 10's extraction cases, and the class behind each)."""

from __future__ import annotations

import gc
import time

import pytest
from lxml import etree

from m3w_builder.document import ImageNode, TextNode
from m3w_builder.drops import Rejected
from m3w_builder.extract import ExtractOptions, extract
from m3w_builder.extract.parse import (
    check_attribute_floods,
    clean_utf8,
    open_self_closed_scripts,
    parse_utf8,
    unnest_void_elements,
)
from m3w_builder.extract.urls import best_srcset, parse_srcset
from tests.conftest import shared_path

URL = "https://site.test/a/page.html"
BIG = ExtractOptions(max_page_bytes=50_000_000)


def texts(html: str | bytes, options: ExtractOptions | None = None) -> list[str]:
    data = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
    return [n.text for n in extract(data, URL, options=options).document.nodes if isinstance(n, TextNode)]


def reason(html: str, options: ExtractOptions = BIG) -> str:
    with pytest.raises(Rejected) as err:
        extract(html.encode(), URL, options=options)
    return err.value.reason


@pytest.mark.parametrize("piece", ["&#1;", "\x01", "&#x1f;", "&#0;", "&#x0000001;", "&#xD800;", "&#55296;",
                                   "&#65535;", "&#xFFFE;", "\ufffe", "&#xE001;", "&#57345;", "\ue001"])
def test_control_surrogate_and_sentinel_characters_are_removed(piece):
    assert texts(f"<html><body><p>a{piece}b</p><img src='x.jpg' alt='{piece}'></body></html>") == ["ab"]


def test_special_characters_are_removed_where_their_lead_byte_is_common():
    # fullwidth punctuation (U+FF0C) starts with the byte of U+FFFF (0xEF), so a CJK page is full
    # of look-alike leads: the characters are still found among them, and the punctuation stays
    cjk = "\u4e2d\u6587\uff0c" * 100
    assert texts(f"<p>{cjk}a\uffffb\ue001c\ufffd</p>") == [cjk + "abc\ufffd"]


def test_safe_references_survive_cleaning():
    assert texts("<p>it&#39;s &#8217;x&#x2019; &#32;&#10;y</p>") == ["it's ’x’ y"]


def test_page_text_cannot_forge_media_or_block_markers():
    forged = "\ue001" + "0" + "\ue001" + "\ue000" + "7" + "\ue003"
    result = extract(f"<p>one {forged} two &#xE001;0&#xE001;</p><img src='a.jpg'>".encode(), URL)
    assert [type(n).__name__ for n in result.document.nodes] == ["TextNode", "ImageNode"]


@pytest.mark.parametrize("attribute", ['a{i}="{i}"', "a{i}"])
def test_attribute_flood_is_rejected_before_parsing(attribute):
    tag = "<div " + " ".join(attribute.format(i=i) for i in range(200_000)) + ">x</div>"
    assert reason(f"<html><body>{tag}<p>main</p></body></html>") == "too_many_attributes"


def test_attribute_flood_left_open_at_the_page_end_is_rejected():
    # no `<` or `>` after the tag: it runs to the end of the page
    assert reason("<html><body><p>main</p><div " + " ".join(f"a{i}" for i in range(300))) == "too_many_attributes"


@pytest.mark.parametrize(("page", "opened"), [
    (b"<p>a</p><script src=x.js/>var a=1;</script><p>b</p>", b"<p>a</p><script src=x.js>var a=1;</script><p>b</p>"),
    (b"<script/>a</script><script/>b</script>", b"<script>a</script><script>b</script>"),
    (b'<script a="<script/>"/>code</script>', b'<script a="<script>"/>code</script>'),
    (b"<script src=x.js/><p>markup</p></script>", None),  # a tag before the end tag: markup
    (b"<SCRIPT src=x/>code</script>", None), (b"<p>x</p><script", None), (b"<p>x</p><scrip", None), (b"", None),
])
def test_self_closed_scripts_are_opened_where_code_follows(page, opened):
    assert open_self_closed_scripts(page) == (page if opened is None else opened)


_FLOOD = b"<div " + b" ".join(b"a%d" % i for i in range(300)) + b">"


@pytest.mark.parametrize(("page", "rejected"), [
    (b"<p>x</p><SCRIPT type=t>if(a" + _FLOOD + b"</SCRIPT><p>y</p>", False),  # a script's name in any case
    (b"<p>x</p><style> " + _FLOOD, False),  # a style left open runs to the page's end
    (b"<script>var a;</script>" + _FLOOD + b"<p>y</p>", True),
    (b"<scripts> " + _FLOOD + b"</scripts>", True),  # no script
    (b"<script>a='<script>';</script>" + _FLOOD, True),  # the inner start tag opens nothing
])
def test_an_attribute_flood_inside_a_script_or_style_is_no_tag(page, rejected):
    try:
        check_attribute_floods(page, 256)
    except Rejected:
        assert rejected
    else:
        assert not rejected


def test_long_tags_and_scripts_of_real_pages_are_no_flood():
    long_value = "w " * 20_000
    script = "<script>for(c=0;c<r.length;c++){" + "var x = y + z; " * 2000 + "}</script>"
    html = f'<html><body>{script}<div data-json="{long_value}" class="a b"><p>real text here</p></div></body></html>'
    assert texts(html) == ["real text here"]


def test_tag_count_guard_rejects_element_floods():
    assert reason("<html><body><p>t</p>" + "<img src=a.jpg>" * 400_000 + "</body></html>") == "too_many_tags"


def test_media_per_page_are_capped_and_counted():
    html = "<html><body><p>Some article text for the page.</p>" + "<img src=a{}.jpg>" * 3000 + "</body></html>"
    result = extract(html.format(*range(3000)).encode(), URL, options=ExtractOptions(keep_all_images=True))
    assert result.media_drops["media_over_page_limit"] == 3000 - ExtractOptions().max_page_media
    assert len(result.document.media) == ExtractOptions().max_page_media


def test_videos_over_the_media_limit_leave_no_fallback_text_and_count_once():
    limit = ExtractOptions().max_page_media
    video = '<video src="/v{}.mp4"><img src="/poster{}.jpg">Your browser does not support video.</video>'
    html = ("<html><body><article><p>Some article text for the page.</p>"
            + "".join(video.format(i, i) for i in range(limit + 500)) + "</article></body></html>")
    result = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True))
    assert result.media_drops["media_over_page_limit"] == 500  # the videos; their fallback <img>s are no media
    assert "browser" not in " ".join(n.text for n in result.document.nodes if hasattr(n, "text"))


@pytest.mark.parametrize("block", ["<div>{}</div>", "<section><div><div>{}</div></div></section>"])
def test_many_images_in_a_textless_block_are_classified_without_rereading_it(block):
    """The teaser-card test looks at most a card's size of elements per image: 20k images in one
    text-less block were a quadratic walk that ran past the page deadline (rejected `timeout`)."""
    images = "".join(f"<span><img src='/i{i}.jpg' width=300 height=200></span>" for i in range(20_000))
    html = "<html><body><article><p>" + "Some real article words. " * 20 + "</p>" + block.format(images)
    result = extract((html + "</article></body></html>").encode(), URL, options=BIG)
    assert len(result.document.media) == ExtractOptions().max_page_media


@pytest.mark.parametrize("form", ["<form><p>Sign up</p><input type=email></form>",
                                  "<div><form><p>Sign up</p><input type=email></form></div>"])
def test_thousands_of_signup_forms_in_one_wrapper_measure_it_once(form):
    """Each sign-up form is widened to its small wrappers (its heading and pitch): measuring the
    shared wrapper once per form was quadratic, before any deadline check (minutes a page)."""
    html = "<html><body><p>" + "Some real article words. " * 20 + "</p><div>" + form * 12_000 + "</div></body></html>"
    assert texts(html, BIG) == ["Some real article words. " * 19 + "Some real article words."]


def test_srcset_with_200k_candidates_parses_linearly_to_the_largest():
    srcset = ", ".join(f"u{i}.jpg {i}w" for i in range(200_000))
    candidates = parse_srcset(srcset)
    assert len(candidates) == 200_000 and candidates[7] == ("u7.jpg", "7w")
    assert best_srcset(srcset) == "u199999.jpg"
    assert parse_srcset("a.jpg,b.jpg 2x, c.jpg, , d.jpg 1.5x") == [("a.jpg,b.jpg", "2x"), ("c.jpg", ""), ("d.jpg", "1.5x")]


def test_nesting_below_libxml2s_old_limit_is_kept():
    html = "<html><body>" + "<div>" * 300 + "deep text" + "</div>" * 300 + "<p>after</p></body></html>"
    assert texts(html) == ["deep text", "after"]


@pytest.mark.parametrize("text", ["x", "x" * 100])  # a small page is parsed whole, a large one fed in chunks
def test_nesting_past_the_parser_limit_is_a_counted_rejection(text):
    html = "<html><body>" + f"<b>{text}" * 3000 + "</b>" * 3000 + "<p>after</p></body></html>"
    assert reason(html) == "too_deep"


@pytest.mark.parametrize("page", ["<!DOCTYPE html>", "<!DOCTYPE html><!-- cut after the head -->", "<!-- x -->",
                                  "<!DOCTYPE html>" + " " * 300_000])  # small: parsed whole; large: fed in chunks
def test_a_page_with_no_element_is_a_counted_parse_error(page):
    assert reason(page) == "parse_error"


def test_chunked_parse_builds_the_same_tree_as_a_whole_parse():
    data = clean_utf8(shared_path("html", "newspaper4k", "cnn_001.html").read_bytes())
    assert len(data) > 1 << 18
    whole = etree.fromstring(data, etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True,
                                                    huge_tree=True))
    unnest_void_elements(whole)
    assert etree.tostring(parse_utf8(data)) == etree.tostring(whole)


def test_deadline_binds_during_parsing_of_a_large_page():
    html = "<html><body>" + f"<p>{'text ' * 10}</p>" * 20_000 + "</body></html>"
    assert reason(html, ExtractOptions(time_limit_s=0.0)) == "timeout"


def test_unclosed_noscript_does_not_swallow_the_page():
    assert texts("<body><noscript><div>Enable JS</noscript><p>The article text.</p></body>") == [
        "Enable JS", "The article text."]
    assert texts("<body><noscript><img src=x.gif></noscript><p>The article text.</p></body>") == ["The article text."]


@pytest.mark.parametrize("void", [
    "<embed src='/clip.swf' width=400 height=300>", "<wbr>", "<keygen name=k>", "<bgsound src='/a.mid'>",
    "<video src='/v.mp4'><track src='/s.vtt'></video>",
    "<picture><source srcset='/a.webp' type='image/webp'><source srcset='/a.avif'><img src='/a.jpg'></picture>"])
def test_html5_void_elements_unknown_to_libxml2_do_not_swallow_what_follows(void):
    story = " ".join(f"Sentence {i} of the story, with words enough to be read as article text." for i in range(6))
    html = (f"<body><article><h1>Title</h1><p>{story}</p>{void}<p>After the element: {story}</p>"
            f"<img src='/photo.jpg' width=600 height=400 alt='photo'><p>Last: {story}</p></article></body>")
    doc = extract(html.encode(), "http://site.test/story.html").document
    text = " ".join(n.text for n in doc.nodes if isinstance(n, TextNode))
    assert "After the element:" in text and "Last:" in text
    assert [n.src for n in doc.media][-1] == "http://site.test/photo.jpg"


def test_void_elements_keep_their_text_and_children_in_order_and_image_reads_as_img():
    root = parse_utf8(b"<body><p>long<wbr>word<i>it</i>tail<wbr>end</p><div><embed>in</embed>out"
                      b"<image src='/old.jpg'>x</div></body>")
    assert etree.tostring(root.find("body"), encoding="unicode") == (
        '<body><p>long<wbr/>word<i>it</i>tail<wbr/>end</p><div><embed/>inout<img src="/old.jpg"/>x</div></body>')


@pytest.mark.parametrize(("inside", "outside", "kept"), [
    (60, "o" * 40, True), (40, "o" * 60, False), (50, "o" * 50, False),
    # blank-looking text (no-break spaces) is page text to the measure: the shortcut that reads only
    # the start of the page's text skips it, so these pages are measured whole
    (60, "o" * 10 + "<b>\xa0</b>" * 40, True), (60, "o" * 10 + "<b>\xa0</b>" * 50, False)])
def test_noscript_is_kept_only_holding_more_than_half_the_page(inside, outside, kept):
    html = f"<body><noscript><p>{'n' * inside}</p></noscript><p>{outside}</p></body>"
    assert ("n" * inside in texts(html, ExtractOptions(drop_boilerplate=False))) == kept


def test_images_keep_dom_order_with_every_class_kept():
    html = ("<body><nav><img src='/logo.png' class='site-logo'></nav><article><p>" + "Story text, long. " * 20
            + "</p><img src='/a.jpg' width=600 height=400><p>More of the story.</p>"
            + "<img src='https://ad.doubleclick.net/x.gif'></article></body>")
    result = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True))
    images = [n for n in result.document.nodes if isinstance(n, ImageNode)]
    assert [n.src.rsplit("/", 1)[-1] for n in images] == ["logo.png", "a.jpg", "x.gif"]
    assert [n.image_class for n in images] == ["logo", "content", "ad"]


_PROSE = "<p>" + "A river runs past the old mill and the children watch the boats go by. " * 20 + "</p>"


@pytest.mark.parametrize("href, src", [
    ("file:///C:/Users/me/saved/", None),  # a page saved from a disk: its images are on that disk
    ("ftp://files.test/pics/", None),
    ("javascript:alert(1)//", "https://site.test/a/photo.jpg"),  # WHATWG: the page's own URL
    ("data:text/html,x/", "https://site.test/a/photo.jpg"),
    ("https://cdn.test/x/", "https://cdn.test/x/photo.jpg"),
])
def test_a_base_of_another_scheme_is_the_base_not_the_page_host(href, src):
    """A `file:` or `ftp:` base was ignored, so `photo.jpg` became a URL on the page's host that the
    page never named; now it is that scheme's (`image_bad_scheme`), as a browser resolves it."""
    page = (f"<html><head><base href='{href}'></head><body>{_PROSE}"
            "<img src='photo.jpg' width=600 height=400 alt='the mill'></body></html>").encode()
    result = extract(page, URL)
    assert [n.src for n in result.document.media] == ([src] if src else [])
    assert dict(result.media_drops) == ({} if src else {"image_bad_scheme": 1})


def test_a_flood_of_comment_headings_is_weighed_once_and_cannot_empty_the_page():
    story = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(40))
    flood = "".join(f"<div><h3>Comments</h3><p>Reply number {i}</p></div>" for i in range(15000))
    page = f"<html><body><article>{story}{flood}</article></body></html>".encode()
    start = time.thread_time()
    text = extract(page, "https://news.test/a.html").document.text
    assert time.thread_time() - start < 5  # one sum of the kept text, not one per heading (~15 s)
    assert "Paragraph 39" in text
    # the sections together may drop at most 80% of the kept text: the flood outweighs that
    assert "Reply number" in text


def test_sibling_comment_headings_are_scanned_once_each():
    """Sections named "N Comments" side by side in one block: each scan stops at the next heading
    (taken in page order; in reverse order every scan ran to the block's end: 16,000 took ~5 s)."""
    flood = "".join(f"<h2>{i} Comments</h2><p>Reply number {i}</p>" for i in range(16000))
    page = f"<html><body><article>{_PROSE}{flood}</article></body></html>".encode()
    start = time.thread_time()
    text = extract(page, "https://news.test/a.html").document.text
    assert time.thread_time() - start < 1.5
    assert "Reply number" in text  # the guard: comments may not take more than 80% of the kept text


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("page", ["<html><body><p>Some article text.</p></body></html>", "<html><body></body></html>"])
def test_extraction_leaves_the_garbage_collector_as_it_found_it(enabled, page):
    """The collector is paused during a page (`dom._cyclic_gc_paused`), a rejected one too, and
    left off where the caller had turned it off."""
    (gc.enable if enabled else gc.disable)()
    try:
        try:
            extract(page.encode(), URL)
        except Rejected:
            pass
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


@pytest.mark.parametrize("width, height, declared", [
    ("10%", "10%", (None, None)), ("1%", "1%", (None, None)), ("15.5%", "auto", (None, None)),
    ("100%", "12", (None, 12)), ("640px", " 480 ", (640, 480)), ("640.4", "480.9", (640, 480)),
])
def test_a_percentage_size_is_no_pixel_size(width, height, declared):
    """`width="10%"` was read as 10 pixels: a picture a tenth of the column wide was a logo (under
    24 px), one declared 1% by 1% a tracking pixel, and the stored declared size was wrong."""
    page = (f"<html><body><article>{_PROSE}<img src='photo.jpg' width='{width}' height='{height}' "
            f"alt='the mill'>{_PROSE}</article></body></html>").encode()
    result = extract(page, URL, options=ExtractOptions(keep_all_images=True))
    (image,) = result.document.media
    assert (image.width, image.height) == declared and dict(result.media_drops) == {}
    assert image.image_class == ("logo" if declared[1] == 12 else "content")  # 12 px high is a strip
