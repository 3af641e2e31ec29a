"""robots.txt for the fetcher: fetched once per origin, parsed with Protego (RFC 9309 precedence:
the most specific user-agent group, longest matching path, `Allow` winning ties)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from protego import Protego

# (status, body) of GET /robots.txt, the body already cut to the size cap; status 0 when the
# request failed.
RobotsGetter = Callable[[str], tuple[int, bytes]]


class _Everything:
    """The verdict for a robots.txt that is absent (4xx: all allowed) or unreachable (all refused)."""

    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed

    def can_fetch(self, url: str, agent: str) -> bool:
        return self.allowed


class RobotsCache:
    """One parsed robots.txt per origin (`scheme://host:port`), fetched once, thread-safe.

    RFC 9309: 4xx → everything allowed; 5xx or unreachable → everything disallowed; only the first
    `max_bytes` are parsed (the RFC asks for at least 500 KiB), so a huge file costs nothing more.
    """

    def __init__(self, agent: str, getter: RobotsGetter, max_bytes: int = 512 * 1024) -> None:
        self.agent = agent
        self.max_bytes = max_bytes
        self._getter = getter
        self._parsers: dict[str, Protego | _Everything] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(self, origin: str, url: str) -> bool:
        """May `self.agent` fetch `url` (which lives on `origin`)?"""
        return self._parser(origin).can_fetch(url, self.agent)

    def _parser(self, origin: str) -> Protego | _Everything:
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._parsers:
                self._parsers[origin] = self._load(origin)
            return self._parsers[origin]

    def _load(self, origin: str) -> Protego | _Everything:
        status, body = self._getter(origin + "/robots.txt")
        if status == 0 or status >= 500:
            return _Everything(False)
        if 400 <= status < 500:
            return _Everything(True)
        text = body[: self.max_bytes].decode("utf-8", "replace")
        if len(body) > self.max_bytes:  # a line cut by the cap is not a rule
            text = text.rsplit("\n", 1)[0]
        return Protego.parse(text)
