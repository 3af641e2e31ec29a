"""Word counting of the quality filters in scripts without spaces, on real article text
(newspaper4k's expected texts in ../shared/data/html/newspaper4k)."""

from __future__ import annotations

import pytest

from m3w_builder.document import Document, TextNode
from m3w_builder.drops import Rejected
from m3w_builder.quality.filters import FilterOptions, filter_document, words
from tests.conftest import shared_path


def _article(name: str) -> list[str]:
    text = shared_path("html", "newspaper4k", f"{name}.expected.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["burmese_article", "thai_article"])
def test_articles_without_spaces_count_syllable_like_words_and_pass_the_filters(name):
    paragraphs = _article(name)
    text = "\n".join(paragraphs)
    tokens = words(text)
    spaced = len(text.split())
    # about one token per syllable: several per space-separated phrase, never fewer than a letter per 4
    assert 3 * spaced < len(tokens) < len(text)
    assert all(len(token) <= 12 for token in tokens)  # no run of a script glued into one giant word
    doc = Document(doc_id="x", url="https://news.test/a", nodes=[TextNode(p) for p in paragraphs])
    kept = filter_document(doc).document
    assert [n.text for n in kept.nodes] == paragraphs  # no paragraph is "special characters"


def test_cluster_boundaries_and_cjk_digits():
    # Myanmar: medials, vowel signs and asat stay with their consonant; Khmer: the consonant under
    # a coeng joins the cluster; Thai: leading and trailing vowels join; digits split from CJK
    assert words("ကြော်ငြာ") == ["ကြော်", "ငြာ"]
    assert words("ខ្មែរ") == ["ខ្មែ", "រ"]
    assert words("ภาษาไทย") == ["ภา", "ษา", "ไท", "ย"]
    assert words("11月17日电 Hello") == ["11", "月", "17", "日", "电", "Hello"]


def test_a_short_page_in_a_script_without_spaces_is_still_too_short():
    doc = Document(doc_id="x", url="https://news.test/a", nodes=[TextNode(_article("thai_article")[0][:40])])
    with pytest.raises(Rejected) as rejected:
        filter_document(doc, FilterOptions())
    assert rejected.value.reason == "too_few_words"
