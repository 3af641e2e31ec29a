"""Opt-out signals (`noai`, `noimageai`, TDM reservation) of pages and media responses.

Pure functions on strings and header pairs, so the reader, the extractor, the pre-pass and the
media fetcher can all call them.

Opt-out signals honoured:
- `<meta name="robots" content="noai, noimageai">` (and the same `content` addressed to our agent
  name), and `X-Robots-Tag: noai` / `X-Robots-Tag: m3w-builder: noimageai` response headers;
- the W3C TDM Reservation Protocol: `<meta name="tdm-reservation" content="1">` or a
  `tdm-reservation: 1` header, read as `tdm_reserved` (no text and data mining).
`noai` or `tdm_reserved` on a page drops the page; `noimageai` drops its media but keeps its text;
any of them on an image response drops that image.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from m3w_builder.document import Document, TextNode
from m3w_builder.drops import Rejected

AGENT = "m3w-builder"
NOAI = "noai"
NOIMAGEAI = "noimageai"
TDM_RESERVED = "tdm_reserved"
PAGE_DROP = (NOAI, TDM_RESERVED)

_COLON_DIRECTIVES = {"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"}
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-zA-Z_:][-\w:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_AGENT_PREFIX = re.compile(r"^\s*([A-Za-z0-9_.*-]+)\s*:\s*(.*)$", re.DOTALL)
HEAD_BYTES = 65536  # meta tags are looked for in the head of the page only


def parse_directives(value: str, agent: str = AGENT) -> set[str]:
    """Lower-case directives of a robots `content` or `X-Robots-Tag` value that apply to `agent`.

    An `agent:` prefix applies to the directives after it up to the next prefix
    (`googlebot: nofollow, m3w-builder: noai` gives `noai` to us); unprefixed ones apply to all.
    Lines are separate header values (`WebRecord.x_robots_tag` holds every header, one per line)."""
    found: set[str] = set()
    for line in value.splitlines():
        applies = True
        for token in line.split(","):
            match = _AGENT_PREFIX.match(token)
            if match and match.group(1).lower() not in _COLON_DIRECTIVES:
                applies = match.group(1).lower() in (agent.lower(), "*")
                token = match.group(2)
            token = token.strip().lower()
            if applies and token:
                found.add(token)
    return found


def _tdm_reserved(value: str) -> bool:
    return value.strip() == "1"


def meta_directives(page: bytes, agent: str = AGENT) -> set[str]:
    """Opt-out directives from the `<meta>` tags in the head of raw HTML bytes."""
    found: set[str] = set()
    for tag in _META.findall(page[:HEAD_BYTES]):
        attrs = {k.lower(): v.strip(b"\"'") for k, v in _ATTR.findall(tag)}
        name = attrs.get(b"name", b"").decode("ascii", "replace").strip().lower()
        content = html.unescape(attrs.get(b"content", b"").decode("utf-8", "replace"))
        if name in ("robots", agent.lower()):
            found |= parse_directives(content, agent)
        elif name == "tdm-reservation" and _tdm_reserved(content):
            found.add(TDM_RESERVED)
    return found


def header_directives(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None, agent: str = AGENT
) -> set[str]:
    """Opt-out directives from HTTP response headers (`X-Robots-Tag`, `tdm-reservation`);
    accepts a mapping or (name, value) pairs, so repeated headers are all read."""
    if not headers:
        return set()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: set[str] = set()
    for name, value in pairs:
        name = name.strip().lower()
        if name == "x-robots-tag":
            found |= parse_directives(value, agent)
        elif name == "tdm-reservation" and _tdm_reserved(value):
            found.add(TDM_RESERVED)
    return found


def page_drop_reason(directives: set[str]) -> str | None:
    """`noai` / `tdm_reserved` when a page opted out of AI use as a whole, else None."""
    return next((d for d in PAGE_DROP if d in directives), None)


def image_drop_reason(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
    agent: str = AGENT,
    honoured: Iterable[str] = (NOAI, NOIMAGEAI, TDM_RESERVED),
) -> str | None:
    """The first `honoured` directive an image response carries (`noai`, `noimageai`,
    `tdm_reserved`), else None."""
    directives = header_directives(headers, agent)
    return next((d for d in honoured if d in directives), None)


def apply_page_optout(doc: Document, directives: set[str]) -> Document:
    """Raise `Rejected` for a page that opted out; drop its media nodes on `noimageai`."""
    reason = page_drop_reason(directives)
    if reason:
        raise Rejected(reason, doc.url)
    if NOIMAGEAI in directives:
        return replace(doc, nodes=[n for n in doc.nodes if isinstance(n, TextNode)])
    return doc
