"""A page's text as a reader sees it: invisible format characters and icon-font glyphs removed,
combining-mark runs capped (m3w_builder.extract.visible), in the extractor's nodes and title."""

from __future__ import annotations

import pytest

from m3w_builder.extract import extract
from m3w_builder.extract.visible import visible

PROSE = "<p>" + "Rivers and bridges make the old town quiet in the evening rain, and markets open early. " * 6 + "</p>"


def _texts(body: str, title: str = "Title") -> tuple[list[str], str]:
    page = f"<html><head><title>{title}</title></head><body><article>{PROSE}{body}</article></body></html>"
    document = extract(page.encode(), "http://a.test/p.html").document
    return [n.text for n in document.nodes if n.type == "text"], document.title


@pytest.mark.parametrize(("written", "read"), [
    ("ex\u00adample", "example"),  # soft hyphen
    ("zero\u200bwidth \u2060joined\u2063sep", "zerowidth joinedsep"),  # ZWSP, word joiner, invisible separator
    ("\u202eevil\u202c and \u2066iso\u2069 and \u200fRLM\u200e", "evil and iso and RLM"),  # bidi controls
    ("a\ufeffBOM inside", "aBOM inside"),
    ("\ue051 Call us \uf095 now", "Call us now"),  # icon-font glyphs (private use)
    ("curly \x93quotes\x94 as C1 controls", "curly quotes as C1 controls"),
    ("a" + "\u0301" * 100_000 + " accent", "a" + "\u0301" * 30 + " accent"),  # zalgo stacked past 30 marks
])
def test_characters_that_draw_nothing_are_no_page_text(written, read):
    """They split or joined words for the filters and the tokenizer and hid copies from MinHash
    (a zero-width space in each word); a million accents on one letter made a 2 MB paragraph."""
    texts, _ = _texts(f"<p>{written}</p>")
    assert texts[-1] == read


@pytest.mark.parametrize("text", ["می\u200cخواهم بروم", "क्षत्रिय", "👨\u200d👩\u200d👧 family", "שָׁלוֹם",
                                  "Tiếng Việt", "e\u0301\u0302\u0303 three marks"])
def test_what_spells_words_stays(text):
    """ZWNJ/ZWJ spell Persian and Indic words and join emoji; script marks come a few to a letter."""
    assert visible(text) == text


def test_a_paragraph_of_invisible_characters_is_no_node_and_the_title_is_cleaned():
    texts, title = _texts("<p>\u200b\u200b \u00ad</p><p>\ue051</p>", title="My\u200b Tit\u00adle")
    assert len(texts) == 1 and title == "My Title"


@pytest.mark.timeout(300)
def test_m3w_job_finds_a_copy_hidden_by_zero_width_spaces(tmp_path):
    """A copied article with a zero-width space between its letters reads the same in a browser; to
    the filters its words were single letters (on the old code filter/mean_word_length_low: dropped
    under a reason that was not its own) and to MinHash new words."""
    import random

    from pipelines.m3w import run
    from tests.test_read_hostile import WORDS, _jpeg, _warc

    rng = random.Random(5)
    text = " ".join(rng.choice(WORDS) + ("." if i % 9 == 8 else "") for i in range(400))
    hidden = " ".join("\u200b".join(word) for word in text.split())
    pages = [(f"http://{host}/story.html", (f"<html><body><article><h1>Story</h1><p>{body}</p>"
              f"<img src='http://img.test/{n}.jpg' alt='a photo'></article></body></html>").encode(), "text/html", None)
             for n, (host, body) in enumerate([("a.test", text), ("b.test", hidden)])]
    warc = tmp_path / "copies.warc.gz"
    warc.write_bytes(_warc(pages + [(f"http://img.test/{n}.jpg", _jpeg(), "image/jpeg", None) for n in range(2)]))
    stats = run(["--input", str(warc), "--output", str(tmp_path / "out"), "--no_http", "--direct_num_workers=1",
                 "--no_report"])["stats"]
    assert stats["near_dup/near_duplicate"] == 1 and stats["near_dup/kept"] == 1
