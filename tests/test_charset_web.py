"""A page's charset read as browsers read it (the WHATWG Encoding standard's labels), and bytes
that no label describes: stateful 7-bit encodings, UTF-16/32 without a BOM, bytes that are no text.
The library's decoder and extractor, and the M3W job (FnApiRunner) on a WARC of such pages."""

from __future__ import annotations

import gzip
import json
import random
import zlib

import pyarrow.dataset as pads
import pytest

from m3w_builder.drops import Rejected
from m3w_builder.extract import extract
from m3w_builder.extract.charset import decode_html, to_utf8
from pipelines.m3w import run
from tests.test_read_hostile import _jpeg, _samples, _warc

URL = "http://a.test/p.html"
FRENCH = "La crème brûlée est un dessert français très apprécié, préparé avec des œufs. " * 20


def _declared(label: str, text: str, codec: str) -> bytes:
    return f'<html><head><meta charset="{label}"></head><body><p>{text}</p></body></html>'.encode(codec)


@pytest.mark.parametrize(("label", "text", "codec"), [
    # labels WHATWG gives an encoding Python does not know under that name (detection guessed wrong)
    ("koi8-ru", "Тихая река течёт мимо старого сада, и ветер шумит. " * 3, "koi8_u"),
    ("windows-874", "ภาษาไทยเป็นภาษาที่สวยงาม และมีประวัติยาวนาน " * 3, "cp874"),
    ("x-mac-cyrillic", "Тихая река течёт мимо старого сада, и ветер шумит. " * 3, "mac_cyrillic"),
    ("iso-8859-8-i", "שלום עולם, זהו טקסט בעברית על נהר שקט. " * 3, "iso8859_8"),
    # latin-1's labels WHATWG reads as windows-1252 (Python as ISO-8859-1: curly quotes became C1 controls)
    ("l1", "“Smart” quotes — café … " + FRENCH, "cp1252"),
    ("iso-ir-100", "“Smart” quotes — café … " + FRENCH, "cp1252"),
    ("iso_8859-1:1987", "“Smart” quotes — café … " + FRENCH, "cp1252"),
    ("x-user-defined", "“Smart” quotes — café … " + FRENCH, "cp1252"),
])
def test_a_web_label_decodes_as_browsers_decode_it(label, text, codec):
    page = _declared(label, text, codec)
    decoded = decode_html(page)
    assert (decoded.method, decoded.text) == ("meta", page.decode(codec))


@pytest.mark.parametrize("label", ["cp500", "ebcdic-cp-us", "unicode_escape", "raw_unicode_escape", "utf-7", "palmos"])
def test_a_label_no_browser_knows_is_no_declaration(label):
    """Python's codec registry read `cp500` (EBCDIC) as the page's encoding, its text all mojibake;
    `unicode_escape` turned `\\n` in the text into line ends, `utf-7` read `+B-` as base64."""
    text = "C:\\new\\table, A+B-C, 5 + 3 = 8. " + FRENCH
    page = _declared(label, text, "cp1252")
    decoded = decode_html(page, f"text/html; charset={label}")
    assert (decoded.method, decoded.encoding, decoded.text) == ("detected", "cp1252", page.decode("cp1252"))


JAPANESE = "<html><head><title>日記</title></head><body><p>" + "今日は東京で雨が降りました。<ｶﾀｶﾅ>も書けます。" * 20 + "</p></body></html>"


@pytest.mark.parametrize("declaration", ["", '<meta charset="iso-2022-jp">', '<meta charset="utf-8">'])
def test_a_7_bit_iso_2022_jp_page_is_read_under_its_escapes(declaration):
    """ISO-2022-JP is 7-bit, so valid UTF-8 to a byte check: the page was read as ASCII, its Japanese
    escape codes (`$BF|K\\8l`) and their `<` bytes, which the parser took for tags."""
    page = JAPANESE.replace("<head>", "<head>" + declaration)
    decoded = decode_html(page.encode("iso2022_jp_ext"))
    assert (decoded.method, decoded.text) == ("escapes", page)
    assert to_utf8(page.encode("iso2022_jp_ext")) == (page.encode(), "iso2022_jp_ext")


@pytest.mark.parametrize(("label", "codec"), [("hz-gb-2312", "hz"), ("iso-2022-kr", "iso2022_kr"),
                                              ("csiso2022kr", "iso2022_kr")])
def test_a_page_in_an_encoding_browsers_never_decode_is_rejected(label, codec):
    """WHATWG maps these labels to `replacement` (a browser shows one U+FFFD): read as ASCII, the
    page's text was its escape codes (`~{VPND~}`), kept as a document."""
    page = f"<html><body><p>{'中文文字测试，这是一段很长的中文。' if codec == 'hz' else '한국어 텍스트입니다.'}" * 20
    with pytest.raises(Rejected) as err:
        extract((page + "</p></body></html>").encode(codec), URL, content_type=f"text/html; charset={label}")
    assert err.value.reason == "replacement_charset" and label in err.value.detail
    ascii_page = _declared(label, FRENCH.encode("ascii", "replace").decode(), "ascii")  # no escapes: the ASCII it is
    assert decode_html(ascii_page).text == ascii_page.decode()


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf_16_and_32_without_a_bom_are_told_by_their_nuls(codec):
    """Such a page is valid UTF-8 to a byte check: read as bytes, its NULs were stripped and its
    Cyrillic became mojibake (`@825B` for `Привет`), silently."""
    page = "<html><body><p>" + "Привет, мир! Тихая река течёт мимо старого сада. " * 10 + "</p></body></html>"
    decoded = decode_html(page.encode(codec))
    assert (decoded.method, decoded.encoding, decoded.text) == ("wide", codec, page)
    assert to_utf8(page.encode(codec)) == (page.encode(), codec)
    text = " ".join(n.text for n in extract(page.encode(codec), URL).document.nodes)
    assert text.startswith("Привет, мир!")


def test_nuls_in_an_8_bit_page_are_no_utf_16_and_do_not_defeat_detection():
    page = "<html><body><p>" + FRENCH + "</p></body></html>"
    data = page.encode("cp1252").replace(b"<p>", b"<p>" + bytes(2000))  # a run of NULs: padding
    decoded = decode_html(data)
    assert decoded.method == "detected" and decoded.text.replace("\x00", "") == page


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=koi8-r", "text/html; charset=utf-8"])
@pytest.mark.parametrize("body", [
    random.Random(1).randbytes(50_000),
    b"<html><body><p>" + random.Random(2).randbytes(50_000),  # markup, then encrypted bytes
    zlib.compress(FRENCH.encode() * 5), zlib.compress(FRENCH.encode() * 5)[2:-4],  # deflate with no magic
    b"SQLite format 3\x00" + random.Random(3).randbytes(8000),
], ids=["random", "markup-then-random", "zlib", "raw-deflate", "sqlite"])
def test_bytes_that_are_no_text_are_rejected_not_read_as_mojibake(body, content_type):
    """An 8-bit codec (KOI8-R reads every byte) or the UTF-8 fallback made a document of them."""
    with pytest.raises(Rejected) as err:
        extract(body, URL, content_type=content_type)
    assert err.value.reason == "not_text"


def test_a_legacy_page_with_a_few_control_bytes_is_still_text():
    page = ("<html><body><p>" + FRENCH + "</p></body></html>").encode("cp1252").replace(b"tr", b"tr\x01", 5)
    assert "crème brûlée" in " ".join(n.text for n in extract(page, URL).document.nodes)


@pytest.mark.timeout(300)
def test_m3w_job_reads_web_labels_7_bit_and_wide_pages_and_counts_what_is_no_text(tmp_path):
    """The job end to end: an ISO-2022-JP, a BOM-less UTF-16LE and a `koi8-ru` page make samples
    with their text; an HZ page and encrypted bytes labelled text/html are `extract/<reason>`
    with rejects rows (on the old code, three mojibake documents and two of garbage)."""
    img = "<img src='http://img.test/1.jpg' alt='a photo'>"
    russian = "Тихая река течёт мимо старого сада, и ветер шумит в ветвях. " * 12
    other = "Зимой в горах выпал глубокий снег, и дороги закрыли до весны. " * 12
    pages = [
        ("http://a.test/jp.html", JAPANESE.replace("</p>", "</p>" + img).encode("iso2022_jp_ext"), "text/html"),
        ("http://a.test/wide.html", f"<html><body><p>{russian}</p>{img}</body></html>".encode("utf-16-le"), "text/html"),
        ("http://a.test/koi.html", _declared("koi8-ru", other + "</p>" + img + "<p>", "koi8_u"), "text/html"),
        ("http://a.test/hz.html", ("<p>" + "中文文字测试，这是一段很长的中文。" * 30 + img).encode("hz"),
         "text/html; charset=hz-gb-2312"),
        ("http://a.test/enc.html", random.Random(4).randbytes(30_000), "text/html; charset=koi8-r"),
    ]
    warc = tmp_path / "charsets.warc.gz"
    warc.write_bytes(_warc([(url, body, ctype, None) for url, body, ctype in pages]
                           + [("http://img.test/1.jpg", _jpeg(), "image/jpeg", None)]))
    out = tmp_path / "out"
    stats = run(["--input", str(warc), "--output", str(out), "--no_http", "--direct_num_workers=1", "--no_report"])["stats"]
    assert stats["extract/replacement_charset"] == 1 and stats["extract/not_text"] == 1
    rows = {(r["reason"], r["url"]) for r in pads.dataset(out / "rejects").to_table().to_pylist()
            if r["stage"] == "extract"}
    assert rows == {("replacement_charset", "http://a.test/hz.html"), ("not_text", "http://a.test/enc.html")}
    texts = {json.loads(s["json"])["url"]: json.loads(s["json"])["text"] for s in _samples(out)}
    assert set(texts) == {"http://a.test/jp.html", "http://a.test/wide.html", "http://a.test/koi.html"}
    assert "も書けます。" in texts["http://a.test/jp.html"]  # the window with the image
    assert "Тихая река" in texts["http://a.test/wide.html"] and "глубокий снег" in texts["http://a.test/koi.html"]


def test_gzip_bytes_are_no_text_either():
    with pytest.raises(Rejected) as err:
        extract(gzip.compress(FRENCH.encode()), URL, content_type="text/html; charset=iso-8859-5")
    assert err.value.reason == "not_text"


UTF8_PAGES = {
    "fr": "La crème brûlée est un dessert français très apprécié, préparé avec des œufs. ",
    "en": "Plain English text with a curly quote ’ and a dash — here and there. ",
    "ru": "Тихая река течёт мимо старого сада, и ветер шумит в ветвях. ",
    "ja": "日本語のテキストです。東京の天気は晴れ、明日は雨でしょう。",
}


def _lead(data: bytes) -> int:
    """The place of the first multi-byte character's lead byte past byte 300."""
    return next(i for i in range(300, len(data)) if data[i] >= 0xC0)


@pytest.mark.parametrize("language", sorted(UTF8_PAGES))
@pytest.mark.parametrize("damage", [
    lambda b: b[:_lead(b)] + b"\xff" + b[_lead(b):],  # a stray byte
    lambda b: b[:_lead(b)] + b[_lead(b) + 1:],  # a sequence cut in two
    lambda b: b[:_lead(b)] + "“quoted”".encode("cp1252") + b[_lead(b):],  # windows-1252 pasted into a UTF-8 template
], ids=["stray", "cut", "cp1252"])
@pytest.mark.parametrize("content_type", [None, "text/html; charset=windows-1252"])
def test_a_utf_8_page_with_a_few_bad_bytes_is_still_utf_8(language, damage, content_type):
    """One bad byte made the page no UTF-8: undeclared, detection read it whole as cp932 or
    mac_iceland (`crème` became `crﾃｨme`, `’` `‚Äô`), and a legacy declaration as that encoding."""
    page = "<html><body><p>" + UTF8_PAGES[language] * 20 + "</p></body></html>"
    decoded = decode_html(damage(page.encode()), content_type)
    assert (decoded.method, decoded.encoding) == ("mostly_utf8", "utf-8")
    assert decoded.text.count("\ufffd") <= 3 and UTF8_PAGES[language] * 3 in decoded.text


@pytest.mark.parametrize(("text", "codec"), [
    ("La crème brûlée est un dessert français très apprécié, préparé avec des œufs. ", "cp1252"),
    ("Zażółć gęślą jaźń. Ten tekst jest napisany po polsku, łódź płynie rzeką. ", "cp1250"),
    ("Тихая река течёт мимо старого сада, и ветер шумит в ветвях. ", "koi8-r"),
    ("日本語のテキストです。東京の天気は晴れ、明日は雨でしょう。", "euc_jp"),
    ("这是一段中文文字，用于测试字符集检测是否正确。北京今天天气很好。", "gb18030"),
    ("한국어 텍스트입니다. 서울의 날씨는 맑고 내일은 비가 올 것입니다. ", "cp949"),
])
def test_legacy_pages_are_not_taken_for_damaged_utf_8(text, codec):
    page = "<html><body><p>" + text * 20 + "</p></body></html>"
    assert decode_html(page.encode(codec), f"text/html; charset={codec}").text == page


CZECH = "Příliš žluťoučký kůň úpěl ďábelské ódy. Česká republika je krásná země. " * 20


@pytest.mark.parametrize("head", [
    '<!-- <meta charset="windows-1251"> --><meta charset="iso-8859-2">',  # a template's commented-out meta
    '<!--[if IE]><meta charset="windows-1251"><![endif]--><meta charset="iso-8859-2">',
    '<meta name="description" content="Nastavení charset=windows-1251 v PHP">'
    '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2">',
    '<meta data-charset="windows-1251"><meta charset="iso-8859-2">',
    '<meta name="x" content="a > b" charset="iso-8859-2">',  # a quoted `>` in another attribute
])
def test_a_meta_is_read_as_the_html_prescan_reads_it(head):
    """A regex over the bytes took the first `charset=` after any `<meta`: inside a comment, a
    description or a `data-charset`; windows-1251 reads every ISO-8859-2 byte, so the Czech page
    was decoded as Cyrillic mojibake (`P¨ěliš`), silently."""
    page = f"<html><head>{head}</head><body><p>{CZECH}</p></body></html>"
    decoded = decode_html(page.encode("iso8859_2", errors="replace"))
    assert (decoded.method, decoded.encoding, CZECH in decoded.text) == ("meta", "iso8859-2", True)


def test_a_content_charset_without_http_equiv_declares_nothing():
    page = f'<html><head><meta content="text/html; charset=windows-1251"></head><body><p>{CZECH}</p></body></html>'
    assert decode_html(page.encode("iso8859_2")).method == "detected"
