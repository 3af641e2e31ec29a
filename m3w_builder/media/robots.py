"""robots.txt (cached per origin) and `X-Robots-Tag` opt-outs for the fetcher."""

from __future__ import annotations

import threading
import urllib.robotparser
from collections.abc import Callable

# (status, body) of GET /robots.txt; status 0 when the request failed.
RobotsGetter = Callable[[str], tuple[int, bytes]]


class RobotsCache:
    """One parsed robots.txt per origin (`scheme://host:port`), fetched once, thread-safe.

    RFC 9309: 4xx → everything allowed; 5xx or unreachable → everything disallowed.
    """

    def __init__(self, agent: str, getter: RobotsGetter) -> None:
        self.agent = agent
        self._getter = getter
        self._parsers: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(self, origin: str, url: str) -> bool:
        """May `self.agent` fetch `url` (which lives on `origin`)?"""
        return self._parser(origin).can_fetch(self.agent, url)

    def _parser(self, origin: str) -> urllib.robotparser.RobotFileParser:
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._parsers:
                self._parsers[origin] = self._load(origin)
            return self._parsers[origin]

    def _load(self, origin: str) -> urllib.robotparser.RobotFileParser:
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        status, body = self._getter(origin + "/robots.txt")
        if status == 0 or status >= 500:
            parser.disallow_all = True
        elif 400 <= status < 500:
            parser.allow_all = True
        else:
            parser.parse(body.decode("utf-8", "replace").splitlines())
        return parser

