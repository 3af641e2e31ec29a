"""A recipe's ingredients and steps as its page declares them in JSON-LD: a guide for selection.

Recipe pages put their ingredient list and steps in a card of their own (a plugin's `wprm-recipe`,
an Angular element, a grid column), which the block scoring can drop: short lines, few commas, a
class word such as `cookbook-ad`. Most of them also declare the recipe in JSON-LD
(`recipeIngredient`, `recipeInstructions`). The declared text is never the document's text (it is
often stale, truncated or of another recipe); it only marks the page's own blocks whose text it
matches, by shingle sets, as content (`recover`): text and images still come from the DOM, in
DOM order. Declared article bodies (`articleBody`) are left out: on the dev and silver pages the
selection already holds every one that matches the page. A card is lost whole (on the pages seen
the selection held none of its lines verbatim wherever one was recovered), so a page whose
selection holds `MAX_HELD` of the declared lines is done after a few string searches.

Guards: the scripts come from the walk that finds the page's forms and figures (no walk of its
own), at most `MAX_SCRIPTS`, each parsed only when it names a recipe field, up to `MAX_SCRIPT_CHARS`
and `MAX_VALUES` values; the declared text counts only when the page holds at least
`MIN_PAGE_MATCH` of its shingles; a recovered block is mostly declared text
(`MIN_BLOCK_MATCH`), holds at least `MIN_RECOVERED` of it, mostly not yet kept (`MIN_NEW`: a page
repeating its list for another layout keeps one), and is no ancestor of the article's core.
"""

from __future__ import annotations

import html
import json
import re
from bisect import bisect_left, bisect_right
from itertools import accumulate

from lxml import etree

from m3w_builder.extract.content import Block, Item, Selection

MAX_SCRIPT_CHARS = 500_000  # a recipe's JSON-LD is a few KB; a larger script is a data dump
MAX_VALUES = 20_000         # JSON values walked per script
MAX_SCRIPTS = 16            # JSON-LD scripts read per page (pages seen hold at most 6)
MAX_HELD = 0.5             # of the declared lines' characters the selection holds verbatim: no card was lost
MIN_PAGE_MATCH = 0.5        # of the declared shingles the page's text must hold
MIN_ITEM_MATCH = 0.5        # of a paragraph's shingles that make it declared text
MIN_BLOCK_MATCH = 0.6       # of a recovered block's text (weighted characters) that is declared
MIN_RECOVERED = 80          # weighted characters of declared text a recovered block holds
MIN_NEW = 0.5               # of its declared shingles the selection lacks (a list repeated for phones is one)
_RECIPE_KEYS = ("recipeIngredient", "recipeInstructions")
_OWN_KEYS = ("mainEntity", "@graph")  # where a page's own recipe sits (`_walk`)
_TAG_RE = re.compile(r"<[^>]*>")
_PUNCTUATION = bytes.maketrans(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", b" " * 32)
SHINGLE = 4


def recipe_lines(scripts: list[etree._Element]) -> list[str]:
    """The ingredient and step lines the page's JSON-LD `scripts` declare (`@graph`, lists, HowToStep,
    HowToSection), read before `strip_skipped` removes them; at most `MAX_SCRIPTS`. A script that
    names no recipe field is not parsed; one that is no JSON is skipped."""
    lines: list[str] = []
    for script in scripts[:MAX_SCRIPTS]:
        source = script.text or ""
        if len(source) > MAX_SCRIPT_CHARS or "recipeIn" not in source:
            continue
        try:
            data = json.loads(source)
        except (ValueError, RecursionError):
            continue
        _walk(data, lines)
    return lines


def is_json_ld(script: etree._Element) -> bool:
    """Whether a `<script>` holds JSON-LD (its `type`)."""
    kind = script.get("type")
    return kind is not None and "ld+json" in kind.lower()


def _walk(data: object, lines: list[str]) -> None:
    """Add to `lines` the recipe fields' text of the page's own recipes in `data`: the script's
    object or list, its `@graph`, an object's `mainEntity`. Other values are not walked: a
    listing's `ItemList` or a review's item is another recipe, and a page's reviews, images and
    authors, most of its JSON-LD, hold none. At most `MAX_VALUES` values."""
    stack, budget = [data], MAX_VALUES
    while stack and budget:
        value = stack.pop()
        budget -= 1
        if isinstance(value, list):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            for key in _RECIPE_KEYS:
                if key in value:
                    _texts(value[key], lines)
            stack.extend(value[key] for key in _OWN_KEYS if key in value)


def _texts(value: object, lines: list[str], depth: int = 0) -> None:
    """The text lines of a recipe field: a string (its markup and entities undone), a list, a step's
    `text`, a section's steps (`itemListElement`)."""
    if depth > 4:
        return
    if isinstance(value, str):
        if "<" in value:
            value = _TAG_RE.sub(" ", value)
        if "&" in value:
            value = html.unescape(value)
        lines.extend(line for line in value.splitlines() if line and not line.isspace())
    elif isinstance(value, list):
        for inner in value:
            _texts(inner, lines, depth + 1)
    elif isinstance(value, dict):
        for key in ("text", "itemListElement"):
            if key in value:
                _texts(value[key], lines, depth + 1)


def recover(blocks: list[Block], items: list[Item], selection: Selection, lines: list[str]) -> int:
    """Mark in `selection.kept` the blocks outside it whose text is the declared recipe `lines`
    (see the module docstring for the guards); return how many were marked."""
    wanted = [_words(line) for line in lines]
    marks = selection.kept
    kept = _words("\n".join([item.text for item in items if marks[item.owner]]))
    if sum(len(line) for line in wanted if line in kept) >= MAX_HELD * sum(map(len, wanted)):
        return 0  # the selection holds the card (most recipe pages): C string searches
    declared: set[tuple[bytes, ...]] = set()
    for line in wanted:
        declared.update(_shingles(line))
    own = [0] * len(blocks)       # weighted characters of each block's own paragraphs
    matched = [0] * len(blocks)   # of them, declared text
    found: set[tuple[bytes, ...]] = set()
    covered: set[tuple[bytes, ...]] = set()  # declared shingles the selection holds
    seeds: list[tuple[int, list[tuple[bytes, ...]]]] = []  # (owner, declared shingles) of paragraphs outside it
    for item in items:
        if item.media >= 0:
            continue
        own[item.owner] += item.weight
        grams = _shingles(_words(item.text))
        hits = [gram for gram in grams if gram in declared]
        found.update(hits)
        if selection.kept[item.owner]:
            covered.update(hits)
        if grams and len(hits) >= MIN_ITEM_MATCH * len(grams):
            matched[item.owner] += item.weight
            if not selection.kept[item.owner]:
                seeds.append((item.owner, hits))
    if not seeds or len(found) < MIN_PAGE_MATCH * len(declared):
        return 0
    seeds.sort(key=lambda seed: seed[0])
    owners = [owner for owner, _ in seeds]
    total, hit = list(accumulate(own, initial=0)), list(accumulate(matched, initial=0))
    core, marked = selection.core, 0
    for seed, _ in seeds:
        end = blocks[seed].end
        if selection.kept[seed] or hit[end + 1] - hit[seed] < MIN_BLOCK_MATCH * (total[end + 1] - total[seed]):
            continue  # recovered with an earlier seed's block, or mostly other text
        top = seed
        while True:
            parent = blocks[top].parent
            if parent <= 0 or parent <= core <= blocks[parent].end:
                break
            end = blocks[parent].end
            if hit[end + 1] - hit[parent] < MIN_BLOCK_MATCH * (total[end + 1] - total[parent]):
                break
            top = parent
        end = blocks[top].end
        grams = {gram for _, hits in seeds[bisect_left(owners, top):bisect_right(owners, end)] for gram in hits}
        if hit[end + 1] - hit[top] >= MIN_RECOVERED and len(grams - covered) >= MIN_NEW * len(grams):
            selection.kept[top:end + 1] = [True] * (end + 1 - top)
            covered |= grams
            marked += 1
    return marked


def _words(text: str) -> bytes:
    """The text lower-cased, as UTF-8 with ASCII punctuation made space, one space between words:
    "1 kg (5 cm-es)" and "1 kg 5 cm es" alike. Bytes: their `translate` runs at memory speed, a
    `str.translate` or a regular expression costs ~10x as much."""
    return b" ".join(text.lower().encode().translate(_PUNCTUATION).split())


def _shingles(words: bytes) -> set[tuple[bytes, ...]]:
    """The set of `SHINGLE`-word shingles of `_words` text (a shorter text is one shingle)."""
    words = words.split()
    if len(words) < SHINGLE:
        return {tuple(words)} if words else set()
    return set(zip(*(words[i:] for i in range(SHINGLE))))
