"""Word counting of the quality filters and the pre-pass in scripts without spaces and in Korean,
on real text (newspaper4k's expected texts in ../shared/data/html/newspaper4k; shared/ holds no
Korean text, so the Korean articles 1-3 of the Universal Declaration of Human Rights are used)."""

from __future__ import annotations

import pytest

from m3w_builder.document import Document, TextNode
from m3w_builder.drops import Rejected
from m3w_builder.quality.filters import FilterOptions, filter_document, words
from m3w_builder.quality.prepass import PrepassConfig, prepass_reason
from tests.conftest import shared_path


_UDHR_KO = [
    "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다. 인간은 천부적으로 이성과 양심을 "
    "부여받았으며 서로 형제애의 정신으로 행동하여야 한다.",
    "모든 사람은 인종, 피부색, 성, 언어, 종교, 정치적 또는 기타의 견해, 민족적 또는 사회적 출신, 재산, 출생 "
    "또는 기타의 신분과 같은 어떠한 종류의 차별이 없이, 이 선언에 규정된 모든 권리와 자유를 향유할 자격이 있다.",
    "모든 사람은 생명과 신체의 자유와 안전에 대한 권리를 가진다.",
]


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


def test_korean_words_are_space_delimited_eojeol_not_syllables():
    for paragraph in _UDHR_KO:
        assert words(paragraph) == [token.strip(".,") for token in paragraph.split()]
    assert words("2024년 3월 15일 서울에서") == ["2024년", "3월", "15일", "서울에서"]
    # 63 words (174 syllables): a real article passes, the mean word length is not applied to Hangul
    doc = Document(doc_id="x", url="https://news.test/a", nodes=[TextNode(p) for p in _UDHR_KO])
    assert [n.text for n in filter_document(doc).document.nodes] == _UDHR_KO
    with pytest.raises(Rejected) as rejected:  # 20 words, not 66 syllables: too short
        filter_document(Document(doc_id="x", url="https://news.test/a", nodes=[TextNode(_UDHR_KO[0])]))
    assert rejected.value.reason == "too_few_words"


def test_prepass_counts_words_as_the_filters_do_digits_apart_from_cjk():
    # "６月12日の歴史的な…": the digits are a word, each character after them one more (a `\w+` run
    # starting at the digits once swallowed the whole phrase as one word)
    line = next(line for line in _article("japanese_article") if "12日" in line)
    tokens = words(line)
    assert tokens[:4] == ["６", "月", "12", "日"]
    page = f"<html><body><p>{line}</p></body></html>".encode()
    assert prepass_reason(page, PrepassConfig(min_words=len(tokens))) is None
    assert prepass_reason(page, PrepassConfig(min_words=len(tokens) + 1)) == "too_few_words"
    korean = f"<html><body><p>{_UDHR_KO[0]}</p></body></html>".encode()
    assert prepass_reason(korean, PrepassConfig(min_words=21)) == "too_few_words"  # 20 eojeol
