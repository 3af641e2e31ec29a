"""Paragraph and document quality rules in the spirit of Gopher/MassiveText and OBELICS.

`filter_document` removes bad paragraphs (each removal counted by reason) and then raises
`Rejected(reason)` for a document that fails a document rule. Every threshold is a field of
`FilterOptions`; `None` switches a rule off. Word-based rules count each Chinese/Japanese character,
and each syllable-like cluster of Thai, Lao, Myanmar and Khmer (a letter with its marks, the
consonants stacked under it and the vowels written around it), as a word: these scripts put no
spaces between words, so their pages are not dropped as "one giant word" or as too short. A
cluster count is within about 2x of the syllable count (a final consonant is a cluster of its
own). Digits and Latin letters next to such a character are a word of their own (`2024年` is
`2024` + `年`). Korean is written with spaces: a run of Hangul is one word (an eojeol, `서울에서`),
as a run of Latin letters is, never one word per syllable; its words are left out of the mean
word length, since a Hangul syllable block holds two or three letters. A word keeps its combining
marks (the vowel signs and viramas of Devanagari, Bengali, Tamil and the other Indic scripts,
Hebrew points, accents typed as a letter plus a mark): `\\w` matches no mark, and cutting `भारत`
into `भ` + `रत` made every Hindi page "mean_word_length_low".
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import pairwise

from m3w_builder.document import Document, ImageNode, TextNode
from m3w_builder.drops import Rejected
from m3w_builder.options import option

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana and ideographs: a word per character
_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"  # jamo and syllables
_CLUSTER_BLOCKS = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF))  # Thai+Lao, Myanmar, Khmer
_CLUSTERED = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CLUSTER_BLOCKS)
_MARKS = "".join(chr(c) for lo, hi in _CLUSTER_BLOCKS for c in range(lo, hi + 1)
                 if unicodedata.category(chr(c))[0] == "M")
_LEADING_VOWELS = "\u0e40-\u0e44\u0ec0-\u0ec4"  # Thai, Lao: written before their consonant
_TRAILING_VOWELS = "\u0e30\u0e32\u0e33\u0e45\u0eb0\u0eb2\u0eb3"  # written after it, not marks
_STACKERS = "\u1039\u17d2"  # Myanmar virama, Khmer coeng: the next consonant joins the cluster
_CLUSTER = (f"[{_LEADING_VOWELS}]?[{_CLUSTERED}]"
            f"(?:[{_STACKERS}][{_CLUSTERED}]|[{_MARKS}{_TRAILING_VOWELS}])*")


def _mark_ranges() -> str:
    """Regex ranges of the combining marks outside the clustered blocks (Devanagari and the other
    Indic vowel signs and viramas, Hebrew and Arabic points, decomposed accents), planes 0-1."""
    marks = [c for c in range(0x20000) if unicodedata.category(chr(c))[0] == "M"
             and not any(lo <= c <= hi for lo, hi in _CLUSTER_BLOCKS)]
    ranges: list[list[int]] = []
    for c in marks:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)


_LETTER = f"[^\\W{_CJK}{_CLUSTERED}]"
_WORD_MARKS = f"[{_mark_ranges()}]"
_WORD_RE = re.compile(f"[{_CJK}]|{_CLUSTER}|{_LETTER}+(?:{_WORD_MARKS}+{_LETTER}*)*")
# Words whose length in characters does not compare with Latin words (mean word length rule).
_UNMEASURED_RE = re.compile(f"[{_CJK}{_CLUSTERED}{_HANGUL}]")
_ALPHA_RE = re.compile(r"[^\W\d_]")
_SYMBOL_RUN_RE = re.compile(r"([^\w\s])\1+")
# Gopher's symbols: a hash, an ellipsis; a run of them (a "####" rule, a leader of dots) is one
_SYMBOL_WORD_RE = re.compile(r"#+|(?:\.{3}|\u2026)(?:\.|\u2026)*")
_UNIT_SIGNS = frozenset("%‰°′″")
_WORDLIKE_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Sc"})  # combining marks, currency signs
_BULLET_RE = re.compile(r"^\s*[•\-*·▪‣◦●]")
_BOILERPLATE_PHRASES = re.compile(
    r"\b(?:accept (?:all )?cookies|we use cookies|cookie policy|all rights reserved|"
    r"subscribe to our newsletter|sign up for our newsletter|click here to|terms of (?:use|service)|"
    r"privacy policy|javascript (?:is )?(?:disabled|required)|enable javascript|follow us on)\b",
    re.IGNORECASE,
)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
_ELLIPSES = ("...", "\u2026")
_STOP_WORDS = frozenset("the be to of and that have with".split())


@dataclass(frozen=True)
class FilterOptions:
    """Thresholds of every rule (`None` disables a rule)."""

    # paragraph rules
    paragraph_boilerplate_phrases: bool = True
    # the longest sentence with a boilerplate phrase that is removed as boilerplate (None: any);
    # a paragraph that loses one counts as `boilerplate_sentence` (see `_without_boilerplate`)
    max_boilerplate_sentence_chars: int | None = 120
    max_paragraph_special_ratio: float | None = 0.5
    drop_repeated_paragraphs: bool = True
    # a repeat is a copy (dropped, and counted by the duplicate share) only inside a run of
    # consecutive repeated paragraphs of at least this many characters: shorter repeats are table
    # cells, units, list items, headings and refrains ("No answer."), which read wrong without them
    # (None: every repeat is a copy)
    min_copied_chars: int | None = 100
    # document rules
    min_words: int | None = option(50, "minimum words of a document")
    max_words: int | None = option(100_000, "maximum words of a document")
    min_mean_word_length: float | None = 2.5
    max_mean_word_length: float | None = 12.0
    max_symbol_to_word_ratio: float | None = 0.1
    max_bullet_line_share: float | None = 0.9
    max_ellipsis_line_share: float | None = 0.3
    min_alpha_word_share: float | None = 0.6
    # share of the text's characters in repeated paragraphs: weighted by length, so short leftovers
    # repeated many times ("Share", "Advertisement", chart labels) do not reject a real article
    max_duplicate_text_share: float | None = 0.5
    min_stop_words: int | None = None  # English-only Gopher rule; off by default


@dataclass
class FilterResult:
    """The filtered document plus removed-paragraph counts by reason."""

    document: Document
    paragraph_drops: Counter = field(default_factory=Counter)


def words(text: str) -> list[str]:
    """Word tokens: `\\w+` runs (Hangul included), each Chinese/Japanese character and each
    Thai/Lao/Myanmar/Khmer cluster a word of its own (see the module docstring)."""
    return _WORD_RE.findall(text)


def _is_special(ch: str) -> bool:
    """Neither a letter, a digit, a combining mark (vowel signs of Indic and Southeast Asian scripts
    are marks: a third or more of a Myanmar text) nor a unit read as a word ("%", "°", "$"): a
    nutrition table's "%" cell or a price is data, not decoration."""
    return not ch.isalnum() and ch not in _UNIT_SIGNS and unicodedata.category(ch) not in _WORDLIKE_CATEGORIES


def _special_ratio(text: str) -> float:
    """Share of special characters (`_is_special`), a run of one symbol counted once: the dot or
    dash leaders of a table of contents or a price list ("Introduction........2") are one mark of
    layout, while a rule of "______" or "* * *" is still all symbols."""
    stripped = _SYMBOL_RUN_RE.sub(r"\1", text.replace(" ", ""))
    if not stripped:
        return 1.0
    return sum(1 for ch in stripped if _is_special(ch)) / len(stripped)


def _copied(texts: list[str], min_chars: int | None) -> list[bool]:
    """Which paragraphs repeat an earlier one as part of a copied block: a run of consecutive
    repeats holding at least `min_chars` characters (every repeat when `min_chars` is None).
    A recipe card repeating the method, a page printed twice, lorem ipsum are such runs; a
    nutrition table's "g" and "%", a column of "Standards Action", a repeated line of dialogue
    are not, and dropping them would leave the numbers, rows and scenes around them wrong."""
    seen: set[str] = set()
    repeat = []
    for text in texts:
        repeat.append(text in seen)
        seen.add(text)
    copied = list(repeat)
    start = 0
    while min_chars is not None and start < len(texts):
        if not repeat[start]:
            start += 1
            continue
        end = start
        while end < len(texts) and repeat[end]:
            end += 1
        if sum(len(t) for t in texts[start:end]) < min_chars:
            copied[start:end] = [False] * (end - start)
        start = end
    return copied


def _without_boilerplate(text: str, max_sentence_chars: int | None) -> str:
    """`text` less its boilerplate sentences: those holding a boilerplate phrase and no longer than
    `max_sentence_chars` ("Click here to check out this one."); "" when what is left is no longer
    than such a sentence ("© 2024 Example Inc. All rights reserved.", "This post may contain
    affiliate links. See my privacy policy."). A recipe's tip that ends in an affiliate plug keeps
    the tip, and a longer sentence about a site's terms of service or privacy policy is prose
    about them, not the site's footer."""
    sentences = _SENTENCE_END_RE.split(text.strip())
    kept = [s for s in sentences if not (
        _BOILERPLATE_PHRASES.search(s) and (max_sentence_chars is None or len(s) <= max_sentence_chars))]
    rest = " ".join(kept)
    return rest if max_sentence_chars is None or len(rest) > max_sentence_chars else ""


def _bracket_balance(text: str) -> int:
    """Brackets `text` opens less those it closes."""
    return sum(map(text.count, "([{")) - sum(map(text.count, ")]}"))


def _closes_code(text: str, open_brackets: int) -> bool:
    """Whether `text` is the closing line of a code block ("}", "});", ")"): only closing brackets and
    separators, and no more brackets than the kept paragraphs before it left open. A code block
    comes one paragraph per line, and without its closers it is no longer code."""
    stripped = "".join(text.split())
    closers = sum(map(stripped.count, ")]}"))
    return bool(stripped) and not stripped.strip(")]};,.") and 0 < closers <= open_brackets


def _paragraph_reason(text: str, options: FilterOptions) -> str | None:
    if options.max_paragraph_special_ratio is not None and _special_ratio(text) > options.max_paragraph_special_ratio:
        return "special_characters"
    return None


def _document_reason(texts: list[str], options: FilterOptions, lead_ins: int = 0) -> str | None:
    """The first document rule `texts` fail, or None. `lead_ins`: how many of them end in an
    ellipsis right before an image ("Grab a tablespoon of butter…" over the step's photo: a
    photo story's style), which no truncated teaser blurb is."""
    full = "\n".join(texts)
    tokens = words(full)
    n = len(tokens)
    if options.min_words is not None and n < options.min_words:
        return "too_few_words"
    if options.max_words is not None and n > options.max_words:
        return "too_many_words"
    latin = [t for t in tokens if not _UNMEASURED_RE.search(t)]
    if latin and len(latin) > 0.7 * n:
        mean = sum(map(len, latin)) / len(latin)
        if options.min_mean_word_length is not None and mean < options.min_mean_word_length:
            return "mean_word_length_low"
        if options.max_mean_word_length is not None and mean > options.max_mean_word_length:
            return "mean_word_length_high"
    if options.max_symbol_to_word_ratio is not None:
        symbols = len(_SYMBOL_WORD_RE.findall(full))
        if symbols / n > options.max_symbol_to_word_ratio:
            return "symbol_ratio"
    lines = [line for line in full.splitlines() if line.strip()]
    if lines and options.max_bullet_line_share is not None:
        if sum(1 for line in lines if _BULLET_RE.match(line)) / len(lines) > options.max_bullet_line_share:
            return "bullet_lines"
    if lines and options.max_ellipsis_line_share is not None:
        ellipsis = sum(1 for line in lines if line.rstrip().endswith(_ELLIPSES)) - lead_ins
        if ellipsis / len(lines) > options.max_ellipsis_line_share:
            return "ellipsis_lines"
    if options.min_alpha_word_share is not None:
        if sum(1 for t in tokens if _ALPHA_RE.search(t)) / n < options.min_alpha_word_share:
            return "alpha_words"
    if options.min_stop_words is not None:
        if sum(1 for t in tokens if t.lower() in _STOP_WORDS) < options.min_stop_words:
            return "stop_words"
    return None


def filter_document(doc: Document, options: FilterOptions = FilterOptions()) -> FilterResult:
    """Drop bad paragraphs, then raise `Rejected(reason)` if the document fails a document rule."""
    drops: Counter = Counter()
    kept = []
    copied = iter(_copied([n.text for n in doc.nodes if isinstance(n, TextNode)], options.min_copied_chars))
    chars = repeated_chars = open_brackets = 0
    for node in doc.nodes:
        if not isinstance(node, TextNode):
            kept.append(node)
            continue
        chars += len(node.text)
        if next(copied):
            repeated_chars += len(node.text)
            if options.drop_repeated_paragraphs:
                drops["repeated_paragraph"] += 1
                continue
        if options.paragraph_boilerplate_phrases and len(node.text) < 400 and _BOILERPLATE_PHRASES.search(node.text):
            rest = _without_boilerplate(node.text, options.max_boilerplate_sentence_chars)
            if not rest:
                drops["boilerplate_phrase"] += 1
                continue
            if rest != node.text:
                drops["boilerplate_sentence"] += 1
                node = replace(node, text=rest)
        reason = _paragraph_reason(node.text, options)
        if reason == "special_characters" and _closes_code(node.text, open_brackets):
            reason = None
        if reason:
            drops[reason] += 1
            continue
        open_brackets = max(0, open_brackets + _bracket_balance(node.text))
        kept.append(node)
    if options.max_duplicate_text_share is not None and chars:
        if repeated_chars / chars > options.max_duplicate_text_share:
            raise Rejected("duplicate_paragraphs", f"{repeated_chars}/{chars} characters in repeated paragraphs")
    texts = [n.text for n in kept if isinstance(n, TextNode)]
    if not texts:
        raise Rejected("no_text")
    lead_ins = sum(1 for node, after in pairwise(kept) if isinstance(node, TextNode)
                   and isinstance(after, ImageNode) and node.text.rstrip().endswith(_ELLIPSES))
    reason = _document_reason(texts, options, lead_ins)
    if reason:
        raise Rejected(reason)
    return FilterResult(replace(doc, nodes=kept), drops)
