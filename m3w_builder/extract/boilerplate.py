"""Markup that is never page text (scripts, forms' controls, menus...) and boilerplate removal.

Skipped tags go unconditionally. Boilerplate candidates (`<nav>`/`<aside>`/`<footer>`, hidden
elements, ARIA landmark roles, class/id naming ads, menus, cookie banners) are removed only under
guards, because real pages wrap their article in a `has-sidebar` div, hide it until a script runs,
or nest it in a `<nav>` by mistake: one candidate may not hold more than a share of the page's
text, and all removals by class/id together not more than `_MAX_REMOVED_NAMED_SHARE`. Lengths are whitespace-
normalised (indentation would make a menu look big and an article small).
"""

from __future__ import annotations

import re

from lxml import etree

BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption center dd details dialog div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main nav ol p "
    "pre section summary table tbody td tfoot th thead tr ul".split()
)
SKIP_TAGS = frozenset(
    "script style noscript template svg math canvas iframe frame frameset object embed applet "
    "button select input textarea option head map dialog audio track".split()
)
STRUCTURAL_TAGS = frozenset(("nav", "aside", "footer"))
_BOILERPLATE_ROLES = frozenset(
    "navigation banner contentinfo complementary dialog alertdialog alert search menu menubar".split()
)
# Whole words of a class/id; `ad`/`ads` only in lower case (`Section--Ads` names a topic, not a slot).
_BOILERPLATE_RE = re.compile(
    r"(?:^|[\s_-])(?:cookies?|consent|gdpr|advert\w*|(?-i:ads?)|adslot|adsbygoogle|sponsor(?:ed)?|promo|"
    r"newsletter|subscribe|share|sharing|social|sidebar|related|recommended|popup|modal|"
    r"breadcrumbs?|menu|navbar|nav|footer|comments?|signup|paywall-(?:banner|prompt|message)|banner)"
    r"(?:$|[\s_-])",
    re.IGNORECASE,
)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_PROTECTED_TAGS = frozenset(("html", "body", "main", "article", "p"))
_MAX_SHARE = {"name": 0.3, "hidden": 0.5, "role": 0.5, "tag": 0.5}
_MAX_REMOVED_NAMED_SHARE = 0.6
_STRIP_TAGS = tuple(SKIP_TAGS - BLOCK_TAGS)  # inline: removed, their tail joins the text around
_EMPTY_TAGS = tuple(SKIP_TAGS & BLOCK_TAGS)  # block: emptied, still a paragraph break
# Boilerplate is marked on containers; links, inline formatting and media are not looked at.
_CONTAINER_TAGS = tuple(sorted(
    (BLOCK_TAGS | frozenset("span iframe form figure".split())) - frozenset("br hr html body".split())
))


def _flag_kind(key: str, value: str) -> str | None:
    """Boilerplate signalled by one attribute: `hidden` (hidden/aria-hidden/display:none) or `role`."""
    if key == "hidden" or (key == "aria-hidden" and value == "true"):
        return "hidden"
    if key == "style":
        return "hidden" if _HIDDEN_STYLE_RE.search(value) else None
    if key == "role":
        return "role" if value.lower() in _BOILERPLATE_ROLES else None
    return None


def candidates(body: etree._Element) -> list[tuple[etree._Element, str]]:
    """Boilerplate-looking elements with why: `tag`, `hidden`, `role` or `name` (class/id).
    Decisions are cached per distinct attribute value of the page."""
    out = []
    decided: dict[tuple[str, str], str | None] = {}
    for el in body.iter(*_CONTAINER_TAGS):
        if el.tag in STRUCTURAL_TAGS:
            out.append((el, "tag"))
            continue
        for item in el.items():
            kind = decided.get(item, "")
            if kind == "":
                key, value = item
                if key == "class" or key == "id":
                    kind = "name" if _BOILERPLATE_RE.search(value) else None
                else:
                    kind = _flag_kind(key, value)
                decided[item] = kind
            if kind is not None and not (kind == "name" and el.tag in _PROTECTED_TAGS):
                out.append((el, kind))
                break
    return out


def _chars(el: etree._Element) -> int:
    return int(el.xpath("string-length(normalize-space())"))


def strip_skipped(body: etree._Element) -> None:
    """Remove what is never page text: inline skipped tags go, block ones are emptied."""
    etree.strip_elements(body, *_STRIP_TAGS, with_tail=False)
    for el in list(body.iter(*_EMPTY_TAGS)):
        el.clear(keep_tail=True)


def remove_boilerplate(body: etree._Element) -> None:
    """Empty the boilerplate candidates that pass the share guards (module docstring)."""
    page_chars = -1
    removed = 0
    for el, kind in candidates(body):
        if not any(a is body for a in el.iterancestors()):
            continue  # inside a subtree already cleared
        if page_chars < 0:  # computed once, on the first candidate only
            page_chars = _chars(body)
        chars = _chars(el)
        if chars > _MAX_SHARE[kind] * page_chars:
            continue
        if kind == "name":
            if removed + chars > _MAX_REMOVED_NAMED_SHARE * page_chars:
                continue
            removed += chars
        el.clear(keep_tail=True)
