"""URL keys for corpus rules: host, site (the unit of per-domain rules) and the dedup key of a URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

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
    host = host_of(url)
    return host[4:] if host.startswith("www.") else host


def normalize_url(url: str) -> str:
    """Dedup key of a URL: scheme-less, lower-case host without `www.` or default port, no
    fragment, `/` for an empty path, tracking parameters (`utm_*`, `fbclid`, ...) removed and the
    remaining query parameters sorted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    host = site_of(url)
    netloc = (
        host if port is None or str(port) == _DEFAULT_PORTS.get(parts.scheme.lower()) else f"{host}:{port}"
    )
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    )
    path = parts.path or "/"
    return f"{netloc}{path}" + (f"?{urlencode(query)}" if query else "")
