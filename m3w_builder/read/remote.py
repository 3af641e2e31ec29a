"""Stream a WARC over http(s) as one sequential file, resuming after a dropped connection.

Common Crawl serves its archives at `https://data.commoncrawl.org/` (CloudFront over S3), where a
multi-hundred-megabyte download meets dropped connections and `503 Slow Down` answers. A
`RemoteFile` reads the body in order; when the connection breaks, the body ends before its
declared length, or the server answers 5xx/429, it reopens with `Range: bytes=N-` at the first
byte not yet delivered, with bounded retries and exponential backoff (at least a second by
default, which Common Crawl asks of its users). A resumed answer must be `206` starting exactly at
N and carry the same validator (ETag or Last-Modified, sent back as `If-Range`); a server that
ignores Range or whose file changed raises `RemoteError` instead of silently repeating or
skipping bytes. Errors that retrying cannot fix raise at once: a 4xx answer, and a server that
does not speak HTTP or TLS (a status line or headers that are not HTTP/1.x: `RemoteError.reason`
`remote_bad_response`; a TLS handshake it fails: `remote_tls_error`). A peer that closes or resets
the connection is transient and retried.
"""

from __future__ import annotations

import http.client
import io
import re
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from m3w_builder.options import option
from m3w_builder.read.encoding import content_codings

USER_AGENT = "m3w-builder/0.1 (WARC reader)"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
# Content codings whose bytes the archive reader tells by their magic and decodes itself (a server
# that compresses a WARC on the fly although we ask for identity, or S3 metadata saying gzip)
_READABLE_CODINGS = frozenset(("gzip", "x-gzip", "zstd"))
# What a broken connection raises on open or mid-body (ssl.SSLError and TimeoutError are OSErrors).
_TRANSIENT = (OSError, http.client.HTTPException)
# What a peer that closed or cut the connection raises; any other HTTPException is a malformed answer.
_CUT = (http.client.RemoteDisconnected, http.client.IncompleteRead)
# TLS errors of a connection closed early; any other SSLError is a handshake the server cannot do.
_TLS_CUT = (ssl.SSLEOFError, ssl.SSLZeroReturnError)


def is_http(path: str) -> bool:
    return path.lower().startswith(("http://", "https://"))


@dataclass
class RemoteOptions:
    """Retry policy of a remote read."""

    retries: int = option(8, help="attempts after a failure with no byte delivered in between, per file")
    backoff_s: float = option(1.0, help="first wait before a retry; doubles each time")
    max_backoff_s: float = option(60.0, help="longest wait before a retry")
    timeout_s: float = option(60.0, help="socket timeout of each connect and read")


class RemoteError(OSError):
    """A remote file that cannot be read in full: a 4xx answer, retries exhausted, or a server
    that cannot resume (Range ignored, file changed); `reason` is the count it makes."""

    def __init__(self, message: str, reason: str = "remote_error") -> None:
        super().__init__(message)
        self.reason = reason


class RemoteFile(io.RawIOBase):
    """A read-only, sequential file over http(s) that resumes with `Range` after failures.

    `attempts` counts the requests made and `resumes` how many of them were reopened mid-file.
    """

    def __init__(self, url: str, options: RemoteOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.url = url
        self.options = options or RemoteOptions()
        self.sleep = sleep
        self.position = 0
        self.length: int | None = None  # total size, once a response declared it
        self.validator: tuple[str, str] | None = None  # (header, value) sent back as If-Range
        self.attempts = 0
        self.resumes = 0
        self._response: http.client.HTTPResponse | None = None
        self._failures = 0  # consecutive failures with no byte delivered in between

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.closed:
            raise ValueError("I/O operation on a closed RemoteFile")
        view = memoryview(buffer).cast("B")
        if not len(view) or (self.length is not None and self.position >= self.length):
            return 0
        while True:
            try:
                if self._response is None and not self._open():
                    continue
                n = self._response.readinto(view)
            except RemoteError:
                raise
            except _TRANSIENT as err:
                reason = _lasting(err)
                if reason:
                    self._drop()
                    raise RemoteError(f"{self.url}: no HTTP answer at byte {self.position}: "
                                      f"{type(err).__name__}: {str(err)[:100]}", reason) from None
                self._fail(f"{type(err).__name__}: {err}")
                continue
            if n:
                self.position += n
                self._failures = 0
                return n
            if self.length is None or self.position >= self.length:
                return 0  # the declared end (or, without a declared length, the server's end)
            self._fail(f"connection closed at byte {self.position} of {self.length}")

    def close(self) -> None:
        self._drop()
        super().close()

    def _drop(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def _fail(self, why: str, wait: float | None = None) -> None:
        """Record a failure; back off before the next attempt or give up when retries are spent."""
        self._drop()
        self._failures += 1
        if self._failures > self.options.retries:
            raise RemoteError(f"{self.url}: gave up after {self._failures} failed attempts at byte "
                              f"{self.position}: {why}")
        backoff = min(self.options.max_backoff_s, self.options.backoff_s * 2 ** (self._failures - 1))
        self.sleep(min(self.options.max_backoff_s, max(backoff, wait or 0.0)))

    def _open(self) -> bool:
        """Request the rest of the file; False after a retryable failure (already backed off)."""
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if self.position:
            headers["Range"] = f"bytes={self.position}-"
            if self.validator:
                headers["If-Range"] = self.validator[1]
            self.resumes += 1
        self.attempts += 1
        request = urllib.request.Request(self.url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=self.options.timeout_s)
        except urllib.error.HTTPError as err:
            err.close()
            if err.code >= 500 or err.code == 429:
                self._fail(f"HTTP {err.code}", _retry_after(err.headers.get("Retry-After")))
                return False
            raise RemoteError(f"{self.url}: HTTP {err.code} at byte {self.position}") from None
        self._check(response)
        self._response = response
        return True

    def _check(self, response: http.client.HTTPResponse) -> None:
        """Accept a response only if it continues the body exactly where the last one stopped, in
        a coding the reader can undo (`br`, `deflate`: `unsupported_encoding`, not garbage)."""
        unreadable = [c for c in content_codings(response.headers.get("Content-Encoding"))
                      if c not in _READABLE_CODINGS]
        if unreadable:
            response.close()
            raise RemoteError(f"{self.url}: Content-Encoding {', '.join(unreadable)} cannot be decoded here",
                              "unsupported_encoding")
        validator = _validator(response)
        if self.position == 0:
            if response.status != 200:
                response.close()
                raise RemoteError(f"{self.url}: unexpected HTTP {response.status}")
            declared = response.headers.get("Content-Length")
            self.length = int(declared) if declared and declared.isdigit() else None
            self.validator = validator
            return
        match = _CONTENT_RANGE.fullmatch((response.headers.get("Content-Range") or "").strip())
        if response.status != 206 or match is None:
            response.close()
            changed = self.validator is not None and validator != self.validator
            why = "the file changed since the first request" if changed else "the server ignores Range requests"
            raise RemoteError(f"{self.url}: cannot resume at byte {self.position}: {why} (HTTP {response.status})")
        start, total = int(match.group(1)), match.group(3)
        if start != self.position or (total != "*" and self.length is not None and int(total) != self.length):
            response.close()
            raise RemoteError(f"{self.url}: resumed at byte {start} of {total}, asked for {self.position} "
                              f"of {self.length}")
        if self.length is None and total != "*":
            self.length = int(total)


def _lasting(err: BaseException) -> str | None:
    """The reason when `err` says the server does not speak HTTP or TLS, which no retry changes."""
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        err = err.reason  # urlopen wraps what the connect and TLS handshake raise
    if isinstance(err, http.client.HTTPException) and not isinstance(err, _CUT):
        return "remote_bad_response"
    if isinstance(err, ssl.SSLError) and not isinstance(err, _TLS_CUT):
        return "remote_tls_error"
    return None


def _validator(response: http.client.HTTPResponse) -> tuple[str, str] | None:
    for name in ("ETag", "Last-Modified"):
        value = response.headers.get(name)
        if value and not value.startswith("W/"):  # If-Range needs a strong validator
            return name, value
    return None


def _retry_after(value: str | None) -> float | None:
    return float(value) if value and value.strip().isdigit() else None


def open_remote(url: str, options: RemoteOptions | None = None, buffer_size: int = 1 << 20) -> io.BufferedReader:
    """A buffered, resuming reader of `url` (what warcio and gzip read from)."""
    return io.BufferedReader(RemoteFile(url, options), buffer_size=buffer_size)
