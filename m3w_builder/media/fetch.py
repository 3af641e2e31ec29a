"""A safe HTTP fetcher for media URLs, and a resolver for a mirror folder.

`Fetcher.fetch(url)` never raises for network trouble: it returns a `FetchResult` whose `status`
is `success` or a reason (img2dataset's status / error_message spirit). Safety: http/https only;
every hop's host is resolved and refused when any address is non-public (private, loopback,
link-local, CGNAT, multicast, reserved, metadata) unless allow-listed, and the connection is pinned
to the checked address (no DNS rebinding); redirects are followed here, re-checked each hop;
caps on bytes (streamed), total time (a watchdog bounds the whole exchange: connect, status line,
headers, body, retries, redirects) and redirects; a body shorter than its Content-Length is
`truncated`; a response that is not HTTP/1.x (HTTP/0.9 bytes, a header line over 64 KiB, over 100
headers, Content-Length values that disagree) is `bad_response`, not retried; robots.txt per origin (RFC 9309, Protego, size-capped), every `X-Robots-Tag` header
(`noai`, `noimageai`, agent-specific ones) and `tdm-reservation: 1` honoured; per-host concurrency
and keep-alive pools (keyed by the checked address); retries with capped exponential backoff
honouring `Retry-After`. Body types are sniffed from magic bytes, never taken from Content-Type.
We ask for `identity`; a body a server encodes anyway (gzip, deflate, zstd, stacked) is decoded
under the byte cap, robots.txt too (`read.encoding`; `br` and the rest are `unsupported_encoding`).
With `proxy`, host names are resolved by the proxy (the operator's egress point); hosts that are
addresses to a resolver (`127.1`, `0x7f000001`, `2130706433`, `localhost`, `[::1]`, ...) are checked
here in every mode. Every URL (and redirect) is first put in the form browsers send: host
IDNA-encoded (so `１２７.０.０.１` is checked as `127.0.0.1`), path and query percent-encoded in UTF-8.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import os
import posixpath
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from urllib.parse import unquote, urljoin, urlsplit

from w3lib.url import safe_url_string

from m3w_builder.drops import Rejected
from m3w_builder.media.files import LOCAL, Files
from m3w_builder.media.net import (
    AddressPolicy,
    AddressRefused,
    ConnectionPool,
    IPAddress,
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
    host_address,
)
from m3w_builder.media.robots import RobotsCache
from m3w_builder.media.sniff import sniff
from m3w_builder.options import option
from m3w_builder.quality.optout import TDM_RESERVED, image_drop_reason
from m3w_builder.read.encoding import decode_content

MiB = 1024 * 1024
AGENT_TOKEN = "m3w-builder"
_REDIRECTS = {301, 302, 303, 307, 308}
_RETRY_STATUSES = {429, 500, 502, 503, 504}
_CHUNK = 64 * 1024
_EXCERPT = 100  # characters of a malformed response quoted in its error message
# What a sniffed MIME type (`sniff`) can start with: a lower-case top-level type, then its subtype.
_TYPE_PREFIX = re.compile(r"(image|video|application|text)(/[a-z0-9.+-]*)?")
_NOT_REACHED = {"unsupported_scheme", "invalid_url", "forbidden_address", "dns_error"}


@dataclass
class FetchOptions:
    """Caps, politeness and safety settings of the HTTP fetcher."""

    user_agent: str = option(f"{AGENT_TOKEN}/0.1", "User-Agent product token/version")
    contact_url: str | None = option(None, "contact URL added to the user agent", flag="user_agent_contact")
    max_bytes: int = option(32 * MiB, "largest media body fetched (bytes)", flag="max_media_bytes")
    total_timeout_s: float = option(30.0, "seconds for a whole fetch: connect, status line, headers, body, "
                                    "redirects and retries", flag="http_timeout", low=0.001)
    socket_timeout_s: float = option(10.0, "seconds a single socket operation may wait", flag="http_socket_timeout", low=0.001)
    max_redirects: int = option(5, "redirects followed per fetch", flag="http_max_redirects")
    max_retries: int = option(2, "retries on 429/5xx/timeouts/connection errors", flag="http_retries")
    backoff_s: float = option(0.5, "first retry delay in seconds (doubles each retry)", flag="http_backoff")
    max_backoff_s: float = option(10.0, "longest retry delay, Retry-After included", flag="http_max_backoff")
    per_host_concurrency: int = option(4, "concurrent requests per host per worker process", flag="http_per_host", low=1)
    max_idle_connections: int = option(256, "keep-alive connections kept open per worker process (the oldest "
                                       "idle one is closed first)", flag="http_max_idle")
    respect_robots: bool = option(True, "ignore robots.txt and X-Robots-Tag opt-outs", flag="no_robots")
    max_robots_bytes: int = option(512 * 1024, "robots.txt bytes parsed (RFC 9309: at least 500 KiB); "
                                   "the rest is ignored")
    # a parsed 1.5 KB robots.txt holds ~18 KB: 2,000 origins ~36 MB per worker process
    robots_cache_size: int = option(2000, "origins whose robots.txt answer is kept per worker process (the "
                                    "least recently used is dropped, and fetched again when needed)")
    x_robots_directives: tuple[str, ...] = option(("noai", "noimageai", "tdm_reserved"),
                                                  "opt-out directives honoured on media responses")
    allow: tuple[str, ...] = option((), "IPs, CIDRs or host names allowed although not public (tests, private "
                                    "mirrors)", flag="http_allow")
    proxy: str | None = option(None, "send every request through this HTTP proxy (host:port)", flag="http_proxy")
    allowed_types: tuple[str, ...] | None = option(None, "sniffed MIME prefixes accepted (default: any)",
                                                   flag="http_allowed_types")
    max_requests_per_document: int = option(
        90, "documents with more media nodes are dropped before any is fetched (0: no cap)")

    def __post_init__(self) -> None:
        AddressPolicy.from_allow_list(self.allow)  # raises on an entry that could never match
        for flag, value in (("--user_agent", self.user_agent), ("--user_agent_contact", self.contact_url)):
            check_header_value(flag, value or "")
        for prefix in self.allowed_types or ():
            if not _TYPE_PREFIX.fullmatch(prefix):  # `Image/`, `images/`, `jpeg`: every fetch unsupported_content
                raise ValueError(f"--http_allowed_types {prefix}: no sniffed type starts so (they are lower case: "
                                 "image/..., video/..., application/pdf, text/html)")
        if self.proxy:
            check_proxy(self.proxy)


def check_header_value(flag: str, value: str) -> None:
    """A `ValueError` unless `value` is printable ASCII, as a header line sent with every request
    needs: http.client refused a line end or a character past Latin-1 in each request, so every
    fetch of the job failed (counted as `robots_unreachable`, the server's fault), and a NUL or
    another control character went on the wire."""
    if not (value.isascii() and value.isprintable()):
        raise ValueError(f"{flag} {value!r}: not an HTTP header value (printable ASCII only)")


def check_proxy(proxy: str) -> None:
    """A `ValueError` unless `proxy` is `host:port` or `http(s)://host[:port]`: anything else
    (a path, credentials, a bad port) would fail every fetch of the job as a connection error."""
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    try:
        parts.port  # noqa: B018 - raises on a port that is no number in range
    except ValueError as error:
        raise ValueError(f"--http_proxy {proxy}: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query:
        raise ValueError(f"--http_proxy {proxy}: not host:port or http://host:port")
    if parts.username or parts.password:
        raise ValueError(f"--http_proxy {proxy}: proxy credentials are not supported")


@dataclass
class FetchResult:
    """Outcome of one fetch; `body` is set only on success."""

    url: str
    final_url: str
    status: str
    error_message: str | None = None
    http_status: int | None = None
    body: bytes | None = None
    content_type_sniffed: str | None = None


Connect = Callable[[float], http.client.HTTPConnection]  # timeout → a new connection


class _Stale(Exception):
    """A pooled connection the server had already closed (tried again on a fresh one)."""


class _Failure(Exception):
    """One attempt or hop failed with a FetchResult status code."""

    def __init__(self, status: str, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.http_status = http_status


@dataclass
class _Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class Fetcher:
    """Thread-safe fetcher. `shared_fetcher` gives every DoFn of a worker process the same one, so
    robots.txt answers, per-host limits and keep-alive connections are per process, each bounded."""

    def __init__(self, opts: FetchOptions | None = None) -> None:
        self.opts = opts or FetchOptions()
        self.policy = AddressPolicy.from_allow_list(self.opts.allow)
        ua = self.opts.user_agent
        self.user_agent = f"{ua} (+{self.opts.contact_url})" if self.opts.contact_url else ua
        self.robots = RobotsCache(AGENT_TOKEN, self._get_robots, self.opts.max_robots_bytes,
                                  self.opts.robots_cache_size)
        self._tls = ssl.create_default_context()
        self._slots: dict[str, _HostSlot] = {}  # hosts with a request in flight or waiting
        self.pool = ConnectionPool(self.opts.per_host_concurrency, self.opts.max_idle_connections)
        self._guard = threading.Lock()

    def fetch(self, url: str) -> FetchResult:
        """GET `url` within the caps; see the module docstring."""
        deadline = time.monotonic() + self.opts.total_timeout_s
        current = url
        try:
            current = _wire_url(url)
            for _ in range(self.opts.max_redirects + 1):
                refusal = self.robots.refusal(_origin(current), current) if self.opts.respect_robots else None
                if refusal:
                    raise _Failure(*refusal)
                resp = self._get(current, deadline)
                location = resp.headers.get("Location")
                if resp.status in _REDIRECTS and location:
                    current = _redirect(current, location)
                    continue
                return self._finish(url, current, resp)
            raise _Failure("too_many_redirects", f"more than {self.opts.max_redirects} redirects")
        except _Failure as f:
            return FetchResult(url, current, f.status, str(f), f.http_status)

    def _finish(self, url: str, final_url: str, resp: _Response) -> FetchResult:
        """Status, opt-out and content checks on the final response."""
        if not 200 <= resp.status < 300:
            raise _Failure("http_error", f"HTTP {resp.status}", resp.status)
        tag = image_drop_reason(resp.headers.items(), AGENT_TOKEN, self.opts.x_robots_directives)
        if tag == TDM_RESERVED:
            raise _Failure(TDM_RESERVED, "tdm-reservation: 1", resp.status)
        if tag:
            raise _Failure("x_robots_tag", f"X-Robots-Tag: {tag}", resp.status)
        try:  # we ask for `identity`; a server may encode anyway
            body = decode_content(resp.body, _encoding(resp.headers), self.opts.max_bytes)
        except Rejected as rejected:
            raise _Failure(rejected.reason, rejected.detail, resp.status) from None
        sniffed = sniff(body)
        allowed = self.opts.allowed_types
        if allowed is not None and not (sniffed and sniffed.startswith(allowed)):
            raise _Failure("unsupported_content", f"content is {sniffed or 'unrecognised'}", resp.status)
        return FetchResult(url, final_url, "success", None, resp.status, body, sniffed)

    def _get_robots(self, robots_url: str) -> tuple[int, bytes]:
        """(status, body) of a robots.txt, following redirects; (0, b'') when it cannot be fetched
        (a 5xx keeps its status, so the refusal can say which answer it had)."""
        deadline = time.monotonic() + min(self.opts.total_timeout_s, 10.0)
        current = robots_url
        try:
            for _ in range(self.opts.max_redirects + 1):
                resp = self._get(current, deadline, self.opts.max_robots_bytes)
                location = resp.headers.get("Location")
                if resp.status not in _REDIRECTS or not location:
                    try:
                        return resp.status, decode_content(resp.body, _encoding(resp.headers),
                                                           self.opts.max_robots_bytes, cut=True)
                    except Rejected:
                        return 0, b""  # a robots.txt we cannot read: as if unreachable (nothing fetched)
                try:
                    current = _redirect(current, location)
                except _Failure:
                    return 0, b""  # a redirect no parser reads: as if unreachable (the page's own URL is fine)
        except _Failure as f:
            if f.status in _NOT_REACHED:
                raise  # the page itself cannot be fetched either: report why
            if f.http_status and f.http_status >= 500:
                return f.http_status, b""  # 5xx after the retries
        return 0, b""

    def _get(self, url: str, deadline: float, keep_bytes: int | None = None) -> _Response:
        """One hop with retries on 429/5xx/timeouts/connection errors (backoff, Retry-After capped)."""
        for attempt in range(self.opts.max_retries + 1):
            retry_after = None
            try:
                resp = self._attempt(url, deadline, keep_bytes)
                if resp.status not in _RETRY_STATUSES:
                    return resp
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                failure = _Failure("http_error", f"HTTP {resp.status}", resp.status)
            except _Failure as f:
                if f.status not in ("timeout", "connection_error"):
                    raise
                failure = f
            wait = min(self.opts.max_backoff_s, retry_after if retry_after is not None else self.opts.backoff_s * 2**attempt)
            if attempt == self.opts.max_retries or time.monotonic() + wait >= deadline:
                raise failure
            time.sleep(wait)
        raise AssertionError("unreachable")

    def _attempt(self, url: str, deadline: float, keep_bytes: int | None = None) -> _Response:
        """One GET: checks, pinned connection, streamed body under the byte and time caps (with
        `keep_bytes`, a longer body is cut there instead of refused: robots.txt)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _Failure("unsupported_scheme", f"scheme {parts.scheme!r}")
        host = parts.hostname
        try:
            port = parts.port
        except ValueError:
            raise _Failure("invalid_url", f"bad port in {url}") from None
        if port == 0:  # not a port a server listens on (`or` would have made it the default)
            raise _Failure("invalid_url", f"port 0 in {url}")
        port = port or (443 if parts.scheme == "https" else 80)
        if not host:
            raise _Failure("invalid_url", f"no host in {url}")
        key, connect = self._connection(parts.scheme, host, port)
        target = url.split("#")[0] if self.opts.proxy and parts.scheme == "http" else _path(parts)
        with self._host_slot(host):
            conn = self.pool.take(key)
            if conn is not None:
                try:
                    return self._exchange(conn, key, url, target, parts.netloc, deadline, keep_bytes)
                except _Stale:
                    pass  # the server closed the idle connection: one fresh try, not a retry
            conn = connect(_remaining(deadline, self.opts.socket_timeout_s))
            try:
                return self._exchange(conn, key, url, target, parts.netloc, deadline, keep_bytes)
            except _Stale as stale:
                raise _Failure("connection_error", str(stale)) from None

    def _exchange(self, conn: http.client.HTTPConnection, key: tuple, url: str, target: str, netloc: str,
                  deadline: float, keep_bytes: int | None) -> _Response:
        """Request and response on `conn`; it goes back to the pool only when the body was read whole
        and the server keeps the connection open. `_Stale` when a reused connection was dead."""
        reused = conn.sock is not None
        # socket timeouts bound each read, not their sum: a server dripping a byte a second
        # never trips them, so a watchdog cuts the connection at the deadline (its socket is also
        # kept here: a `Connection: close` response takes it from `conn`, leaving `conn.sock` None)
        sockets: list[socket.socket] = []
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _abort, (conn, sockets))
        watchdog.daemon = True
        watchdog.start()
        keep = False
        try:
            if conn.sock is not None:
                conn.sock.settimeout(_remaining(deadline, self.opts.socket_timeout_s))
            try:
                conn.request("GET", target, headers=self._headers(netloc))
                sockets.append(conn.sock)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                if reused and time.monotonic() < deadline:
                    raise _Stale(f"{type(e).__name__}: {e}") from None
                raise
            except http.client.HTTPException as e:  # not a status line, a line over 64 KiB, >100 headers
                if time.monotonic() >= deadline:
                    raise
                if reused:  # bytes an earlier response sent past its length: one fresh try
                    raise _Stale(f"{type(e).__name__}: {str(e)[:_EXCERPT]}") from None
                raise _Failure("bad_response", f"not HTTP/1.x: {type(e).__name__}: {str(e)[:_EXCERPT]}") from None
            lengths = {v.strip() for v in resp.headers.get_all("Content-Length", [])}
            if len(lengths) > 1 and "Transfer-Encoding" not in resp.headers:  # RFC 9112 6.3: no framing
                raise _Failure("bad_response", f"Content-Length values {sorted(lengths)[:4]} disagree", resp.status)
            body = b"" if resp.status in _REDIRECTS else self._read(resp, conn, deadline, keep_bytes)
            keep = resp.status not in _REDIRECTS and not resp.will_close and (resp.isclosed() or resp.length == 0)
            resp.close()  # (the socket stays with `conn`)
            return _Response(resp.status, resp.headers, body)
        except (_Failure, _Stale):
            raise
        except TimeoutError:
            raise _Failure("timeout", f"timed out fetching {url}") from None
        except http.client.IncompleteRead as e:
            raise _Failure("truncated", f"body ended early: {e}") from None
        except (OSError, http.client.HTTPException, ValueError, AttributeError) as e:
            if time.monotonic() >= deadline:  # the watchdog closed the socket under the read
                raise _Failure("timeout", f"total time cap of {self.opts.total_timeout_s}s reached") from None
            if isinstance(e, ssl.SSLError):
                raise _Failure("tls_error", str(e)) from None
            raise _Failure("connection_error", f"{type(e).__name__}: {e}") from None
        finally:
            watchdog.cancel()
            if keep and time.monotonic() < deadline:
                self.pool.put(key, conn)
            else:
                conn.close()

    def _connection(self, scheme: str, host: str, port: int) -> tuple[tuple, Connect]:
        """(pool key, connect(timeout)) for `host`: to its checked address (the key holds it, so a
        pooled connection only ever serves the address it was checked for), or to the proxy."""
        ip = self._check_address(host)
        if self.opts.proxy:
            proxy = urlsplit(self.opts.proxy if "://" in self.opts.proxy else "http://" + self.opts.proxy)
            if scheme == "http":
                return (scheme, host, port, "proxy"), lambda timeout: http.client.HTTPConnection(
                    proxy.hostname, proxy.port or 80, timeout=timeout)

            def tunnel(timeout: float) -> http.client.HTTPConnection:
                conn = http.client.HTTPSConnection(proxy.hostname, proxy.port or 80, timeout=timeout, context=self._tls)
                conn.set_tunnel(host, port)
                return conn
            return (scheme, host, port, "proxy"), tunnel
        if ip is not None:
            address = str(ip)
        else:
            try:
                address = self.policy.resolve(host, port)[0]
            except AddressRefused as e:
                raise _Failure("forbidden_address", str(e)) from None
            except LookupError as e:
                raise _Failure("dns_error", str(e)) from None
        if scheme == "https":
            return (scheme, host, port, address), lambda timeout: PinnedHTTPSConnection(
                host, port, address, timeout, self._tls)
        return (scheme, host, port, address), lambda timeout: PinnedHTTPConnection(host, port, address, timeout)

    def _check_address(self, host: str) -> IPAddress | None:
        """The address `host` stands for without DNS (refused unless allowed), None for a name."""
        ip = host_address(host)
        if ip is None or host.lower().rstrip(".") in self.policy.allow_hosts or self.policy.is_allowed(ip):
            return ip
        raise _Failure("forbidden_address", f"{host} is the non-public address {ip}")

    def _headers(self, netloc: str) -> dict[str, str]:
        return {
            "Host": netloc.rsplit("@", 1)[-1], "User-Agent": self.user_agent, "Accept": "*/*",
            "Accept-Encoding": "identity",
        }

    def _read(self, resp: http.client.HTTPResponse, conn: http.client.HTTPConnection, deadline: float,
              keep_bytes: int | None = None) -> bytes:
        """The body, stopping at `max_bytes` (too_large; with `keep_bytes`, cut there instead), the
        deadline (timeout), or short of its Content-Length (truncated)."""
        limit = keep_bytes if keep_bytes is not None else self.opts.max_bytes
        length = resp.getheader("Content-Length")
        if keep_bytes is None and length and length.strip().isdigit() and int(length) > limit:
            raise _Failure("too_large", f"Content-Length {length} > {limit}", resp.status)
        chunks, size = [], 0
        while True:
            if conn.sock is not None:
                conn.sock.settimeout(_remaining(deadline, self.opts.socket_timeout_s))
            chunk = resp.read1(_CHUNK)
            if not chunk:
                if time.monotonic() >= deadline:  # the watchdog shut the socket under the read
                    raise _Failure("timeout", f"total time cap of {self.opts.total_timeout_s}s reached")
                if resp.length:  # http.client returns b"" when the peer closes early: count it
                    raise _Failure("truncated", f"body ended after {size} bytes, {resp.length} short of "
                                   f"its Content-Length", resp.status)
                return b"".join(chunks)
            size += len(chunk)
            chunks.append(chunk)
            if size > limit:
                if keep_bytes is not None:
                    return b"".join(chunks)[:limit]
                raise _Failure("too_large", f"body over {limit} bytes", resp.status)

    @contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        """Hold one of `host`'s `per_host_concurrency` slots; a host's entry lives only while a
        request to it runs or waits, so the table is as large as the work in flight."""
        with self._guard:
            slot = self._slots.get(host)
            if slot is None:
                slot = self._slots[host] = _HostSlot(threading.BoundedSemaphore(self.opts.per_host_concurrency))
            slot.users += 1
        try:
            with slot.semaphore:
                yield
        finally:
            with self._guard:
                slot.users -= 1
                if not slot.users:
                    del self._slots[host]


@dataclass
class _HostSlot:
    semaphore: threading.BoundedSemaphore
    users: int = 0


_SHARED: dict[str, Fetcher] = {}
_SHARED_GUARD = threading.Lock()


def shared_fetcher(opts: FetchOptions) -> Fetcher:
    """This process's fetcher for `opts`: every DoFn instance (Beam makes several per worker
    process, one per bundle thread) shares its robots cache, per-host limits and connections, so
    politeness and memory are per process, not per instance."""
    key = json.dumps(asdict(opts), sort_keys=True)
    with _SHARED_GUARD:
        fetcher = _SHARED.get(key)
        if fetcher is None:
            fetcher = _SHARED[key] = Fetcher(opts)
        return fetcher


def _forget_shared() -> None:
    """A forked child starts with no fetcher: the parent's locks and sockets are not its own."""
    global _SHARED_GUARD
    _SHARED.clear()
    _SHARED_GUARD = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_shared)


def _remaining(deadline: float, cap: float) -> float:
    """Seconds left before `deadline` (at most `cap`); `timeout` when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Failure("timeout", "total time cap reached")
    return min(left, cap)


def _abort(conn: http.client.HTTPConnection, sockets: list[socket.socket]) -> None:
    """Shut the connection's socket down from the watchdog thread (reads then fail at once)."""
    for sock in {id(s): s for s in (conn.sock, *sockets) if s is not None}.values():
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, even under TLS
        except OSError:
            pass


def _wire_url(url: str) -> str:
    """`url` as it goes on the wire, as browsers send it: the host IDNA-encoded (`bücher.de`, and
    `127。0。0。1` or `ⓛⓞⓒⓐⓛⓗⓞⓢⓣ`, which are `127.0.0.1` and `localhost` to a resolver, so the
    address checks see what will be reached), path and query percent-encoded in UTF-8
    (http.client refuses non-ASCII, and a list's URLs are not normalised like a page's)."""
    try:
        return safe_url_string(url)
    except (ValueError, UnicodeError) as e:
        raise _Failure("invalid_url", f"{type(e).__name__}: {e}") from None


def _redirect(current: str, location: str) -> str:
    """The wire URL a redirect's `Location` names from `current`; `invalid_url` for one no URL
    parser reads (`http://[x/`: urljoin raised ValueError, out of `fetch`, which never raises)."""
    try:
        target = urljoin(current, _location(location))
    except ValueError as e:
        raise _Failure("invalid_url", f"redirect to {location[:_EXCERPT]!r}: {e}") from None
    return _wire_url(target)


def _location(value: str) -> str:
    """A `Location` header: servers send UTF-8 bytes there, which http.client decoded as latin-1."""
    try:
        return value.strip().encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value.strip()


def _encoding(headers: http.client.HTTPMessage) -> str:
    """Every `Content-Encoding` of a response, in the order applied (a header may repeat)."""
    return ", ".join(headers.get_all("Content-Encoding") or [])


def _path(parts) -> str:
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds (delta or HTTP date), None when absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class MirrorResolver:
    """Maps a URL to a file in a mirror laid out as `mirror_dir/host/path`, on whatever filesystem
    `files` reaches (a local folder by default, gs://... through `pipelines.fs.BeamFiles`)."""

    def __init__(self, mirror_dir: str, files: Files = LOCAL) -> None:
        self.root = mirror_dir
        self.files = files

    def path_for(self, url: str) -> str | None:
        """The mirror path for `url` (`index.html` for a directory URL), or None when the URL names
        nothing inside the mirror: not http(s), no host, a host or segment that would climb out of
        its folder (`..`, `%2e%2e`, an empty or `.` segment), NUL, CR or LF."""
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host or host in (".", ".."):
            return None
        rel = posixpath.normpath("/" + unquote(parts.path or "/")).lstrip("/")
        if not rel or parts.path.endswith("/"):
            rel = posixpath.join(rel, "index.html")
        if parts.query:
            rel += "?" + parts.query
        if any(segment in ("", ".", "..") for segment in rel.split("/")):
            return None
        if any(c in host + rel for c in "\0\r\n"):
            return None
        return self.files.join(self.root, host, rel)

    def read(self, url: str) -> bytes | None:
        """The mirrored bytes for `url`, or None (absent, outside the mirror once links are
        followed, or unreadable: the next resolver is asked)."""
        path = self.path_for(url)
        return None if path is None else self.files.read(path, within=self.root)
