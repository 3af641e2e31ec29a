"""Network safety for the fetcher: which addresses may be contacted, and connections pinned to them."""

from __future__ import annotations

import http.client
import ipaddress
import re
import select
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Explicit, on top of `not is_global`: cloud metadata endpoints, the CGNAT range, and IPv6 blocks
# that reach IPv4 or local networks: IPv4-compatible ::/96 and IPv4-translated ::ffff:0:0:0/96
# (deprecated, no public use), local-use NAT64 64:ff9b:1::/48, site-local fec0::/10.
_ALWAYS_REFUSED = [
    ipaddress.ip_network("169.254.169.254/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("fec0::/10"),
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the last 32 bits are the IPv4 target
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")
# a host name, lower case, no trailing dot (a numeric last label is an IP address that did not parse)
_HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")
# Loopback names of the default /etc/hosts of Debian, Ubuntu, Fedora and RHEL
_LOOPBACK_NAMES = frozenset(("localhost", "localhost.localdomain", "localhost4", "localhost4.localdomain4",
                             "localhost6", "localhost6.localdomain6", "ip6-localhost", "ip6-loopback"))


class AddressRefused(Exception):
    """The URL's host resolves to an address the policy forbids."""


@dataclass(frozen=True)
class AddressPolicy:
    """Public unicast addresses only, unless a host name or network is explicitly allowed."""

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_allow_list(cls, entries: tuple[str, ...] | list[str]) -> AddressPolicy:
        """Entries are IPs, CIDR networks (`10.0.0.0/8`) or host names (`mirror.internal`); anything
        else (a URL, `host:port`, `10.0.0.0/33`) is a `ValueError`: it could never match, so the
        mirror it was meant to allow would be refused on every fetch."""
        hosts, nets = set(), []
        for entry in entries:
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                name = entry.lower().rstrip(".")
                if not _HOST_NAME.fullmatch(name) or len(name) > 253 or name.rsplit(".", 1)[-1].isdigit():
                    raise ValueError(f"--http_allow {entry}: not an IP, a CIDR network or a host name") from None
                hosts.add(name)
        return cls(frozenset(hosts), tuple(nets))

    def is_allowed(self, ip: IPAddress) -> bool:
        """True when `ip` is explicitly allowed or public."""
        if any(ip.version == n.version and ip in n for n in self.allow_networks):
            return True
        return is_public(ip)

    def resolve(self, host: str, port: int) -> list[str]:
        """Resolve `host` and return its addresses; raise `AddressRefused` if ANY is forbidden."""
        name = host.lower().rstrip(".")
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as e:
            raise LookupError(f"cannot resolve {host}: {e}") from None
        ips = list(dict.fromkeys(info[4][0] for info in infos))
        if name in self.allow_hosts:
            return ips
        for text in ips:
            ip = ipaddress.ip_address(text.split("%")[0])
            if not self.is_allowed(ip):
                raise AddressRefused(f"{host} resolves to non-public address {ip}")
        return ips


def is_public(ip: IPAddress) -> bool:
    """Globally routable unicast, not a metadata endpoint; embedded IPv4 (mapped/6to4/Teredo) checked too."""
    if ip.is_multicast or not ip.is_global or any(ip.version == n.version and ip in n for n in _ALWAYS_REFUSED):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        nat64 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        embedded = [ip.ipv4_mapped, ip.sixtofour, nat64, *(ip.teredo or ())]
        return all(e is None or is_public(e) for e in embedded)
    return True


def host_address(host: str) -> IPAddress | None:
    """The address a resolver would take `host` for without DNS, or None for a real name.

    `inet_aton` semantics, as getaddrinfo and proxies apply them: `2130706433`, `0x7f000001`,
    `0177.0.0.1`, `127.1` and `0` are IPv4 addresses; `127.0.0.1.` is `127.0.0.1`; `localhost`
    (and `*.localhost`, RFC 6761, and the loopback names of distributions' /etc/hosts, which a
    proxy resolves too) is loopback; `[::1]` and zone ids (`fe80::1%eth0`) are IPv6."""
    name = host.strip().lower().rstrip(".").strip("[]")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return ipaddress.IPv4Address("127.0.0.1")
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


class ConnectionPool:
    """Idle keep-alive connections per (scheme, host, port, checked address or proxy), thread-safe.

    At most `per_key` idle connections per key and `max_idle` in all (the oldest idle one is closed
    first, so a worker that visits millions of hosts keeps a fixed number of sockets open), each
    for at most `idle_s` seconds (servers drop idle ones; a dead one found anyway is retried once by
    the fetcher). An idle connection with anything to read (the server closed it, or sent bytes past
    its last response's length, which would be read as the next URL's answer) is closed, not reused."""

    def __init__(self, per_key: int, max_idle: int, idle_s: float = 30.0) -> None:
        self.per_key = max(1, per_key)
        self.max_idle = max(1, max_idle)
        self.idle_s = idle_s
        self._idle: OrderedDict[tuple, list[tuple[float, http.client.HTTPConnection]]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def take(self, key: tuple) -> http.client.HTTPConnection | None:
        """An idle connection for `key`, or None."""
        now = time.monotonic()
        stale = []
        found = None
        with self._lock:
            idle = self._idle.get(key, [])
            while idle and found is None:
                since, conn = idle.pop()
                self._count -= 1
                if now - since < self.idle_s and not _has_input(conn):
                    found = conn
                else:
                    stale.append(conn)
            if not idle:
                self._idle.pop(key, None)
        for conn in stale:
            conn.close()
        return found

    def put(self, key: tuple, conn: http.client.HTTPConnection) -> None:
        """Keep `conn` for a later request to `key` (closed when the pool for it is full)."""
        evicted = []
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) >= self.per_key:
                evicted.append(conn)
            else:
                idle.append((time.monotonic(), conn))
                self._idle.move_to_end(key)
                self._count += 1
                while self._count > self.max_idle:
                    oldest_key, oldest = next(iter(self._idle.items()))
                    evicted.append(oldest.pop(0)[1])
                    self._count -= 1
                    if not oldest:
                        del self._idle[oldest_key]
        for old in evicted:
            old.close()


def _has_input(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection has anything to read: an end of stream or stray bytes."""
    sock = conn.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to `host` (Host header) over a socket connected to the already-checked address `ip`."""

    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `host` (SNI and certificate name) over a socket connected to the checked `ip`."""

    def __init__(self, host: str, port: int, ip: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
