"""robots.txt for the fetcher: fetched once per origin into a bounded cache, parsed with Protego
(RFC 9309 precedence: the most specific user-agent group, longest matching path, `Allow` winning
ties)."""

from __future__ import annotations

import threading
from collections import OrderedDict
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
    """Parsed robots.txt per origin (`scheme://host:port`), fetched once while it stays cached.

    Bounded: at most `max_origins` answers are kept, the least recently used dropped first (and
    fetched again if that origin comes back), so a worker that meets millions of hosts holds a
    fixed amount. Thread-safe, and one fetch per origin at a time: threads asking for an origin
    being fetched wait for that answer. RFC 9309: 4xx → everything allowed; 5xx or unreachable →
    everything disallowed; only the first `max_bytes` are parsed (the RFC asks for at least 500 KiB).
    """

    def __init__(self, agent: str, getter: RobotsGetter, max_bytes: int, max_origins: int) -> None:
        self.agent = agent
        self.max_bytes = max_bytes
        self.max_origins = max(1, max_origins)
        self._getter = getter
        self._parsers: OrderedDict[str, Protego | _Everything] = OrderedDict()
        self._loading: dict[str, threading.Event] = {}  # origins being fetched now
        self._guard = threading.Lock()

    def __len__(self) -> int:
        return len(self._parsers)

    def allowed(self, origin: str, url: str) -> bool:
        """May `self.agent` fetch `url` (which lives on `origin`)?"""
        return self._parser(origin).can_fetch(url, self.agent)

    def _parser(self, origin: str) -> Protego | _Everything:
        while True:
            with self._guard:
                parser = self._parsers.get(origin)
                if parser is not None:
                    self._parsers.move_to_end(origin)
                    return parser
                loading = self._loading.get(origin)
                if loading is None:  # this thread fetches it
                    loading = self._loading[origin] = threading.Event()
                    break
            loading.wait()  # then look again: cached, or the fetch failed and this thread tries
        try:
            parser = self._load(origin)
            with self._guard:
                self._parsers[origin] = parser
                while len(self._parsers) > self.max_origins:
                    self._parsers.popitem(last=False)
            return parser
        finally:
            with self._guard:
                del self._loading[origin]
            loading.set()

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
