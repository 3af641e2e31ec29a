"""Domain and URL-prefix block lists, applied to pages (pre-pass, quality) by URL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from m3w_builder.quality.urlkeys import host_of


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
        """A `ValueError` naming the first line that is no URL (`http://[x/`)."""
        blocklist = cls()
        for number, raw in enumerate(lines, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "/" not in line:
                blocklist.domains.add(line.lower().strip("."))
                continue
            try:
                parts = urlsplit(line if "://" in line else f"http://{line}")
                host = (parts.hostname or "").rstrip(".")
            except ValueError as error:
                raise ValueError(f"line {number}: {error}") from None
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
