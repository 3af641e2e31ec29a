"""URL helpers for extraction: absolute resolution, `srcset` choice, normalisation."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

_SRCSET_SPLIT = re.compile(r",\s+|,(?=\S+\s+\d)")
_ALLOWED_SCHEMES = ("http", "https")


def resolve(base: str, ref: str | None) -> str | None:
    """Absolute http(s) URL for `ref` against `base`, or None (data:, javascript:, garbage)."""
    if not ref:
        return None
    ref = ref.strip()
    if not ref or ref.startswith(("data:", "javascript:", "about:", "blob:", "#")):
        return None
    try:
        absolute = urljoin(base, ref)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES or not parts.netloc:
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def best_srcset(srcset: str | None) -> str | None:
    """The largest candidate of a `srcset` (by width `w` or density `x` descriptor)."""
    if not srcset:
        return None
    best_url, best_score = None, -1.0
    for candidate in _SRCSET_SPLIT.split(srcset.strip()):
        parts = candidate.strip().split()
        if not parts or parts[0].startswith("data:"):
            continue
        score = 1.0
        if len(parts) > 1:
            descriptor = parts[1].lower()
            try:
                score = float(descriptor[:-1]) if descriptor[-1] in "wx" else 1.0
            except (ValueError, IndexError):
                score = 1.0
        if score > best_score:
            best_url, best_score = parts[0], score
    return best_url


def normalize_url(url: str) -> str:
    """A canonical form for dedup and ids: lower-case scheme/host, no fragment, no default port."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    netloc = parts.netloc.lower()
    if (parts.scheme == "http" and netloc.endswith(":80")) or (parts.scheme == "https" and netloc.endswith(":443")):
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
