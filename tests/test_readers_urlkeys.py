"""URL dedup keys (w3lib canonical form): spellings of one URL give one key, different URLs differ;
`resolve` unifies only equivalent spellings (the path keeps its case; userinfo is dropped)."""

from __future__ import annotations

import pytest

from m3w_builder.extract.urls import resolve
from m3w_builder.quality.urlkeys import normalize_url

SAME = [
    ("http://example.com/%7Euser/page", "http://example.com/~user/page"),
    ("http://example.com/a/./b/../c", "http://example.com/a/c"),
    ("http://bücher.de/x", "http://xn--bcher-kva.de/x"),
    ("http://example.com/%e4", "http://example.com/%E4"),
    ("http://example.com/café", "http://example.com/caf%C3%A9"),
    ("HTTPS://WWW.Example.com:443/a?b=2&a=1&utm_medium=x&fbclid=1#top", "http://example.com/a?a=1&b=2"),
    ("http://user:secret@example.com/", "http://example.com/"),
    ("http://example.com", "https://example.com/"),
]
DIFFERENT = [
    ("http://example.com/a", "http://example.com/A"),
    ("http://example.com/a?x=1", "http://example.com/a?x=2"),
    ("http://example.com:8080/", "http://example.com/"),
    ("http://example.com/%2F", "http://example.com//"),
]


@pytest.mark.parametrize("a,b", SAME)
def test_spellings_of_one_url_share_a_key(a: str, b: str) -> None:
    assert normalize_url(a) == normalize_url(b)


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_different_urls_keep_different_keys(a: str, b: str) -> None:
    assert normalize_url(a) != normalize_url(b)


def test_key_shape_and_unparsable_urls() -> None:
    assert normalize_url("HTTPS://WWW.Example.com:443/a?b=2&a=1&utm_medium=x#top") == "example.com/a?a=1&b=2"
    assert normalize_url("http://example.com:8080/") == "example.com:8080/"
    assert normalize_url("http://[::1]:port/ ") == "http://[::1]:port/"


# `resolve` (the URL a page's media are fetched from): equivalent spellings unified, nothing else
RESOLVED = [
    ("http://example.com/%7Euser/a", "http://example.com/~user/a"),
    ("http://example.com/a/./b/../c", "http://example.com/a/c"),
    ("http://example.com/a/b/..", "http://example.com/a/"),
    ("http://BÜCHER.de/x", "http://xn--bcher-kva.de/x"),
    ("http://example.com/%e4?q=%e4", "http://example.com/%E4?q=%E4"),
    ("http://example.com/café", "http://example.com/caf%C3%A9"),
    ("HTTP://User:PassWord@Example.COM:8080/Path?Q=A#frag", "http://example.com:8080/Path?Q=A"),  # userinfo: never stored
    ("http://example.com/a%2Fb/.hidden", "http://example.com/a%2Fb/.hidden"),
]


@pytest.mark.parametrize("ref,expected", RESOLVED)
def test_resolve_unifies_only_equivalent_spellings(ref: str, expected: str) -> None:
    assert resolve("http://base.test/page.html", ref) == expected


def test_resolve_relative_refs_and_non_urls() -> None:
    base = "http://User:Secret@Example.com/a/b/page.html"
    assert resolve(base, "../img/./x.jpg") == "http://example.com/a/img/x.jpg"  # no userinfo carried over
    assert resolve(base, "//cdn.Example.com/%7e/x.jpg") == "http://cdn.example.com/~/x.jpg"
    assert [resolve(base, r) for r in ("data:image/png;base64,AA", "javascript:x()", "#top", "ftp://h/x", "http:///x",
                                       "", None)] == [None] * 7
