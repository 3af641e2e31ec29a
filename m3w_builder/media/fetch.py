"""A safe HTTP fetcher for media URLs, and a resolver for a local mirror folder.

`Fetcher.fetch(url)` never raises for network trouble: it returns a `FetchResult` whose `status`
is `success` or a reason (img2dataset's status / error_message spirit). Safety: http/https only;
every hop's host is resolved and refused when any address is non-public (private, loopback,
link-local, CGNAT, multicast, reserved, metadata) unless allow-listed, and the connection is pinned
to the checked address (no DNS rebinding); redirects are followed here, re-checked each hop;
caps on bytes (streamed), total time and redirects; robots.txt per origin and `X-Robots-Tag`
(`noai`, `noimageai`) honoured; per-host concurrency; retries with capped exponential backoff
honouring `Retry-After`. Body types are sniffed from magic bytes, never taken from Content-Type.
With `proxy`, host names are resolved by the proxy (the operator's egress point); IP literals are
still checked here.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import posixpath
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from m3w_builder.media.net import AddressPolicy, AddressRefused, PinnedHTTPConnection, PinnedHTTPSConnection
from m3w_builder.media.robots import RobotsCache
from m3w_builder.media.sniff import sniff
from m3w_builder.options import option
from m3w_builder.quality.optout import image_drop_reason

MiB = 1024 * 1024
AGENT_TOKEN = "m3w-builder"
_REDIRECTS = {301, 302, 303, 307, 308}
_RETRY_STATUSES = {429, 500, 502, 503, 504}
_CHUNK = 64 * 1024
_NOT_REACHED = {"unsupported_scheme", "invalid_url", "forbidden_address", "dns_error"}


@dataclass
class FetchOptions:
    """Caps, politeness and safety settings (`allow`: IPs, CIDRs or host names to permit)."""

    user_agent: str = f"{AGENT_TOKEN}/0.1"
    contact_url: str | None = option(None, "contact URL added to the user agent", flag="user_agent_contact")
    max_bytes: int = option(32 * MiB, "bytes per media download", flag="max_media_bytes")
    total_timeout_s: float = option(30.0, "seconds per media download", flag="http_timeout")
    socket_timeout_s: float = 10.0
    max_redirects: int = 5
    max_retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    per_host_concurrency: int = 4
    respect_robots: bool = option(True, "ignore robots.txt and X-Robots-Tag noai", flag="no_robots")
    x_robots_directives: tuple[str, ...] = ("noai", "noimageai")
    allow: tuple[str, ...] = option((), "hosts/IPs/CIDRs allowed although private or loopback (tests, private mirrors)",
                                    flag="http_allow")
    proxy: str | None = option(None, "send every HTTP request through this proxy (host:port)", flag="http_proxy")
    allowed_types: tuple[str, ...] | None = None


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
    """Thread-safe fetcher; one instance per worker keeps the robots cache and host semaphores."""

    def __init__(self, opts: FetchOptions | None = None) -> None:
        self.opts = opts or FetchOptions()
        self.policy = AddressPolicy.from_allow_list(self.opts.allow)
        ua = self.opts.user_agent
        self.user_agent = f"{ua} (+{self.opts.contact_url})" if self.opts.contact_url else ua
        self.robots = RobotsCache(AGENT_TOKEN, self._get_robots)
        self._tls = ssl.create_default_context()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._guard = threading.Lock()

    def fetch(self, url: str) -> FetchResult:
        """GET `url` within the caps; see the module docstring."""
        deadline = time.monotonic() + self.opts.total_timeout_s
        current = url
        try:
            for _ in range(self.opts.max_redirects + 1):
                if self.opts.respect_robots and not self.robots.allowed(_origin(current), current):
                    raise _Failure("robots_disallowed", f"robots.txt disallows {current}")
                resp = self._get(current, deadline)
                location = resp.headers.get("Location")
                if resp.status in _REDIRECTS and location:
                    current = urljoin(current, location.strip())
                    continue
                return self._finish(url, current, resp)
            raise _Failure("too_many_redirects", f"more than {self.opts.max_redirects} redirects")
        except _Failure as f:
            return FetchResult(url, current, f.status, str(f), f.http_status)

    def _finish(self, url: str, final_url: str, resp: _Response) -> FetchResult:
        """Status, opt-out and content checks on the final response."""
        if not 200 <= resp.status < 300:
            raise _Failure("http_error", f"HTTP {resp.status}", resp.status)
        headers = [("X-Robots-Tag", value) for value in resp.headers.get_all("X-Robots-Tag") or []]
        tag = image_drop_reason(headers, AGENT_TOKEN, self.opts.x_robots_directives)
        if tag:
            raise _Failure("x_robots_tag", f"X-Robots-Tag: {tag}", resp.status)
        sniffed = sniff(resp.body)
        allowed = self.opts.allowed_types
        if allowed is not None and not (sniffed and sniffed.startswith(allowed)):
            raise _Failure("unsupported_content", f"content is {sniffed or 'unrecognised'}", resp.status)
        return FetchResult(url, final_url, "success", None, resp.status, resp.body, sniffed)

    def _get_robots(self, robots_url: str) -> tuple[int, bytes]:
        """(status, body) of a robots.txt, following redirects; (0, b'') when it cannot be fetched."""
        deadline = time.monotonic() + min(self.opts.total_timeout_s, 10.0)
        current = robots_url
        try:
            for _ in range(self.opts.max_redirects + 1):
                resp = self._get(current, deadline)
                location = resp.headers.get("Location")
                if resp.status not in _REDIRECTS or not location:
                    return resp.status, resp.body
                current = urljoin(current, location.strip())
        except _Failure as f:
            if f.status in _NOT_REACHED:
                raise  # the page itself cannot be fetched either: report why
        return 0, b""

    def _get(self, url: str, deadline: float) -> _Response:
        """One hop with retries on 429/5xx/timeouts/connection errors (backoff, Retry-After capped)."""
        for attempt in range(self.opts.max_retries + 1):
            retry_after = None
            try:
                resp = self._attempt(url, deadline)
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

    def _attempt(self, url: str, deadline: float) -> _Response:
        """One GET: checks, pinned connection, streamed body under the byte and time caps."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _Failure("unsupported_scheme", f"scheme {parts.scheme!r}")
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise _Failure("invalid_url", f"bad port in {url}") from None
        if not host:
            raise _Failure("invalid_url", f"no host in {url}")
        conn = self._connection(parts.scheme, host, port, _remaining(deadline, self.opts.socket_timeout_s))
        target = url.split("#")[0] if self.opts.proxy and parts.scheme == "http" else _path(parts)
        with self._host_slot(host):
            try:
                conn.request("GET", target, headers=self._headers(parts.netloc))
                resp = conn.getresponse()
                body = b"" if resp.status in _REDIRECTS else self._read(resp, conn, deadline)
                return _Response(resp.status, resp.headers, body)
            except TimeoutError:
                raise _Failure("timeout", f"timed out fetching {url}") from None
            except ssl.SSLError as e:
                raise _Failure("tls_error", str(e)) from None
            except (OSError, http.client.HTTPException) as e:
                raise _Failure("connection_error", f"{type(e).__name__}: {e}") from None
            finally:
                conn.close()

    def _connection(self, scheme: str, host: str, port: int, timeout: float) -> http.client.HTTPConnection:
        """A connection to the checked address of `host`, or to the proxy."""
        if self.opts.proxy:
            _check_literal(self.policy, host)
            proxy = urlsplit(self.opts.proxy if "://" in self.opts.proxy else "http://" + self.opts.proxy)
            if scheme == "http":
                return http.client.HTTPConnection(proxy.hostname, proxy.port or 80, timeout=timeout)
            conn = http.client.HTTPSConnection(proxy.hostname, proxy.port or 80, timeout=timeout, context=self._tls)
            conn.set_tunnel(host, port)
            return conn
        try:
            ip = self.policy.resolve(host, port)[0]
        except AddressRefused as e:
            raise _Failure("forbidden_address", str(e)) from None
        except LookupError as e:
            raise _Failure("dns_error", str(e)) from None
        if scheme == "https":
            return PinnedHTTPSConnection(host, port, ip, timeout, self._tls)
        return PinnedHTTPConnection(host, port, ip, timeout)

    def _headers(self, netloc: str) -> dict[str, str]:
        return {
            "Host": netloc.rsplit("@", 1)[-1], "User-Agent": self.user_agent, "Accept": "*/*",
            "Accept-Encoding": "identity", "Connection": "close",
        }

    def _read(self, resp: http.client.HTTPResponse, conn: http.client.HTTPConnection, deadline: float) -> bytes:
        """The body, stopping at `max_bytes` (too_large) or the deadline (timeout)."""
        length = resp.getheader("Content-Length")
        if length and length.strip().isdigit() and int(length) > self.opts.max_bytes:
            raise _Failure("too_large", f"Content-Length {length} > {self.opts.max_bytes}", resp.status)
        chunks, size = [], 0
        while True:
            if conn.sock is not None:
                conn.sock.settimeout(_remaining(deadline, self.opts.socket_timeout_s))
            chunk = resp.read1(_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.opts.max_bytes:
                raise _Failure("too_large", f"body over {self.opts.max_bytes} bytes", resp.status)
            chunks.append(chunk)

    def _host_slot(self, host: str) -> threading.BoundedSemaphore:
        with self._guard:
            sem = self._semaphores.get(host)
            if sem is None:
                sem = self._semaphores[host] = threading.BoundedSemaphore(self.opts.per_host_concurrency)
            return sem


def _remaining(deadline: float, cap: float) -> float:
    """Seconds left before `deadline` (at most `cap`); `timeout` when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Failure("timeout", "total time cap reached")
    return min(left, cap)


def _check_literal(policy: AddressPolicy, host: str) -> None:
    """With a proxy only IP-literal hosts can be checked here."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return
    if not policy.is_allowed(ip):
        raise _Failure("forbidden_address", f"non-public address {ip}")


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
    """Maps a URL to a file in a local mirror laid out as `mirror_dir/host/path`."""

    def __init__(self, mirror_dir: str | Path) -> None:
        self.root = Path(mirror_dir).resolve()

    def path_for(self, url: str) -> Path | None:
        """The mirror file for `url` (`index.html` for a directory URL), None if absent or outside."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        rel = posixpath.normpath("/" + unquote(parts.path or "/")).lstrip("/")
        if not rel or parts.path.endswith("/"):
            rel = posixpath.join(rel, "index.html")
        if parts.query:
            rel += "?" + parts.query
        path = (self.root / parts.hostname / rel).resolve()
        if not path.is_relative_to(self.root / parts.hostname) or not path.is_file():
            return None
        return path

    def read(self, url: str) -> bytes | None:
        """The mirrored bytes for `url`, or None."""
        path = self.path_for(url)
        return path.read_bytes() if path else None
