"""URL keys for corpus rules: host, site (the unit of per-domain rules) and the dedup key of a URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

_TRACKING_PARAMS = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "yclid"}
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def host_of(url: str) -> str:
    """Lower-case host without port or trailing dot ('' when the URL has none)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def site_of(url: str) -> str:
    """The host without a leading `www.`: the unit of per-domain rules."""
    return host_of(url).removeprefix("www.")


def normalize_url(url: str) -> str:
    """Dedup key of a URL: w3lib's canonical form (percent-encoding normalised, so `%7E` and `~`,
    `%e4` and `%E4` agree; dot segments resolved; IDNA host; query sorted; no fragment), then
    scheme-less, without userinfo, `www.` or default port, and tracking parameters (`utm_*`,
    `fbclid`, ...) removed. A URL w3lib cannot parse is its own key."""
    try:
        parts = urlsplit(canonicalize_url(url.strip()))
        port = parts.port
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").rstrip(".").removeprefix("www.")
    netloc = host if port is None or str(port) == _DEFAULT_PORTS.get(parts.scheme) else f"{host}:{port}"
    query = [pair for pair in parts.query.split("&") if pair and not _is_tracking(pair.split("=", 1)[0])]
    return f"{netloc}{parts.path or '/'}" + (f"?{'&'.join(query)}" if query else "")


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS
