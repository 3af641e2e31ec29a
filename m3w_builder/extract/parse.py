"""Page text → lxml tree, with the guards that keep hostile markup from failing or stalling a worker.

libxml2 2.14 (bundled with lxml) builds HTML5 sectioning elements (`<nav>`, `<header>`, `<aside>`,
`<main>`...) where browsers do: on the 153 dev pages only 2 differ from lexbor's HTML5 tree in how
much text sits in such an element, so the fast C parser is kept. Its weak spots are guarded here:

- attribute handling is quadratic in the attributes of one tag (200,000 attributes: > 15 min): a
  linear pre-scan rejects a tag with more than `max_tag_attributes` (`too_many_attributes`);
- past its depth limit (256, or 2048 with `huge_tree`) libxml2 stops and drops the rest of the page:
  `huge_tree` is set and a page that still hits a limit is rejected (`too_deep`), never truncated;
- character references to control characters (`&#1;`) make text lxml refuses to edit: they and raw
  control characters are removed before parsing;
- an XHTML-style `<script .../>` followed by code and `</script>` is opened as an HTML5 parser does
  (libxml2 closes it and the code becomes page text: a CMS's pages showed 28 code blocks);
- elements void in HTML5 but unknown to libxml2 (`<embed>`, `<source>`, `<track>`, `<wbr>`,
  `<keygen>`, `<bgsound>`) are opened by it as containers of all that follows them in their parent:
  one `<embed>` (a skipped tag) took the rest of an article with it. Their contents are moved out
  after them, and `<image>` is read as `<img>`, as an HTML5 parser does (`unnest_void_elements`);
- large pages are fed in chunks with the page deadline (thread CPU time) checked between them, so
  the time budget binds during parsing too.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Iterator

import numpy as np
from lxml import etree

from m3w_builder.drops import Rejected

# Removed before parsing: C0 controls lxml refuses (raw, or as character references), surrogate
# references, non-characters U+FFFE/U+FFFF, and the private-use U+E000-U+E00F (this extractor's
# sentinels until it walked the tree instead; still kept out of documents, as tests pin).
_WHITESPACE_CONTROLS = (9, 10, 13)  # the bytes below 32 that stay: tab, newline, CR
_CONTROL_BYTES = bytes(b for b in range(32) if b not in _WHITESPACE_CONTROLS)
# Their UTF-8 forms: a two-byte lead, then one of these last bytes.
_SPECIAL_CHARACTERS = ((b"\xee\x80", frozenset(range(0x80, 0x90))), (b"\xef\xbf", frozenset((0xBE, 0xBF))))
# Only references that can be unsafe are matched (U+0000-U+001F, or near U+D800-U+E00F / U+FFFF);
# `_drop_unsafe_reference` decides, so common ones (`&#39;`, `&#8217;`) cost nothing.
_REFERENCE_RE = re.compile(
    rb"&#(?:[xX]0*([01]?[0-9a-fA-F]|[dDeE][0-9a-fA-F]{3}|[fF]{3}[eEfF])(?![0-9a-fA-F])"
    rb"|0*([0-2]?[0-9]|3[01]|5[5-7][0-9]{3}|6553[45])(?![0-9]));?"
)


def _unsafe_code_point(value: int) -> bool:
    return (value < 32 and value not in (9, 10, 13)) or 0xD800 <= value <= 0xDFFF \
        or value in (0xFFFE, 0xFFFF) or 0xE000 <= value <= 0xE00F


def _drop_unsafe_reference(match: re.Match) -> bytes:
    value = int(match[1], 16) if match[1] is not None else int(match[2])
    return b"" if _unsafe_code_point(value) else match[0]


# A start tag this long is looked at closely (attributes counted): 256 attributes need > 1 KiB.
# Found from the positions of every `<` and `>` (`markup`): a `<` whose next mark is over 1 KiB on.
_LONG_TAG = 1025
_LT, _GT = ord("<"), ord(">")
_AMP, _HASH = ord("&"), ord("#")
_ASCII_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_WHITESPACE = b" \n\t\r\x0c"
_QUOTED_RE = re.compile(rb""""[^"]*"|'[^']*'""")
_ATTRIBUTE_RE = re.compile(rb"""\s+[^\s"'<>/=]+""")
_RAW_TEXT_TAGS = (b"script", b"style")
_WORD_TABLE = np.array([byte in _ASCII_LETTERS or chr(byte) in "0123456789_" for byte in range(256)])
_CASE_BIT = 0x20  # `byte | _CASE_BIT` is a lower-case letter for that letter in either case only
_SCRIPT_START = b"<script"
# Pages up to this are parsed whole, larger ones fed in chunks of it, the deadline checked between them
# (~6 ms of parsing each). Feeding costs more than a whole parse (~3% in one chunk, ~9% in 256 KiB
# chunks, on the shared pages over 256 KiB), so the chunks are no smaller than the deadline needs.
_FEED_CHUNK = 1 << 20


_MEMCHR_TRIES = 16  # first-byte hits tried before the plain two-byte search takes over


def _find(data: bytes, lead: bytes, start: int) -> int:
    """`data.find(lead, start)` for a two-byte `lead`, faster: CPython finds one byte with memchr but
    scans for two bytes one by one (~30x slower), so the first byte is looked for first, and the
    plain search takes over where that byte is common (CJK pages' fullwidth punctuation)."""
    first, second = lead[:1], lead[1:]
    at = data.find(first, start)
    for _ in range(_MEMCHR_TRIES):
        if at < 0 or data[at + 1:at + 2] == second:
            return at
        at = data.find(first, at + 1)
    return data.find(lead, at) if at >= 0 else -1



def _drop_special(data: bytes, lead: bytes, last: frozenset[int]) -> bytes:
    """`data` without `lead` + a byte of `last`, found with C scans (`_find`), then joined once: a
    regex over a 3 MB page costs 20 ms, and so does splitting it at each lead (every piece copied)."""
    kept: list[bytes] = []
    start = 0
    at = _find(data, lead, 0)
    while at >= 0:
        if data[at + 2:at + 3] and data[at + 2] in last:
            kept.append(data[start:at])
            start = at + 3
        at = _find(data, lead, at + 2)
    if not kept:
        return data
    kept.append(data[start:])
    return b"".join(kept)


def clean_utf8(data: bytes) -> bytes:
    """Remove from UTF-8 bytes what lxml cannot hold or we use ourselves (see above)."""
    return _clean(data, data.translate(None, _CONTROL_BYTES))


def markup(data: bytes) -> np.ndarray:
    """The positions of every `<` and `>` in `data`, ascending: one numpy pass serves the tag count
    (`tag_count`), the long start tags (`check_attribute_floods`) and the `<script` starts
    (`open_self_closed_scripts`), ~2x cheaper than the byte scans (a byte-map `translate`, a count
    and two finds) it replaced."""
    marks = np.frombuffer(data, np.uint8) | 2  # `<` is 0x3C, `>` 0x3E: no other byte
    return np.flatnonzero(np.equal(marks, _GT, out=marks.view(bool)))  # compared in place: ~20% cheaper


def tag_count(data: bytes, marks: np.ndarray) -> int:
    """How many `<` `data` holds (`marks`: its `markup`)."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8)[marks] == _LT))


def clean_and_scan(data: bytes) -> tuple[bytes, np.ndarray]:
    """`clean_utf8(data)` and the `markup` of the result. Control bytes are counted as the bytes
    below 32 less tabs, newlines and CRs (numpy counts, ~2x cheaper than a `translate`), so a page
    that needs no cleaning (almost all) is never copied."""
    page = np.frombuffer(data, np.uint8)
    controls = np.count_nonzero(page < 32) - sum(np.count_nonzero(page == byte) for byte in _WHITESPACE_CONTROLS)
    cleaned = _clean(data, data.translate(None, _CONTROL_BYTES) if controls else data)
    return cleaned, markup(cleaned)


def _clean(data: bytes, without_controls: bytes) -> bytes:
    """Each pass runs only when its lead bytes occur (a one-byte `in` is a memchr, far faster
    than `re`); a pass that changes nothing returns its input (`data` itself when the page needs
    no cleaning)."""
    data = without_controls
    if b"\xee" in data or b"\xef" in data:
        for lead, last in _SPECIAL_CHARACTERS:
            data = _drop_special(data, lead, last)
    return _drop_unsafe_references(data)


def _drop_unsafe_references(data: bytes) -> bytes:
    """`_REFERENCE_RE.sub(_drop_unsafe_reference, data)`, the pattern tried only at each `&#` (found
    with numpy: two thirds of the dev pages hold none, the others a dozen), not scanned for over
    the whole page (~25% dearer). Its matches hold one `&` each, so none overlaps the next `&#`.
    The byte after each `&` is read only at the few `&`s: one pass over the page, not three."""
    page = np.frombuffer(data, np.uint8)
    amps = np.flatnonzero(page[:-1] == _AMP)
    leads = amps[page[amps + 1] == _HASH].tolist()
    if not leads:
        return data
    kept: list[bytes] = []
    start = 0
    for at in leads:
        match = _REFERENCE_RE.match(data, at)
        if match is not None and not _drop_unsafe_reference(match):
            kept.append(data[start:at])
            start = match.end()
    if not kept:
        return data
    kept.append(data[start:])
    return b"".join(kept)


def _tag_starts(page: np.ndarray, opens: np.ndarray, name: bytes) -> np.ndarray:
    """The offsets among `opens` (of `<` in `page`) that `name` follows, its letters in any case."""
    opens = opens[opens < len(page) - len(name)]
    for offset, byte in enumerate(name, 1):
        near = page[opens + offset]
        opens = opens[(near | _CASE_BIT if chr(byte).isalpha() else near) == byte]
    return opens


def _raw_text_ranges(data: bytes, marks: np.ndarray) -> list[tuple[int, int]]:
    """Sorted (start, end) byte ranges of `<script>`/`<style>` contents (no tags inside), from the
    page's `markup` `marks`: each start tag (its name in any case, then a non-word byte) runs to the
    next `>`, its content to the next end tag of its name or the page's end; a start tag inside a
    tag or a range is none. Found with numpy, then one pass over the start tags."""
    page = np.frombuffer(data, np.uint8)
    kinds = page[marks]
    opens, closers = marks[kinds == _LT], marks[kinds == _GT]
    found: list[tuple[int, int, int]] = []  # (start tag's offset, its end, its content's end)
    for name in _RAW_TEXT_TAGS:
        starts = _tag_starts(page, opens, name)
        starts = starts[starts + len(name) + 1 < len(data)]  # one at the page's end has no `>` after it
        starts = starts[~_WORD_TABLE[page[starts + len(name) + 1]]]
        closer = np.searchsorted(closers, starts + len(name))
        starts, tag_ends = starts[closer < len(closers)], closers[closer[closer < len(closers)]] + 1
        ends = _tag_starts(page, opens, b"/" + name)
        content_ends = np.append(ends, len(data))[np.searchsorted(ends, tag_ends)]
        found += zip(starts.tolist(), tag_ends.tolist(), content_ends.tolist())
    ranges: list[tuple[int, int]] = []
    last_tag_end = 0
    for start, tag_end, content_end in sorted(found):
        if start < last_tag_end:
            continue  # written inside the previous start tag
        last_tag_end = tag_end
        if ranges and start < ranges[-1][1]:
            continue  # "<script" written inside a script
        ranges.append((tag_end, content_end))
    return ranges


def _long_tags(data: bytes, marks: np.ndarray) -> Iterator[tuple[int, bytes]]:
    """(offset, text) of each `<` + letter + over 1 KiB without `<` or `>` (a long start tag);
    `marks`: the `markup` of `data`. Only the few marks that long gaps follow are read as bytes:
    gathering every mark's byte cost ~40% of the scan."""
    gaps = np.diff(marks, append=len(data))
    long = np.flatnonzero(gaps > _LONG_TAG)
    if not len(long):
        return
    starts = marks[long]
    opens = np.frombuffer(data, np.uint8)[starts] == _LT
    for start, end in zip(starts[opens].tolist(), (starts + gaps[long])[opens].tolist()):
        if data[start + 1] in _ASCII_LETTERS:
            yield start, data[start:end]


def check_attribute_floods(data: bytes, max_attributes: int, marks: np.ndarray | None = None) -> None:
    """Raise `Rejected("too_many_attributes")` for a start tag holding more than `max_attributes`.
    Cheapest test first: a long run's whitespace, then its attributes, and only for a flood
    whether it sits inside a script or style (`_raw_text_ranges`, from the page's marks: a CNN page
    whose minified scripts hold such runs pays 0.15 ms, not the 2 ms of lower-casing the page and a
    regex scan). `marks`: the page's `markup`, when the caller has it."""
    marks = markup(data) if marks is None else marks
    raw_text: list[tuple[int, int]] | None = None
    for start, tag in _long_tags(data, marks):
        if len(tag) - len(tag.translate(None, _WHITESPACE)) <= max_attributes:
            continue  # every attribute counted follows whitespace: cannot be a flood
        n = len(_ATTRIBUTE_RE.findall(_QUOTED_RE.sub(b" ", tag)))
        if n <= max_attributes:
            continue
        if raw_text is None:
            raw_text = _raw_text_ranges(data, marks)
        at = bisect.bisect_right(raw_text, (start, len(data))) - 1
        if at >= 0 and raw_text[at][0] < start < raw_text[at][1]:
            continue  # `a<b ...` inside a script or style is no tag
        raise Rejected("too_many_attributes", f"a <{tag[1:20].split()[0].decode('ascii', 'replace')}> "
                       f"with {n} attributes > {max_attributes}")


# Void in HTML5, containers to libxml2 2.14 (it knows the older void elements: img, br, input, ...).
UNKNOWN_VOID_TAGS = ("embed", "source", "track", "wbr", "keygen", "bgsound", "image")


def unnest_void_elements(root: etree._Element, found: list[etree._Element] | None = None) -> None:
    """Give each unknown void element's text and children back to its parent, right after it (where
    an HTML5 tree has them), and rename `<image>` to `<img>`. One C-filtered walk; in document
    order, so a run of nested `<source>`s is flattened from the outside in. `found`: the page's
    `UNKNOWN_VOID_TAGS` elements in document order, when the caller's walk collected them."""
    for el in list(root.iter(*UNKNOWN_VOID_TAGS)) if found is None else found:
        if el.tag == "image":
            el.tag = "img"
        if el.text is None and not len(el):
            continue
        children = list(el)
        tail, el.tail, el.text = el.tail, el.text, None
        for child in reversed(children):
            el.addnext(child)  # moves the child with its tail
        if tail:
            last = children[-1] if children else el
            last.tail = (last.tail or "") + tail


def _parser() -> etree.HTMLParser:
    return etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True,
                            huge_tree=True, collect_ids=False)  # ids unused: their hash costs 20% of a parse


_PARSER = _parser()


def _limit_error(log: etree._ListErrorLog) -> str | None:
    for error in log:
        if error.type_name == "ERR_RESOURCE_LIMIT" or "xcessive depth" in error.message:
            return error.message
    return None


def _script_starts(data: bytes, marks: np.ndarray) -> list[int]:
    """The offsets of `<script` in `data`, ascending, found among its `<` (`marks`: its `markup`)
    one letter at a time: most pages hold a few dozen, among thousands of tags."""
    page = np.frombuffer(data, np.uint8)
    starts = marks[page[marks] == _LT]
    starts = starts[starts <= len(data) - len(_SCRIPT_START)]
    for offset in range(1, len(_SCRIPT_START)):
        starts = starts[page[starts + offset] == _SCRIPT_START[offset]]
    return starts.tolist()


def open_self_closed_scripts(data: bytes, marks: np.ndarray | None = None) -> bytes:
    """`<script .../>` followed by code and `</script>` made `<script ...>`: an HTML5 parser ignores
    the `/` on a script (the code is script), libxml2 closes the element and the code becomes page
    text. Only where no other tag comes before the end tag, so a `<script src=.../>` followed by
    markup stays as libxml2 reads it. `marks`: the page's `markup`, when the caller has it; most
    pages have no such tag."""
    pieces: list[bytes] = []
    start = 0
    for found in _script_starts(data, markup(data) if marks is None else marks):
        end = data.find(b">", found)
        if end < 0:
            break
        if data[end - 1:end] == b"/" and data.startswith(b"</script", data.find(b"<", end)):
            pieces.append(data[start:end - 1])
            start = end
    if not pieces:
        return data
    pieces.append(data[start:])
    return b"".join(pieces)


def parse_utf8(data: bytes, deadline: float = float("inf"), time_limit_s: float = 0.0,
               marks: np.ndarray | None = None, unnest: bool = True) -> etree._Element | None:
    """Parse clean UTF-8 HTML bytes; None when nothing parses or no element does. Raises `Rejected`
    for a page past a parser limit (`too_deep`) or one whose parse runs past `deadline` (`timeout`).
    `marks`: the page's `markup`, when the caller has it. `unnest` False leaves
    `unnest_void_elements` to a caller that walks the tree anyway (a page-wide walk saved)."""
    data = open_self_closed_scripts(data, marks)
    if len(data) <= _FEED_CHUNK:
        parser = _PARSER
        try:
            root = etree.fromstring(data, parser)
        except (etree.ParserError, etree.XMLSyntaxError, ValueError):
            return None
    else:
        parser = _parser()
        for start in range(0, len(data), _FEED_CHUNK):
            if time.thread_time() > deadline:
                raise Rejected("timeout", f"parsing exceeded {time_limit_s}s")
            parser.feed(data[start:start + _FEED_CHUNK])
        try:
            root = parser.close()
        except (etree.ParserError, etree.XMLSyntaxError, ValueError):
            return None
    limit = _limit_error(parser.error_log if parser is _PARSER else parser.feed_error_log)
    if limit:
        raise Rejected("too_deep" if "depth" in limit else "parser_limit", limit.strip())
    if root is None:  # only a doctype or comments (a page cut after its head): libxml2 builds no root
        return None
    if unnest:
        unnest_void_elements(root)
    return root


def parse_html(text: str) -> etree._Element | None:
    """Parse decoded HTML text (cleaned first, see `clean_utf8`); None when nothing parses."""
    return parse_utf8(clean_utf8(text.encode("utf-8", errors="replace")))
