"""DOM → document rules on tiny inline pages (exact node lists), and every real page accounted for."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from lxml import etree

from m3w_builder.document import ImageNode, TextNode, VideoNode
from m3w_builder.drops import Rejected
from m3w_builder.extract.charset import decode_html, meta_charset
from m3w_builder.extract.dom import extract, parse_html
from m3w_builder.extract.urls import resolve
from tests.conftest import shared_path

URL = "https://site.test/blog/post.html"


def nodes(html: str, url: str = URL) -> list[tuple]:
    result = extract(html.encode("utf-8"), url)
    out = []
    for n in result.document.nodes:
        if isinstance(n, TextNode):
            out.append(("text", n.text))
        elif isinstance(n, ImageNode):
            out.append(("image", n.src, n.alt, n.caption))
        else:
            out.append(("video", n.src, n.poster))
    return out


def test_text_and_images_in_dom_order_with_inline_text_joined():
    html = """<html><body><h1>Title <b>here</b></h1><p>First <a href="#">para</a>graph.</p>
    <img src="a.jpg" alt=" A  cat "><p>Second.</p><img src="/img/b.png"></body></html>"""
    assert nodes(html) == [
        ("text", "Title here"),
        ("text", "First paragraph."),
        ("image", "https://site.test/blog/a.jpg", "A cat", ""),
        ("text", "Second."),
        ("image", "https://site.test/img/b.png", "", ""),
    ]


def test_words_between_adjacent_links_stay_apart():
    html = """<html><body><p>See <a href="/a">this</a> <a href="/b">that</a>
    <a href="/c">and</a>\n<a href="/d">more</a> in the text.</p></body></html>"""
    assert nodes(html) == [("text", "See this that and more in the text.")]


def test_boilerplate_nav_footer_ads_cookie_banner_and_hidden_are_dropped():
    html = """<html><body><nav><a>Home</a><img src="menu.png"></nav>
    <header class="site-header"><div class="menu">Menu</div></header>
    <div id="cookie-banner">We use cookies. <button>Accept</button></div>
    <div class="ad-slot"><img src="ad.gif"></div><script>var x = "<p>no</p>";</script>
    <article><p>Real content.</p><img src="real.jpg"></article>
    <div style="display:none">Hidden text</div><aside>Related links</aside>
    <footer>Copyright</footer></body></html>"""
    assert nodes(html) == [("text", "Real content."), ("image", "https://site.test/blog/real.jpg", "", "")]


def test_boilerplate_named_container_holding_the_page_is_kept():
    body = "Main story text. " * 50
    html = f'<html><body><div class="layout has-sidebar"><p>{body}</p></div></body></html>'
    assert nodes(html) == [("text", body.strip())]


def test_lazy_srcset_picture_and_placeholders():
    html = """<html><body>
    <img src="data:image/gif;base64,R0lGOD" data-src="lazy.jpg">
    <img srcset="s.jpg 320w, l.jpg 1024w, m.jpg 640w" src="fallback.jpg">
    <picture><source srcset="p.webp 1x, p2.webp 2x" type="image/webp"><img alt="pic"></picture>
    <img src="data:image/png;base64,iVBOR">
    <img src="pixel.gif" width="1" height="1">
    <img>
    </body></html>"""
    result = extract(html.encode(), URL)
    assert [n.src for n in result.document.media] == [
        "https://site.test/blog/lazy.jpg",
        "https://site.test/blog/l.jpg",
        "https://site.test/blog/p2.webp",
    ]
    assert dict(result.media_drops) == {"image_data_uri": 1, "image_tracking_pixel": 1, "image_no_src": 1}


def test_image_sources_of_other_schemes_are_counted_as_such():
    html = """<html><body><p>Text.</p>
    <img src="file:///etc/passwd"><img src=" JavaScript:alert(1)"><img data-src="mailto:a@b.test" src="x.jpg">
    <img src="about:blank"><img srcset="blob:https://site.test/1 2x"><img src="data:image/png;base64,iVBOR">
    <img src=""><img src="https://site.test/"><img src="http://[::1">
    </body></html>"""
    assert dict(extract(html.encode(), URL).media_drops) == {"image_bad_scheme": 4, "image_data_uri": 1,
                                                             "image_no_src": 3}
    # a page read from a file with no URL: its relative sources lead to no web address
    page = extract(b"<html><body><p>Text.</p><img src='a.jpg'></body></html>", "file:///data/page.html")
    assert dict(page.media_drops) == {"image_bad_scheme": 1}


def test_base_href_figcaption_and_video():
    html = """<html><head><base href="https://cdn.test/assets/"></head><body>
    <figure><img src="fig.jpg" alt="alt text"><figcaption>A <i>red</i> circle.</figcaption></figure>
    <video poster="poster.jpg" width="320"><source src="clip.webm" type="video/webm"><source src="clip.mp4">
    Your browser does not support video.</video><p>After.</p></body></html>"""
    assert nodes(html) == [
        ("image", "https://cdn.test/assets/fig.jpg", "alt text", "A red circle."),
        ("text", "A red circle."),
        ("video", "https://cdn.test/assets/clip.webm", "https://cdn.test/assets/poster.jpg"),
        ("text", "After."),
    ]


def test_rejections_have_reasons():
    with pytest.raises(Rejected) as err:
        extract(b"   ", URL)
    assert err.value.reason == "empty"
    with pytest.raises(Rejected) as err:
        extract(b"<html><body><script>x</script></body></html>", URL)
    assert err.value.reason == "no_content"
    with pytest.raises(Rejected) as err:
        from m3w_builder.extract.dom import ExtractOptions

        extract(b"<p>x</p>" * 1000, URL, options=ExtractOptions(max_page_bytes=100))
    assert err.value.reason == "too_large"


def test_charset_lies_are_decoded_right():
    utf8_declared_latin1 = '<meta charset="iso-8859-1"><p>Crème brûlée</p>'.encode("utf-8")
    assert decode_html(utf8_declared_latin1).text.endswith("Crème brûlée</p>")
    cp1252 = "<p>“Smart” quotes — café</p>".encode("cp1252")
    decoded = decode_html(cp1252, "text/html; charset=windows-1252")
    assert "“Smart” quotes — café" in decoded.text and decoded.method == "header"
    sjis = "<p>日本語のテキストです。東京の天気は晴れ。</p>".encode("shift_jis")
    assert "日本語のテキスト" in decode_html(sjis, "text/html; charset=Shift_JIS").text
    assert "日本語のテキスト" in decode_html(sjis).text  # undeclared: detected


def test_a_header_and_a_meta_that_disagree_the_one_the_bytes_decode_under_cleanly_wins():
    """An EUC-JP page whose HTTP header says Shift_JIS was decoded as Shift_JIS (a few bad bytes are
    tolerated), its meta's EUC-JP never tried; so was a Shift_JIS page labelled UTF-8 by its header."""
    euc = shared_path("html", "warc-extracted", "clueweb-quirk__001.html").read_bytes()  # meta: EUC-JP
    assert meta_charset(euc).lower() == "euc-jp"
    truth = decode_html(euc, "text/html; charset=EUC-JP")
    for lie in ("shift_jis", "utf-8"):
        decoded = decode_html(euc, f"text/html; charset={lie}")
        assert (decoded.method, decoded.encoding, decoded.text) == ("meta", "euc_jp", truth.text), lie
    page = "<meta charset='shift_jis'>" + "<p>Some English text on the page.</p>" * 200 + "<p>日本語のテキストです。</p>"
    decoded = decode_html(page.encode("shift_jis"), "text/html; charset=utf-8")
    assert (decoded.method, decoded.text) == ("meta", page)
    # with no better declaration, a few bad bytes under the header's charset are still accepted
    stray = "<p>Crème brûlée, café</p>".encode("cp1252") * 50 + b"<p>na\x81ve</p>"  # 0x81: no windows-1252 byte
    assert decode_html(stray, "text/html; charset=windows-1252").method == "header"
    # a BOM wins over any label
    assert decode_html(b"\xff\xfe" + page.encode("utf-16-le"), "text/html; charset=iso-8859-1").text == page


def test_utf8_pages_pass_undecoded_and_a_sequence_cut_at_an_ascii_chunk_is_invalid():
    from m3w_builder.extract.charset import _CHUNK, to_utf8, valid_utf8

    straddling = b"a" * (_CHUNK - 2) + "日本".encode() + b"b" * _CHUNK
    assert valid_utf8(straddling) and to_utf8(straddling) == (straddling, "utf-8")
    for cut in (b"\xe6", b"\xe6\x97"):  # the first bytes of a CJK character, then only ASCII
        assert not valid_utf8(b"a" * (_CHUNK - len(cut)) + cut + b"b" * _CHUNK)
    latin1 = "<p>Crème brûlée</p>".encode("latin-1") + b" " * _CHUNK
    assert to_utf8(latin1, "text/html; charset=iso-8859-1") == ("<p>Crème brûlée</p>".encode() + b" " * _CHUNK,
                                                              "cp1252")


def test_wpull_utf16_page_whose_meta_says_x_sjis():
    data = shared_path("html", "wpull-samples", "kcna.html").read_bytes()
    decoded = decode_html(data)
    assert decoded.method == "bom" and "조선통신" in decoded.text


def test_warc_extracted_pages_use_http_charset():
    folder = shared_path("html", "warc-extracted")
    checked = 0
    for line in (folder / "index.jsonl").read_text().splitlines():
        entry = json.loads(line)
        ctype = entry.get("http_content_type") or ""
        if "charset" not in ctype.lower() or "utf-8" in ctype.lower():
            continue
        decoded = decode_html((folder / entry["file"]).read_bytes(), ctype)
        assert decoded.text.count("\ufffd") < 5, entry["file"]
        checked += 1
    assert checked > 0


def _html_files():
    from tests.conftest import SHARED_DATA

    root = SHARED_DATA / "html"
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".html", ".htm", ".xml")) if root.exists() else []


@pytest.mark.parametrize("path", _html_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_page_is_a_document_or_a_reason_and_keeps_dom_image_order(path):
    data = path.read_bytes()
    url = "https://example.test/dir/page.html"
    try:
        result = extract(data, url)
    except Rejected as rejected:
        assert rejected.reason in {"empty", "no_content", "parse_error", "too_large", "timeout"}
        return
    srcs = [n.src for n in result.document.media if isinstance(n, ImageNode)]
    # Independent listing of every <img>'s candidate URLs in document order (src, lazy, srcset), and
    # of each <figure> holding none (one naming its picture in an attribute gets it): the extracted
    # images must be a subsequence of it.
    root = parse_html(decode_html(data).text)
    base_el = next(root.iter("base"), None)
    if base_el is not None and base_el.get("href"):
        url = resolve(url, base_el.get("href")) or url

    def attr_urls(element) -> set[str]:
        found = set()
        for value in element.attrib.values():
            chunks = value.split(", ") + re.split(r",\s*", value)  # srcset candidates, either way
            for piece in [value] + [c.split()[0] for c in chunks if c.split()]:
                if resolve(url, piece):
                    found.add(resolve(url, piece))
        return found

    candidates = []
    for img in root.iter("img", "figure"):
        if img.tag == "figure" and next(img.iter("img", "picture"), None) is not None:
            continue
        urls = attr_urls(img)
        picture = next(img.iterancestors("picture"), None)
        for source in picture.iter("source") if picture is not None else ():
            urls |= attr_urls(source)
        candidates.append(urls)
    position = 0
    for src in srcs:
        while position < len(candidates) and src not in candidates[position]:
            position += 1
        assert position < len(candidates), f"{src} out of DOM order"
        position += 1


def test_extract_cli_prints_nodes_image_classes_and_marker_text(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<html><body><p>Hello world.</p><img src='x.jpg'><p>Bye.</p></body></html>")
    command = [sys.executable, "-m", "m3w_builder.extract", str(page), "--url", "http://h.test/"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    doc = json.loads(out.split("\n--- images ---\n")[0])
    assert [n["type"] for n in doc["nodes"]] == ["text", "image", "text"]
    assert doc["nodes"][1]["image_class"] == "content"
    assert "\ncontent  http://h.test/x.jpg\n" in out
    assert out.rstrip().endswith("Hello world.<EOC><image>Bye.<EOC>")
    page.write_text("<html><body><p>Hello world.</p><img src='x.jpg'>"
                    "<a href='/other.html'><img src='t.jpg'>Another story</a></body></html>")
    out = subprocess.run(command + ["--keep-all-images"], capture_output=True, text=True, check=True).stdout
    assert "\ncontent  http://h.test/x.jpg\nteaser   http://h.test/t.jpg\n" in out


def test_video_node_type():
    result = extract(b"<body><p>x</p><video src='v.mp4'></video></body>", URL)
    assert isinstance(result.document.nodes[-1], VideoNode)


def test_deadline_is_enforced():
    from m3w_builder.extract.dom import ExtractOptions

    html = "<div>" + "<span>x</span>" * 20000 + "</div>"
    with pytest.raises(Rejected) as err:
        extract(html.encode(), URL, options=ExtractOptions(time_limit_s=0.0))
    assert err.value.reason == "timeout"


def test_parse_tree_is_lxml():
    assert isinstance(parse_html("<p>x</p>"), etree._Element)


_LATIN_TEXTS = {  # (text, the legacy encoding it is written in)
    "fr": ("La crème brûlée est un dessert français très apprécié, préparé avec des œufs. ", "cp1252"),
    "es": ("El niño comió piña en la montaña y después bebió café con leche en España. ", "cp1252"),
    "cs": ("Příliš žluťoučký kůň úpěl ďábelské ódy. Česká republika je krásná země. ", "cp1250"),
    "pl": ("Zażółć gęślą jaźń. Ten tekst jest napisany po polsku, łódź płynie rzeką. ", "cp1250"),
}


@pytest.mark.parametrize("language", sorted(_LATIN_TEXTS))
@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8"])  # undeclared, or declared wrongly
def test_detection_reads_windows_1252_text_as_windows_1252(language, content_type):
    """charset-normalizer ranks windows-1250 and -1252 alike on French or Spanish text and listed
    1250 first: `crème` became `crčme`, `piña` `pińa`. A tie goes to windows-1252; Central
    European text, which only windows-1250 reads, stays windows-1250."""
    text, encoding = _LATIN_TEXTS[language]
    page = f"<html><body><p>{text * 20}</p></body></html>"
    decoded = decode_html(page.encode(encoding), content_type)
    assert (decoded.encoding, decoded.text) == (encoding, page)
