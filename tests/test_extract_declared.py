"""A recipe's JSON-LD guides selection (`m3w_builder/extract/declared.py`): the recipe card the block
scoring drops is kept when its text is what the page declares, never when the declaration is of
another recipe, broken or hostile; the text still comes from the DOM, in DOM order."""

from __future__ import annotations

import json

from m3w_builder.extract import extract
from m3w_builder.extract.declared import is_json_ld, recipe_lines
from m3w_builder.extract.parse import parse_html
from tests.conftest import shared_path

INGREDIENTS = ["2 pounds ripe plum tomatoes, halved", "1 large yellow onion, finely chopped",
               "3 garlic cloves, thinly sliced", "4 cups low-sodium vegetable stock",
               "2 tablespoons extra-virgin olive oil", "1 teaspoon kosher salt, plus more to taste"]
STEPS = ["Heat the oil in a large pot over medium heat and cook the onion until soft, about 8 minutes.",
         "Add the garlic and tomatoes and cook, stirring now and then, until the tomatoes collapse.",
         "Pour in the stock, simmer for 20 minutes, then blend until smooth and season with salt."]
OTHER = ["500 g Brussels sprouts, trimmed", "250 g smoked bacon lardons", "50 g hazelnuts, toasted",
         "200 ml red wine sauce", "1 tablespoon sunflower oil"]
OTHER_STEPS = ["Toast the hazelnuts in a dry pan for 4 minutes and chop them coarsely.",
               "Fry the lardons in the oil, add the sprouts and stir-fry until just tender."]
PROSE = ("My grandmother made this soup every August, when the tomatoes in her garden split on the vine "
         "faster than anyone could eat them, and the whole house smelled of it for days.")


def _json_ld(ingredients: list[str], steps: list[str] = STEPS) -> str:
    return json.dumps({"@context": "https://schema.org", "@graph": [
        {"@type": "Organization", "name": "Soup Site"},
        {"@type": "Recipe", "name": "Tomato soup", "recipeIngredient": ingredients,
         "recipeInstructions": [{"@type": "HowToSection", "name": "Soup", "itemListElement": [
             {"@type": "HowToStep", "text": step} for step in steps]}]}]})


def _page(script: str | None) -> bytes:
    """A food blog's post: a long story, then the recipe card, named like an ad by its plugin
    (`recipe-with-cookbook-ad`), so the boilerplate rules drop it."""
    head = f"<script type='application/ld+json'>{script}</script>" if script is not None else ""
    story = "".join(f"<p>{PROSE} Day {n} of the harvest, she said, was always the best one.</p>" for n in range(12))
    card = ("<div class='recipe-card recipe-with-cookbook-ad'><h2>Ingredients</h2><ul>"
            + "".join(f"<li>{line}</li>" for line in INGREDIENTS) + "</ul><h2>Instructions</h2><ol>"
            + "".join(f"<li>{step}</li>" for step in STEPS) + "</ol></div>")
    return (f"<html><head><title>Tomato soup</title>{head}</head><body>"
            "<nav><a href='/'>Home</a> <a href='/soups'>Soups</a></nav>"
            f"<article class='post'><h1>Tomato soup</h1>{story}</article>{card}"
            "<footer>Copyright Soup Site</footer></body></html>").encode()


def _text(data: bytes, url: str = "https://soup.test/tomato-soup") -> str:
    return extract(data, url).document.text


def test_a_recipe_card_the_page_declares_is_kept_in_dom_order():
    text = _text(_page(_json_ld(INGREDIENTS)))
    lines = text.split("\n")
    assert all(line in lines for line in INGREDIENTS + STEPS)
    positions = [lines.index(line) for line in INGREDIENTS + STEPS]
    assert positions == sorted(positions) and positions[0] > lines.index(next(l for l in lines if "Day 11" in l))
    assert "Copyright Soup Site" not in text


def test_a_declaration_of_another_recipe_or_a_broken_one_changes_nothing():
    without = _text(_page(None))
    assert INGREDIENTS[0] not in without  # the card the scoring drops
    assert INGREDIENTS[0] in _text(_page(_json_ld(INGREDIENTS)))
    hostile = [
        _json_ld(OTHER, OTHER_STEPS),  # stale: another recipe
        _json_ld(OTHER[:2] + INGREDIENTS[:1], OTHER_STEPS),  # another recipe sharing a line with this one
        json.dumps({"@type": "Organization", "name": "Soup Site", "recipeIngredient": "Soup Site"}),
        _json_ld(INGREDIENTS)[:-40],  # truncated
        "[" * 100_000 + "]" * 100_000,  # nesting that makes the parser recurse past its limit
        json.dumps({"@type": "Recipe", "recipeIngredient": INGREDIENTS, "pad": "x" * 600_000}),  # too large
        json.dumps({"@type": "Recipe", "recipeIngredient": [{"text": {"text": {"text": {"text": {"text": [
            INGREDIENTS]}}}}}]}),  # steps nested past any recipe's depth
    ]
    for script in hostile:
        assert _text(_page(script)) == without, script[:60]


def test_declared_lines_come_from_every_json_ld_shape():
    html = ("<html><head><script type='application/ld+json'>"
            + json.dumps([{"@type": "WebPage"}, {"@type": ["Recipe", "NewsArticle"],
                          "recipeIngredient": ["1 cup &amp; a half of <b>flour</b>"],
                          "recipeInstructions": "Mix.\nBake for 20 minutes."}])
            + "</script><script type='application/ld+json'>{not json, recipeIngredient</script>"
            "<SCRIPT TYPE='application/ld+json'>" + json.dumps({"recipeIngredient": "Salt"}) + "</SCRIPT>"
            "<script type='application/ld+json'>" + json.dumps({"@type": "ItemList", "itemListElement": [
                {"@type": "ListItem", "item": {"@type": "Recipe", "recipeIngredient": ["a listed recipe's"]}}]})
            + "</script>"
            "</head><body><p>ld+json</p><script type='application/ld+json'>" + json.dumps({"recipeIngredient": "Pepper"})
            + "</script></body></html>")
    scripts = [el for el in parse_html(html).iter("script") if is_json_ld(el)]
    assert recipe_lines(scripts) == ["1 cup & a half of  flour ", "Mix.", "Bake for 20 minutes.", "Salt", "Pepper"]


def test_real_recipe_cards_the_scoring_dropped_are_kept():
    cases = [  # (page, a declared line its card holds), each dropped on main
        ("houseofnasheats.com__houseofnasheats_1.html", "1 1/2 cups (212g) all-purpose flour"),  # a `-ad` class
        ("thepioneerwoman.com__thepioneerwoman_1.html", "whole large onion, halved and sliced"),
        ("przepisy.pl__przepisy.html", "gałka muszkatołowa"),  # an Angular element
        ("nosalty.hu__nosalty_1.html", "2 gerezd fokhagyma (zúzva)"),
    ]
    for name, line in cases:
        data = shared_path("html", "recipe-scrapers", name).read_bytes()
        text = _text(data, f"https://{name.split('__')[0]}/recipe")
        assert line in text, name
        assert text.count(line) == 1, name
