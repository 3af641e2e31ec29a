"""A page's references read as the WHATWG URL parser reads them: tabs and line ends inside a URL,
backslashes for slashes, ports browsers serialise or refuse; the extractor and the job's readers."""

from __future__ import annotations

import pytest

from m3w_builder.extract import ExtractOptions, extract
from m3w_builder.extract.urls import resolve
from m3w_builder.read.url_map import parse_url_map

BASE = "http://a.test/dir/p.html"
TEXT = "<p>" + "Rivers and bridges make the old town quiet in the evening rain, and markets open early. " * 6 + "</p>"


@pytest.mark.parametrize(("ref", "url"), [
    ("http://img.test/photos/2024/a-very-long-\nfile-name.jpg", "http://img.test/photos/2024/a-very-long-file-name.jpg"),
    ("https://img.test/a.jpg?w=\r\n800", "https://img.test/a.jpg?w=800"),
    ("ima\tges/a.jpg", "http://a.test/dir/images/a.jpg"),
    ("/photos/\n\ta.jpg", "http://a.test/photos/a.jpg"),
    ("\\\\img.test\\photos\\a.jpg", "http://img.test/photos/a.jpg"),  # scheme-relative, as a Windows editor wrote it
    ("http:\\\\img.test\\a.jpg?q=a\\b", "http://img.test/a.jpg?q=a%5Cb"),  # the query keeps its backslash
    ("images\\photo.jpg", "http://a.test/dir/images/photo.jpg"),
    ("http://img.test:/a.jpg", "http://img.test/a.jpg"),  # an empty port is none
    ("http://img.test:0080/a.jpg", "http://img.test/a.jpg"),  # leading zeros: the default port
    ("http://img.test:08080/a.jpg", "http://img.test:8080/a.jpg"),
    ("http://[::1]:8080/a.jpg", "http://[::1]:8080/a.jpg"),
    ("http://img.test:65536/a.jpg", None), ("//img.test:99999/a.jpg", None), ("http://img.test:8o/a.jpg", None),
    ("http://img.test:\u0663/a.jpg", None),  # an Arabic-Indic digit is no port digit
    ("http://img.test:80:80/a.jpg", None),  # was http://img.test:80/a.jpg: a host named `img.test:80`
    ("http://img.test\\@evil.test/a.jpg", "http://img.test/@evil.test/a.jpg"),  # was evil.test's
    # hosts no URL parser accepts: IDNA could not map them, or they hold a forbidden code point
    ("http://\ufffd.test/a.jpg", None), ("http://" + "\u00e9" * 70 + ".test/a.jpg", None),
    ("http://a b.test/a.jpg", None), ("http://a%20b.test/a.jpg", None), ("http://a^b.test/a.jpg", None),
    ("http://a|b.test:8080/a.jpg", None),
    ("http://b\u00fccher.test/a.jpg", "http://xn--bcher-kva.test/a.jpg"), ("http://\u2603.test/a", "http://xn--n3h.test/a"),
])
def test_references_resolve_as_browsers_read_them(ref, url):
    """A tab or line end made a reference no URL (`image_no_src`; CR alone was removed), a
    backslash a path on the page's own host (`\\\\img.test\\a.jpg` fetched /dir///img.test/a.jpg
    from a.test) or the host after it, `:0080` and `:` two spellings of the default port, `:65536`
    and a host with a space or one IDNA could not map URLs kept (fetched, failing as the server's fault)."""
    assert resolve(BASE, ref) == url


def test_an_image_whose_source_is_wrapped_over_lines_is_the_pages_image():
    page = (f"<html><body><article><h1>Title</h1>{TEXT}<img src='https://img.test/uploads/2024/\n"
            "garden-photo.jpg' width='800' height='600' alt='a garden'>"
            f"<img src='\\\\cdn.test\\pics\\b.jpg' width='800' height='600' alt='b'>{TEXT}</article></body></html>")
    result = extract(page.encode(), BASE, options=ExtractOptions(keep_all_images=True))
    assert [m.src for m in result.document.media] == ["https://img.test/uploads/2024/garden-photo.jpg",
                                                      "http://cdn.test/pics/b.jpg"]
    assert not result.media_drops


def test_a_url_map_url_with_a_tab_is_still_refused():
    """The url map names a page's own URL (stored in shards and rejects): a tab in it is no URL,
    however a page's references are read."""
    with pytest.raises(ValueError, match="no absolute http"):
        parse_url_map(b'{"file": "a.html", "url": "http://a.test/x\\ty.html"}\n')
