"""robots.txt for the fetcher: fetched once per origin into a bounded cache, parsed with Protego
(RFC 9309 precedence: the most specific user-agent group, longest matching path, `Allow` winning
ties)."""

from __future__ import annotations

import codecs
import threading
from collections import OrderedDict
from collections.abc import Callable

from protego import Protego

# (status, body) of GET /robots.txt, the body already cut to the size cap; status 0 when the
# request failed.
RobotsGetter = Callable[[str], tuple[int, bytes]]


class _Everything:
    """The verdict for a robots.txt that is absent (4xx: all allowed) or unreachable (all refused;
    `why` says which answer it had)."""

    def __init__(self, allowed: bool, why: str = "") -> None:
        self.allowed = allowed
        self.why = why

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

    def refusal(self, origin: str, url: str) -> tuple[str, str] | None:
        """None when `url` may be fetched, else (reason, detail): `robots_disallowed` when the
        robots.txt says so, `robots_unreachable` when it could not be had (RFC 9309: a 5xx or
        unreachable robots.txt disallows everything), so a refusal never claims rules it did not read."""
        parser = self._parser(origin)
        if parser.can_fetch(url, self.agent):
            return None
        if isinstance(parser, _Everything):
            return "robots_unreachable", f"{origin}/robots.txt {parser.why}: everything disallowed (RFC 9309)"
        return "robots_disallowed", f"robots.txt disallows {url}"

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
            return _Everything(False, f"answered HTTP {status}" if status else "could not be fetched or read")
        if 400 <= status < 500:
            return _Everything(True)
        text = _text(body[: self.max_bytes])
        if len(body) > self.max_bytes:  # a line cut by the cap is not a rule
            text = text.rsplit("\n", 1)[0]
        return Protego.parse(text)


_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def _text(body: bytes) -> str:
    """The rules' text: UTF-8 (RFC 9309), after a byte-order mark, or UTF-16 where its mark says so
    (Windows Notepad's 'Unicode'). Protego read a UTF-8 mark as part of the first line, so the
    group it opened (`User-agent: *`) was no group and its rules were lost: everything allowed."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, "replace")
    return body.decode("utf-8", "replace")
