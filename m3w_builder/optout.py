"""URL-level rules: URL normalisation for dedup, domain/URL block lists, `noai` opt-out signals.

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
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlencode, urlsplit

from m3w_builder.document import Document, TextNode
from m3w_builder.errors import Rejected

AGENT = "m3w-builder"
NOAI = "noai"
NOIMAGEAI = "noimageai"
TDM_RESERVED = "tdm_reserved"
PAGE_DROP = (NOAI, TDM_RESERVED)

_TRACKING_PARAMS = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "yclid"}
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_COLON_DIRECTIVES = {"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"}
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-zA-Z_:][-\w:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_AGENT_PREFIX = re.compile(r"^\s*([A-Za-z0-9_.*-]+)\s*:\s*(.*)$", re.DOTALL)
HEAD_BYTES = 65536  # meta tags are looked for in the head of the page only


def host_of(url: str) -> str:
    """Lower-case host without port or trailing dot ('' when the URL has none)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def site_of(url: str) -> str:
    """The host without a leading `www.`: the unit of per-domain rules."""
    host = host_of(url)
    return host[4:] if host.startswith("www.") else host


def normalize_url(url: str) -> str:
    """Dedup key of a URL: scheme-less, lower-case host without `www.` or default port, no
    fragment, `/` for an empty path, tracking parameters (`utm_*`, `fbclid`, ...) removed and the
    remaining query parameters sorted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    host = site_of(url)
    netloc = (
        host if port is None or str(port) == _DEFAULT_PORTS.get(parts.scheme.lower()) else f"{host}:{port}"
    )
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    )
    path = parts.path or "/"
    return f"{netloc}{path}" + (f"?{urlencode(query)}" if query else "")


@dataclass
class BlockList:
    """Domains (blocking the host and every subdomain) and URL prefixes (host + path prefix).

    A line with a `/` is a URL prefix (scheme optional and ignored); any other line is a domain.
    Blank lines and `#` comments are skipped.
    """

    domains: set[str] = field(default_factory=set)
    prefixes: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> "BlockList":
        blocklist = cls()
        for raw in lines:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "/" not in line:
                blocklist.domains.add(line.lower().strip("."))
                continue
            parts = urlsplit(line if "://" in line else f"http://{line}")
            host = (parts.hostname or "").rstrip(".")
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            blocklist.prefixes.setdefault(host, []).append(path or "/")
        return blocklist

    def __bool__(self) -> bool:
        return bool(self.domains or self.prefixes)

    def match(self, url: str) -> str | None:
        """`blocked_domain`, `blocked_url` or None."""
        host = host_of(url)
        labels = host.split(".")
        if any(".".join(labels[i:]) in self.domains for i in range(len(labels))):
            return "blocked_domain"
        prefixes = self.prefixes.get(host)
        if prefixes:
            parts = urlsplit(url.strip())
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            if any(path.startswith(p) for p in prefixes):
                return "blocked_url"
        return None


def parse_directives(value: str, agent: str = AGENT) -> set[str]:
    """Lower-case directives of a robots `content` or `X-Robots-Tag` value that apply to `agent`
    (unprefixed ones, or ones after an `agent:` prefix; other agents' are ignored)."""
    match = _AGENT_PREFIX.match(value)
    if match and match.group(1).lower() not in _COLON_DIRECTIVES:
        if match.group(1).lower() not in (agent.lower(), "*"):
            return set()
        value = match.group(2)
    return {token.strip().lower() for token in value.split(",") if token.strip()}


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
