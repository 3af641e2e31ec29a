"""Classes of misfire of the quality filters found by reading, on every shared real page, what they
removed or rejected (../shared/data/html): each test is page-shaped and failed before its fix."""

from __future__ import annotations

from m3w_builder.document import Document, TextNode
from m3w_builder.extract import extract
from m3w_builder.quality.filters import filter_document, words
from tests.conftest import shared_path

URL = "https://example.test/page.html"
_METHOD = ["Heat a skillet over medium heat and brown the beef for five minutes, breaking it up as it cooks.",
           "Stir in the shells, the broth and the spices, cover and simmer until the shells are tender.",
           "Take the pan off the heat and fold in the yogurt and the cheese until the sauce is smooth."]


def _texts(doc: Document) -> list[str]:
    return [n.text for n in doc.nodes if isinstance(n, TextNode)]


def test_table_cells_and_units_that_repeat_are_not_copied_paragraphs():
    # a recipe card's nutrition table: each value is a cell, its unit the next one ("g", "%")
    nutrition = ["Fat", "22", "g", "34", "%", "Saturated Fat", "4", "g", "20", "%",
                 "Sodium", "480", "mg", "21", "%", "Sugar", "11", "g", "12", "%"]
    page = Document("d", URL, [TextNode(t) for t in ["Creamy beef and shells", *_METHOD, "Nutrition", *nutrition,
                                                     "Instructions", *_METHOD]])
    kept = _texts(filter_document(page).document)
    assert kept[kept.index("Saturated Fat"):kept.index("Sodium")] == ["Saturated Fat", "4", "g", "20", "%"]
    assert kept.count(_METHOD[0]) == 1  # the card's copy of the method is still a copy


def test_a_refrain_of_dialogue_stays_in_the_story():
    line = '"I would prefer not to."'
    story = [f"Chapter {i}: the lawyer called the copyist into his office once more and asked him, kindly, "
             "to look over the papers that had been copied that morning." for i in range(4)]
    page = Document("d", URL, [TextNode(t) for part in story for t in (part, line, "No answer.")])
    assert _texts(filter_document(page).document).count(line) == 4


def test_real_pages_keep_their_tables_dialogue_and_recipe():
    bartleby = extract(shared_path("html", "mozilla-readability", "clean-links.html").read_bytes(),
                       "http://fakehost/test/page.html").document
    assert _texts(bartleby).count('"I would prefer not to."') == \
        _texts(filter_document(bartleby).document).count('"I would prefer not to."') > 3
    films = extract(shared_path("html", "mozilla-readability", "wikipedia-4.html").read_bytes(),
                    "http://fakehost/test/page.html").document
    assert _texts(filter_document(films).document).count("The Girl Who Leapt Through Time") == \
        _texts(films).count("The Girl Who Leapt Through Time") > 1
    # bofrost.de shows its ingredient list once per serving size: ingredient names and amounts repeat
    # in every copy, the method does not; the recipe is rejected no more as "duplicate_paragraphs"
    recipe = extract(shared_path("html", "recipe-scrapers", "bofrost.de__bofrost.html").read_bytes(), URL).document
    assert "Den Backofen auf 200°C" in filter_document(recipe).document.text


def test_leader_dots_and_dashes_are_layout_not_symbol_soup():
    contents = [f"{i}. Section {i} of the specification{'.' * (40 - i)}{i + 2}" for i in range(1, 9)]
    letters = [f"{i}. {name}= {sound}{'-' * 30}{i}" for i, (name, sound) in
               enumerate([("ALEPH", "A"), ("BEYTH", "B"), ("GIYMEL", "G"), ("DALETH", "D")], start=1)]
    prose = [TextNode("The draft below defines how the protocol stores data for a user, and the table of contents "
                      "lists its sections with their pages, as printed drafts always do.")] * 1
    page = Document("d", URL, prose + [TextNode(t) for t in contents + letters + ["______", "* * * * *"]])
    result = filter_document(page)
    assert _texts(result.document)[1:] == contents + letters
    assert result.paragraph_drops["special_characters"] == 2


def test_real_table_of_contents_keeps_its_lines():
    draft = extract(shared_path("html", "mozilla-readability", "ietf-1.html").read_bytes(),
                    "http://fakehost/test/page.html").document
    assert "Table of Contents 1. Introduction" in filter_document(draft).document.text


def test_a_boilerplate_phrase_inside_prose_removes_its_sentence_not_the_paragraph():
    tip = ("Alternatively, you can swap out the oat flour for another gluten-free flour blend to keep these "
           "vegan almond flour pancakes low-carb.")
    question = ("Are those of us who have explicitly avoided agreeing to the Facebook terms of service simply fair "
                "game for an industry-wide surveillance and targeting network?")
    footer = "© 2024 Example Kitchen Inc. All rights reserved."
    page = Document("d", URL, [TextNode(t) for t in (*_METHOD, f"{tip} Click here to check out this one.",
                                                     question, footer, "We use cookies to improve your visit.")])
    result = filter_document(page)
    assert _texts(result.document) == [*_METHOD, tip, question]
    assert dict(result.paragraph_drops) == {"boilerplate_sentence": 1, "boilerplate_phrase": 2}


# Article 1 of the Universal Declaration of Human Rights (shared/ holds no page in an Indic script)
_UDHR_1 = {
    "hi": "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता और समानता प्राप्त है। उन्हें बुद्धि और "
          "अन्तरात्मा की देन प्राप्त है और परस्पर उन्हें भाईचारे के भाव से बर्ताव करना चाहिए।",
    "ta": "மனிதப் பிறவியினர் சகலரும் சுதந்திரமாகவே பிறக்கின்றனர்; அவர்கள் மதிப்பிலும், உரிமைகளிலும் சமமானவர்கள், "
          "அவர்கள் நியாயத்தையும் மனச்சாட்சியையும் இயற்பண்பாகப் பெற்றவர்கள். அவர்கள் ஒருவருடனொருவர் சகோதர உணர்வுப் "
          "பாங்கில் நடந்துகொள்ளல் வேண்டும்.",
    "bn": "সমস্ত মানুষ স্বাধীনভাবে সমান মর্যাদা এবং অধিকার নিয়ে জন্মগ্রহণ করে। তাঁদের বিবেক এবং বুদ্ধি আছে; সুতরাং "
          "সকলেরই একে অপরের প্রতি ভ্রাতৃত্বসুলভ মনোভাব নিয়ে আচরণ করা উচিত।",
}


def test_indic_words_keep_their_vowel_signs_and_pages_pass():
    assert words("भारत की संस्कृति") == ["भारत", "की", "संस्कृति"]
    for lang, article in _UDHR_1.items():
        page = Document(lang, URL, [TextNode(article)] + [TextNode(f"{article} ({i})") for i in range(3)])
        assert filter_document(page).document.text.startswith(article[:20])


def test_decomposed_accents_stay_inside_their_word():
    # vegetarbloggen.no writes "å" as "a" + U+030A: "også" is one word, not "og" + "så"
    page = shared_path("html", "recipe-scrapers", "vegetarbloggen.no__vegetarbloggen.html").read_bytes()
    text = extract(page, URL).document.text
    assert "a\u030a" in text
    assert "ogsa\u030a" in words(text)


def test_a_code_block_keeps_its_closing_lines():
    # a blog post's code, a paragraph per line, as v8.dev's WebAssembly post has it
    intro = ("Here is a small C program that adds two numbers; we compile it to WebAssembly and load it from "
             "JavaScript, which prints the sum of the two numbers it passes in.")
    code = ["#include <emscripten.h>", "int add(int x, int y) {", "return x + y;", "}",
            "WebAssembly.instantiate(binary).then(({ instance }) => {", "console.log(instance.exports.add(40, 2));",
            "});"]
    page = Document("d", URL, [TextNode(t) for t in [intro, *code, "* * *", "}", intro + " Done."]])
    result = filter_document(page)
    assert _texts(result.document) == [intro, *code, intro + " Done."]  # the rule and a stray "}" still go
    assert result.paragraph_drops["special_characters"] == 2
