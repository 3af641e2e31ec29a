"""URL helpers for extraction: absolute resolution and `srcset` choice."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

_ALLOWED_SCHEMES = ("http", "https")
_NOT_A_URL = re.compile(r'[<>"{}\n\t]')  # JSON or markup in a lazy-load attribute is no URL


def resolve(base: str, ref: str | None) -> str | None:
    """Absolute http(s) URL for `ref` against `base`, or None (data:, javascript:, garbage)."""
    if not ref:
        return None
    ref = ref.strip()
    if not ref or ref.startswith(("data:", "javascript:", "about:", "blob:", "#")) or _NOT_A_URL.search(ref):
        return None
    try:
        # an absolute URL is returned as it is by urljoin (which parses both URLs: the slow part)
        absolute = ref if ref[:8].lower().startswith(("http://", "https://")) else urljoin(base, ref)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES or not parts.netloc:
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


_SRCSET_URL_RE = re.compile(r"[\s,]*(\S+)")
_SRCSET_DESCRIPTOR_RE = re.compile(r"[^,]*,?")


def parse_srcset(srcset: str) -> list[tuple[str, str]]:
    """`srcset` candidates as (url, descriptor) following the HTML parsing rules: a URL is a run of
    non-space characters (commas inside it are kept, a trailing comma ends the candidate), and a
    descriptor runs to the next comma. One left-to-right scan: linear in the attribute's length."""
    out: list[tuple[str, str]] = []
    position, end = 0, len(srcset)
    while position < end:
        match = _SRCSET_URL_RE.match(srcset, position)
        if match is None:
            break
        url, position = match.group(1), match.end()
        if url.endswith(","):
            out.append((url.rstrip(","), ""))
            continue
        match = _SRCSET_DESCRIPTOR_RE.match(srcset, position)
        position = match.end()
        descriptor = match.group().rstrip(",").split()
        out.append((url, descriptor[0] if descriptor else ""))
    return out


def best_srcset(srcset: str | None) -> str | None:
    """The largest candidate of a `srcset` (by width `w` or density `x` descriptor)."""
    if not srcset:
        return None
    best_url, best_score = None, -1.0
    for url, descriptor in parse_srcset(srcset):
        if url.startswith("data:"):
            continue
        try:
            score = float(descriptor[:-1]) if descriptor[-1:].lower() in ("w", "x") else 1.0
        except ValueError:
            score = 1.0
        if score > best_score:
            best_url, best_score = url, score
    return best_url
