"""Markup that is never page text (scripts, forms' controls...) and what looks like boilerplate.

Skipped tags go unconditionally. Boilerplate candidates among block elements (`<nav>`/`<aside>`/
`<footer>`, hidden elements, ARIA landmark roles, class/id naming ads, menus, cookie banners,
dialogs, settings panels, the site's masthead and tagline, "about the author" boxes, comment
sections; forms with an `<input type="email">` or `type="password"` and the heading and pitch around
them: newsletter, "save this recipe", comment and login forms; small widgets: star ratings and vote
counters, forum posters' cards and signatures, pagers, calls to action, tables of contents, action
toolbars, "keep the screen on" switches, affiliate and legal disclosures, bylines, datelines and
credits, text for screen readers only, and any named boilerplate held in a `<p>`, such as a share
label) are removed only under guards, because real pages wrap their article in a `has-sidebar` div,
hide it until a script runs, or nest it in a `<nav>` by mistake (an id made from a section's own
heading, `sharing-with-a-single-developer`, names no boilerplate at all): one candidate may not hold
more than `MAX_SHARE` of the page's text (a `<nav>`/`<aside>`/`<footer>`: of the text still on the
page when it is met, so that one the parser let swallow the article cannot remove it after the menus
went; a comment section, which often outweighs the post it follows, up to 80% and outside the
class/id cap; a widget only while it holds at most `MAX_WIDGET_CHARS` of unlinked text and not the
page's `<h1>`); a hidden element or an ARIA role, which a page sets on its article until a script
runs, not more than `MAX_PROSE_SHARE` of the page's prose either (long unlinked paragraphs: a recipe
card hidden until a script shows it can be all the prose of a page whose menus outweigh it; a class
name such as `author-bio` says what the block is, and its text cap suffices); and all removals by
class/id together not more than `MAX_REMOVED_NAMED_SHARE` (applied in `content.py`, on
whitespace-normalised lengths: indentation would make a menu look big).
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from itertools import islice

from lxml import etree

BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption center dd details dialog div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main nav ol p "
    "pre section summary table tbody td tfoot th thead tr ul".split()
)
SKIP_TAGS = frozenset(
    "script style template svg math canvas iframe frame frameset object embed applet "
    "button select input textarea option head map dialog audio track".split()
)
STRUCTURAL_TAGS = frozenset(("nav", "aside", "footer"))
BOILERPLATE_ROLES = frozenset(
    "navigation banner contentinfo complementary dialog alertdialog alert search menu menubar".split()
)
# Whole words of a class/id (split at spaces, `-` and `_`); `ad`/`ads` only in lower case
# (`Section--Ads` names a topic, not a slot).
_BOILERPLATE_WORDS = frozenset(
    "cookie cookies consent gdpr advert adverts advertisement advertising adslot adsbygoogle sponsor "
    "sponsored promo newsletter subscribe share sharing social sidebar related recommended popup modal "
    "breadcrumb breadcrumbs menu navbar nav footer signup banner sns dialog flyout settings".split()
)
# Small page widgets: star ratings ("4.9 from 59 votes"), calls to action ("Tried this recipe? Leave a
# comment"), tables of contents. Their own kind: removed only while short (see `MAX_WIDGET_CHARS`) and
# never with the page's `<h1>` (a recipe header named `#ratings` holds the title).
# Vote counters beside a Q&A page's posts ("votecell", "js-vote-count": a bare "12") are ratings too; a
# forum post's signature ("My car: 2009 Civic 1.8"), a Q&A post's (`post-signature`: "answered Jan 3, 2020")
# and a pager ("6 posts • Page 1 of 1", "« Previous post") are widgets as well.
_WIDGET_WORDS = frozenset(("rating", "ratings", "stars", "toc", "cta", "calltoaction", "vote", "votes", "votecell",
                           "voting", "signature", "signatures", "pagination", "pager"))
_WIDGET_PHRASES = ("call to action", "table of contents")  # their last words are looked for first
# A toolbar of action buttons ("Save", "Print", "Pinterest", "Email"), also run together with its
# purpose (`actionToolbar`, `dockedToolbar`): a widget, unless it holds a digit: then it is a bar of
# facts ("Préparation 5 min", "4 servings"), which button labels never are.
_TOOLBAR_SUFFIXES = ("toolbar", "toolbars")
# An affiliate or legal disclosure line ("This post may contain affiliate links. Please read our
# disclosure policy."; `aff-disc`: the abbreviation's pair); like a toolbar, a widget unless it holds a
# digit (a `serving-disclaimer`: "1 bag serves 2"), and only while short, so a long disclaimer stays.
_DISCLOSURE_WORDS = frozenset("disclosure disclosures disclaimer disclaimers".split())
# A recipe's "keep the screen on" switch ("Cook Mode Prevent your screen from going dark"): the name
# of one class ends with it (`wprm-prevent-sleep`, `wakeLock`, `tasty-recipes-cook-mode`), unlike a
# recipe template named after it (`wprm-recipe-template-prevent-sleep-food`) or a cook-mode view of the
# steps (`bb-cookmode__preparation__step`).
_SCREEN_SWITCH_ENDS = ("prevent sleep", "wake lock", "wakelock", "screen lock", "screenlock", "cook mode")
# Text for screen readers only ("Reader Interactions", "Primary Sidebar", "Skip to content", "Image
# caption"): WordPress `screen-reader-text`, Bootstrap `sr-only`, `visually-hidden`; a widget, so a block
# misnamed so that holds an article stays.
_SCREEN_READER_PHRASES = ("screen reader", "screenreader", "sr only", "visually hidden", "visuallyhidden")
# Bylines, datelines, photo credits, a teaser's source line and section label ("Updated: May 25, 2024
# · Published: Jun 7, 2022 by Nicole B.", "Photo: Getty", "Reuters 13 mins ago", "Business"): widgets too,
# so a long standfirst that a theme names `byline` stays. `meta` alone names recipe facts (prep times).
_BYLINE_WORDS = frozenset("byline bylines dateline date published posted timestamp attribution credit credits "
                          "rubric kicker eyebrow".split())
_META_OWNERS = frozenset("entry post article story".split())  # `entry-meta`, `post-meta`
# An "about the author" box (a bio after the post, a recipe's "submitted by" card): a word for the author
# with one for the box; `author` alone names bylines and publication lists.
_AUTHOR_WORDS = frozenset("author authors contributor contributors".split())
_AUTHOR_BOX_WORDS = frozenset("box bio about card profile".split())
# A forum post's or a Q&A answer's poster card (phpBB `postprofile`, vBulletin `userinfo`/`userstats`, XenForo
# `message-userExtras`: "Posts: 120", "Joined: Jan 2019", "Reaction score 56"): a word for the poster with
# one for the card, or both run together; a widget, so the short card goes and a profile page's text stays.
_POSTER_WORDS = frozenset(("user", "poster", "member"))
_POSTER_CARD_WORDS = frozenset(("info", "stats", "details", "extras", "profile"))
_POSTER_CARDS = frozenset(f"{who}{card}" for who in (*_POSTER_WORDS, "post") for card in _POSTER_CARD_WORDS)
# The site's own header: its masthead, title and tagline ("Just another WordPress site"): `masthead`, or
# `site` with a word for the part (`site-header`, `site-branding`, `site-description`); `description`
# alone names a product's or a recipe's.
_SITE_PARTS = frozenset(("header", "branding", "description", "tagline", "title", "logo"))
# A comment section can outweigh the post it follows: its own kind, share and no part in the named cap.
# BuddyPress: a members' activity feed (their ratings and notes under a recipe)
_COMMENT_WORDS = frozenset("comment comments commentlist disqus buddypress".split())
_NOT_COMMENTS = frozenset(("commentary", "commentaries", "commentator", "commentators"))  # opinion pieces
_CASED_WORDS = frozenset(("ad", "ads"))
# Words run together (`relatedposts`, `sharedaddy`, `newsletterbox`, `socialshare`): these starts
# name a block, save the few words that name other things.
_COMPOUND_PREFIXES = ("related", "newsletter", "subscribe", "signup", "share", "socialshare")
_NOT_COMPOUNDS = frozenset(("shared", "shares", "relatedly"))
# ... and these ends (`makehomepagedialog`, `newsletterpopup`, `weeklynewsletter`, `footersignup`; not `conModal`:
# an image that opens in one).
_COMPOUND_SUFFIXES = ("dialog", "popup", "flyout", "newsletter", "newsletters", "signup", "subscribe")
_SIGNAL_ATTRIBUTES = frozenset(("class", "id", "role", "hidden", "aria-hidden", "style"))
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")  # on the lower-cased style
_PROTECTED_TAGS = frozenset(("html", "body", "main", "article", "p"))
_NAMED_KINDS = frozenset(("name", "comments", "widget"))  # what a class/id word decides
_HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_MIN_ANCHOR_WORDS = 4  # of an id made from a heading: shorter ones ("related-posts") name the block
# A heading of more characters than this (of its id's) makes no such id: not read further (`text_up_to`).
_ANCHOR_TEXT_RATIO, _ANCHOR_TEXT_SLACK = 4, 100
_WORD_RE = re.compile(r"[^\W_]+")
MAX_SHARE = {"name": 0.3, "hidden": 0.5, "role": 0.5, "tag": 0.5, "comments": 0.8, "signup": 0.3, "widget": 0.3}
_SIGNUP_INPUTS = frozenset(("email", "password"))  # the `type` of the inputs that make a sign-up or login form
MAX_FORM_LEAD_IN = 200  # characters around a sign-up form that are its heading and pitch
# Wrappers a sign-up form is widened to at most (the real pages' forms: 6): each form climbed every
# text-less wrapper up to `<body>`, 25,000 forms under 2000 nested blocks 5 * 10^7 steps.
MAX_FORM_LEVELS = 16
MAX_WIDGET_CHARS = 200  # weighted characters of unlinked text: a widget is a label or two, not a section
MAX_REMOVED_NAMED_SHARE = 0.6
MAX_PROSE_SHARE = 0.5  # of the page's prose that one hidden or role candidate may hold
_MAX_NOSCRIPT_SHARE = 0.5
_STRIP_TAGS = tuple(SKIP_TAGS - BLOCK_TAGS)  # inline: removed, their tail joins the text around
_EMPTY_TAGS = tuple(SKIP_TAGS & BLOCK_TAGS)  # block: emptied, still a paragraph break
WEIGHED_TAGS = ("noscript", *_EMPTY_TAGS)  # what `strip_skipped` looks at one by one


def class_words(value: str) -> list[str]:
    """The words of a class/id value, split at spaces, `-` and `_` (`str.replace` twice is ~5x
    faster than `str.translate` or a regex split on such short strings)."""
    return value.replace("-", " ").replace("_", " ").split()


def _named_kind(value: str) -> str | None:
    lower = value.lower()
    words = class_words(lower)
    if ("comment" in lower or "disqus" in lower or "buddypress" in lower) and (
            not _COMMENT_WORDS.isdisjoint(words)
            or any(word.startswith("comment") and word not in _NOT_COMMENTS for word in words)):
        return "comments"
    if not _BOILERPLATE_WORDS.isdisjoint(words) or (
            not _AUTHOR_WORDS.isdisjoint(words) and not _AUTHOR_BOX_WORDS.isdisjoint(words)) \
            or "masthead" in words or ("site" in words and not _SITE_PARTS.isdisjoint(words)):
        return "name"
    if not _WIDGET_WORDS.isdisjoint(words) or not _BYLINE_WORDS.isdisjoint(words) \
            or not _POSTER_CARDS.isdisjoint(words) \
            or (not _POSTER_WORDS.isdisjoint(words) and not _POSTER_CARD_WORDS.isdisjoint(words)) \
            or ("meta" in words and not _META_OWNERS.isdisjoint(words)) \
            or (("action" in lower or "contents" in lower)
                and any(phrase in " ".join(words) for phrase in _WIDGET_PHRASES)):
        return "widget"
    if ("toolbar" in lower and any(word.endswith(_TOOLBAR_SUFFIXES) for word in words)) or ("disc" in lower and (
            not _DISCLOSURE_WORDS.isdisjoint(words) or ("aff" in words and "disc" in words))):
        return "labels"
    if ("reader" in lower or "only" in lower or "visually" in lower) and any(
            phrase in " ".join(words) for phrase in _SCREEN_READER_PHRASES):
        return "widget"
    if ("lock" in lower or "sleep" in lower or "mode" in lower) and any(
            " ".join(class_words(name)).endswith(_SCREEN_SWITCH_ENDS) for name in lower.split()):
        return "widget"
    for word in words:
        if (word.startswith(_COMPOUND_PREFIXES) and word not in _NOT_COMPOUNDS) or word.endswith(_COMPOUND_SUFFIXES):
            return "name"
    return "name" if "ad" in value and not _CASED_WORDS.isdisjoint(class_words(value)) else None


def _flag_kind(key: str, value: str) -> str | None:
    """Boilerplate signalled by one attribute: `hidden` (hidden/aria-hidden/display:none), `role`
    (an ARIA landmark that is not the article), `name`, `comments` or `widget` (class/id words)."""
    if key == "class" or key == "id":
        return _named_kind(value)
    if key == "hidden" or (key == "aria-hidden" and value == "true"):
        return "hidden"
    if key == "style":
        return "hidden" if _HIDDEN_STYLE_RE.search(value.lower()) else None
    if key == "role":
        return "role" if value.lower() in BOILERPLATE_ROLES else None
    return None


# `_flag_kind` remembered across pages: a worker meets a site's (a CMS's) class names on page after
# page (on the 103 crawled pages, 46% of each page's first looks repeat another page's). Values up to
# `_MAX_SHARED_VALUE` characters only, so the store stays a few MB whatever the pages hold.
_shared_flag_kind = lru_cache(maxsize=1 << 14)(_flag_kind)
_MAX_SHARED_VALUE = 256


def email_form(el: etree._Element, forms_above: dict[etree._Element, etree._Element | None]
               ) -> etree._Element | None:
    """The form an `<input type="email">` or `<input type="password">` belongs to (newsletter, "save
    this recipe" and comment forms; login boxes: "Username: Password: Forgot your password?"; no
    article text), or None. Asked before `strip_skipped`, which removes the inputs.
    `forms_above`: each element climbed so far -> its nearest `<form>` ancestor or itself, kept by
    the caller for the page, so each is climbed once (a filtered `iterancestors` also looks ahead
    for a second form: 20,000 inputs under 2000 nested blocks walked them all for each)."""
    if (el.get("type") or "").strip().lower() not in _SIGNUP_INPUTS:
        return None
    climbed = []
    parent = el.getparent()
    while parent is not None and parent.tag != "form":
        found = forms_above.get(parent, parent)
        if found is not parent:  # climbed before: its answer, a form or None
            parent = found
            break
        climbed.append(parent)
        parent = parent.getparent()
    for up in climbed:
        forms_above[up] = parent
    return parent


def signup_blocks(forms: set[etree._Element]) -> frozenset[etree._Element]:
    """Each sign-up form widened to the block wrappers around it that add at most `MAX_FORM_LEAD_IN`
    characters and no image: the form's heading and pitch ("Save This Recipe! We'll email it to
    you") are its siblings, outside the `<form>`, within `MAX_FORM_LEVELS` wrappers. Each wrapper is
    measured once (thousands of forms in one wrapper would otherwise measure it once each)."""
    measured: dict[etree._Element, float] = {}  # wrapper -> its characters, or -1: no wrapper
    blocks = set()
    for form in forms:
        block, chars = form, _chars(form)
        for parent in islice(form.iterancestors(), MAX_FORM_LEVELS):
            size = measured.get(parent)
            if size is None:
                size = measured[parent] = -1.0 if parent.tag not in BLOCK_TAGS or parent.tag in _PROTECTED_TAGS \
                    or _has_media(parent) else _chars(parent)
            if size < 0 or size > chars + MAX_FORM_LEAD_IN:
                break
            block = parent
        blocks.add(block)
    return frozenset(blocks)


class Classifier:
    """Why a block looks like boilerplate (`tag`, `hidden`, `role`, `name`, `comments`, `widget`,
    `signup`: one of `signup_forms`, the blocks of `signup_blocks`) or None; decisions are cached per
    distinct attribute of the page (pages repeat the same classes many times), save the `<h1>` test
    of a widget, which is the element's own. `widget_sized`: whether the block holds at most
    `MAX_WIDGET_CHARS` of unlinked text; a larger one is no widget, and its subtree is not read for
    a widget's tests (nested `toolbar` blocks around a long text read it once per level)."""

    def __init__(self, signup_forms: frozenset[etree._Element] = frozenset()) -> None:
        self.decided: dict[tuple[str, str], str | None] = {}
        self.signup_forms = signup_forms

    def kind(self, el: etree._Element, widget_sized: bool = True) -> str | None:
        if el.tag in STRUCTURAL_TAGS:
            return "tag"
        if el in self.signup_forms:
            return "signup"
        items = el.items()  # at most `max_tag_attributes`: floods are rejected before parsing
        if not items:
            return None
        decided = self.decided
        for item in items:
            if item[0] not in _SIGNAL_ATTRIBUTES:
                continue
            kind = decided.get(item, "")
            if kind == "":
                kind = decided[item] = (_shared_flag_kind if len(item[1]) <= _MAX_SHARED_VALUE else _flag_kind)(*item)
            if kind is None or (not widget_sized and (kind == "widget" or kind == "labels")):
                continue  # most attributes: none of the tests below applies
            if kind == "labels":  # a widget, if its text has no digit (`_TOOLBAR_SUFFIXES`, `_DISCLOSURE_WORDS`)
                if _has_digit(el):
                    continue
                kind = "widget"
            if kind in _NAMED_KINDS and item[0] == "id" and _is_heading_anchor(el, item[1]):
                continue
            if el.tag == "p" and kind in ("name", "widget"):
                return "widget"  # a share label or byline held in a `<p>`: removed only while short
            if not (kind in ("name", "comments", "widget") and el.tag in _PROTECTED_TAGS):
                if kind == "widget" and _has_h1(el):
                    continue
                return kind
        return None


def _is_heading_anchor(el: etree._Element, value: str) -> bool:
    """Whether an id is the anchor made from the block's own heading (docutils, Markdown: `<div
    class="section" id="sharing-with-a-single-developer"><h2>Sharing with a single developer`): at
    least `_MIN_ANCHOR_WORDS` words, the heading's words; the author's words, not a boilerplate name."""
    words = _WORD_RE.findall(value.lower())
    if len(words) < _MIN_ANCHOR_WORDS:
        return False
    heading = el if el.tag in _HEADING_TAGS else _first_heading(el)
    if heading is None:
        return False
    text = text_up_to(heading, _ANCHOR_TEXT_RATIO * len(value) + _ANCHOR_TEXT_SLACK)
    return text is not None and _WORD_RE.findall(text.lower()) == words


def text_up_to(el: etree._Element, limit: int) -> str | None:
    """The text of `el` if it holds at most `limit` characters and elements, else None: read piece
    by piece and stopped past the limit, so a heading around a long text or a deep subtree (nested
    in another such) is not read whole."""
    if len(list(islice(el.iter(), limit + 1))) > limit:
        return None
    pieces, size = [], 0
    for piece in el.itertext():
        size += len(piece)
        if size > limit:
            return None
        pieces.append(piece)
    return "".join(pieces)


def _first_heading(el: etree._Element) -> etree._Element | None:
    for child in el:
        if child.tag in _HEADING_TAGS:
            return child
    return None


# XPath compiled once: `el.xpath(...)` compiles its expression on every call (~5x the cost).
_has_h1 = etree.XPath("boolean(descendant::h1)")
_has_digit = etree.XPath("translate(string(), '0123456789', '') != string()")
_has_media = etree.XPath("boolean(descendant::img|descendant::picture|descendant::video)")
# All text in an element (XPath's string value): libxml2's node content, serialised in C at ~1/4 the
# cost of an XPath call, which sets up an evaluation context every time.
text_of = partial(etree.tostring, method="text", encoding=str, with_tail=False)
_chars = etree.XPath("string-length(normalize-space())")


def _holds_chars(el: etree._Element, least: float) -> bool:
    """Whether `el`'s text holds at least `least` characters besides XML whitespace: then `_chars(el)`
    is at least `least` too (normalising keeps each of them). Reads text nodes only until it does,
    skipping blank ones (`isspace` is wider than XML whitespace: the count stays a lower bound)."""
    count = 0
    for text in el.itertext():
        if not text.isspace():
            count += len(text) - text.count(" ") - text.count("\t") - text.count("\n") - text.count("\r")
            if count >= least:
                return True
    return False


_MAX_SCREEN_READER_CHARS = 80  # a label's length; longer text under such a class is kept


def screen_reader_only(el: etree._Element, text: str) -> bool:
    """Whether an inline element's own text is said only by a screen reader ("Klar" beside each
    step's checkbox, "minutes" beside a recipe card's "mins", "Photo" before a caption): a class
    naming it (`sr-only`, Tailwind's `u-sr-only`, `screen-reader-text`, `visually-hidden`), no child,
    a label's length. Read in the walk, where the block tests cannot reach such text: a sighted
    reader never sees it, so it is no part of the article. The cheap substring tests go first: the
    walk asks this of every inline element's text."""
    value = el.get("class")
    if value is None or not ("only" in value or "reader" in value or "isually" in value):
        return False
    if len(text) > _MAX_SCREEN_READER_CHARS or len(el):
        return False
    words = " ".join(class_words(value.lower()))
    return any(phrase in words for phrase in _SCREEN_READER_PHRASES)


def strip_skipped(body: etree._Element, weighed: list[etree._Element]) -> None:
    """Remove what is never page text: inline skipped tags go, block ones are emptied.

    `<noscript>` goes too, unless it holds most of the page: libxml2 parses its content as markup,
    so an unclosed `<noscript><div>` swallows the rest of the page, which is then kept. `weighed`:
    the page's elements of `WEIGHED_TAGS`, from the caller's walk (a page-wide walk costs ~0.2 ms);
    found before the skipped tags went, it may hold some outside `body` or inside a removed
    element: emptying or weighing those changes nothing `body` keeps."""
    etree.strip_elements(body, *_STRIP_TAGS, with_tail=False)
    noscripts = []
    for el in weighed:
        if el.tag == "noscript":
            noscripts.append(el)
        else:
            el.clear(keep_tail=True)
    if noscripts:
        noscripts = [(el, _chars(el)) for el in noscripts]
        most = max(chars for _, chars in noscripts)
        # most hold a tracking pixel, and the others a line or two: then the start of the page's text
        # shows that none holds most of it, and the whole page need not be measured
        if most and not _holds_chars(body, most / _MAX_NOSCRIPT_SHARE):
            page = _chars(body)
            for el, chars in noscripts:
                if chars > _MAX_NOSCRIPT_SHARE * page:
                    el.tag = "div"  # kept as a plain block
        etree.strip_elements(body, "noscript", with_tail=False)
